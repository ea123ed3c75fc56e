import Foundation
import Synchronization
import Testing

@testable import Ember

/// Whether NVRTC loads here, and if not, the loader's report of where it looked. `.ci/run`
/// installs the NVRTC wheel into `.nvrtc` when PyPI is reachable; without it these tests are
/// skipped with that report as the reason, never passed silently.
enum NVRTCTestSupport {
    static let loadError: String? = {
        do throws(CUDAError) {
            _ = try CUDA.nvrtc()
            return nil
        } catch {
            return error.description
        }
    }()

    static var isAvailable: Bool { loadError == nil }

    static var skipReason: Comment {
        Comment(rawValue: "NVRTC was not found, so the CUDA kernel sources were not compiled. \(loadError ?? "")")
    }

    /// A compiler that always runs NVRTC (no disk cache), so the tests exercise the compiler.
    static func compiler() throws -> NVRTCCompiler { NVRTCCompiler(nvrtc: try CUDA.nvrtc(), diskCache: nil) }
}

@Suite(.enabled(if: NVRTCTestSupport.isAvailable, NVRTCTestSupport.skipReason))
struct CUDAKernelCompileTests {
    /// Every generated module for every dtype compiles to an sm_90 cubin (an H100/H200) that
    /// defines each of its kernels.
    @Test func everyKernelCompilesForSM90() async throws {
        let compiler = try NVRTCTestSupport.compiler()
        print("NVRTC \(compiler.nvrtc.version.major).\(compiler.nvrtc.version.minor) from \(compiler.nvrtc.path)")
        let modules = CUDAKernelSource.allModules
        let results = await Self.compileInParallel(modules, compiler: compiler)
        var compiled = 0
        for module in modules {
            switch results[module.name] {
            case .success(let output):
                #expect(output.log.isEmpty, "\(module.name) compiled with warnings:\n\(output.log)")
                #expect(Self.isCubin(output.image, architecture: 90), "\(module.name) did not produce an sm_90 cubin")
                let symbols = String(decoding: output.image, as: Unicode.ASCII.self)
                for kernel in module.kernels {
                    #expect(symbols.contains(kernel), "\(kernel) is missing from the cubin of \(module.name)")
                }
                compiled += module.kernels.count
            case .failure(let error): Issue.record("\(module.name): \(error)")
            case nil: Issue.record("\(module.name) was not compiled")
            }
        }
        #expect(compiled == CUDAKernelSource.kernelCount)
        print("NVRTC compiled \(compiled) kernels for sm_90")
    }

    /// Compiles on threads of its own, one per core (NVRTC compiles separate programs
    /// concurrently, and ptxas dominates). Not on Dispatch's or Swift concurrency's shared
    /// threads: CPU-bound work there holds up every other test for the tens of seconds this takes.
    static func compileInParallel(
        _ modules: [CUDAKernelModule], compiler: NVRTCCompiler
    ) async -> [String: Result<CUDACompiledModule, CUDAError>] {
        let results = Mutex([String: Result<CUDACompiledModule, CUDAError>]())
        let next = Atomic(0), running = Atomic(max(1, ProcessInfo.processInfo.activeProcessorCount))
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            for _ in 0..<running.load(ordering: .relaxed) {
                Thread {
                    while true {
                        let index = next.add(1, ordering: .relaxed).oldValue
                        guard index < modules.count else { break }
                        let result = Result { () throws(CUDAError) in try compiler.compile(modules[index], for: .cubin(90)) }
                        results.withLock { $0[modules[index].name] = result }
                    }
                    if running.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { continuation.resume() }
                }.start()
            }
        }
        return results.withLock { $0 }
    }

    /// PTX, the fallback for GPUs newer than NVRTC: NUL-terminated text with an entry per kernel.
    @Test func ptxTargetEmitsEntries() throws {
        let module = CUDAKernelSource.module(.reduce, .float16)
        let output = try NVRTCTestSupport.compiler().compile(module, for: .ptx(90))
        #expect(output.image.last == 0)
        let ptx = String(decoding: output.image.dropLast(), as: UTF8.self)
        #expect(ptx.contains(".target sm_90"))
        for kernel in module.kernels { #expect(ptx.contains(".entry \(kernel)(")) }
    }

    @Test func compileErrorsCarryTheLog() throws {
        let compiler = try NVRTCTestSupport.compiler()
        do throws(CUDAError) {
            _ = try compiler.compile(
                source: "extern \"C\" __global__ void broken() { undeclared_thing = 1; }", name: "broken",
                options: NVRTCCompiler.options(for: .cubin(90)), format: .cubin)
            Issue.record("a broken source compiled")
        } catch {
            guard case .nvrtc(_, let code, let name, let log) = error else {
                Issue.record("expected an NVRTC error, got \(error)")
                return
            }
            #expect(code == 6)
            #expect(name == "NVRTC_ERROR_COMPILATION")
            #expect(log.contains("undeclared_thing"))
            #expect(error.description.contains("broken.cu"))
        }
    }

    /// A compiled module is written to the disk cache; a later compiler (a new process) reads
    /// it instead of compiling, and rebuilds a corrupted entry.
    @Test func diskCacheIsFilledReadAndRepaired() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let nvrtc = try CUDA.nvrtc()
        let cache = CUDAKernelDiskCache(directory: folder)
        let module = CUDAKernelSource.module(.fill, .bfloat16)
        let first = try NVRTCCompiler(nvrtc: nvrtc, diskCache: cache).compile(module, for: .cubin(90))
        let key = NVRTCCompiler.cacheKey(
            source: module.source, options: NVRTCCompiler.options(for: .cubin(90)), nvrtcVersion: nvrtc.version, target: .cubin(90))
        #expect(cache.load(key: key) == first.image)

        // Poison the entry's payload with a valid-looking header: the checksum rejects it.
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: cache.path(for: key))))
        bytes[bytes.count - 1] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: cache.path(for: key)))
        #expect(cache.load(key: key) == nil)
        let rebuilt = try NVRTCCompiler(nvrtc: nvrtc, diskCache: cache).compile(module, for: .cubin(90))
        #expect(rebuilt.image == first.image)
        #expect(cache.load(key: key) == first.image)

        // A fresh compiler now reads the file: its result has no log because NVRTC never ran.
        let cached = try NVRTCCompiler(nvrtc: nvrtc, diskCache: cache).compile(module, for: .cubin(90))
        #expect(cached.image == first.image)
        #expect(cached.kernels == module.kernels)
    }

    @Test func nvrtcReportsItsArchitectures() throws {
        let nvrtc = try CUDA.nvrtc()
        #expect(nvrtc.version.major >= 12)
        #expect(nvrtc.supportedArchitectures.contains(90))
    }

    /// An ELF file for NVIDIA GPUs (machine 190) whose flags name `architecture`: CUDA 13's
    /// cubins keep it in bits 8–15, earlier ones in bits 0–7.
    static func isCubin(_ image: [UInt8], architecture: Int) -> Bool {
        guard image.count > 52, image[0..<4] == [0x7F, 0x45, 0x4C, 0x46], image[4] == 2 else { return false }
        let machine = Int(image[18]) | Int(image[19]) << 8
        let flags = (0..<4).reduce(0) { $0 | Int(image[48 + $1]) << (8 * $1) }
        return machine == 190 && (flags & 0xFF == architecture || (flags >> 8) & 0xFF == architecture)
    }
}
