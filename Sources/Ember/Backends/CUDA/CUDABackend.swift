// The GPU behind `Device.cuda(n)`: memory, copies, kernel launches, synchronization. Ops talk
// to a `CUDADeviceBackend`; on an NVIDIA GPU that is `CUDADriverBackend` (driver API, NVRTC),
// and the tests install one that runs the same generated kernels on the CPU.

import Foundation
import Synchronization

/// One kernel argument as `cuLaunchKernel` takes it: the bytes a `kernelParams` entry points at.
///
/// ```swift
/// let arguments: [CUDAKernelArgument] = [.value(Int64(count)), .address(output), .address(input)]
/// ```
struct CUDAKernelArgument: Sendable {
    // Scalars and addresses inline, so that a launch allocates nothing per argument.
    private enum Payload: Sendable {
        case inline(SIMD2<UInt64>, byteCount: Int)
        case layout(CUDAStridedLayout)
    }
    private let payload: Payload

    /// An argument of up to 16 bytes, given as its bytes (a fill's element).
    init(bytes: [UInt8]) {
        precondition(bytes.count <= 16, "a kernel argument of \(bytes.count) bytes")
        var words = SIMD2<UInt64>()
        withUnsafeMutableBytes(of: &words) { $0.copyBytes(from: bytes) }
        payload = .inline(words, byteCount: bytes.count)
    }

    private init(_ payload: Payload) { self.payload = payload }

    /// A scalar or pointer parameter, passed by value.
    static func value<T: BitwiseCopyable>(_ value: T) -> Self {
        precondition(MemoryLayout<T>.size <= 16, "a kernel argument of \(MemoryLayout<T>.size) bytes")
        var words = SIMD2<UInt64>()
        withUnsafeMutableBytes(of: &words) { $0.storeBytes(of: value, as: T.self) }
        return Self(.inline(words, byteCount: MemoryLayout<T>.size))
    }
    /// A device address (`T*` in the kernel).
    static func address(_ address: CUdeviceptr) -> Self { value(address) }
    /// The strided kernels' `ember_layout`, passed by value like any other argument.
    static func layout(_ layout: CUDAStridedLayout) -> Self { Self(.layout(layout)) }

    /// The argument's size in bytes.
    var byteCount: Int {
        switch payload {
        case .inline(_, let byteCount): byteCount
        case .layout: CUDAStridedLayout.byteCount
        }
    }

    /// Writes the argument's bytes at `destination`.
    func write(to destination: UnsafeMutableRawPointer) {
        switch payload {
        case .inline(var words, let byteCount):
            withUnsafeBytes(of: &words) { destination.copyMemory(from: $0.baseAddress!, byteCount: byteCount) }
        case .layout(let layout):
            layout.write(to: destination)
        }
    }

    /// Calls `body` with `kernelParams`: an array of pointers, one to each argument's bytes,
    /// all in one temporary buffer.
    static func withParameters<R, Failure: Error>(
        _ arguments: [Self], _ body: (UnsafeMutablePointer<UnsafeMutableRawPointer?>) throws(Failure) -> R
    ) throws(Failure) -> R {
        let slots = arguments.map { ($0.byteCount + 15) / 16 * 16 }
        let total = slots.reduce(0, +)
        return try withUnsafeTemporaryAllocation(byteCount: max(total, 16), alignment: 16) { storage throws(Failure) in
            try withUnsafeTemporaryAllocation(of: UnsafeMutableRawPointer?.self, capacity: max(arguments.count, 1)) {
                pointers throws(Failure) in
                var offset = 0
                for (index, argument) in arguments.enumerated() {
                    let destination = storage.baseAddress! + offset
                    argument.write(to: destination)
                    pointers[index] = destination
                    offset += slots[index]
                }
                return try body(pointers.baseAddress!)
            }
        }
    }
}

/// What Ember's ops need from one GPU. Work is ordered (one stream): a copy to the host sees
/// every kernel launched before it.
protocol CUDADeviceBackend: AnyObject, Sendable {
    /// The device, `cuda:n`.
    var device: Device { get }
    /// Streaming multiprocessors, for grid sizes.
    var multiprocessors: Int { get }
    /// The caching allocator in front of the device's memory.
    var allocator: CUDACachingAllocator { get }

