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

    static func run(suites: [String], python: String?) -> Result {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("compare.py")
        let candidates = [python, ProcessInfo.processInfo.environment["EMBER_PYTHON"], ".venv/bin/python", "python3"].compactMap { $0 }
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
