import Foundation
import Synchronization
import Testing

@testable import Ember

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The generated CUDA kernels compiled for this CPU with the toolchain's clang++ and run one
/// simulated thread at a time, so that CI checks what they compute without a GPU.
///
/// A small header stands in for CUDA (`threadIdx` and friends as thread-local variables, the
/// intrinsics the sources use, float16 conversions through `_Float16`), and each kernel gets a
/// host entry point that takes its arguments as `cuLaunchKernel` does, an array of pointers to
/// each argument. The grid-stride kernels (elementwise, casts, fills, random fills), whose
/// threads never talk to each other, run every thread of every block in turn. The reductions
/// run each block as 64 real threads (two warps, so block-level combining is exercised), with
/// `__syncthreads` a barrier, the warp shuffles exchanges through per-warp slots between two
/// barriers, and `__shared__` arrays static: a block at a time, as a multiprocessor would.
///
/// ```swift
/// let module = try HostKernelModule(CUDAKernelSource.module(.unary, .float32))
/// module.launch("ember_unary_exp_float32_contiguous", blocks: 4, [.value(Int64(n)), .pointer(out), .pointer(input)])
/// ```
final class HostKernelModule: @unchecked Sendable {
    /// clang++ from `PATH` (the Swift toolchain has one), or nil.
    static let compiler: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin"]
        return directories.map { $0 + "/clang++" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    static var skipReason: Comment {
        "clang++ was not found on PATH, so the generated CUDA kernels were not run on the CPU"
    }

    private static let instances = Atomic<Int>(0)
    private typealias Launcher = @convention(c) (UnsafeMutablePointer<UnsafeMutableRawPointer?>, UInt32) -> Void
    private let handle: UnsafeMutableRawPointer
    private let threadedLaunch = NSLock()
    let module: CUDAKernelModule

    init(_ module: CUDAKernelModule) throws {
        self.module = module
        let library = try Self.compileLibrary(named: module.name, cppSource: try Self.hostSource(module))
        guard let handle = dlopen(library, RTLD_NOW | RTLD_LOCAL) else {
            throw HostKernelError(message: "\(module.name) did not load: \(String(cString: dlerror()))")
        }
        self.handle = handle
    }

    private static let modules = Mutex<[String: HostKernelModule]>([:])

    /// The host build of `module`, compiled once per process.
    static func shared(_ module: CUDAKernelModule) throws -> HostKernelModule {
        if let compiled = modules.withLock({ $0[module.name] }) { return compiled }
        let compiled = try HostKernelModule(module)
        return modules.withLock { modules in
            if let raced = modules[module.name] { return raced }
            modules[module.name] = compiled
            return compiled
        }
    }

    /// Compiles C++ `cppSource` into a shared library with clang++; returns its path.
    static func compileLibrary(named name: String, cppSource: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ember-host-kernels-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // A file per instance: dlopen hands out the library already loaded from a path, and
        // rewriting a loaded library under another instance would crash it.
        let stem = "\(name)-\(Self.instances.add(1, ordering: .relaxed).newValue)"
        let source = directory.appendingPathComponent("\(stem).cpp"), library = directory.appendingPathComponent("\(stem).so")
        try cppSource.write(to: source, atomically: true, encoding: .utf8)
        let process = Process()
        guard let compiler = Self.compiler else { throw HostKernelError(message: "no clang++") }
        process.executableURL = URL(fileURLWithPath: compiler)
        process.arguments = ["-std=c++17", "-O0", "-w", "-shared", "-fPIC", "-o", library.path, source.path]
        let log = directory.appendingPathComponent("\(stem).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            throw HostKernelError(message: "\(name) did not compile for the host:\n\(message)")
        }
        return library.path
    }

    deinit { dlclose(handle) }

    /// Runs `kernel` over `blocks` blocks (of `CUDAKernelSource.blockSize` threads, or 64 for
    /// the reductions).
    func launch(_ kernel: String, blocks: Int, _ arguments: [CUDAKernelArgument]) {
        CUDAKernelArgument.withParameters(arguments) { launch(kernel, blocks: blocks, parameters: $0) }
    }

    /// Runs `kernel` with `cuLaunchKernel`'s `kernelParams`: a pointer to each argument.
    func launch(_ kernel: String, blocks: Int, parameters: UnsafeMutablePointer<UnsafeMutableRawPointer?>) {
        guard let symbol = dlsym(handle, kernel + "_host_launch") else {
            fatalError("\(kernel) is not a kernel of \(module.name)")
        }
        let launcher = unsafeBitCast(symbol, to: Launcher.self)
        // Threaded launches share the library's barriers: one at a time per module.
        let serialize = module.family == .reduce
        if serialize { threadedLaunch.lock() }
        defer { if serialize { threadedLaunch.unlock() } }
        launcher(parameters, UInt32(blocks))
    }

    /// The module's source with the CUDA stand-ins in front and a host entry point per kernel.
    static func hostSource(_ module: CUDAKernelModule) throws -> String {
        var source = module.source
        // The half conversions are PTX; the host converts through _Float16 (round to nearest
        // even both ways, as cvt.rn does).
        for (ptx, host) in [
            (#"asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h.bits));"#, "f = (float)ember_host_half(h.bits);"),
            (#"asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h.bits) : "f"(f));"#, "h.bits = ember_host_half_bits((_Float16)f);"),
        ] {
            guard source.contains(ptx) else { throw HostKernelError(message: "the prelude no longer has \(ptx)") }
            source = source.replacingOccurrences(of: ptx, with: host)
        }
        var launchers: [String] = []
        for kernel in module.kernels {
            let parameters = try parameterTypes(of: kernel, in: source)
            let arguments = parameters.enumerated().map { "*(\($1)*)args[\($0)]" }.joined(separator: ", ")
            let run = module.family == .reduce ? "ember_host_run_threads" : "ember_host_run_serially"
            launchers.append("""
                extern "C" void \(kernel)_host_launch(void** args, unsigned int blocks) {
                  \(run)(blocks, [=] { \(kernel)(\(arguments)); });
                }
                """)
        }
        return cudaStandIns + source + "\n" + launchers.joined(separator: "\n")
    }

    /// The C++ types of a kernel's parameters, from its definition `name(type name, …) {`.
    private static func parameterTypes(of kernel: String, in source: String) throws -> [String] {
        guard let start = source.range(of: "\n\(kernel)("), let end = source[start.upperBound...].range(of: ") {") else {
            throw HostKernelError(message: "no definition of \(kernel)")
        }
        return source[start.upperBound..<end.lowerBound].components(separatedBy: ", ").map { parameter in
            let words = parameter.split(separator: " ").filter { $0 != "__grid_constant__" }
            return words.dropLast().joined(separator: " ")
        }
    }

    private static let cudaStandIns = """
        #include <cmath>
        #include <condition_variable>
        #include <cstring>
        #include <memory>
        #include <mutex>
        #include <thread>
        #include <vector>
        using namespace std;
        #define __global__
        #define __device__
        #define __forceinline__ inline
        #define __noinline__
        #define __launch_bounds__(x)
        #define __grid_constant__
        #define __shared__ static
        struct ember_host_dim3 { unsigned int x = 0, y = 1, z = 1; };
        static thread_local ember_host_dim3 threadIdx, blockIdx, blockDim, gridDim;

        template <typename F> void ember_host_run_serially(unsigned int blocks, F kernel) {
          blockDim.x = \(CUDAKernelSource.blockSize); gridDim.x = blocks;
          for (blockIdx.x = 0; blockIdx.x < blocks; ++blockIdx.x)
            for (threadIdx.x = 0; threadIdx.x < blockDim.x; ++threadIdx.x) kernel();
        }

        struct ember_host_barrier {
          mutex lock; condition_variable turn; unsigned int count, waiting = 0; unsigned long generation = 0;
          explicit ember_host_barrier(unsigned int count) : count(count) {}
          void wait() {
            unique_lock<mutex> held(lock);
            const unsigned long arrived = generation;
            if (++waiting == count) { waiting = 0; ++generation; turn.notify_all(); }
            else turn.wait(held, [&] { return generation != arrived; });
          }
        };
        #define EMBER_HOST_THREADS 64
        static ember_host_barrier* ember_host_block_barrier;
        static ember_host_barrier* ember_host_warp_barriers[EMBER_HOST_THREADS / 32];
        static unsigned char ember_host_lanes[EMBER_HOST_THREADS][16];

        inline void __syncthreads() { ember_host_block_barrier->wait(); }
        template <typename T> T __shfl_down_sync(unsigned int, T value, int offset) {
          static_assert(sizeof(T) <= 16, "one lane slot per value");
          const unsigned int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
          memcpy(ember_host_lanes[threadIdx.x], &value, sizeof(T));
          ember_host_warp_barriers[warp]->wait();
          T result = value;
          if (lane + offset < 32) memcpy(&result, ember_host_lanes[threadIdx.x + offset], sizeof(T));
          ember_host_warp_barriers[warp]->wait();
          return result;
        }

        template <typename T> T __shfl_xor_sync(unsigned int, T value, int mask) {
          static_assert(sizeof(T) <= 16, "one lane slot per value");
          const unsigned int warp = threadIdx.x >> 5;
          memcpy(ember_host_lanes[threadIdx.x], &value, sizeof(T));
          ember_host_warp_barriers[warp]->wait();
          T result;
          memcpy(&result, ember_host_lanes[(threadIdx.x & ~31u) | ((threadIdx.x & 31) ^ mask)], sizeof(T));
          ember_host_warp_barriers[warp]->wait();
          return result;
        }

        template <typename F> void ember_host_run_threads(unsigned int blocks, F kernel) {
          for (unsigned int block = 0; block < blocks; ++block) {
            ember_host_barrier barrier(EMBER_HOST_THREADS);
            ember_host_block_barrier = &barrier;
            vector<unique_ptr<ember_host_barrier>> warps;
            for (int warp = 0; warp < EMBER_HOST_THREADS / 32; ++warp) {
              warps.push_back(make_unique<ember_host_barrier>(32));
              ember_host_warp_barriers[warp] = warps.back().get();
            }
            vector<thread> threads;
            for (unsigned int t = 0; t < EMBER_HOST_THREADS; ++t) {
              threads.emplace_back([=] {
                threadIdx.x = t; blockIdx.x = block; blockDim.x = EMBER_HOST_THREADS; gridDim.x = blocks;
                kernel();
              });
            }
            for (auto& thread : threads) thread.join();
          }
        }
        inline unsigned int __umulhi(unsigned int a, unsigned int b) { return (unsigned int)(((unsigned long long)a * b) >> 32); }
        inline double __fma_rn(double a, double b, double c) { return fma(a, b, c); }
        inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
        inline float __uint_as_float(unsigned int u) { float f; memcpy(&f, &u, 4); return f; }
        inline unsigned int __float_as_uint(float f) { unsigned int u; memcpy(&u, &f, 4); return u; }
        inline float rsqrt(float x) { return 1.0f / sqrt(x); }
        inline double rsqrt(double x) { return 1.0 / sqrt(x); }
        // Blocks run one thread at a time, so an atomic add is a plain one.
        template <typename T> inline T atomicAdd(T* address, T value) { const T old = *address; *address = old + value; return old; }
        template <typename T> inline T atomicCAS(T* address, T compare, T value) {
          const T old = *address;
          if (old == compare) *address = value;
          return old;
        }
        inline _Float16 ember_host_half(unsigned short bits) { _Float16 h; memcpy(&h, &bits, 2); return h; }
        inline unsigned short ember_host_half_bits(_Float16 h) { unsigned short bits; memcpy(&bits, &h, 2); return bits; }

        """
}

struct HostKernelError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

extension CUDAKernelArgument {
    /// Host memory standing in for a device address.
    static func pointer(_ pointer: UnsafeMutableRawPointer?) -> Self { .value(pointer) }
}
