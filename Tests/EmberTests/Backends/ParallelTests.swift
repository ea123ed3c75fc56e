import Synchronization
import Testing

@testable import Ember

/// The worker pool and the loops that split work across it: results equal a serial reference
/// computed element by element in Swift, whatever the split.
@Suite("Parallel")
struct ParallelTests {
    /// Large enough that every op below splits across threads.
    static let count = 4 * Parallel.defaultGrain + 37

    static func values(_ count: Int = count, seed: UInt64 = 1) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(state >> 40) - (1 << 23)) / Float(1 << 21)
        }
    }

    @Test func poolRunsEveryChunkOnceAndCallersMayOverlap() async {
        // Several tasks use the pool at once, some from inside a job: each chunk runs exactly once.
        await withTaskGroup(of: Bool.self) { group in
            for task in 0..<8 {
                group.addTask {
                    let runs = ChunkCounts(chunks: 7)
                    for _ in 0..<200 {
                        WorkerPool.shared.run(count: 7, chunks: 7) { chunk in
                            runs.record(chunk)
                            if task.isMultiple(of: 2) { WorkerPool.shared.run(count: 2, chunks: 2) { _ in } }
                        }
                    }
                    return runs.counts == Array(repeating: 200, count: 7)
                }
            }
            for await ranOnce in group { #expect(ranOnce) }
        }
    }

    final class ChunkCounts: @unchecked Sendable {
        private let lock = Lock()
        private var runs: [Int]
        init(chunks: Int) { runs = Array(repeating: 0, count: chunks) }
        func record(_ chunk: Range<Int>) { lock.withLock { for index in chunk { runs[index] += 1 } } }
        var counts: [Int] { lock.withLock { runs } }
    }

    @Test func forRangesCoversTheRangeInOrderedDisjointChunks() {
        let seen = Mutex<[Range<Int>]>([])
        Parallel.forRanges(count: 1_000_003, grain: 1000) { range in seen.withLock { $0.append(range) } }
        let ranges = seen.withLock { $0 }.sorted { $0.lowerBound < $1.lowerBound }
        #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == 1_000_003)
        #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        #expect(ranges.count == Swift.min(Parallel.threadCount, 1000))
    }

    /// `setNumThreads` changes how later work splits, down to one thread and up past the pool's
    /// first size (it starts workers), and results stay the serial reference's. In a child
    /// process: the setting is process-wide, and the other tests run beside this one.
    @Test func setNumThreadsChangesTheSplit() async {
        await #expect(processExitsWith: .success) {
            let a = ParallelTests.values(), b = ParallelTests.values(seed: 2)
            let x = Tensor(a, shape: [a.count]), y = Tensor(b, shape: [b.count])
            let expected = zip(a, b).map { $0 + $1 }
            for threads in [1, Parallel.defaultThreadCount + 3, 2] {
                Ember.setNumThreads(threads)
                precondition(Ember.numThreads == threads && Parallel.threadCount == threads)
                let chunks = Mutex(0)
                Parallel.forRanges(count: 1_000_000, grain: 1000) { _ in chunks.withLock { $0 += 1 } }
                precondition(chunks.withLock { $0 } == threads, "\(threads) threads")
                precondition((x + y).toArray(as: Float.self) == expected)
            }
        }
    }

    /// Past the pool's limit the request is refused and nothing changes (zero and negative
    /// counts get PyTorch's message: ErrorTests).
    @Test func setNumThreadsRefusesTooManyThreads() {
        let before = Ember.numThreads
        let error = #expect(throws: EmberError.self) { try withErrorChecking { Ember.setNumThreads(5000) } }
        #expect(error?.message == "set_num_threads: at most 1024 threads, got 5000")
        #expect(Ember.numThreads == before)
    }

    @Test func elementwiseOpsMatchSerialReference() {
        let a = Self.values(), b = Self.values(seed: 2)
        let x = Tensor(a, shape: [a.count]), y = Tensor(b, shape: [b.count])
        #expect((x + y).toArray(as: Float.self) == zip(a, b).map { $0 + $1 })
        #expect((x * 3).toArray(as: Float.self) == a.map { $0 * 3 })
        // A number first, where order matters.
        #expect((1 - x).toArray(as: Float.self) == a.map { 1 - $0 })
        #expect((2 / y).toArray(as: Float.self) == b.map { 2 / $0 })
        #expect(x.clamp(min: -0.5, max: 0.25).toArray(as: Float.self) == a.map { Swift.min(Swift.max($0, -0.5), 0.25) })
        #expect(x.pow(2).toArray(as: Float.self) == a.map { $0 * $0 })
        #expect(x.relu().toArray(as: Float.self) == a.map { Swift.max($0, 0) })
        let inPlace = x.clone()
        inPlace.clamp_(min: 0)
        inPlace.add_(y)
        #expect(inPlace.toArray(as: Float.self) == zip(a, b).map { Swift.max($0, 0) + $1 })
        let mask = x .> y
        let selected = zip(a, b).map { $0 > $1 }
        #expect(Tensor.where(mask, x, y).toArray(as: Float.self) == zip(a, b).map { Swift.max($0, $1) })
        #expect(Tensor.where(mask, x, 0.0).toArray(as: Float.self) == zip(a, selected).map { $1 ? $0 : 0 })
        #expect(Tensor.where(mask, 1.0, y).toArray(as: Float.self) == zip(b, selected).map { $1 ? 1 : $0 })
        // A strided view takes the planned loop.
        let strided = x[0..<(a.count / 2) * 2].view(-1, 2).t()[1]
        #expect((strided * 2).toArray(as: Float.self) == stride(from: 1, to: a.count - 1, by: 2).map { a[$0] * 2 })
    }

    @Test func clampKeepsNaNAndPromotesIntegers() {
        var a = Self.values()
        a[5] = .nan
        a[a.count - 1] = .nan
        let clamped = Tensor(a, shape: [a.count]).clamp(min: -1, max: 1).toArray(as: Float.self)
        #expect(clamped[5].isNaN && clamped[a.count - 1].isNaN)
        #expect(clamped.enumerated().allSatisfy { $0.element.isNaN || $0.element == Swift.min(Swift.max(a[$0.offset], -1), 1) })
        let integers = Tensor.arange(0, Double(Self.count)).to(.int64)
        let half = integers.clamp(max: 0.5)
        #expect(half.dtype == .float32 && half[10].item() == 0.5 && half[0].item() == 0)
    }

    @Test func sumsOverLeadingDimensionsAddWholeRows() {
        // [rows, 3, columns]: summing dims 0 and 1 keeps the last; the big case splits the rows.
        for (rows, columns) in [(7, 5), (300, 1000)] {
            let values = (0..<(rows * 3 * columns)).map { Double(($0 * 7919) % 1009) - 504.25 }
            let x = Tensor(values, shape: [rows, 3, columns])
            let expected = (0..<columns).map { column in
                stride(from: column, to: values.count, by: columns).reduce(0.0) { $0 + values[$1] }
            }
            #expect(x.sum(dims: [0, 1]).toArray(as: Double.self) == expected)
            #expect(x.sum(dims: [0, 1], keepdim: true).shape == [1, 1, columns])
            #expect(x.to(.int32).sum(dim: 0).shape == [3, columns])
            let integers = x.to(.int64).sum(dims: [0, 1]).toArray(as: Int64.self)
            #expect(integers == (0..<columns).map { column in
                stride(from: column, to: values.count, by: columns).reduce(Int64(0)) { $0 + Int64(values[$1].rounded(.towardZero)) }
            })
        }
        // A bias gradient: broadcasting undone by summing the leading dimension.
        let bias = Tensor([1.0, 2.0, 3.0], shape: [3], requiresGrad: true)
        (Tensor.ones([4, 3], dtype: .float64) * 2 + bias).sum().backward()
        #expect(bias.grad!.toArray(as: Double.self) == [4, 4, 4])
    }

    @Test(arguments: [0, 1, 33_000, count / 2, count - 1])
    func wholeTensorExtremaAndSum(nanAt nanIndex: Int) {
        let a = Self.values()
        let x = Tensor(a, shape: [a.count])
        #expect(x.max().item(as: Float.self) == a.max()!)
        #expect(x.min().item(as: Float.self) == a.min()!)
        #expect(x.argmax().item(as: Int64.self) == Int64(a.firstIndex(of: a.max()!)!))
        let exact = a.reduce(0.0) { $0 + Double($1) }
        #expect(Swift.abs(x.sum().item() - exact) <= 1e-6 * a.reduce(0.0) { $0 + Double(Swift.abs($1)) })
        var withNaN = a
        withNaN[nanIndex] = .nan
        let y = Tensor(withNaN, shape: [a.count])
        #expect(y.max().item().isNaN && y.min().item().isNaN && y.sum().item().isNaN)
        #expect(y.argmax().item(as: Int64.self) == Int64(nanIndex))
    }
}
