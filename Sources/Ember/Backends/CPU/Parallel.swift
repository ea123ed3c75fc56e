import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits CPU work across cores.
///
/// ```swift
/// Parallel.forRanges(count: n, grain: 32_768) { range in for i in range { out[i] = a[i] + b[i] } }
/// ```
enum Parallel {
    /// The number of worker threads: `EMBER_NUM_THREADS` when set, else the active processor count.
    static let threadCount: Int = {
        if let value = getenv("EMBER_NUM_THREADS").flatMap({ Int(String(cString: $0)) }), value > 0 {
            return value
        }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Runs `body` over `0..<count` split into contiguous chunks, one per thread, when the work
    /// is at least `grain` items per chunk; otherwise runs it inline on the calling thread.
    @inline(__always)
    static func forRanges(count: Int, grain: Int, _ body: (Range<Int>) -> Void) {
        let chunks = min(threadCount, count / max(grain, 1))
        if chunks <= 1 {
            body(0..<count)
            return
        }
        withoutActuallyEscaping(body) { body in
            // Each chunk touches its own elements only; the caller's state is not shared.
            nonisolated(unsafe) let chunkBody = body
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                chunkBody(count * chunk / chunks..<count * (chunk + 1) / chunks)
            }
        }
    }
}