    /// At least `byteCount` bytes of device memory from the caching allocator.
    func allocate(byteCount: Int) throws(CUDAError) -> CUdeviceptr
    /// Returns memory from `allocate`, from any thread; never throws (errors surface later).
    func free(_ address: CUdeviceptr)
    /// Host to device; the host memory may be reused when this returns.
    func copy(toDevice destination: CUdeviceptr, from source: UnsafeRawPointer, byteCount: Int) throws(CUDAError)
    /// Device to host, after all earlier work; the bytes are there when this returns.
    func copy(toHost destination: UnsafeMutableRawPointer, from source: CUdeviceptr, byteCount: Int) throws(CUDAError)
    /// Device to device, ordered after earlier work.
    func copy(onDevice destination: CUdeviceptr, from source: CUdeviceptr, byteCount: Int) throws(CUDAError)
    /// Launches `kernel` of `module` over `blocks` blocks of `CUDAKernelSource.blockSize` threads.
    func launch(_ kernel: String, in module: CUDAKernelModule, blocks: Int, _ arguments: [CUDAKernelArgument]) throws(CUDAError)
    /// `C = op(A)·op(B)` for each matrix of a batch, row-major, in device memory.
    func gemm(_ product: CUDAMatrixProduct) throws(CUDAError)
    /// Waits for all work on the device.
    func synchronize() throws(CUDAError)
    /// Compiles every kernel module for this device ahead of use; returns the kernel count.
    func compileKernels() throws(CUDAError) -> Int
}

/// One GEMM call: `C = op(A)·op(B)` for `batchCount` row-major matrices of one floating
/// dtype, each matrix `stride` elements after the previous one (0 repeats a matrix).
///
/// ```swift
/// // C[64×10] = A[64×100] · B[100×10], contiguous
/// CUDAMatrixProduct(dtype: .float32, m: 64, n: 10, k: 100, a: (a, 100, 0), b: (b, 10, 0), c: (c, 10, 0))
/// ```
struct CUDAMatrixProduct: Sendable {
    /// One operand: its first element, the distance between its rows (the leading dimension),
    /// and between its matrices.
    typealias Operand = (address: CUdeviceptr, leading: Int, stride: Int)

    var dtype: DType
    /// Whether A and B are read transposed (op(A) is m×k, op(B) k×n; C is m×n).
    var transA = false, transB = false
    var m: Int, n: Int, k: Int
    var a: Operand, b: Operand, c: Operand
    var batchCount = 1
}

/// Switches for the GPU's matrix products, as `torch.backends.cuda.matmul`.
///
/// ```swift
/// CUDAMatmul.allowTF32 = true   // float32 products on tensor cores, with 10-bit mantissas
/// ```
public enum CUDAMatmul {
    private static let tf32 = Atomic<Bool>(false)

    /// Whether float32 products may round their inputs to TF32 for tensor cores
    /// (`torch.backends.cuda.matmul.allow_tf32`); off by default, so results keep float32's
    /// precision.
    public static var allowTF32: Bool {
        get { tf32.load(ordering: .relaxed) }
        set { tf32.store(newValue, ordering: .relaxed) }
    }
}

/// The backends of the devices in use, created on first use.
///
/// ```swift
/// let gpu = try CUDARuntime.backend(for: .cuda(0))
/// ```
enum CUDARuntime {
    private static let backends = Mutex<[Int: any CUDADeviceBackend]>([:])

    /// The backend of `device`, opening the driver and the device on first use.
    static func backend(for device: Device) throws(CUDAError) -> any CUDADeviceBackend {
        let existing = backends.withLock { $0[device.index] }
        if let existing { return existing }
        let created = try CUDADriverBackend(index: device.index)
        return backends.withLock { backends in
            if let raced = backends[device.index] { return raced }
            backends[device.index] = created
            return created
        }
    }

    /// Installs `backend` for its device in place of the driver's (the tests' CPU stand-in).
    static func install(_ backend: any CUDADeviceBackend) {
        backends.withLock { $0[backend.device.index] = backend }
    }

    /// The backend of `device` if it has been opened.
    static func openedBackend(for device: Device) -> (any CUDADeviceBackend)? {
        backends.withLock { $0[device.index] }
    }

    /// The backend of a device that holds tensors already: opening it cannot fail any more.
    static func existingBackend(for device: Device) -> any CUDADeviceBackend {
        guard let backend = openedBackend(for: device) else {
            fatalError("Ember: no CUDA backend for \(device), which holds tensors")
        }
        return backend
    }
}

// MARK: - The driver

