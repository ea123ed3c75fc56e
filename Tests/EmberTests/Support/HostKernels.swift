import Foundation
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
/// each argument, and runs every thread of every block in turn. That is faithful for the
/// grid-stride kernels (elementwise, casts, fills, random fills), whose threads never talk to
/// each other; the reductions synchronize threads and are left to `Scripts/gpu-check`.
///
/// ```swift
/// let module = try HostKernelModule(CUDAKernelSource.module(.unary, .float32))
/// module.launch("ember_unary_exp_float32_contiguous", blocks: 4, [.value(Int64(n)), .pointer(out), .pointer(input)])
/// ```
final class HostKernelModule: @unchecked Sendable {
    /// One kernel argument's bytes, as the launch's argument array points at them.
    struct Argument {
        let bytes: [UInt8]

        static func value<T: BitwiseCopyable>(_ value: T) -> Self { Self(bytes: withUnsafeBytes(of: value) { Array($0) }) }
        static func pointer(_ pointer: UnsafeMutableRawPointer?) -> Self { value(pointer) }
        /// The strided kernels' `ember_layout`, passed by value like any other argument.
        static func layout(_ layout: CUDAStridedLayout) -> Self {
            Self(bytes: layout.words.withUnsafeBytes { Array($0) })
        }
    }

    /// clang++ from `PATH` (the Swift toolchain has one), or nil.
    static let compiler: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin"]
        return directories.map { $0 + "/clang++" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    static var skipReason: Comment {
        "clang++ was not found on PATH, so the generated CUDA kernels were not run on the CPU"
    }

    private typealias Launcher = @convention(c) (UnsafeMutablePointer<UnsafeMutableRawPointer?>, UInt32) -> Void
    private let handle: UnsafeMutableRawPointer
    let module: CUDAKernelModule

    init(_ module: CUDAKernelModule) throws {
        self.module = module
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ember-host-kernels-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let source = directory.appendingPathComponent("\(module.name).cpp"), library = directory.appendingPathComponent("\(module.name).so")
        try Self.hostSource(module).write(to: source, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(Self.compiler))
        process.arguments = ["-std=c++17", "-O1", "-w", "-shared", "-fPIC", "-o", library.path, source.path]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0, let handle = dlopen(library.path, RTLD_NOW | RTLD_LOCAL) else {
            throw HostKernelError(message: "\(module.name) did not compile for the host:\n\(message)")
        }
        self.handle = handle
    }

    deinit { dlclose(handle) }

    /// Runs `kernel` over `blocks` blocks of `CUDAKernelSource.blockSize` threads.
    func launch(_ kernel: String, blocks: Int, _ arguments: [Argument]) {
        guard let symbol = dlsym(handle, kernel + "_host_launch") else {
            fatalError("\(kernel) is not a kernel of \(module.name)")
        }
        let launcher = unsafeBitCast(symbol, to: Launcher.self)
        let storage = arguments.map { argument -> UnsafeMutableRawPointer in
            let pointer = UnsafeMutableRawPointer.allocate(byteCount: max(argument.bytes.count, 1), alignment: 16)
            argument.bytes.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            return pointer
        }
        defer { storage.forEach { $0.deallocate() } }
        var pointers = storage.map { Optional($0) }
        pointers.withUnsafeMutableBufferPointer { launcher($0.baseAddress!, UInt32(blocks)) }
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
            launchers.append("""
                extern "C" void \(kernel)_host_launch(void** args, unsigned int blocks) {
                  blockDim.x = EMBER_BLOCK; gridDim.x = blocks;
                  for (blockIdx.x = 0; blockIdx.x < blocks; ++blockIdx.x)
                    for (threadIdx.x = 0; threadIdx.x < EMBER_BLOCK; ++threadIdx.x) \(kernel)(\(arguments));
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
        #include <cstring>
        using namespace std;
        #define __global__
        #define __device__
        #define __forceinline__ inline
        #define __noinline__
        #define __launch_bounds__(x)
        #define __grid_constant__
        struct ember_host_dim3 { unsigned int x = 0, y = 1, z = 1; };
        static thread_local ember_host_dim3 threadIdx, blockIdx, blockDim, gridDim;
        inline unsigned int __umulhi(unsigned int a, unsigned int b) { return (unsigned int)(((unsigned long long)a * b) >> 32); }
        inline double __fma_rn(double a, double b, double c) { return fma(a, b, c); }
        inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
        inline float __uint_as_float(unsigned int u) { float f; memcpy(&f, &u, 4); return f; }
        inline unsigned int __float_as_uint(float f) { unsigned int u; memcpy(&u, &f, 4); return u; }
        inline float rsqrt(float x) { return 1.0f / sqrt(x); }
        inline double rsqrt(double x) { return 1.0 / sqrt(x); }
        // Only the reductions use these, and they are not run on the host.
        inline void __syncthreads() {}
        template <typename T> inline T __shfl_down_sync(unsigned int, T v, int) { return v; }
        inline _Float16 ember_host_half(unsigned short bits) { _Float16 h; memcpy(&h, &bits, 2); return h; }
        inline unsigned short ember_host_half_bits(_Float16 h) { unsigned short bits; memcpy(&bits, &h, 2); return bits; }

        """
}

struct HostKernelError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
