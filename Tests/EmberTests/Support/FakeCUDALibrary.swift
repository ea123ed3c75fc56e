import Foundation
import Synchronization
import Testing

@testable import Ember

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A libcuda and libcublas of our own, written from the C signatures in NVIDIA's headers and
/// compiled at test time, so that `CUDADriverBackend` (the code that runs on a real GPU) runs
/// in CI: every driver and cuBLAS call it makes goes through the same C ABI as on a GPU.
///
/// It is strict where the real libraries are: device memory, streams and kernels only in the
/// context made current on the calling thread (CUDA_ERROR_INVALID_CONTEXT otherwise), no empty
/// allocations or grids (CUDA_ERROR_INVALID_VALUE), async work only on the stream the backend
/// created, cuBLAS's leading-dimension rules, and after a sticky error every call on that
/// device fails with it. Device memory is host memory; a launch runs the kernel's host build
/// (`HostKernelModule`), found by the module name that the stand-in compiler puts in the image.
///
/// ```swift
/// let gpu = try FakeCUDALibrary.device(1)   // cuda:1 through CUDADriverBackend
/// ```
enum FakeCUDALibrary {
    private static let opened: Result<CUDASharedLibrary, any Error> = Result {
        let opened = try CUDASharedLibrary(opening: try HostKernelModule.compileLibrary(named: "fake-cuda", cppSource: source))
        try opened.require("ember_fake_set_launch_hook", as: (@convention(c) (LaunchHook) -> Void).self)(launchKernel)
        return opened
    }

    private typealias LaunchHook =
        @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>, UInt32, UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> Void

    /// Runs a launch on the kernel's host build: what the fake `cuLaunchKernel` calls.
    private static let launchKernel: LaunchHook = { moduleName, kernel, blocks, parameters in
        let name = String(cString: moduleName)
        guard let module = CUDAKernelSource.allModules.first(where: { $0.name == name }) else {
            fatalError("the fake driver loaded an image that names no module: \(name)")
        }
        do {
            try HostKernelModule.shared(module).launch(String(cString: kernel), blocks: Int(blocks), parameters: parameters)
        } catch {
            fatalError("\(error)")
        }
    }

    private static let backends = Mutex<[Int: CUDADriverBackend]>([:])

    /// `cuda:index` through `CUDADriverBackend` on the fake libraries, installed for the process
    /// (devices 1 to 5; `cuda:0` is the emulated GPU). Tests that count calls use a device of
    /// their own.
    static func device(_ index: Int) throws -> Device {
        let library = try opened.get()
        try backends.withLock { backends in
            guard backends[index] == nil else { return }
            let backend = try CUDADriverBackend(
                index: index, driver: CUDADriverAPI(library: library), compiler: HostCompiler(),
                blas: { () throws(CUDAError) in try CUBLASAPI(library: library) })
            CUDARuntime.install(backend)
            backends[index] = backend
        }
        return .cuda(index)
    }

    /// Makes the next kernel launch on `device` fail with the driver error `code` (700 is an
    /// illegal address). Per device: tests run side by side, and a launch on another test's device
    /// must not take the failure.
    static func failNextLaunch(on device: Device, with code: Int32) throws {
        try opened.get().require("ember_fake_fail_next_launch", as: (@convention(c) (Int32, Int32) -> Void).self)(
            Int32(device.index), code)
    }

    /// How many times `call` (`cuMemAlloc_v2`, `cublasGemmEx`) ran on `device`.
    static func count(_ call: String, on device: Device) throws -> Int {
        let counter = try opened.get().require("ember_fake_count", as: (@convention(c) (UnsafePointer<CChar>, Int32) -> Int64).self)
        return Int(counter(call, Int32(device.index)))
    }

    /// The image of a module is its name: the fake driver runs the host build of that module.
    private struct HostCompiler: CUDAModuleCompiler {
        func target(computeCapability: Int, driverVersion: Int) throws(CUDAError) -> CUDACompileTarget { .cubin(computeCapability) }
        func compile(_ module: CUDAKernelModule, for target: CUDACompileTarget) throws(CUDAError) -> CUDACompiledModule {
            CUDACompiledModule(name: module.name, kernels: module.kernels, target: target, image: Array(module.name.utf8) + [0], log: "")
        }
    }

    /// The libraries' C++ source: the entry points `CUDADriverAPI` and `CUBLASAPI` resolve,
    /// with the signatures of cuda.h and cublas_api.h.
    private static let source = #"""
        #include <atomic>
        #include <cstdint>
        #include <cstdlib>
        #include <cstring>
        #include <map>
        #include <mutex>
        #include <string>

