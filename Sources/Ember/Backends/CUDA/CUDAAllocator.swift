// A caching allocator for device memory: cuMemAlloc and cuMemFree are slow and synchronize the
// device, so freed blocks are kept and handed out again, as PyTorch's CUDA allocator does.

import Synchronization

/// Where a caching allocator gets memory: `cuMemAlloc`/`cuMemFree` on a GPU, a fake in tests.
protocol CUDARawMemory: Sendable {
    /// Exactly `byteCount` bytes of device memory; out of memory is a `CUDAError` whose
    /// `isOutOfMemory` is true, which the allocator answers by returning its cache and retrying.
    func allocate(byteCount: Int) throws(CUDAError) -> CUdeviceptr
    /// Returns memory from `allocate`. Must not throw: it runs when tensors are released, on
    /// any thread; implementations record failures where the next throwing call sees them.
    func free(_ address: CUdeviceptr)
}

/// The host-side bookkeeping of a PyTorch-style caching allocator for one device.
///
/// Requests round up to size classes (512-byte steps up to 1 MiB, then 2 MiB steps, the
/// driver's own granularity for large allocations), and freed blocks are cached per stream.
/// A cached block is reused only by requests on the stream it was last used on: work on one
/// stream runs in order, so the next kernel that gets the block runs after every kernel that
/// used it, with no synchronization. Blocks are not split or merged: a cached block serves a
/// request of its own size class, or for large blocks one at most a quarter smaller.
///
/// Thread-safe: tensors are freed from whichever thread drops the last reference.
///
/// ```swift
/// let allocator = CUDACachingAllocator(device: 0, raw: memory)
/// let address = try allocator.allocate(byteCount: 4096, stream: stream)
/// allocator.free(address)                   // cached, not returned to the driver
/// allocator.statistics.reservedBytes        // 4096
/// ```
final class CUDACachingAllocator: Sendable {
    /// One allocation from the raw allocator.
    struct Block: Equatable, Sendable {
        let address: CUdeviceptr
        /// The rounded size the block was allocated with.
        let size: Int
        /// The stream the block was last used on (an opaque `CUstream` value; 0 is the default).
        let stream: UInt64
    }

    /// Memory counters, PyTorch's `memory_allocated`/`memory_reserved` and their peaks.
    struct Statistics: Equatable, Sendable {
        /// Bytes in blocks handed out and not yet freed (rounded sizes).
        var allocatedBytes = 0
        /// Bytes obtained from the raw allocator and not yet returned: allocated plus cached.
        var reservedBytes = 0
        /// The most `allocatedBytes` has been.
        var peakAllocatedBytes = 0
        /// The most `reservedBytes` has been.
        var peakReservedBytes = 0
        /// Blocks handed out.
        var activeBlocks = 0
        /// Blocks kept for reuse.
        var cachedBlocks = 0
        /// Nonzero requests served.
        var requests = 0
        /// Requests served from the cache.
        var cacheHits = 0
        /// Calls to the raw allocator's allocate.
        var rawAllocations = 0
        /// Calls to the raw allocator's free.
        var rawFrees = 0
        /// Times an out-of-memory failure made the allocator return its cache and retry.
        var outOfMemoryRetries = 0
    }

    private struct State {
        var active: [CUdeviceptr: Block] = [:]
        /// Cached blocks per stream, sorted by size for best-fit search.
        var cached: [UInt64: [Block]] = [:]
        var statistics = Statistics()
    }

    /// The device ordinal, for messages.
    let device: Int
    private let raw: any CUDARawMemory
    private let state = Mutex(State())

    /// The smallest block, and the step of small size classes (the driver aligns to 512).
    static let minimumBlockSize = 512
    /// Requests up to this size are small: rounded to 512 bytes and reused only exactly.
    static let smallLimit = 1 << 20
    /// The step of large size classes.
    static let largeStep = 2 << 20

