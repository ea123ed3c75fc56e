import Foundation
import Synchronization
import Testing

@testable import Ember

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A GPU made of the CPU: a `CUDADeviceBackend` whose memory is host memory and whose kernels
/// are the generated CUDA sources compiled for the host (`HostKernelModule`). Installed as
/// `cuda:0` in the test process, it runs everything between an op and the driver (device
/// storage, the caching allocator, copies, kernel choice and arguments) without a GPU;
/// `Scripts/gpu-check` runs the same ops on a real one.
///
/// ```swift
/// try EmulatedCUDA.install()
/// let x = Tensor.randn(3).to(.cuda(0))
/// ```
final class EmulatedCUDA: CUDADeviceBackend, @unchecked Sendable {
    // @unchecked: the module cache is behind a mutex; everything else is immutable.
    let device: Device
    let multiprocessors = 2
    private let allocator: CUDACachingAllocator
    private let modules = Mutex<[String: HostKernelModule]>([:])

    private init(index: Int) {
        device = .cuda(index)
        allocator = CUDACachingAllocator(device: index, raw: HostMemory())
    }

    private static let installed: Result<Void, HostKernelError> = {
        guard HostKernelModule.compiler != nil else { return .failure(HostKernelError(message: "no clang++")) }
        CUDARuntime.install(EmulatedCUDA(index: 0))
        return .success(())
    }()

    /// Installs the emulated GPU as `cuda:0`, once per process.
    static func install() throws { try installed.get() }

    static var isAvailable: Bool { HostKernelModule.compiler != nil }

    var memoryStatistics: CUDACachingAllocator.Statistics { allocator.statistics }

    func allocate(byteCount: Int) throws(CUDAError) -> CUdeviceptr { try allocator.allocate(byteCount: byteCount) }
    func free(_ address: CUdeviceptr) { _ = allocator.free(address) }

    func copy(toDevice destination: CUdeviceptr, from source: UnsafeRawPointer, byteCount: Int) throws(CUDAError) {
        Self.host(destination).copyMemory(from: source, byteCount: byteCount)
    }

    func copy(toHost destination: UnsafeMutableRawPointer, from source: CUdeviceptr, byteCount: Int) throws(CUDAError) {
        destination.copyMemory(from: Self.host(source), byteCount: byteCount)
    }

    func copy(onDevice destination: CUdeviceptr, from source: CUdeviceptr, byteCount: Int) throws(CUDAError) {
        Self.host(destination).copyMemory(from: Self.host(source), byteCount: byteCount)
    }

    func launch(_ kernel: String, in module: CUDAKernelModule, blocks: Int, _ arguments: [CUDAKernelArgument]) throws(CUDAError) {
        try compiled(module).launch(kernel, blocks: blocks, arguments)
    }

    func synchronize() throws(CUDAError) {}

    /// The CPU's GEMM on the "device" memory, which is host memory.
    func gemm(
        _ dtype: DType, transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        a: CUdeviceptr, lda: Int, b: CUdeviceptr, ldb: Int, c: CUdeviceptr, ldc: Int
    ) throws(CUDAError) {
        if dtype == .float64 {
            GEMM.dgemm(
                transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: Self.typed(a), lda: lda, b: Self.typed(b),
                ldb: ldb, beta: 0, c: Self.typed(c), ldc: ldc)
        } else {
            GEMM.sgemm(
                transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: Self.typed(a), lda: lda, b: Self.typed(b),
                ldb: ldb, beta: 0, c: Self.typed(c), ldc: ldc)
        }
    }

    private static func typed<T>(_ address: CUdeviceptr) -> UnsafeMutablePointer<T> { host(address).assumingMemoryBound(to: T.self) }

    private func compiled(_ module: CUDAKernelModule) throws(CUDAError) -> HostKernelModule {
        if let compiled = modules.withLock({ $0[module.name] }) { return compiled }
        do {
            let compiled = try HostKernelModule(module)
            return modules.withLock { modules in
                if let raced = modules[module.name] { return raced }
                modules[module.name] = compiled
                return compiled
            }
        } catch {
            throw .unsupportedTarget("\(error)")
        }
    }

    private static func host(_ address: CUdeviceptr) -> UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: UInt(address))! }

    /// Host memory as "device" memory, 256-byte aligned like cuMemAlloc's.
    private struct HostMemory: CUDARawMemory {
        func allocate(byteCount: Int) throws(CUDAError) -> CUdeviceptr {
            var pointer: UnsafeMutableRawPointer?
            guard posix_memalign(&pointer, 256, byteCount) == 0, let pointer else { throw .outOfMemory("host memory") }
            // Poisoned, as uninitialized device memory would be anything.
            memset(pointer, 0xA5, byteCount)
            return CUdeviceptr(UInt(bitPattern: pointer))
        }

        func free(_ address: CUdeviceptr) { releaseHostMemory(UnsafeMutableRawPointer(bitPattern: UInt(address))) }
    }
}

private func releaseHostMemory(_ pointer: UnsafeMutableRawPointer?) { free(pointer) }