/// A GPU through the driver API: its primary context, one stream, NVRTC-compiled modules.
final class CUDADriverBackend: CUDADeviceBackend, @unchecked Sendable {
    // @unchecked: the context and stream are opaque driver handles usable from any thread; the
    // mutable caches are behind mutexes.
    let device: Device
    let multiprocessors: Int
    private let driver: CUDADriverAPI
    private let context: CUhandle
    private let stream: CUhandle
    private let health: CUDADeviceHealth
    let allocator: CUDACachingAllocator
    private let compiler: any CUDAModuleCompiler
    private let target: CUDACompileTarget
    /// Opens cuBLAS, on the first product.
    private let openCUBLAS: @Sendable () throws(CUDAError) -> CUBLASAPI
    /// Loaded kernels' function handles (as bits: handles are not Sendable) by kernel name.
    private let functions = Mutex<[String: UInt]>([:])

    /// Opens GPU `index` through the libraries found on this machine.
    convenience init(index: Int) throws(CUDAError) {
        let driver = try CUDA.driver()
        let count = CUDA.deviceCount
        guard index < count else {
            throw .driver(
                call: "cuDeviceGet(\(index))", code: 101, name: "CUDA_ERROR_INVALID_DEVICE",
                message: count == 0 ? "no CUDA GPU was found (\(CUDA.diagnostics.replacingOccurrences(of: "\n", with: "; ")))" : "there are \(count) CUDA devices")
        }
        try self.init(index: index, driver: driver, compiler: NVRTCCompiler(nvrtc: try CUDA.nvrtc()), blas: CUDA.cublas)
    }

    /// Opens GPU `index` through the given driver, kernel compiler and cuBLAS (the tests pass
    /// stand-ins for all three).
    init(
        index: Int, driver: CUDADriverAPI, compiler: any CUDAModuleCompiler,
        blas: @escaping @Sendable () throws(CUDAError) -> CUBLASAPI
    ) throws(CUDAError) {
        let health = CUDADeviceHealth(device: index)
        try health.check(driver.cuInit(0), "cuInit", names: driver.describe)
        var driverVersion: Int32 = 0
        try health.check(driver.cuDriverGetVersion(&driverVersion), "cuDriverGetVersion", names: driver.describe)
        var ordinal: CUdevice = 0
        try health.check(driver.cuDeviceGet(&ordinal, Int32(index)), "cuDeviceGet", names: driver.describe)
        var context: CUhandle?
        try health.check(driver.cuDevicePrimaryCtxRetain(&context, ordinal), "cuDevicePrimaryCtxRetain", names: driver.describe)
        try health.check(driver.cuCtxSetCurrent(context), "cuCtxSetCurrent", names: driver.describe)
        var stream: CUhandle?
        // CU_STREAM_NON_BLOCKING: no implicit synchronization with the legacy default stream.
        try health.check(driver.cuStreamCreate(&stream, 1), "cuStreamCreate", names: driver.describe)
        func attribute(_ code: Int32) throws(CUDAError) -> Int {
            var value: Int32 = 0
            try health.check(driver.cuDeviceGetAttribute(&value, code, ordinal), "cuDeviceGetAttribute(\(code))", names: driver.describe)
            return Int(value)
        }
        // CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, COMPUTE_CAPABILITY_MAJOR and _MINOR.
        multiprocessors = try attribute(16)
        let capability = try attribute(75) * 10 + attribute(76)
        target = try compiler.target(computeCapability: capability, driverVersion: Int(driverVersion))
        self.compiler = compiler
        self.openCUBLAS = blas
        self.device = .cuda(index)
        self.driver = driver
        self.context = context!
        self.stream = stream!
        self.health = health
        allocator = CUDACachingAllocator(device: index, raw: CUDADriverMemory(driver: driver, context: context!, health: health))
    }


    /// Makes the device's context current on this thread: Swift tasks move between threads,
    /// and the current context is per thread.
    private func current() throws(CUDAError) {
        try health.check(driver.cuCtxSetCurrent(context), "cuCtxSetCurrent", names: driver.describe)
    }

    private func check(_ result: CUresult, _ call: String) throws(CUDAError) {
        try health.check(result, call, names: driver.describe)
    }

    private var streamID: UInt64 { UInt64(UInt(bitPattern: stream)) }

