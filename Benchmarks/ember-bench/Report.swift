import Ember
import Foundation

/// Formats measurements as a Markdown table with ratios against PyTorch and NumPy.
enum Report {
    /// The main table, then the built-in GEMM's against `blas` (`Ember.blasLibrary`, nil for
    /// none); `gemm` is what products ran (`Ember.gemmImplementation`).
    static func table(_ measurements: [Measurement], gemm: String, blas: String?) -> String {
        let peaks = measurements.filter { $0.suite == MachinePeak.suite }
        let kernels = measurements.filter { $0.suite == Suites.builtinGEMMSuite }
        let cases = measurements.filter { $0.suite != MachinePeak.suite && $0.suite != Suites.builtinGEMMSuite }
        let passedOver = gemm == "built-in" ? blas.map { " (\($0) found; the built-in kernel outruns it on this CPU)" } : nil
        var lines = ["Ember GEMM: \(gemm)\(passedOver ?? "")"]
        if !peaks.isEmpty {
            lines.append(
                "Multiply-add peak before → after each suite (\(MachinePeak.vectorBits)-bit FMAs in a loop, GFLOP/s on one thread / on \(Ember.numThreads) at once): "
                    + MachinePeak.summary(peaks))
        }
        if !cases.isEmpty {
            lines += ["", "| case | Ember | throughput | PyTorch | Ember/PyTorch time | NumPy | Ember/NumPy time |", "|---|---|---|---|---|---|---|"]
        }
        for m in cases {
            let isQuantity = m.unit == "MB"
            let time = isQuantity ? String(format: "%.1f MB", m.seconds) : format(m.seconds)
            let throughput = m.throughput.map { String(format: "%.1f %@", $0, m.unit ?? "") } ?? ""
            let torch = m.pytorch.map { isQuantity ? String(format: "%.1f MB", $0) : format($0) } ?? "–"
            let torchRatio = m.pytorch.map { String(format: "%.2f×", m.seconds / $0) } ?? "–"
            let numpy = m.numpy.map(format) ?? "–"
            let numpyRatio = m.numpy.map { String(format: "%.2f×", m.seconds / $0) } ?? "–"
            lines.append("| \(m.name) | \(time) | \(throughput) | \(torch) | \(torchRatio) | \(numpy) | \(numpyRatio) |")
        }
        if !kernels.isEmpty {
            let library = blas?.split(separator: " ").first.map(String.init) ?? "BLAS"
            lines += [
                "", blas.map { "Built-in GEMM against \($0), each repeat timing both in turn:" } ?? "Built-in GEMM (no BLAS library loaded):",
                "", "| case | built-in | throughput | \(library) | throughput | built-in/\(library) throughput |", "|---|---|---|---|---|---|",
            ]
            for m in kernels {
                let blasTime = m.blas.map(format) ?? "–"
                let blasThroughput = m.blas.flatMap { seconds in m.work.map { String(format: "%.1f GFLOP/s", $0 / seconds / 1e9) } } ?? "–"
                let ratio = m.blas.map { String(format: "%.2f×", $0 / m.seconds) } ?? "–"
                lines.append("| \(m.name) | \(format(m.seconds)) | \(String(format: "%.1f GFLOP/s", m.throughput ?? 0)) | \(blasTime) | \(blasThroughput) | \(ratio) |")
            }
        }
        return lines.joined(separator: "\n")
    }

    static func format(_ seconds: Double) -> String {
        if seconds < 1e-6 { return String(format: "%.0f ns", seconds * 1e9) }
        if seconds < 1e-3 { return String(format: "%.1f µs", seconds * 1e6) }
        return String(format: "%.2f ms", seconds * 1e3)
    }
}

/// PyTorch and NumPy timing the same cases in a Python process beside ember-bench
/// (`Benchmarks/compare.py --serve`): each of Ember's cases is followed by PyTorch's same case
/// there, so that both sides of a ratio are timed within the same second. This host's speed changes
/// for seconds at a time (the seed step took 175 µs on two threads, then ~310 µs, as much as on
/// one, with both threads running), which skewed ratios of runs timed minutes apart.
///
/// ```swift
/// let reference = Reference.start(python: nil)
/// reference?.seconds(suite: "sgemm", library: "pytorch", case: "sgemm 64")
/// ```
final class Reference {
    private let process: Process
    private let requests: FileHandle
    private let answers: FileHandle
    /// The libraries' versions, as compare.py reports them.
    let versions: String
    /// Whether that Python has PyTorch (else only NumPy's cases have times).
    let hasPyTorch: Bool
    /// The Python that runs compare.py.
    let python: String

    private init(process: Process, requests: FileHandle, answers: FileHandle, versions: String, hasPyTorch: Bool, python: String) {
        (self.process, self.requests, self.answers) = (process, requests, answers)
        (self.versions, self.hasPyTorch, self.python) = (versions, hasPyTorch, python)
    }

    /// What a table says of the comparison: which Python and libraries ran it, or why none did.
    static func summary(_ reference: Reference?, python: String?) -> String {
        let tried = candidates(python)
        guard let reference else {
            return "No Python with NumPy ran compare.py (tried \(tried.joined(separator: ", "))): the PyTorch and NumPy columns are empty."
        }
        var summary = reference.hasPyTorch
            ? "Compared with \(reference.versions), PyTorch's cases timed right after Ember's."
            : "Compared with \(reference.versions) (\(reference.python)), which has no PyTorch: its columns are empty."
        if let python, python != reference.python {
            summary += " --python \(python) did not run compare.py."
        }
        return summary
    }

    /// The Pythons to try, in order: `--python`, `EMBER_PYTHON`, `.venv/bin/python`, `python3`.
    static func candidates(_ python: String?) -> [String] {
        [python, ProcessInfo.processInfo.environment["EMBER_PYTHON"], ".venv/bin/python", "python3"].compactMap { $0 }
    }

    /// Starts the first of the `candidates` that runs compare.py; nil if none does.
    static func start(python: String?) -> Reference? {
        signal(SIGPIPE, SIG_IGN)  // a Python that dies makes requests fail, not ember-bench
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("compare.py")
        for candidate in candidates(python) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [candidate, script.path, "--serve"]
            let (input, output) = (Pipe(), Pipe())
            (process.standardInput, process.standardOutput, process.standardError) = (input, output, FileHandle.nullDevice)
            guard (try? process.run()) != nil else { continue }
            let answers = output.fileHandleForReading
            guard let line = readLine(answers), let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let versions = json["versions"] as? String
            else {
                process.terminate()
                continue
            }
            return Reference(
                process: process, requests: input.fileHandleForWriting, answers: answers, versions: versions,
                hasPyTorch: json["pytorch"] as? Bool ?? false, python: candidate)
        }
        return nil
    }

    /// The median seconds (or the quantity) of one case in `library`, or nil if it has none.
    func seconds(suite: String, library: String, case name: String) -> Double? {
        guard (try? requests.write(contentsOf: Data("\(suite)|\(library)|\(name)\n".utf8))) != nil else { return nil }
        return Self.readLine(answers).flatMap(Double.init)
    }

    /// Waits until the reference's BLAS threads have stopped spinning (about 0.2 s).
    func settle() {
        _ = seconds(suite: "settle", library: "", case: "")
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
