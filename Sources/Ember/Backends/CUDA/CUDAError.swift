import Synchronization

/// A failure in the CUDA backend: a library that could not be loaded, a driver, NVRTC or cuBLAS
/// call that returned an error, or a device made unusable by an earlier error.
///
/// ```swift
/// do { _ = try CUDA.nvrtc() } catch let error as CUDAError { print(error) }
/// ```
enum CUDAError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A library was not found or did not load; the report lists every place searched.
    case libraryUnavailable(CUDALibraryLoadReport)
    /// A library loaded but lacks functions Ember needs (an older driver or toolkit).
    case missingSymbols(library: String, path: String, symbols: [String])
    /// A driver API call returned `code` (`CUDA_ERROR_OUT_OF_MEMORY` is `name`).
    case driver(call: String, code: Int32, name: String, message: String)
    /// NVRTC refused a program; `log` is the compiler's log, which says where and why.
    case nvrtc(call: String, code: Int32, name: String, log: String)
    /// A cuBLAS call returned a status other than `CUBLAS_STATUS_SUCCESS`.
    case cublas(call: String, code: Int32, name: String)
    /// No way to build kernels this driver can load (NVRTC too new, or the GPU too new).
    case unsupportedTarget(String)
    /// The caching allocator could not get memory even after returning its cache.
    case outOfMemory(String)
    /// The device hit a sticky error earlier; the context is corrupt until the process exits.
    case deviceUnusable(device: Int, cause: String)

    var description: String {
        switch self {
        case .libraryUnavailable(let report): report.description
        case .missingSymbols(let library, let path, let symbols):
            "\(library) at \(path) lacks \(symbols.joined(separator: ", ")); install a newer NVIDIA driver or toolkit"
        case .driver(let call, let code, let name, let message): "\(call) failed: \(name) (\(code)): \(message)"
        case .nvrtc(let call, let code, let name, let log):
            log.isEmpty ? "\(call) failed: \(name) (\(code))" : "\(call) failed: \(name) (\(code))\n\(log)"
        case .cublas(let call, let code, let name): "\(call) failed: \(name) (\(code))"
        case .unsupportedTarget(let message): message
        case .outOfMemory(let message): message
        case .deviceUnusable(let device, let cause):
            "cuda:\(device) is unusable after an earlier error (\(cause)); the CUDA context is corrupt, restart the process"
        }
    }

    /// Whether the error is the driver's out-of-memory result, which the allocator retries.
    var isOutOfMemory: Bool {
        if case .driver(_, let code, _, _) = self { return code == CUDAResultCode.outOfMemory }
        return false
    }
}

/// The driver result codes the backend treats specially (`cuda.h`'s `CUresult`).
enum CUDAResultCode {
    static let success: Int32 = 0
    static let outOfMemory: Int32 = 2
    static let notInitialized: Int32 = 3
    static let noDevice: Int32 = 100
    static let notReady: Int32 = 600

    /// Results after which the context is corrupt and every later call fails: illegal address,
    /// device-side assert, hardware stack error, illegal instruction, misaligned address,
    /// invalid address space, invalid PC and launch failure (the CUDA driver docs' list).
    static let sticky: Set<Int32> = [700, 710, 714, 715, 716, 717, 718, 719]

    /// Names for common results, used when the driver itself can't name them (it isn't
    /// loaded, or `cuGetErrorName` fails) so that messages still say more than a number.
    static let fallbackNames: [Int32: String] = [
        0: "CUDA_SUCCESS", 1: "CUDA_ERROR_INVALID_VALUE", 2: "CUDA_ERROR_OUT_OF_MEMORY",
        3: "CUDA_ERROR_NOT_INITIALIZED", 4: "CUDA_ERROR_DEINITIALIZED", 34: "CUDA_ERROR_STUB_LIBRARY",
        35: "CUDA_ERROR_INSUFFICIENT_DRIVER", 100: "CUDA_ERROR_NO_DEVICE", 101: "CUDA_ERROR_INVALID_DEVICE",
        200: "CUDA_ERROR_INVALID_IMAGE", 201: "CUDA_ERROR_INVALID_CONTEXT", 209: "CUDA_ERROR_NO_BINARY_FOR_GPU",
        218: "CUDA_ERROR_INVALID_PTX", 222: "CUDA_ERROR_UNSUPPORTED_PTX_VERSION", 400: "CUDA_ERROR_INVALID_HANDLE",
        500: "CUDA_ERROR_NOT_FOUND", 600: "CUDA_ERROR_NOT_READY", 700: "CUDA_ERROR_ILLEGAL_ADDRESS",
        701: "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", 702: "CUDA_ERROR_LAUNCH_TIMEOUT", 710: "CUDA_ERROR_ASSERT",
        714: "CUDA_ERROR_HARDWARE_STACK_ERROR", 715: "CUDA_ERROR_ILLEGAL_INSTRUCTION",
        716: "CUDA_ERROR_MISALIGNED_ADDRESS", 717: "CUDA_ERROR_INVALID_ADDRESS_SPACE", 718: "CUDA_ERROR_INVALID_PC",
        719: "CUDA_ERROR_LAUNCH_FAILED", 999: "CUDA_ERROR_UNKNOWN",
    ]
}