    /// `EMBER_CUDA_POISON=1` fills every allocation with 0xFF bytes (NaN in every float type),
    /// so that a kernel that misses an element shows it; `Scripts/gpu-check` sets it.
    private static let poisonsAllocations = ProcessInfo.processInfo.environment["EMBER_CUDA_POISON"] == "1"

    func allocate(byteCount: Int) throws(CUDAError) -> CUdeviceptr {
        try current()
        let address = try allocator.allocate(byteCount: byteCount, stream: streamID)
        if Self.poisonsAllocations {
            try check(driver.cuMemsetD8Async(address, 0xFF, byteCount, stream), "cuMemsetD8Async")
        }
        return address
    }

    func free(_ address: CUdeviceptr) { _ = allocator.free(address) }

    func copy(toDevice destination: CUdeviceptr, from source: UnsafeRawPointer, byteCount: Int) throws(CUDAError) {
        guard byteCount > 0 else { return }
        try current()
        try check(driver.cuMemcpyHtoDAsync(destination, source, byteCount, stream), "cuMemcpyHtoDAsync_v2")
        // The source is pageable host memory that the caller may free: wait until it is read.
        try check(driver.cuStreamSynchronize(stream), "cuStreamSynchronize")
    }

    func copy(toHost destination: UnsafeMutableRawPointer, from source: CUdeviceptr, byteCount: Int) throws(CUDAError) {
        guard byteCount > 0 else { return }
        try current()
        try check(driver.cuMemcpyDtoHAsync(destination, source, byteCount, stream), "cuMemcpyDtoHAsync_v2")
        try check(driver.cuStreamSynchronize(stream), "cuStreamSynchronize")
    }

    func copy(onDevice destination: CUdeviceptr, from source: CUdeviceptr, byteCount: Int) throws(CUDAError) {
        guard byteCount > 0 else { return }
        try current()
        try check(driver.cuMemcpyDtoDAsync(destination, source, byteCount, stream), "cuMemcpyDtoDAsync_v2")
    }

    func launch(_ kernel: String, in module: CUDAKernelModule, blocks: Int, _ arguments: [CUDAKernelArgument]) throws(CUDAError) {
        try current()
        let function = try self.function(kernel, in: module)
        try CUDAKernelArgument.withParameters(arguments) { parameters throws(CUDAError) in
            try check(
                driver.cuLaunchKernel(
                    function, UInt32(blocks), 1, 1, UInt32(CUDAKernelSource.blockSize), 1, 1, 0, stream, parameters, nil),
                "cuLaunchKernel(\(kernel))")
        }
    }

    func synchronize() throws(CUDAError) {
        try current()
        try check(driver.cuStreamSynchronize(stream), "cuStreamSynchronize")
    }

    /// cuBLAS and its handle, bound to this device's stream; created on the first product.
    private let blas = Mutex<(api: CUBLASAPI, handle: UInt)?>(nil)

    private func blasHandle() throws(CUDAError) -> (api: CUBLASAPI, handle: CUBLASAPI.Handle) {
        if let (api, bits) = blas.withLock({ $0 }), let handle = CUBLASAPI.Handle(bitPattern: bits) { return (api, handle) }
        let api = try openCUBLAS()
        var handle: CUBLASAPI.Handle?
        try api.check(api.cublasCreate(&handle), "cublasCreate_v2")
        try api.check(api.cublasSetStream(handle, stream), "cublasSetStream_v2")
        blas.withLock { $0 = (api, UInt(bitPattern: handle)) }
        return (api, handle!)
    }

