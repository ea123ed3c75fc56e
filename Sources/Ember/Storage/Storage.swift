import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A block of memory that tensors view: one allocation shared by a tensor and all its views.
final class Storage: @unchecked Sendable {
    let bytes: UnsafeMutableRawPointer
    let byteCount: Int
    let device: Device
    /// Host memory standing in for a GPU's that refuses all work (after a sticky error), so
    /// that `withErrorChecking` can report the error and go on: no GPU call ever reads it.
    private let isPlaceholder: Bool
    /// Counts in-place modifications, for autograd's checks of saved tensors; shared by every
    /// tensor viewing this memory, as PyTorch's version counter is shared by views.
    let version = Atomic<Int>(0)

    /// Allocates uninitialized memory from the device's caching allocator. A GPU's backend
    /// must be open already (`Device.checkAvailable()`, which every way onto a GPU calls).
    init(byteCount: Int, device: Device = .cpu) {
        self.byteCount = byteCount
        self.device = device
        guard device.kind == .cuda else {
            bytes = CPUAllocator.shared.allocate(byteCount)
            isPlaceholder = false
            return
        }
        do throws(CUDAError) {
            let address = try CUDARuntime.existingBackend(for: device).allocate(byteCount: max(byteCount, 1))
            bytes = UnsafeMutableRawPointer(bitPattern: UInt(address))!
            isPlaceholder = false
        } catch .deviceUnusable(let index, let cause) where ErrorScope.current != nil {
            reportError(CUDAError.deviceUnusable(device: index, cause: cause).description)
            bytes = CPUAllocator.shared.allocate(byteCount)
            isPlaceholder = true
        } catch {
            fatalError("Ember: CUDA out of memory on \(device) allocating \(byteCount) bytes: \(error)")
        }
    }

    deinit {
        if device.kind == .cuda && !isPlaceholder {
            CUDARuntime.existingBackend(for: device).free(deviceAddress)
        } else {
            CPUAllocator.shared.release(bytes, byteCount: byteCount)
        }
    }

    /// The memory as CPU kernels read it; a GPU's memory never reaches them.
    @inline(__always) func pointer<E>(as type: E.Type) -> UnsafeMutablePointer<E> {
        if device.kind != .cpu {
            fatalError("Ember: a CPU kernel was handed memory on \(device): this op is not implemented for CUDA yet")
        }
        return bytes.assumingMemoryBound(to: E.self)
    }

    /// The GPU address of the memory.
    var deviceAddress: CUdeviceptr { CUdeviceptr(UInt(bitPattern: bytes)) }
}

/// Reuses freed blocks of the same size so that training loops don't pay for page faults on
/// fresh memory each step (PyTorch's CPU allocator returns memory to the system and does).
///
/// Freed blocks of one size form a chain linked through each block's first word, so that
/// taking or keeping one is a few loads and stores under the lock: a dictionary of arrays
/// cost ~1,000 instructions an allocation, a quarter of a 1K-float add's time.
final class CPUAllocator: @unchecked Sendable {
    static let shared = CPUAllocator()

    /// The most bytes kept for reuse; beyond it freed blocks go back to the system.
    let cacheLimit: Int
    /// Blocks smaller than this are cheap for malloc and are not cached.
    let smallBlock = 4096
    /// Sizes below this find their chain by index (sizes are multiples of 64 bytes); larger
    /// ones, rarer and slower to fill, by hashing.
    private static let indexedLimit = 1 << 20

    private let lock = Lock()
    /// The first freed block of each size below `indexedLimit`, at index `size / 64`.
    private let indexedChains = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: indexedLimit / 64)
    @exclusivity(unchecked) private var hashedChains: [Int: UnsafeMutableRawPointer] = [:]
    /// The bytes of the freed blocks kept for reuse.
    @exclusivity(unchecked) private(set) var cachedBytes = 0

    init(cacheLimit: Int = 1 << 31) {
        self.cacheLimit = cacheLimit
        indexedChains.initialize(repeating: nil, count: Self.indexedLimit / 64)
    }

    deinit {
        func freeChain(_ head: UnsafeMutableRawPointer?) {
            var next = head
            while let block = next {
                next = block.load(as: UnsafeMutableRawPointer?.self)
                free(block)
            }
        }
        for index in 0..<Self.indexedLimit / 64 { freeChain(indexedChains[index]) }
        hashedChains.values.forEach(freeChain)
        indexedChains.deallocate()
    }

    func allocate(_ byteCount: Int) -> UnsafeMutableRawPointer {
        let size = Self.roundedSize(byteCount)
        if size >= smallBlock, let block = lock.withLock({ takeCached(size) }) { return block }
        // Small blocks come from malloc (16-byte aligned; kernels load unaligned), which is
        // cheaper than an aligned allocation for the many tiny tensors of autograd.
        if size < smallBlock, let pointer = malloc(size) { return pointer }
        var pointer: UnsafeMutableRawPointer?
        guard posix_memalign(&pointer, 64, size) == 0, let pointer else {
            fatalError("Ember: out of memory allocating \(byteCount) bytes on the CPU")
        }
        return pointer
    }

    func release(_ pointer: UnsafeMutableRawPointer, byteCount: Int) {
        let size = Self.roundedSize(byteCount)
        if size >= smallBlock {
            let kept = lock.withLock { () -> Bool in
                guard cachedBytes + size <= cacheLimit else { return false }
                pointer.storeBytes(of: chainHead(size), as: UnsafeMutableRawPointer?.self)
                setChainHead(size, pointer)
                cachedBytes += size
                return true
            }
            if kept { return }
        }
        free(pointer)
    }

    private func takeCached(_ size: Int) -> UnsafeMutableRawPointer? {
        guard let block = chainHead(size) else { return nil }
        setChainHead(size, block.load(as: UnsafeMutableRawPointer?.self))
        cachedBytes -= size
        return block
    }

    private func chainHead(_ size: Int) -> UnsafeMutableRawPointer? {
        size < Self.indexedLimit ? indexedChains[size / 64] : hashedChains[size]
    }

    private func setChainHead(_ size: Int, _ block: UnsafeMutableRawPointer?) {
        if size < Self.indexedLimit {
            indexedChains[size / 64] = block
        } else {
            hashedChains[size] = block
        }
    }

    private static func roundedSize(_ byteCount: Int) -> Int { max(64, (byteCount + 63) & ~63) }
}
