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
    /// The loaded BLAS's seconds for the same product (the built-in GEMM suite).
    var blas: Double?

    /// Throughput in the case's unit (GFLOP/s, GB/s), if it has one.
    var throughput: Double? { work.map { $0 / seconds / 1e9 } }
}

/// Times one suite's cases, each followed by the same case in PyTorch when a `reference` runs
/// beside (`--compare`); NumPy's cases come after the suite's (`withNumPy`).
///
/// ```swift
/// let measurement = bench.measure("add 1K", work: 12_288, unit: "GB/s", iterations: 4096) { _ = a + b }
/// ```
struct Bench {
    let suite: String
    let reference: Reference?

    /// Times `body` as `median` does (seconds divided by `per`), then the reference's same case.
    func measure(
        _ name: String, work: Double? = nil, unit: String? = nil, repeats: Int = 5, iterations: Int = 1, per: Double = 1,
        restoring restore: (() -> Void)? = nil, _ body: () -> Void
    ) -> Measurement {
        if reference != nil { warmUp { restore?(); body() } }
        let seconds = median(repeats: repeats, iterations: iterations, restoring: restore, body) / per
        return compared(Measurement(suite: suite, name: name, seconds: seconds, work: work, unit: unit))
    }

    /// Runs `body` for 20 ms: right after the reference's work, this process's worker threads
    /// are parked and the caches hold the other's data (compare.py warms up the same way).
    func warmUp(_ body: () -> Void) {
        let end = DispatchTime.now().uptimeNanoseconds + 20_000_000
        repeat { body() } while DispatchTime.now().uptimeNanoseconds < end
    }

    /// `measurement` with PyTorch's time of its case.
    func compared(_ measurement: Measurement) -> Measurement {
        var measurement = measurement
        measurement.pytorch = reference?.seconds(suite: suite, library: "pytorch", case: measurement.name)
        return measurement
    }

    /// `measurements` with NumPy's times where they have none yet, timed now, one after another:
    /// OpenBLAS's threads spin for a while after each product, and would slow the Ember case
    /// timed next if NumPy's alternated with Ember's like PyTorch's. The reference then idles
    /// until they have stopped.
    func withNumPy(_ measurements: [Measurement]) -> [Measurement] {
        guard let reference else { return measurements }
        let timed = measurements.map { measurement in
            var measurement = measurement
            if measurement.numpy == nil {
                measurement.numpy = reference.seconds(suite: suite, library: "numpy", case: measurement.name)
            }
            return measurement
        }
        reference.settle()
        return timed
    }
}

/// Times `body` (which runs `iterations` times per call) and returns the median seconds per
/// iteration over `repeats` calls, after one warm-up call. With `restore`, each iteration is
/// timed alone, after `restore` (untimed) resets what `body` changes.
func median(repeats: Int = 5, iterations: Int = 1, restoring restore: (() -> Void)? = nil, _ body: () -> Void) -> Double {
    func nanoseconds() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
    restore?()
    body()
    var samples: [Double] = []
    for _ in 0..<repeats {
        var elapsed: UInt64 = 0
        if let restore {
            for _ in 0..<iterations {
                restore()
                let start = nanoseconds()
                body()
                elapsed += nanoseconds() - start
            }
        } else {
            let start = nanoseconds()
            for _ in 0..<iterations { body() }
            elapsed = nanoseconds() - start
        }
        samples.append(Double(elapsed) / 1e9 / Double(iterations))
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
