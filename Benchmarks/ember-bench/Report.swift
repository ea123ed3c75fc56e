import Foundation

/// Formats measurements as a Markdown table with ratios against PyTorch and NumPy.
enum Report {
    static func table(_ measurements: [Measurement], gemm: String) -> String {
        var lines = [gemm, "", "| case | Ember | throughput | PyTorch | Ember/PyTorch time | NumPy | Ember/NumPy time |", "|---|---|---|---|---|---|---|"]
        for m in measurements {
            let isQuantity = m.unit == "MB"
            let time = isQuantity ? String(format: "%.1f MB", m.seconds) : format(m.seconds)
            let throughput = m.throughput.map { String(format: "%.1f %@", $0, m.unit ?? "") } ?? ""
            let torch = m.pytorch.map { isQuantity ? String(format: "%.1f MB", $0) : format($0) } ?? "–"
            let torchRatio = m.pytorch.map { String(format: "%.2f×", m.seconds / $0) } ?? "–"
            let numpy = m.numpy.map(format) ?? "–"
            let numpyRatio = m.numpy.map { String(format: "%.2f×", m.seconds / $0) } ?? "–"
            lines.append("| \(m.name) | \(time) | \(throughput) | \(torch) | \(torchRatio) | \(numpy) | \(numpyRatio) |")
        }
        return lines.joined(separator: "\n")
    }

    static func format(_ seconds: Double) -> String {
        if seconds < 1e-6 { return String(format: "%.0f ns", seconds * 1e9) }
        if seconds < 1e-3 { return String(format: "%.1f µs", seconds * 1e6) }
        return String(format: "%.2f ms", seconds * 1e3)
    }
}

/// Runs Benchmarks/compare.py with a Python that has torch (and numpy) to time the same cases.
enum Comparison {
    struct Result {
        var pytorch: [String: Double] = [:]
        var numpy: [String: Double] = [:]
        var note: String
    }

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("compare.py")

    /// The Pythons to try, in order: `--python`, `EMBER_PYTHON`, `.venv/bin/python`, `python3`.
    static func candidates(_ python: String?) -> [String] {
        [python, ProcessInfo.processInfo.environment["EMBER_PYTHON"], ".venv/bin/python", "python3"].compactMap { $0 }
    }

    static func run(suites: [String], python: String?) -> Result {
        let candidates = candidates(python)
        for candidate in candidates {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [candidate, script.path, "--suites", Set(suites).sorted().joined(separator: ",")]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            guard (try? process.run()) != nil else { continue }
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0,
                let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            else { continue }
            return Result(
                pytorch: json["pytorch"] as? [String: Double] ?? [:], numpy: json["numpy"] as? [String: Double] ?? [:],
                note: "Compared with \(json["versions"] as? String ?? candidate) in the same run.")
        }
        return Result(note: "No Python with torch found (tried \(candidates.joined(separator: ", "))): PyTorch and NumPy columns are empty.")
    }
}

/// PyTorch's and NumPy's seed steps in a Python process (`compare.py --serve-seed`) that the
/// seed suite alternates with round by round, so that both sides of each ratio are timed within
/// the same few milliseconds: this host's speed changes for seconds at a time (the seed step
/// took 175 µs on two threads, then ~310 µs, as much as on one, with both threads running).
///
/// ```swift
/// let reference = SeedReference.start(python: nil)
/// reference?.secondsPerStep("pytorch manual")  // 20 steps, timed in Python
/// ```
final class SeedReference {
    private let process: Process
    private let requests: FileHandle
    private let answers: FileHandle
    /// The cases the Python can run ("pytorch manual", "numpy manual", …).
    let cases: Set<String>

    private init(process: Process, requests: FileHandle, answers: FileHandle, cases: Set<String>) {
        (self.process, self.requests, self.answers, self.cases) = (process, requests, answers, cases)
    }

    /// Starts the first Python among `Comparison.candidates` that serves the seed steps.
    static func start(python: String?) -> SeedReference? {
        signal(SIGPIPE, SIG_IGN)  // a Python that dies makes requests fail, not ember-bench
        for candidate in Comparison.candidates(python) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [candidate, Comparison.script.path, "--serve-seed"]
            let (input, output) = (Pipe(), Pipe())
            (process.standardInput, process.standardOutput, process.standardError) = (input, output, FileHandle.nullDevice)
            guard (try? process.run()) != nil else { continue }
            let answers = output.fileHandleForReading
            guard let line = readLine(answers), let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let cases = json["cases"] as? [String]
            else {
                process.terminate()
                continue
            }
            return SeedReference(process: process, requests: input.fileHandleForWriting, answers: answers, cases: Set(cases))
        }
        return nil
    }

    /// Seconds per step of one round of `case` in Python, or nil if it cannot run it.
    func secondsPerStep(_ case: String) -> Double? {
        guard cases.contains(`case`), (try? requests.write(contentsOf: Data((`case` + "\n").utf8))) != nil else { return nil }
        return Self.readLine(answers).flatMap(Double.init)
    }

    private static func readLine(_ handle: FileHandle) -> String? {
        var bytes: [UInt8] = []
        while let byte = try? handle.read(upToCount: 1), let first = byte.first {
            if first == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(first)
        }
        return nil
    }

    deinit {
        try? requests.close()
        process.waitUntilExit()
    }
}