        typedef int CUresult;
        typedef unsigned long long CUdeviceptr;
        typedef int CUdevice;
        typedef void (*launch_hook)(const char *module, const char *kernel, unsigned blocks, void **parameters);

        enum { kDevices = 6, kMultiprocessors = 4 };
        enum { SUCCESS = 0, INVALID_VALUE = 1, INVALID_CONTEXT = 201, INVALID_HANDLE = 400, NOT_FOUND = 500 };

        struct Device { bool retained = false; int sticky = 0; void *stream = nullptr; };
        static Device devices[kDevices];
        static int contexts[kDevices];                    // a context is the address of its slot
        static thread_local int *current = nullptr;       // the calling thread's current context
        static launch_hook hook = nullptr;
        static std::atomic<int> fail_next_launch[kDevices];
        static std::mutex counts_lock;
        static std::map<std::string, long long> counts;

        // Calls counted per device (the one current on the calling thread).
        static void tally(const char *call) {
          std::lock_guard<std::mutex> guard(counts_lock);
          counts[std::string(call) + "@" + std::to_string(current ? int(current - contexts) : -1)] += 1;
        }
        static Device *current_device() { return current ? &devices[current - contexts] : nullptr; }
        // Every call that works on a device: a current context, and no earlier sticky error.
        #define IN_CONTEXT(call) tally(call); Device *device = current_device(); \
            if (!device) return INVALID_CONTEXT; if (device->sticky) return device->sticky;
        #define ON_STREAM(stream) if ((stream) != device->stream) return INVALID_HANDLE;

        struct Function { std::string module, kernel; };

        extern "C" {
        void ember_fake_set_launch_hook(launch_hook h) { hook = h; }
        void ember_fake_fail_next_launch(int device, int code) { fail_next_launch[device] = code; }
        long long ember_fake_count(const char *call, int device) {
          std::lock_guard<std::mutex> guard(counts_lock);
          return counts[std::string(call) + "@" + std::to_string(device)];
        }

        CUresult cuInit(unsigned flags) { return flags == 0 ? SUCCESS : INVALID_VALUE; }
        CUresult cuDriverGetVersion(int *version) { *version = 13000; return SUCCESS; }
        CUresult cuDeviceGetCount(int *count) { *count = kDevices; return SUCCESS; }
        CUresult cuDeviceGet(CUdevice *device, int ordinal) {
            if (ordinal < 0 || ordinal >= kDevices) return 101;  // CUDA_ERROR_INVALID_DEVICE
            *device = ordinal; return SUCCESS;
        }
        CUresult cuDeviceGetName(char *name, int length, CUdevice) { strncpy(name, "Ember fake GPU", length); return SUCCESS; }
        CUresult cuDeviceGetAttribute(int *value, int attribute, CUdevice) {
            switch (attribute) {
            case 16: *value = kMultiprocessors; return SUCCESS;  // MULTIPROCESSOR_COUNT
            case 75: *value = 9; return SUCCESS;                 // COMPUTE_CAPABILITY_MAJOR
            case 76: *value = 0; return SUCCESS;                 // COMPUTE_CAPABILITY_MINOR
            default: *value = 0; return SUCCESS;
            }
        }
        CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice) { *bytes = size_t(1) << 34; return SUCCESS; }
        CUresult cuDevicePrimaryCtxRetain(void **context, CUdevice device) {
            devices[device].retained = true; *context = &contexts[device]; return SUCCESS;
        }
        CUresult cuDevicePrimaryCtxRelease_v2(CUdevice device) { devices[device].retained = false; return SUCCESS; }
        CUresult cuCtxSetCurrent(void *context) {
            tally("cuCtxSetCurrent");
            int *slot = static_cast<int *>(context);
            if (slot && (slot < contexts || slot >= contexts + kDevices || !devices[slot - contexts].retained)) return INVALID_CONTEXT;
            current = slot; return SUCCESS;
        }
        CUresult cuCtxGetCurrent(void **context) { *context = current; return SUCCESS; }
        CUresult cuCtxSynchronize(void) { IN_CONTEXT("cuCtxSynchronize") return SUCCESS; }

