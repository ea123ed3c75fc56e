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
    let allocator: CUDACachingAllocator

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

    private static let isolated: Result<Device, HostKernelError> = installed.map {
        CUDARuntime.install(EmulatedCUDA(index: 6))
        return .cuda(6)
    }

    /// A second emulated GPU, `cuda:6`, for tests that count all the work of a device: state
    /// that is the device's, such as the unread record of index checks (`CUDAIndexErrors`),
    /// would otherwise be shared with other tests running at the same time on `cuda:0`.
    static func isolatedDevice() throws -> Device { try isolated.get() }

    static var isAvailable: Bool { HostKernelModule.compiler != nil }


    func allocate(byteCount: Int) throws(CUDAError) -> CUdeviceptr { try allocator.allocate(byteCount: byteCount) }
    func free(_ address: CUdeviceptr) { _ = allocator.free(address) }

    func copy(toDevice destination: CUdeviceptr, from source: UnsafeRawPointer, byteCount: Int) throws(CUDAError) {
        Self.work?.append("host→device")
        Self.host(destination).copyMemory(from: source, byteCount: byteCount)
    }

    func copy(toHost destination: UnsafeMutableRawPointer, from source: CUdeviceptr, byteCount: Int) throws(CUDAError) {
        Self.work?.append("device→host")
        destination.copyMemory(from: Self.host(source), byteCount: byteCount)
    }

    func copy(onDevice destination: CUdeviceptr, from source: CUdeviceptr, byteCount: Int) throws(CUDAError) {
        Self.work?.append("device→device")
        Self.host(destination).copyMemory(from: Self.host(source), byteCount: byteCount)
    }

    func launch(_ kernel: String, in module: CUDAKernelModule, blocks: Int, _ arguments: [CUDAKernelArgument]) throws(CUDAError) {
        Self.work?.append(kernel)
        try compiled(module).launch(kernel, blocks: blocks, arguments)
    }

    /// What the device was asked to do, in order: kernel names, `gemm`, and copies
    /// (`host→device`, `device→host`, `device→device`).
    final class WorkLog: @unchecked Sendable {
        // @unchecked: the entries are behind a mutex.
        private let storage = Mutex<[String]>([])
        var entries: [String] { storage.withLock { $0 } }
        func append(_ entry: String) { storage.withLock { $0.append(entry) } }
    }

    /// The log that work of the current task goes to, if any.
    @TaskLocal static var work: WorkLog?

    /// The device work that `body` asks for.
    static func recordingWork(_ body: () throws -> Void) rethrows -> [String] {
        let log = WorkLog()
        try $work.withValue(log, operation: body)
        return log.entries
    }

    func synchronize() throws(CUDAError) {}

    /// Builds every module for the host.
    func compileKernels() throws(CUDAError) -> Int {
        for module in CUDAKernelSource.allModules { _ = try compiled(module) }
        return CUDAKernelSource.kernelCount
    }

    /// The CPU's GEMM on the "device" memory, which is host memory, a matrix at a time; half
    /// types multiply in float32 and round once, as the CPU's products do.
    func gemm(_ product: CUDAMatrixProduct) throws(CUDAError) {
        Self.work?.append("gemm")
        let (m, n, k) = (product.m, product.n, product.k)
        for batch in 0..<product.batchCount {
            let item = product.dtype.itemSize
            let matrix = { (operand: CUDAMatrixProduct.Operand) in operand.address + CUdeviceptr(batch * operand.stride * item) }
            let (a, b, c) = (matrix(product.a), matrix(product.b), matrix(product.c))
            switch product.dtype {
            case .float64:
                GEMM.dgemm(
                    transA: product.transA, transB: product.transB, m: m, n: n, k: k, alpha: 1, a: Self.typed(a),
                    lda: product.a.leading, b: Self.typed(b), ldb: product.b.leading, beta: 0, c: Self.typed(c), ldc: product.c.leading)
            case .float32:
                GEMM.sgemm(
                    transA: product.transA, transB: product.transB, m: m, n: n, k: k, alpha: 1, a: Self.typed(a),
                    lda: product.a.leading, b: Self.typed(b), ldb: product.b.leading, beta: 0, c: Self.typed(c), ldc: product.c.leading)
            default:
                // Each operand's span (rows × leading dimension) widened to float32.
                let widened = { (address: CUdeviceptr, rows: Int, columns: Int, leading: Int) -> [Float] in
                    let span = (rows - 1) * leading + columns
                    return (0..<span).map { Self.halfElement(address, $0, product.dtype) }
                }
                let wideA = widened(a, product.transA ? k : m, product.transA ? m : k, product.a.leading)
                let wideB = widened(b, product.transB ? n : k, product.transB ? k : n, product.b.leading)
                var wideC = [Float](repeating: 0, count: m * n)
                GEMM.sgemm(
                    transA: product.transA, transB: product.transB, m: m, n: n, k: k, alpha: 1, a: wideA, lda: product.a.leading,
                    b: wideB, ldb: product.b.leading, beta: 0, c: &wideC, ldc: n)
                let bits = Self.host(c).assumingMemoryBound(to: UInt16.self)
                for row in 0..<m {
                    for column in 0..<n {
                        let value = wideC[row * n + column]
                        bits[row * product.c.leading + column] =
                            product.dtype == .float16 ? Half(value).bitPattern : BFloat16(value).bitPattern
                    }
                }
            }
        }
    }

    private static func halfElement(_ address: CUdeviceptr, _ index: Int, _ dtype: DType) -> Float {
        let bits = host(address).assumingMemoryBound(to: UInt16.self)[index]
        return dtype == .float16 ? Half(bitPattern: bits).floatValue : BFloat16(bitPattern: bits).floatValue
    }

    private static func typed<T>(_ address: CUdeviceptr) -> UnsafeMutablePointer<T> { host(address).assumingMemoryBound(to: T.self) }

    private func compiled(_ module: CUDAKernelModule) throws(CUDAError) -> HostKernelModule {
        do {
            return try HostKernelModule.shared(module)
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