    func gemm(_ product: CUDAMatrixProduct) throws(CUDAError) {
        try current()
        let (api, handle) = try blasHandle()
        // CUBLAS_TF32_TENSOR_OP_MATH or CUBLAS_DEFAULT_MATH (which never uses TF32), with
        // CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION: half products add in float32 all the
        // way, as the CPU's do, rather than in split-K partial sums of half.
        try api.check(api.cublasSetMathMode(handle, (CUDAMatmul.allowTF32 ? 3 : 0) | 16), "cublasSetMathMode")
        // cuBLAS is column-major: a row-major C = op(A)·op(B) is the column-major
        // Cᵀ = op(B)ᵀ·op(A)ᵀ, which is the same call with the operands swapped.
        let (opA, opB) = (Int32(product.transA ? 1 : 0), Int32(product.transB ? 1 : 0))
        let (m, n, k, batch) = (Int32(product.m), Int32(product.n), Int32(product.k), Int32(product.batchCount))
        let (a, b, c) = (product.a, product.b, product.c)
        let pointer = { (operand: CUDAMatrixProduct.Operand) in UnsafeMutableRawPointer(bitPattern: UInt(operand.address)) }
        let (lda, ldb, ldc) = (Int32(a.leading), Int32(b.leading), Int32(c.leading))
        let (strideA, strideB, strideC) = (Int64(a.stride), Int64(b.stride), Int64(c.stride))
        // float32 and float64: the S and D entry points, alike but for the scalars' type.
        func standard<Scalar: BinaryFloatingPoint & BitwiseCopyable>(
            _ type: Scalar.Type, _ single: CUBLASAPI.Gemm, _ batched: CUBLASAPI.GemmStridedBatched, _ letter: String
        ) throws(CUDAError) {
            var (one, zero): (Scalar, Scalar) = (1, 0)
            if batch == 1 {
                try api.check(
                    single(handle, opB, opA, n, m, k, &one, pointer(b), ldb, pointer(a), lda, &zero, pointer(c), ldc),
                    "cublas\(letter)gemm_v2")
            } else {
                try api.check(
                    batched(
                        handle, opB, opA, n, m, k, &one, pointer(b), ldb, strideB, pointer(a), lda, strideA, &zero, pointer(c),
                        ldc, strideC, batch), "cublas\(letter)gemmStridedBatched")
            }
        }
        switch product.dtype {
        case .float64: try standard(Double.self, api.cublasDgemm, api.cublasDgemmStridedBatched, "D")
        case .float32: try standard(Float.self, api.cublasSgemm, api.cublasSgemmStridedBatched, "S")
        default:
            // float16 and bfloat16 (CUDA_R_16F, CUDA_R_16BF) on tensor cores, adding in float32
            // (CUBLAS_COMPUTE_32F) with cuBLAS's default algorithm.
            let type: Int32 = product.dtype == .float16 ? 2 : 14
            var (one, zero): (Float, Float) = (1, 0)
            if batch == 1 {
                try api.check(
                    api.cublasGemmEx(
                        handle, opB, opA, n, m, k, &one, pointer(b), type, ldb, pointer(a), type, lda, &zero, pointer(c), type,
                        ldc, 68, -1), "cublasGemmEx")
            } else {
                try api.check(
                    api.cublasGemmStridedBatchedEx(
                        handle, opB, opA, n, m, k, &one, pointer(b), type, ldb, strideB, pointer(a), type, lda, strideA, &zero,
                        pointer(c), type, ldc, strideC, batch, 68, -1), "cublasGemmStridedBatchedEx")
            }
        }
    }

    func compileKernels() throws(CUDAError) -> Int {
        let modules = CUDAKernelSource.allModules
        let failures = Mutex<[CUDAError]>([])
        // NVRTC compiles separate programs concurrently; the compiler's caches are locked.
        DispatchQueue.concurrentPerform(iterations: modules.count) { index in
            do throws(CUDAError) {
                _ = try compiler.compile(modules[index], for: target)
            } catch {
                failures.withLock { $0.append(error) }
            }
        }
        if let failure = failures.withLock({ $0.first }) { throw failure }
        return CUDAKernelSource.kernelCount
    }

    /// The kernel's function handle, compiling and loading its module on first use.
    private func function(_ kernel: String, in module: CUDAKernelModule) throws(CUDAError) -> CUhandle {
        if let bits = functions.withLock({ $0[kernel] }), let function = CUhandle(bitPattern: bits) { return function }
        let compiled = try compiler.compile(module, for: target)
        var handle: CUhandle?
        let result = compiled.image.withUnsafeBytes { driver.cuModuleLoadData(&handle, $0.baseAddress) }
        try check(result, "cuModuleLoadData(\(module.name))")
        var loaded: [String: UInt] = [:]
        for name in module.kernels {
            var function: CUhandle?
            try check(driver.cuModuleGetFunction(&function, handle, name), "cuModuleGetFunction(\(name))")
            loaded[name] = UInt(bitPattern: function)
        }
        // Two threads may load a module at once; both loads work, and the first one's kernels stay.
        functions.withLock { $0.merge(loaded) { old, _ in old } }
        guard let function = loaded[kernel].flatMap({ CUhandle(bitPattern: $0) }) else {
            throw .unsupportedTarget("\(kernel) is not a kernel of \(module.name)")
        }
        return function
    }
}