        CUresult cuStreamCreate(void **stream, unsigned flags) {
            IN_CONTEXT("cuStreamCreate")
            if (flags > 1) return INVALID_VALUE;
            *stream = device->stream = malloc(1); return SUCCESS;
        }
        CUresult cuStreamSynchronize(void *stream) { IN_CONTEXT("cuStreamSynchronize") ON_STREAM(stream) return SUCCESS; }
        CUresult cuStreamQuery(void *stream) { IN_CONTEXT("cuStreamQuery") ON_STREAM(stream) return SUCCESS; }
        CUresult cuStreamWaitEvent(void *stream, void *, unsigned) { IN_CONTEXT("cuStreamWaitEvent") ON_STREAM(stream) return SUCCESS; }
        CUresult cuStreamDestroy_v2(void *stream) { IN_CONTEXT("cuStreamDestroy_v2") ON_STREAM(stream) return SUCCESS; }
        CUresult cuEventCreate(void **event, unsigned) { IN_CONTEXT("cuEventCreate") *event = malloc(1); return SUCCESS; }
        CUresult cuEventRecord(void *, void *stream) { IN_CONTEXT("cuEventRecord") ON_STREAM(stream) return SUCCESS; }
        CUresult cuEventSynchronize(void *) { IN_CONTEXT("cuEventSynchronize") return SUCCESS; }
        CUresult cuEventQuery(void *) { IN_CONTEXT("cuEventQuery") return SUCCESS; }
        CUresult cuEventDestroy_v2(void *event) { IN_CONTEXT("cuEventDestroy_v2") free(event); return SUCCESS; }

