import CEmberBench
import Ember
import Foundation

/// The rate of a loop of vector multiply-adds on one thread and on all of Ember's at once,
/// timed before and after each suite: on a shared host two vCPUs may share one core's
/// multiply-add units for minutes at a time (two threads together then reach one thread's
/// rate, and a product on two threads runs little faster than on one), so the table says what
/// the host gave each suite.
///
/// ```swift
/// let peaks = MachinePeak.measure("seed", "before")  // "seed before, 1 thread", "seed before, 2 threads"
/// ```
enum MachinePeak {
    static let suite = "multiply-add peak"

    /// The vectors' width in bits (0 where the CPU has no vector multiply-add).
    static let vectorBits = Int(ember_bench_vector_bits())

    /// Two measurements of about 20 ms each, named after `suite`, `moment` and their thread
    /// counts, with GFLOP/s as their throughput; none where `vectorBits` is 0.
    static func measure(_ suite: String, _ moment: String) -> [Measurement] {
        guard vectorBits > 0 else { return [] }
        return [1, Ember.numThreads].map { threads in
            var flops = 0.0, elapsed = 0.0
            ember_bench_multiply_adds(Int32(threads), 0.02, &flops, &elapsed)
            let name = "\(suite) \(moment), \(threads) thread\(threads == 1 ? "" : "s")"
            return Measurement(suite: Self.suite, name: name, seconds: elapsed, work: flops, unit: "GFLOP/s")
        }
    }

    /// "seed 170 / 338 → 169 / 172, …": each suite's rates on one thread and on all, before and
    /// after it, in GFLOP/s.
    static func summary(_ measurements: [Measurement]) -> String {
        var suites: [String] = [], rates: [String: [String]] = [:]
        for m in measurements where m.suite == suite {
            let name = String(m.name.prefix { $0 != " " })
            if rates[name] == nil { suites.append(name) }
            rates[name, default: []].append(String(format: "%.0f", m.throughput ?? 0))
        }
        return suites.map { name in
            let rates = rates[name]!, half = rates.count / 2
            return "\(name) \(rates[..<half].joined(separator: " / ")) → \(rates[half...].joined(separator: " / "))"
        }.joined(separator: ", ")
    }
}
