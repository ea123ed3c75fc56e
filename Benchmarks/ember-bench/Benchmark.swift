import Foundation

/// One measured case: its suite, name, median seconds per iteration, and the work it does.
struct Measurement: Codable {
    let suite: String
    let name: String
    let seconds: Double
    /// Floating-point operations or bytes moved per iteration, to report GFLOP/s or GB/s.
    let work: Double?
    let unit: String?
    var pytorch: Double?
    var numpy: Double?

    /// Throughput in the case's unit (GFLOP/s, GB/s), if it has one.
    var throughput: Double? { work.map { $0 / seconds / 1e9 } }
}

/// Times `body` (which runs `iterations` times per call) and returns the median seconds per
/// iteration over `repeats` calls, after one warm-up call.
func median(repeats: Int = 5, iterations: Int = 1, _ body: () -> Void) -> Double {
    body()
    var samples: [Double] = []
    for _ in 0..<repeats {
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<iterations { body() }
        samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(iterations))
    }
    return samples.sorted()[samples.count / 2]
}

/// The process's peak resident memory in bytes.
func peakResidentBytes() -> Double {
    var usage = rusage()
    #if os(Linux)
    getrusage(RUSAGE_SELF.rawValue, &usage)
    #else
    getrusage(RUSAGE_SELF, &usage)
    #endif
    #if os(Linux)
    return Double(usage.ru_maxrss) * 1024
    #else
    return Double(usage.ru_maxrss)
    #endif
}

/// The process's current resident memory in bytes (Linux; 0 elsewhere).
func currentResidentBytes() -> Double {
    guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = statm.split(separator: " ")
    return fields.count > 1 ? (Double(fields[1]) ?? 0) * Double(sysconf(Int32(_SC_PAGESIZE))) : 0
}