/// NVRTC's result names (`nvrtcResult`), for when `nvrtcGetErrorString` is unavailable.
enum NVRTCResultCode {
    static let success: Int32 = 0
    static let names: [Int32: String] = [
        0: "NVRTC_SUCCESS", 1: "NVRTC_ERROR_OUT_OF_MEMORY", 2: "NVRTC_ERROR_PROGRAM_CREATION_FAILURE",
        3: "NVRTC_ERROR_INVALID_INPUT", 4: "NVRTC_ERROR_INVALID_PROGRAM", 5: "NVRTC_ERROR_INVALID_OPTION",
        6: "NVRTC_ERROR_COMPILATION", 7: "NVRTC_ERROR_BUILTIN_OPERATION_FAILURE",
        8: "NVRTC_ERROR_NO_NAME_EXPRESSIONS_AFTER_COMPILATION", 9: "NVRTC_ERROR_NO_LOWERED_NAMES_BEFORE_COMPILATION",
        10: "NVRTC_ERROR_NAME_EXPRESSION_NOT_VALID", 11: "NVRTC_ERROR_INTERNAL_ERROR",
    ]
}

/// cuBLAS's status names (`cublasStatus_t`), for when `cublasGetStatusString` is unavailable.
enum CUBLASStatusCode {
    static let success: Int32 = 0
    static let names: [Int32: String] = [
        0: "CUBLAS_STATUS_SUCCESS", 1: "CUBLAS_STATUS_NOT_INITIALIZED", 3: "CUBLAS_STATUS_ALLOC_FAILED",
        7: "CUBLAS_STATUS_INVALID_VALUE", 8: "CUBLAS_STATUS_ARCH_MISMATCH", 11: "CUBLAS_STATUS_MAPPING_ERROR",
        13: "CUBLAS_STATUS_EXECUTION_FAILED", 14: "CUBLAS_STATUS_INTERNAL_ERROR", 15: "CUBLAS_STATUS_NOT_SUPPORTED",
        16: "CUBLAS_STATUS_LICENSE_ERROR",
    ]
}

/// One device's health: after a sticky error (an illegal address, a device-side assert) every
/// later call on the context fails, often with a less helpful code, so the first such error
/// is remembered and all further work is refused with it.
///
/// Errors from `deinit` paths (freeing memory) are recorded here instead of thrown, as cudarc
/// does, so they surface on the next call that can throw.
final class CUDADeviceHealth: Sendable {
    /// The device ordinal, for messages.
    let device: Int
    private let stickyError = Mutex<CUDAError?>(nil)

    /// Starts healthy.
    init(device: Int) { self.device = device }

    /// The sticky error that poisoned the device, if any.
    var poison: CUDAError? { stickyError.withLock { $0 } }

    /// Throws `deviceUnusable` when an earlier sticky error poisoned the device.
    func ensureUsable() throws(CUDAError) {
        if let poison { throw .deviceUnusable(device: device, cause: poison.description) }
    }

    /// Remembers `error` when it is sticky; the first one wins because later ones are echoes.
    func record(_ error: CUDAError) {
        guard case .driver(_, let code, _, _) = error, CUDAResultCode.sticky.contains(code) else { return }
        stickyError.withLock { if $0 == nil { $0 = error } }
    }

    /// Refuses work on a poisoned device, then turns a driver result into an error, recording
    /// sticky ones.
    func check(_ result: Int32, _ call: String, names: (Int32) -> (name: String, message: String)) throws(CUDAError) {
        try ensureUsable()
        guard result != CUDAResultCode.success else { return }
        let (name, message) = names(result)
        let error = CUDAError.driver(call: call, code: result, name: name, message: message)
        record(error)
        throw error
    }
}