        CUresult cuMemAlloc_v2(CUdeviceptr *address, size_t bytes) {
            IN_CONTEXT("cuMemAlloc_v2")
            if (bytes == 0) return INVALID_VALUE;
            void *memory = aligned_alloc(256, (bytes + 255) / 256 * 256);
            if (!memory) return 2;  // CUDA_ERROR_OUT_OF_MEMORY
            *address = reinterpret_cast<CUdeviceptr>(memory); return SUCCESS;
        }
        CUresult cuMemFree_v2(CUdeviceptr address) { IN_CONTEXT("cuMemFree_v2") free(reinterpret_cast<void *>(address)); return SUCCESS; }
        CUresult cuMemGetInfo_v2(size_t *available, size_t *total) {
            IN_CONTEXT("cuMemGetInfo_v2") *available = *total = size_t(1) << 34; return SUCCESS;
        }
        CUresult cuMemHostAlloc(void **pointer, size_t bytes, unsigned) { *pointer = malloc(bytes); return SUCCESS; }
        CUresult cuMemFreeHost(void *pointer) { free(pointer); return SUCCESS; }
        CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr destination, const void *source, size_t bytes, void *stream) {
            IN_CONTEXT("cuMemcpyHtoDAsync_v2") ON_STREAM(stream)
            memcpy(reinterpret_cast<void *>(destination), source, bytes); return SUCCESS;
        }
        CUresult cuMemcpyDtoHAsync_v2(void *destination, CUdeviceptr source, size_t bytes, void *stream) {
            IN_CONTEXT("cuMemcpyDtoHAsync_v2") ON_STREAM(stream)
            memcpy(destination, reinterpret_cast<const void *>(source), bytes); return SUCCESS;
        }
        CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr destination, CUdeviceptr source, size_t bytes, void *stream) {
            IN_CONTEXT("cuMemcpyDtoDAsync_v2") ON_STREAM(stream)
            memmove(reinterpret_cast<void *>(destination), reinterpret_cast<const void *>(source), bytes); return SUCCESS;
        }
        CUresult cuMemsetD8Async(CUdeviceptr destination, unsigned char value, size_t count, void *stream) {
            IN_CONTEXT("cuMemsetD8Async") ON_STREAM(stream)
            memset(reinterpret_cast<void *>(destination), value, count); return SUCCESS;
        }
        CUresult cuMemsetD32Async(CUdeviceptr destination, unsigned value, size_t count, void *stream) {
            IN_CONTEXT("cuMemsetD32Async") ON_STREAM(stream)
            for (size_t i = 0; i < count; i++) reinterpret_cast<unsigned *>(destination)[i] = value;
            return SUCCESS;
        }

        CUresult cuModuleLoadData(void **module, const void *image) {
            IN_CONTEXT("cuModuleLoadData")
            *module = strdup(static_cast<const char *>(image)); return SUCCESS;
        }
        CUresult cuModuleGetFunction(void **function, void *module, const char *name) {
            IN_CONTEXT("cuModuleGetFunction")
            *function = new Function{static_cast<const char *>(module), name}; return SUCCESS;
        }
        CUresult cuModuleUnload(void *module) { IN_CONTEXT("cuModuleUnload") free(module); return SUCCESS; }
        CUresult cuFuncSetAttribute(void *, int, int) { IN_CONTEXT("cuFuncSetAttribute") return SUCCESS; }
        CUresult cuLaunchKernel(void *function, unsigned gridX, unsigned gridY, unsigned gridZ, unsigned blockX,
                                unsigned blockY, unsigned blockZ, unsigned sharedBytes, void *stream, void **parameters,
                                void **extra) {
            IN_CONTEXT("cuLaunchKernel") ON_STREAM(stream)
            if (!function || !parameters || extra) return INVALID_VALUE;
            if (gridX == 0 || gridY != 1 || gridZ != 1 || blockX == 0 || blockX > 1024 || blockY != 1 || blockZ != 1)
                return INVALID_VALUE;
            if (int code = fail_next_launch[device - devices].exchange(0)) { device->sticky = code; return code; }
            Function *f = static_cast<Function *>(function);
            hook(f->module.c_str(), f->kernel.c_str(), gridX, parameters);
            return SUCCESS;
        }
        CUresult cuGetErrorName(CUresult error, const char **name) {
            switch (error) {
            case 1: *name = "CUDA_ERROR_INVALID_VALUE"; return SUCCESS;
            case 201: *name = "CUDA_ERROR_INVALID_CONTEXT"; return SUCCESS;
            case 400: *name = "CUDA_ERROR_INVALID_HANDLE"; return SUCCESS;
            case 700: *name = "CUDA_ERROR_ILLEGAL_ADDRESS"; return SUCCESS;
            default: return INVALID_VALUE;
            }
        }
        CUresult cuGetErrorString(CUresult error, const char **message) {
            *message = error == 700 ? "an illegal memory access was encountered" : "error from the fake driver";
            return SUCCESS;
        }

        // cuBLAS: column-major products adding in float (double for double), as its reference does.
        struct Handle { void *stream = nullptr; int math = 0; };
        enum { STATUS_SUCCESS = 0, STATUS_INVALID_VALUE = 7, STATUS_EXECUTION_FAILED = 13 };

        int cublasCreate_v2(Handle **handle) { tally("cublasCreate_v2"); *handle = new Handle; return STATUS_SUCCESS; }
        int cublasDestroy_v2(Handle *handle) { delete handle; return STATUS_SUCCESS; }
        int cublasSetStream_v2(Handle *handle, void *stream) { handle->stream = stream; return STATUS_SUCCESS; }
        int cublasSetMathMode(Handle *handle, int mode) { handle->math = mode; return STATUS_SUCCESS; }
        int cublasSetWorkspace_v2(Handle *, void *, size_t) { return STATUS_SUCCESS; }
        int cublasGetProperty(int type, int *value) { *value = type == 0 ? 13 : 0; return STATUS_SUCCESS; }

        static float half_to_float(uint16_t bits) { _Float16 h; memcpy(&h, &bits, 2); return float(h); }
        static uint16_t float_to_half(float value) { _Float16 h = _Float16(value); uint16_t bits; memcpy(&bits, &h, 2); return bits; }
        static float bf16_to_float(uint16_t bits) { uint32_t word = uint32_t(bits) << 16; float f; memcpy(&f, &word, 4); return f; }
        static uint16_t float_to_bf16(float value) {
            uint32_t word; memcpy(&word, &value, 4);
            if ((word & 0x7fffffff) > 0x7f800000) return uint16_t((word >> 16) | 0x40);
            return uint16_t((word + 0x7fff + ((word >> 16) & 1)) >> 16);
        }

        enum Type { R_32F = 0, R_64F = 1, R_16F = 2, R_16BF = 14 };
        static double load(const void *base, int type, long index) {
            switch (type) {
            case R_32F: return static_cast<const float *>(base)[index];
            case R_64F: return static_cast<const double *>(base)[index];
            case R_16F: return half_to_float(static_cast<const uint16_t *>(base)[index]);
            default: return bf16_to_float(static_cast<const uint16_t *>(base)[index]);
            }
        }
        static void store(void *base, int type, long index, double value) {
            switch (type) {
            case R_32F: static_cast<float *>(base)[index] = float(value); break;
            case R_64F: static_cast<double *>(base)[index] = value; break;
            case R_16F: static_cast<uint16_t *>(base)[index] = float_to_half(float(value)); break;
            default: static_cast<uint16_t *>(base)[index] = float_to_bf16(float(value)); break;
            }
        }

        static int gemm(const char *call, Handle *handle, int ta, int tb, int m, int n, int k, double alpha, const void *a,
                        int lda, long long strideA, const void *b, int ldb, long long strideB, double beta, void *c, int ldc,
                        long long strideC, int batch, int type, int computeType) {
            tally(call);
            Device *device = current_device();
            if (!device || device->stream != handle->stream) return STATUS_EXECUTION_FAILED;
            if (ta < 0 || ta > 1 || tb < 0 || tb > 1 || m < 0 || n < 0 || k < 0 || batch < 0) return STATUS_INVALID_VALUE;
            if (lda < (ta ? k : m) || lda < 1 || ldb < (tb ? n : k) || ldb < 1 || ldc < m || ldc < 1) return STATUS_INVALID_VALUE;
            if (computeType != -1 && computeType != 68) return STATUS_INVALID_VALUE;  // CUBLAS_COMPUTE_32F for Ex
            bool wide = type == R_64F;
            for (int item = 0; item < batch; item++) {
                for (int j = 0; j < n; j++) {
                    for (int i = 0; i < m; i++) {
                        double sum = 0; float narrow = 0;
                        for (int p = 0; p < k; p++) {
                            double x = load(a, type, item * strideA + (ta ? p + long(i) * lda : i + long(p) * lda));
                            double y = load(b, type, item * strideB + (tb ? j + long(p) * ldb : p + long(j) * ldb));
                            if (wide) sum += x * y; else narrow += float(x) * float(y);
                        }
                        long index = item * strideC + i + long(j) * ldc;
                        double result = alpha * (wide ? sum : narrow);
                        if (beta != 0) result += beta * load(c, type, index);
                        store(c, type, index, result);
                    }
                }
            }
            return STATUS_SUCCESS;
        }

        int cublasSgemm_v2(Handle *h, int ta, int tb, int m, int n, int k, const float *alpha, const float *a, int lda,
                           const float *b, int ldb, const float *beta, float *c, int ldc) {
            return gemm("cublasSgemm_v2", h, ta, tb, m, n, k, *alpha, a, lda, 0, b, ldb, 0, *beta, c, ldc, 0, 1, R_32F, -1);
        }
        int cublasDgemm_v2(Handle *h, int ta, int tb, int m, int n, int k, const double *alpha, const double *a, int lda,
                           const double *b, int ldb, const double *beta, double *c, int ldc) {
            return gemm("cublasDgemm_v2", h, ta, tb, m, n, k, *alpha, a, lda, 0, b, ldb, 0, *beta, c, ldc, 0, 1, R_64F, -1);
        }
        int cublasGemmEx(Handle *h, int ta, int tb, int m, int n, int k, const void *alpha, const void *a, int aType, int lda,
                         const void *b, int bType, int ldb, const void *beta, void *c, int cType, int ldc, int computeType,
                         int algo) {
            if (aType != bType || bType != cType || algo != -1) return STATUS_INVALID_VALUE;
            return gemm("cublasGemmEx", h, ta, tb, m, n, k, *static_cast<const float *>(alpha), a, lda, 0, b, ldb, 0,
                        *static_cast<const float *>(beta), c, ldc, 0, 1, aType, computeType);
        }
        int cublasSgemmStridedBatched(Handle *h, int ta, int tb, int m, int n, int k, const float *alpha, const float *a,
                                      int lda, long long strideA, const float *b, int ldb, long long strideB,
                                      const float *beta, float *c, int ldc, long long strideC, int batch) {
            return gemm("cublasSgemmStridedBatched", h, ta, tb, m, n, k, *alpha, a, lda, strideA, b, ldb, strideB, *beta, c,
                        ldc, strideC, batch, R_32F, -1);
        }
        int cublasDgemmStridedBatched(Handle *h, int ta, int tb, int m, int n, int k, const double *alpha, const double *a,
                                      int lda, long long strideA, const double *b, int ldb, long long strideB,
                                      const double *beta, double *c, int ldc, long long strideC, int batch) {
            return gemm("cublasDgemmStridedBatched", h, ta, tb, m, n, k, *alpha, a, lda, strideA, b, ldb, strideB, *beta, c,
                        ldc, strideC, batch, R_64F, -1);
        }
        int cublasGemmStridedBatchedEx(Handle *h, int ta, int tb, int m, int n, int k, const void *alpha, const void *a,
                                       int aType, int lda, long long strideA, const void *b, int bType, int ldb,
                                       long long strideB, const void *beta, void *c, int cType, int ldc, long long strideC,
                                       int batch, int computeType, int algo) {
            if (aType != bType || bType != cType || algo != -1) return STATUS_INVALID_VALUE;
            return gemm("cublasGemmStridedBatchedEx", h, ta, tb, m, n, k, *static_cast<const float *>(alpha), a, lda,
                        strideA, b, ldb, strideB, *static_cast<const float *>(beta), c, ldc, strideC, batch, aType,
                        computeType);
        }
        }
        """#
}