    /// An empty cache in front of `raw`, for device `device`.
    init(device: Int, raw: any CUDARawMemory) {
        self.device = device
        self.raw = raw
    }

    /// The size class of a request of `byteCount` bytes.
    static func roundedSize(_ byteCount: Int) -> Int {
        let step = byteCount <= smallLimit ? minimumBlockSize : largeStep
        return max(minimumBlockSize, (byteCount + step - 1) / step * step)
    }

    /// The largest cached block a request of size class `size` may take: exactly its class for
    /// small ones (they are cheap to allocate and plentiful), up to a quarter more for large
    /// ones, so that varying batch sizes still hit the cache without wasting much.
    static func reuseLimit(_ size: Int) -> Int { size <= smallLimit ? size : size + size / 4 }

    /// A block of at least `byteCount` bytes for work on `stream`; 0 for zero bytes, as
    /// PyTorch hands out a null pointer for empty tensors.
    func allocate(byteCount: Int, stream: UInt64 = 0) throws(CUDAError) -> CUdeviceptr {
        precondition(byteCount >= 0, "negative allocation size")
        if byteCount == 0 { return 0 }
        let size = Self.roundedSize(byteCount)
        let result = state.withLock { state -> Result<CUdeviceptr, CUDAError> in
            state.statistics.requests += 1
            if let block = Self.takeCached(size: size, stream: stream, from: &state) {
                state.statistics.cacheHits += 1
                Self.activate(block, in: &state)
                return .success(block.address)
            }
            do throws(CUDAError) {
                let address = try allocateRaw(size: size, requested: byteCount, state: &state)
                Self.activate(Block(address: address, size: size, stream: stream), in: &state)
                return .success(address)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Returns a block to the cache; any thread. Unknown addresses (0, or a double free) are
    /// ignored and reported as false rather than trapping inside a `deinit`.
    @discardableResult
    func free(_ address: CUdeviceptr) -> Bool {
        if address == 0 { return true }
        return state.withLock { state in
            guard let block = state.active.removeValue(forKey: address) else { return false }
            state.statistics.allocatedBytes -= block.size
            state.statistics.activeBlocks -= 1
            Self.insertCached(block, into: &state)
            return true
        }
    }

    /// Returns every cached block to the raw allocator (`torch.cuda.empty_cache()`).
    func emptyCache() {
        state.withLock { releaseCache(&$0) }
    }

    /// Starts the peaks over from the current values (`torch.cuda.reset_peak_memory_stats()`).
    func resetPeaks() {
        state.withLock { state in
            state.statistics.peakAllocatedBytes = state.statistics.allocatedBytes
            state.statistics.peakReservedBytes = state.statistics.reservedBytes
        }
    }

    /// A snapshot of the counters.
    var statistics: Statistics { state.withLock { $0.statistics } }

    // MARK: Internals (called with the lock held)

    private static func takeCached(size: Int, stream: UInt64, from state: inout State) -> Block? {
        guard var blocks = state.cached[stream], !blocks.isEmpty else { return nil }
        let index = firstIndex(ofSizeAtLeast: size, in: blocks)
        guard index < blocks.count, blocks[index].size <= reuseLimit(size) else { return nil }
        let block = blocks.remove(at: index)
        state.cached[stream] = blocks.isEmpty ? nil : blocks
        state.statistics.cachedBlocks -= 1
        return block
    }

    private static func insertCached(_ block: Block, into state: inout State) {
        var blocks = state.cached[block.stream] ?? []
        blocks.insert(block, at: firstIndex(ofSizeAtLeast: block.size, in: blocks))
        state.cached[block.stream] = blocks
        state.statistics.cachedBlocks += 1
    }

    /// Binary search: the first block not smaller than `size`.
    private static func firstIndex(ofSizeAtLeast size: Int, in blocks: [Block]) -> Int {
        var (low, high) = (0, blocks.count)
        while low < high {
            let middle = (low + high) / 2
            if blocks[middle].size < size { low = middle + 1 } else { high = middle }
        }
        return low
    }

    private static func activate(_ block: Block, in state: inout State) {
        state.active[block.address] = block
        state.statistics.allocatedBytes += block.size
        state.statistics.activeBlocks += 1
        state.statistics.peakAllocatedBytes = max(state.statistics.peakAllocatedBytes, state.statistics.allocatedBytes)
    }

    /// A fresh block from the raw allocator; on out-of-memory the cache goes back to the
    /// driver (other streams' blocks included) and the request is tried once more.
    private func allocateRaw(size: Int, requested: Int, state: inout State) throws(CUDAError) -> CUdeviceptr {
        var attempt = Result { () throws(CUDAError) in try allocateCounted(size: size, state: &state) }
        if case .failure(let error) = attempt, error.isOutOfMemory, state.statistics.cachedBlocks > 0 {
            state.statistics.outOfMemoryRetries += 1
            releaseCache(&state)
            attempt = Result { () throws(CUDAError) in try allocateCounted(size: size, state: &state) }
        }
        switch attempt {
        case .success(let address): return address
        case .failure(let error) where !error.isOutOfMemory: throw error
        case .failure:
            let stats = state.statistics
            throw .outOfMemory(
                "CUDA out of memory. Tried to allocate \(Self.formatBytes(requested)) on cuda:\(device). Ember holds \(Self.formatBytes(stats.allocatedBytes)) allocated by tensors and \(Self.formatBytes(stats.reservedBytes - stats.allocatedBytes)) reserved but unallocated (\(Self.formatBytes(stats.reservedBytes)) reserved in total). Free tensors you no longer need, or use smaller batches."
            )
        }
    }

    private func allocateCounted(size: Int, state: inout State) throws(CUDAError) -> CUdeviceptr {
        let address = try raw.allocate(byteCount: size)
        state.statistics.rawAllocations += 1
        state.statistics.reservedBytes += size
        state.statistics.peakReservedBytes = max(state.statistics.peakReservedBytes, state.statistics.reservedBytes)
        return address
    }

    private func releaseCache(_ state: inout State) {
        for block in state.cached.values.joined() {
            raw.free(block.address)
            state.statistics.rawFrees += 1
            state.statistics.reservedBytes -= block.size
        }
        state.cached = [:]
        state.statistics.cachedBlocks = 0
    }

    /// "20.00 MiB", as PyTorch's out-of-memory message writes sizes.
    static func formatBytes(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes), unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 { return "\(bytes) B" }
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction) \(units[unit])"
    }
}

/// Device memory straight from the driver, for the caching allocator on a real GPU.
struct CUDADriverMemory: CUDARawMemory, @unchecked Sendable {
    // @unchecked: a CUcontext is an opaque, process-wide handle the driver lets any thread
    // make current.
    /// The driver API.
    let driver: CUDADriverAPI
    /// The device's primary context, made current before each call because Swift tasks move
    /// between threads and the current context is per thread.
    let context: CUhandle
    /// Where failed frees are recorded.
    let health: CUDADeviceHealth

    /// `cuMemAlloc_v2` in the device's context.
    func allocate(byteCount: Int) throws(CUDAError) -> CUdeviceptr {
        try health.check(driver.cuCtxSetCurrent(context), "cuCtxSetCurrent", names: driver.describe)
        var address: CUdeviceptr = 0
        try health.check(driver.cuMemAlloc(&address, byteCount), "cuMemAlloc_v2(\(byteCount))", names: driver.describe)
        return address
    }

    /// `cuMemFree_v2` in the device's context; failures poison the device if sticky.
    func free(_ address: CUdeviceptr) {
        var result = driver.cuCtxSetCurrent(context)
        if result == CUDAResultCode.success { result = driver.cuMemFree(address) }
        if result != CUDAResultCode.success {
            let (name, message) = driver.describe(result)
            health.record(.driver(call: "cuMemFree_v2", code: result, name: name, message: message))
        }
    }
}
