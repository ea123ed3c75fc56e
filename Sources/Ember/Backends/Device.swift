/// Where a tensor's memory lives: the CPU or one NVIDIA GPU.
///
/// ```swift
/// let device = Device.isCUDAAvailable ? Device.cuda(0) : .cpu
/// let x = Tensor.randn(64, 1000, device: device)
/// Device("cuda:1")   // the second GPU
/// ```
public struct Device: Hashable, Sendable, CustomStringConvertible {
    /// The kind of processor.
    public enum Kind: String, Sendable { case cpu, cuda }

    /// The kind of processor.
    public let kind: Kind
    /// The device's ordinal among devices of its kind (0 for the CPU).
    public let index: Int

    /// The host CPU.
    public static let cpu = Device(kind: .cpu, index: 0)

    /// The NVIDIA GPU with the given ordinal.
    public static func cuda(_ index: Int = 0) -> Device { Device(kind: .cuda, index: index) }

    private init(kind: Kind, index: Int) {
        self.kind = kind
        self.index = index
    }

    /// Parses PyTorch's device strings: `"cpu"`, `"cuda"`, `"cuda:1"`.
    public init(_ string: String) {
        let parts = string.split(separator: ":", omittingEmptySubsequences: false)
        switch (parts.first, parts.count) {
        case ("cpu", 1): self = .cpu
        case ("cuda", 1): self = .cuda(0)
        case ("cuda", 2) where Int(parts[1]).map({ $0 >= 0 }) == true: self = .cuda(Int(parts[1])!)
        default:
            reportError("Invalid device string: '\(string)'")
            self = .cpu
        }
    }

    /// `cpu` or `cuda:N`, as PyTorch prints devices.
    public var description: String { kind == .cpu ? "cpu" : "cuda:\(index)" }

    /// Whether a CUDA driver and at least one GPU can be used. Never crashes without a GPU.
    public static var isCUDAAvailable: Bool { cudaDeviceCount > 0 }

    /// The number of usable NVIDIA GPUs; 0 when there is no driver.
    public static var cudaDeviceCount: Int { CUDA.deviceCount }

    /// Bytes of this GPU's memory that tensors hold (`torch.cuda.memory_allocated`), rounded
    /// up to the caching allocator's block sizes; 0 for the CPU and for a GPU not used yet.
    ///
    /// ```swift
    /// print(Device.cuda(0).memoryAllocated, Device.cuda(0).memoryReserved)
    /// ```
    public var memoryAllocated: Int { cudaMemoryStatistics?.allocatedBytes ?? 0 }

    /// Bytes the caching allocator holds from the driver, in use or cached for reuse
    /// (`torch.cuda.memory_reserved`); 0 for the CPU and for a GPU not used yet.
    public var memoryReserved: Int { cudaMemoryStatistics?.reservedBytes ?? 0 }

    /// The most `memoryAllocated` has been since the GPU was first used or since
    /// `resetPeakMemoryStats()` (`torch.cuda.max_memory_allocated`).
    public var maxMemoryAllocated: Int { cudaMemoryStatistics?.peakAllocatedBytes ?? 0 }

    /// The most `memoryReserved` has been since the GPU was first used or since
    /// `resetPeakMemoryStats()` (`torch.cuda.max_memory_reserved`).
    public var maxMemoryReserved: Int { cudaMemoryStatistics?.peakReservedBytes ?? 0 }

    /// Starts `maxMemoryAllocated` and `maxMemoryReserved` over from the current values
    /// (`torch.cuda.reset_peak_memory_stats`).
    public func resetPeakMemoryStats() { cudaAllocator?.resetPeaks() }

    /// Hands the memory that the caching allocator keeps for reuse back to the driver, so that
    /// other processes can have it (`torch.cuda.empty_cache`); tensors keep theirs. Waits for
    /// the GPU first: a cached block may still be read by work in flight.
    ///
    /// ```swift
    /// Device.cuda(0).emptyCache()   // memoryReserved drops to memoryAllocated
    /// ```
    public func emptyCache() {
        guard let allocator = cudaAllocator else { return }
        synchronize()
        allocator.emptyCache()
    }

    private var cudaAllocator: CUDACachingAllocator? { kind == .cuda ? CUDARuntime.openedBackend(for: self)?.allocator : nil }
    private var cudaMemoryStatistics: CUDACachingAllocator.Statistics? { cudaAllocator?.statistics }

    /// What was found of CUDA: the driver's version and GPUs, NVRTC's and cuBLAS's paths and
    /// versions, or for each what was searched and why it failed.
    ///
    /// ```swift
    /// if !Device.isCUDAAvailable { print(Device.cudaDiagnostics) }
    /// ```
    public static var cudaDiagnostics: String { CUDA.diagnostics }

    /// Waits until the GPU has finished all work queued so far (`torch.cuda.synchronize`); on
    /// the CPU, and on a GPU not used yet, there is nothing to wait for.
    public func synchronize() {
        guard kind == .cuda, let backend = CUDARuntime.openedBackend(for: self) else { return }
        do throws(CUDAError) {
            try backend.synchronize()
            CUDAIndexErrors.reportRecorded(on: backend)
        } catch {
            reportError("synchronizing \(self) failed: \(error)")
        }
    }

    /// Compiles every kernel Ember has for this GPU now, on all cores, into the kernel cache,
    /// so that no op later waits for NVRTC on first use (a fresh machine compiles over 800);
    /// returns how many. On the CPU there is nothing to compile.
    ///
    /// ```swift
    /// _ = Device.cuda(0).compileKernels()   // at startup, before timing anything
    /// ```
    @discardableResult
    public func compileKernels() -> Int {
        guard kind == .cuda, checkAvailable() else { return 0 }
        do throws(CUDAError) {
            return try CUDARuntime.existingBackend(for: self).compileKernels()
        } catch {
            reportError("compiling kernels for \(self) failed: \(error)")
            return 0
        }
    }

    /// Whether tensors can be placed here, opening the GPU on first use; reports why not
    /// otherwise (what was searched and what was missing, or the driver's error).
    func checkAvailable() -> Bool {
        guard kind == .cuda else { return true }
        do throws(CUDAError) {
            _ = try CUDARuntime.backend(for: self)
            return true
        } catch {
            reportError("\(self) is not available: \(error)")
            return false
        }
    }
}
