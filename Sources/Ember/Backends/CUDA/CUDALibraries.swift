// Run-time loading of the CUDA driver, NVRTC and cuBLAS with dlopen/dlsym. Nothing CUDA-related
// is linked at build time, so Ember builds and runs everywhere and uses a GPU when one is there.

import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - C types

/// `CUresult`, `nvrtcResult` and `cublasStatus_t` are C enums: 32-bit integers.
typealias CUresult = Int32
/// A device ordinal as the driver names it (`CUdevice`).
typealias CUdevice = Int32
/// A device address (`CUdeviceptr`, 64-bit since CUDA 3.2: hence the `_v2` symbols).
typealias CUdeviceptr = UInt64
/// An opaque driver, NVRTC or cuBLAS handle: context, stream, event, module, function, program.
typealias CUhandle = OpaquePointer

// MARK: - Which libraries, and where to look

/// A library the CUDA backend opens, with its sonames (newest first) and the folders NVIDIA's
/// pip wheels put it in (CUDA 13 wheels share `nvidia/cu13/lib`; CUDA 12 ones are split).
enum CUDALibraryKind: String, Sendable, CaseIterable {
    case driver, nvrtc, cublas

    /// The name used in messages.
    var displayName: String {
        switch self {
        case .driver: "the CUDA driver (libcuda)"
        case .nvrtc: "NVRTC"
        case .cublas: "cuBLAS"
        }
    }

    /// Sonames to try, newest major first. The driver is always `libcuda.so.1`: the bare
    /// `libcuda.so` is a development symlink or, under `stubs/`, a stub that fails every call.
    var sonames: [String] {
        switch self {
        case .driver: ["libcuda.so.1"]
        case .nvrtc: ["libnvrtc.so.13", "libnvrtc.so.12"]
        case .cublas: ["libcublas.so.13", "libcublas.so.12"]
        }
    }

    /// Folders under a site-packages directory where NVIDIA's wheels install the library.
    var wheelSubdirectories: [String] {
        switch self {
        case .driver: []  // the driver comes with the kernel module, never from pip
        case .nvrtc: ["nvidia/cu13/lib", "nvidia/cuda_nvrtc/lib"]
        case .cublas: ["nvidia/cu13/lib", "nvidia/cublas/lib"]
        }
    }

    /// What to tell a user who has none of the candidates.
    var installHint: String {
        switch self {
        case .driver: "Install the NVIDIA driver, or set EMBER_CUDA_LIBRARY_PATH to the folder holding libcuda.so.1."
        case .nvrtc:
            "Install NVRTC (`python3 -m pip install nvidia-cuda-nvrtc`, or the CUDA toolkit), or set EMBER_NVRTC_PATH or EMBER_CUDA_LIBRARY_PATH to its folder."
        case .cublas:
            "Install cuBLAS (`python3 -m pip install nvidia-cublas`, or the CUDA toolkit), or set EMBER_CUDA_LIBRARY_PATH to its folder."
        }
    }
}

/// The process state a library search depends on, passed in so that tests can build search
/// paths for any machine without touching the real one.
struct CUDASearchEnvironment: Sendable {
    /// Environment variables (`EMBER_CUDA_LIBRARY_PATH`, `VIRTUAL_ENV`, …).
    var variables: [String: String]
    /// The current directory, where a project-local `.nvrtc` wheel install lives.
    var currentDirectory: String
    /// The user's home directory, for `~/.local` site-packages.
    var homeDirectory: String?
    /// The names in a directory; empty when it is missing or unreadable.
    var listDirectory: @Sendable (String) -> [String]
    /// Whether a file exists, so that absent candidates are reported without calling dlopen.
    var fileExists: @Sendable (String) -> Bool

    /// The running process's environment and file system.
    static var current: CUDASearchEnvironment {
        let variables = ProcessInfo.processInfo.environment
        return CUDASearchEnvironment(
            variables: variables, currentDirectory: FileManager.default.currentDirectoryPath,
            homeDirectory: variables["HOME"] ?? NSHomeDirectory(),
            listDirectory: { (try? FileManager.default.contentsOfDirectory(atPath: $0)) ?? [] },
            fileExists: { FileManager.default.fileExists(atPath: $0) })
    }
}

/// Builds the ordered list of places to look for each library.
enum CUDALibrarySearch {
    /// One thing to hand to dlopen: a full path, or a bare soname the dynamic loader resolves
    /// through `LD_LIBRARY_PATH`, the ld.so cache and RPATHs.
    enum Candidate: Hashable, Sendable, CustomStringConvertible {
        case path(String)
        case soname(String)

        var description: String {
            switch self {
            case .path(let path): path
            case .soname(let name): "\(name) (dynamic loader search)"
            }
        }
    }

    /// The CUDA toolkit's target folder for this machine's architecture.
    static var toolkitTarget: String {
        #if arch(arm64)
        "sbsa-linux"
        #else
        "x86_64-linux"
        #endif
    }

    /// Every candidate for `kind`, in search order: folders named by `EMBER_CUDA_LIBRARY_PATH`
    /// (and `EMBER_NVRTC_PATH` for NVRTC), the plain soname, NVIDIA's wheel folders under every
    /// site-packages found, then the CUDA toolkit's folders. Each folder is tried with every
    /// soname before the next folder, so an explicit folder wins even with an older major.
    static func candidates(for kind: CUDALibraryKind, in environment: CUDASearchEnvironment) -> [Candidate] {
        var result: [Candidate] = []
        func add(directory: String) {
            for soname in kind.sonames { result.append(.path(join(directory, soname))) }
        }
        for directory in pathList(environment.variables["EMBER_CUDA_LIBRARY_PATH"]) { add(directory: directory) }
        if kind == .nvrtc, let explicit = environment.variables["EMBER_NVRTC_PATH"], !explicit.isEmpty {
            // Either the folder holding libnvrtc itself or a `pip install --target` folder.
            for directory in pathList(explicit) {
                add(directory: directory)
                for subdirectory in kind.wheelSubdirectories { add(directory: join(directory, subdirectory)) }
            }
        }
        for soname in kind.sonames { result.append(.soname(soname)) }
        if kind == .driver {
            result.append(.path("/usr/lib/wsl/lib/libcuda.so.1"))  // WSL keeps it outside the loader's path
            return deduplicated(result)
        }
        for root in wheelRoots(in: environment) {
            for subdirectory in kind.wheelSubdirectories { add(directory: join(root, subdirectory)) }
        }
        for variable in ["CUDA_HOME", "CUDA_PATH"] {
            if let home = environment.variables[variable], !home.isEmpty {
                add(directory: join(home, "lib64"))
                add(directory: join(home, "targets/\(toolkitTarget)/lib"))
            }
        }
        add(directory: "/usr/local/cuda/lib64")
        add(directory: "/usr/local/cuda/targets/\(toolkitTarget)/lib")
        return deduplicated(result)
    }

    /// Directories laid out like site-packages, where NVIDIA's wheels may live: the project's
    /// own `.nvrtc` (what `.ci/run` installs), the active virtual or conda environment, the
    /// user's and the system's Python. Python itself is never run to ask: that would be slow
    /// and Python may not be installed.
    static func wheelRoots(in environment: CUDASearchEnvironment) -> [String] {
        var roots = [join(environment.currentDirectory, ".nvrtc")]
        for variable in ["VIRTUAL_ENV", "CONDA_PREFIX"] {
            if let prefix = environment.variables[variable], !prefix.isEmpty {
                roots += pythonDirectories(in: join(prefix, "lib"), environment).map { join($0, "site-packages") }
            }
        }
        if let home = environment.homeDirectory {
            roots += pythonDirectories(in: join(home, ".local/lib"), environment).map { join($0, "site-packages") }
        }
        for python in pythonDirectories(in: "/usr/local/lib", environment) {
            roots += [join(python, "dist-packages"), join(python, "site-packages")]
        }
        roots.append("/usr/lib/python3/dist-packages")
        return deduplicated(roots)
    }

    /// The `python3*` folders in `directory`, newest version first.
    static func pythonDirectories(in directory: String, _ environment: CUDASearchEnvironment) -> [String] {
        environment.listDirectory(directory)
            .filter { $0.hasPrefix("python3") }
            .sorted { pythonMinor($0) > pythonMinor($1) }
            .map { join(directory, $0) }
    }

    /// 12 for `python3.12`; names without a minor version sort last.
    private static func pythonMinor(_ name: String) -> Int {
        Int(name.dropFirst("python3.".count)) ?? -1
    }

    /// A colon-separated list of folders, empty entries dropped.
    static func pathList(_ value: String?) -> [String] {
        (value ?? "").split(separator: ":").map(String.init).filter { !$0.isEmpty }
    }

    /// `directory/name`, with one slash between them.
    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    private static func deduplicated<T: Hashable>(_ items: [T]) -> [T] {
        var seen = Set<T>()
        return items.filter { seen.insert($0).inserted }
    }
}

// MARK: - Loading

/// What happened when a library could not be loaded: every candidate and why it failed.
struct CUDALibraryLoadReport: Equatable, Sendable, CustomStringConvertible {
    /// One candidate that was tried.
    struct Attempt: Equatable, Sendable {
        /// The path or soname.
        let candidate: String
        /// `nil` when the file does not exist, else dlopen's or the loader's message.
        let failure: String?
    }

    /// The library searched for.
    let library: CUDALibraryKind
    /// Every candidate, in search order.
    let attempts: [Attempt]

    var description: String {
        var lines = ["\(library.displayName) could not be loaded."]
        let failed = attempts.filter { $0.failure != nil }
        if !failed.isEmpty {
            lines.append("Tried:")
            lines += failed.map { "  \($0.candidate): \($0.failure!)" }
        }
        let absent = attempts.filter { $0.failure == nil }
        if !absent.isEmpty {
            lines.append("Not present:")
            lines += absent.map { "  \($0.candidate)" }
        }
        lines.append(library.installHint)
        return lines.joined(separator: "\n")
    }
}

/// A shared library opened with dlopen. It stays open for the process's life: function
/// pointers into it are kept in static tables, and unloading CUDA libraries is unsafe anyway.
final class CUDASharedLibrary: @unchecked Sendable {
    // @unchecked: the handle is never mutated after init, and dlsym is thread-safe.
    /// What was passed to dlopen.
    let name: String
    private let handle: UnsafeMutableRawPointer

    /// Opens `name` (a path or a soname); the error is dlerror's message.
    init(opening name: String, global: Bool = false) throws(CUDALoadFailure) {
        guard let handle = dlopen(name, RTLD_NOW | (global ? RTLD_GLOBAL : RTLD_LOCAL)) else {
            throw CUDALoadFailure(message: dlerror().map { String(cString: $0) } ?? "dlopen failed")
        }
        self.name = name
        self.handle = handle
    }

    /// The address of `symbol`, or nil.
    func address(of symbol: String) -> UnsafeMutableRawPointer? { dlsym(handle, symbol) }

    /// `symbol` as the C function type `F`; throws when the library lacks it.
    func require<F>(_ symbol: String, as type: F.Type = F.self) throws(CUDAError) -> F {
        guard let pointer = address(of: symbol) else {
            throw .missingSymbols(library: name, path: resolvedPath, symbols: [symbol])
        }
        return unsafeBitCast(pointer, to: F.self)
    }

    /// `symbol` as the C function type `F`, or nil for features that degrade gracefully.
    func optional<F>(_ symbol: String, as type: F.Type = F.self) -> F? {
        address(of: symbol).map { unsafeBitCast($0, to: F.self) }
    }

    /// Throws one error naming every symbol in `symbols` the library lacks, so that an old
    /// driver is reported in one go rather than one symbol per run.
    func requireAll(_ symbols: [String]) throws(CUDAError) {
        let missing = symbols.filter { address(of: $0) == nil }
        if !missing.isEmpty { throw .missingSymbols(library: name, path: resolvedPath, symbols: missing) }
    }

    /// The file the library was loaded from: `name` when it is a path, else found in the
    /// process's memory map (glibc's dladdr is not visible to Swift).
    var resolvedPath: String {
        if name.contains("/") { return name }
        return Self.mappedPath(matching: name) ?? name
    }

    /// The first mapped file whose name is `soname` or starts with it (`libnvrtc.so.13.0.88`).
    static func mappedPath(matching soname: String) -> String? {
        guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return nil }
        for line in maps.split(separator: "\n") {
            guard let slash = line.firstIndex(of: "/") else { continue }
            let path = String(line[slash...])
            if (path as NSString).lastPathComponent.hasPrefix(soname) { return path }
        }
        return nil
    }

    /// The folder the library was loaded from.
    var directory: String { (resolvedPath as NSString).deletingLastPathComponent }
}

/// dlopen's message for one failed candidate.
struct CUDALoadFailure: Error {
    /// dlerror's text.
    let message: String
}

/// Tries the candidates in order and keeps the first that loads and passes `validate`.
enum CUDALibraryLoader {
    /// Opens `kind` from the first working candidate. `prepare` runs before dlopen on each
    /// existing path (to preload a dependency from the same folder); `validate` turns an opened
    /// library into its API table or rejects it with a message.
    static func load<API>(
        _ kind: CUDALibraryKind, environment: CUDASearchEnvironment,
        prepare: (String) -> Void = { _ in },
        validate: (CUDASharedLibrary) throws(CUDAError) -> API
    ) throws(CUDAError) -> API {
        var attempts: [CUDALibraryLoadReport.Attempt] = []
        for candidate in CUDALibrarySearch.candidates(for: kind, in: environment) {
            let name: String
            switch candidate {
            case .path(let path):
                guard environment.fileExists(path) else {
                    attempts.append(.init(candidate: path, failure: nil))
                    continue
                }
                prepare(path)
                name = path
            case .soname(let soname): name = soname
            }
            do {
                let library = try CUDASharedLibrary(opening: name)
                do {
                    return try validate(library)
                } catch {
                    attempts.append(.init(candidate: candidate.description, failure: error.description))
                }
            } catch {
                attempts.append(.init(candidate: candidate.description, failure: error.message))
            }
        }
        throw .libraryUnavailable(CUDALibraryLoadReport(library: kind, attempts: attempts))
    }
}

// MARK: - Driver API

/// The driver API functions the backend calls, resolved by their versioned names (the header
/// `#define`s `cuMemAlloc` to `cuMemAlloc_v2`; the plain name is the 32-bit legacy ABI).
struct CUDADriverAPI: Sendable {
    typealias GetInt = @convention(c) (UnsafeMutablePointer<Int32>?) -> CUresult
    typealias OutHandle = UnsafeMutablePointer<CUhandle?>?

    /// The opened libcuda.
    let library: CUDASharedLibrary
    // The entry points, named as in cuda.h, where the header's #defines hide the `_v2`.
    let cuInit: @convention(c) (UInt32) -> CUresult
    let cuDriverGetVersion: GetInt
    let cuDeviceGetCount: GetInt
    let cuDeviceGet: @convention(c) (UnsafeMutablePointer<CUdevice>?, Int32) -> CUresult
    let cuDeviceGetName: @convention(c) (UnsafeMutablePointer<CChar>?, Int32, CUdevice) -> CUresult
    let cuDeviceGetAttribute: @convention(c) (UnsafeMutablePointer<Int32>?, Int32, CUdevice) -> CUresult
    let cuDeviceTotalMem: @convention(c) (UnsafeMutablePointer<Int>?, CUdevice) -> CUresult
    let cuDevicePrimaryCtxRetain: @convention(c) (OutHandle, CUdevice) -> CUresult
    let cuDevicePrimaryCtxRelease: @convention(c) (CUdevice) -> CUresult
    let cuCtxSetCurrent: @convention(c) (CUhandle?) -> CUresult
    let cuCtxGetCurrent: @convention(c) (OutHandle) -> CUresult
    let cuCtxSynchronize: @convention(c) () -> CUresult
    let cuStreamCreate: @convention(c) (OutHandle, UInt32) -> CUresult
    let cuStreamSynchronize: @convention(c) (CUhandle?) -> CUresult
    let cuStreamQuery: @convention(c) (CUhandle?) -> CUresult
    let cuStreamWaitEvent: @convention(c) (CUhandle?, CUhandle?, UInt32) -> CUresult
    let cuStreamDestroy: @convention(c) (CUhandle?) -> CUresult
    let cuEventCreate: @convention(c) (OutHandle, UInt32) -> CUresult
    let cuEventRecord: @convention(c) (CUhandle?, CUhandle?) -> CUresult
    let cuEventSynchronize: @convention(c) (CUhandle?) -> CUresult
    let cuEventQuery: @convention(c) (CUhandle?) -> CUresult
    let cuEventDestroy: @convention(c) (CUhandle?) -> CUresult
    let cuMemAlloc: @convention(c) (UnsafeMutablePointer<CUdeviceptr>?, Int) -> CUresult
    let cuMemFree: @convention(c) (CUdeviceptr) -> CUresult
    let cuMemGetInfo: @convention(c) (UnsafeMutablePointer<Int>?, UnsafeMutablePointer<Int>?) -> CUresult
    let cuMemHostAlloc: @convention(c) (UnsafeMutablePointer<UnsafeMutableRawPointer?>?, Int, UInt32) -> CUresult
    let cuMemFreeHost: @convention(c) (UnsafeMutableRawPointer?) -> CUresult
    let cuMemcpyHtoDAsync: @convention(c) (CUdeviceptr, UnsafeRawPointer?, Int, CUhandle?) -> CUresult
    let cuMemcpyDtoHAsync: @convention(c) (UnsafeMutableRawPointer?, CUdeviceptr, Int, CUhandle?) -> CUresult
    let cuMemcpyDtoDAsync: @convention(c) (CUdeviceptr, CUdeviceptr, Int, CUhandle?) -> CUresult
    let cuMemsetD8Async: @convention(c) (CUdeviceptr, UInt8, Int, CUhandle?) -> CUresult
    let cuMemsetD32Async: @convention(c) (CUdeviceptr, UInt32, Int, CUhandle?) -> CUresult
    let cuModuleLoadData: @convention(c) (OutHandle, UnsafeRawPointer?) -> CUresult
    let cuModuleGetFunction: @convention(c) (OutHandle, CUhandle?, UnsafePointer<CChar>?) -> CUresult
    let cuModuleUnload: @convention(c) (CUhandle?) -> CUresult
    let cuFuncSetAttribute: @convention(c) (CUhandle?, Int32, Int32) -> CUresult
    /// `cuLaunchKernel(f, grid xyz, block xyz, sharedBytes, stream, kernelParams, extra)`.
    let cuLaunchKernel:
        @convention(c) (
            CUhandle?, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, CUhandle?,
            UnsafeMutablePointer<UnsafeMutableRawPointer?>?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?
        ) -> CUresult
    let cuGetErrorName: @convention(c) (CUresult, UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> CUresult
    let cuGetErrorString: @convention(c) (CUresult, UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> CUresult

    // Optional: stream-ordered allocation (CUDA 11.2+) and timing; absent on old drivers.
    let cuMemAllocAsync: (@convention(c) (UnsafeMutablePointer<CUdeviceptr>?, Int, CUhandle?) -> CUresult)?
    let cuMemFreeAsync: (@convention(c) (CUdeviceptr, CUhandle?) -> CUresult)?
    let cuDeviceGetDefaultMemPool: (@convention(c) (OutHandle, CUdevice) -> CUresult)?
    let cuMemPoolSetAttribute: (@convention(c) (CUhandle?, Int32, UnsafeMutableRawPointer?) -> CUresult)?
    let cuEventElapsedTime: (@convention(c) (UnsafeMutablePointer<Float>?, CUhandle?, CUhandle?) -> CUresult)?

    /// Every symbol the required fields above need, checked in one go for a complete message.
    static let requiredSymbols = [
        "cuInit", "cuDriverGetVersion", "cuDeviceGetCount", "cuDeviceGet", "cuDeviceGetName", "cuDeviceGetAttribute",
        "cuDeviceTotalMem_v2", "cuDevicePrimaryCtxRetain", "cuDevicePrimaryCtxRelease_v2", "cuCtxSetCurrent",
        "cuCtxGetCurrent", "cuCtxSynchronize", "cuStreamCreate", "cuStreamSynchronize", "cuStreamQuery",
        "cuStreamWaitEvent", "cuStreamDestroy_v2", "cuEventCreate", "cuEventRecord", "cuEventSynchronize",
        "cuEventQuery", "cuEventDestroy_v2", "cuMemAlloc_v2", "cuMemFree_v2", "cuMemGetInfo_v2", "cuMemHostAlloc",
        "cuMemFreeHost", "cuMemcpyHtoDAsync_v2", "cuMemcpyDtoHAsync_v2", "cuMemcpyDtoDAsync_v2", "cuMemsetD8Async",
        "cuMemsetD32Async", "cuModuleLoadData", "cuModuleGetFunction", "cuModuleUnload", "cuFuncSetAttribute",
        "cuLaunchKernel", "cuGetErrorName", "cuGetErrorString",
    ]

    /// Resolves the table from an opened libcuda.
    init(library: CUDASharedLibrary) throws(CUDAError) {
        try library.requireAll(Self.requiredSymbols)
        self.library = library
        cuInit = try library.require("cuInit")
        cuDriverGetVersion = try library.require("cuDriverGetVersion")
        cuDeviceGetCount = try library.require("cuDeviceGetCount")
        cuDeviceGet = try library.require("cuDeviceGet")
        cuDeviceGetName = try library.require("cuDeviceGetName")
        cuDeviceGetAttribute = try library.require("cuDeviceGetAttribute")
        cuDeviceTotalMem = try library.require("cuDeviceTotalMem_v2")
        cuDevicePrimaryCtxRetain = try library.require("cuDevicePrimaryCtxRetain")
        cuDevicePrimaryCtxRelease = try library.require("cuDevicePrimaryCtxRelease_v2")
        cuCtxSetCurrent = try library.require("cuCtxSetCurrent")
        cuCtxGetCurrent = try library.require("cuCtxGetCurrent")
        cuCtxSynchronize = try library.require("cuCtxSynchronize")
        cuStreamCreate = try library.require("cuStreamCreate")
        cuStreamSynchronize = try library.require("cuStreamSynchronize")
        cuStreamQuery = try library.require("cuStreamQuery")
        cuStreamWaitEvent = try library.require("cuStreamWaitEvent")
        cuStreamDestroy = try library.require("cuStreamDestroy_v2")
        cuEventCreate = try library.require("cuEventCreate")
        cuEventRecord = try library.require("cuEventRecord")
        cuEventSynchronize = try library.require("cuEventSynchronize")
        cuEventQuery = try library.require("cuEventQuery")
        cuEventDestroy = try library.require("cuEventDestroy_v2")
        cuMemAlloc = try library.require("cuMemAlloc_v2")
        cuMemFree = try library.require("cuMemFree_v2")
        cuMemGetInfo = try library.require("cuMemGetInfo_v2")
        cuMemHostAlloc = try library.require("cuMemHostAlloc")
        cuMemFreeHost = try library.require("cuMemFreeHost")
        cuMemcpyHtoDAsync = try library.require("cuMemcpyHtoDAsync_v2")
        cuMemcpyDtoHAsync = try library.require("cuMemcpyDtoHAsync_v2")
        cuMemcpyDtoDAsync = try library.require("cuMemcpyDtoDAsync_v2")
        cuMemsetD8Async = try library.require("cuMemsetD8Async")
        cuMemsetD32Async = try library.require("cuMemsetD32Async")
        cuModuleLoadData = try library.require("cuModuleLoadData")
        cuModuleGetFunction = try library.require("cuModuleGetFunction")
        cuModuleUnload = try library.require("cuModuleUnload")
        cuFuncSetAttribute = try library.require("cuFuncSetAttribute")
        cuLaunchKernel = try library.require("cuLaunchKernel")
        cuGetErrorName = try library.require("cuGetErrorName")
        cuGetErrorString = try library.require("cuGetErrorString")
        cuMemAllocAsync = library.optional("cuMemAllocAsync")
        cuMemFreeAsync = library.optional("cuMemFreeAsync")
        cuDeviceGetDefaultMemPool = library.optional("cuDeviceGetDefaultMemPool")
        cuMemPoolSetAttribute = library.optional("cuMemPoolSetAttribute")
        // CUDA 13 headers map cuEventElapsedTime to a _v2; older drivers only have the plain one.
        cuEventElapsedTime = library.optional("cuEventElapsedTime_v2") ?? library.optional("cuEventElapsedTime")
    }

    /// The driver's name and description for `result` (`CUDA_ERROR_ILLEGAL_ADDRESS`, "an
    /// illegal memory access was encountered").
    func describe(_ result: CUresult) -> (name: String, message: String) {
        var name: UnsafePointer<CChar>?, message: UnsafePointer<CChar>?
        let hasName = cuGetErrorName(result, &name) == CUDAResultCode.success && name != nil
        let hasMessage = cuGetErrorString(result, &message) == CUDAResultCode.success && message != nil
        return (
            hasName ? String(cString: name!) : CUDAResultCode.fallbackNames[result] ?? "CUDA error \(result)",
            hasMessage ? String(cString: message!) : "unknown error"
        )
    }

    /// Throws a `CUDAError.driver` for a failed `call`.
    func check(_ result: CUresult, _ call: String) throws(CUDAError) {
        guard result != CUDAResultCode.success else { return }
        let (name, message) = describe(result)
        throw .driver(call: call, code: result, name: name, message: message)
    }
}

// MARK: - NVRTC

/// NVRTC's functions, with the loaded version and the architectures it can compile for.
struct NVRTCAPI: Sendable {
    typealias Program = CUhandle
    typealias GetSize = @convention(c) (Program?, UnsafeMutablePointer<Int>?) -> CUresult
    typealias GetBytes = @convention(c) (Program?, UnsafeMutablePointer<CChar>?) -> CUresult

    /// The opened libnvrtc.
    let library: CUDASharedLibrary
    // The entry points, named as in nvrtc.h.
    let nvrtcVersion: @convention(c) (UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?) -> CUresult
    let nvrtcCreateProgram:
        @convention(c) (
            UnsafeMutablePointer<Program?>?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, Int32,
            UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<UnsafePointer<CChar>?>?
        ) -> CUresult
    let nvrtcCompileProgram: @convention(c) (Program?, Int32, UnsafePointer<UnsafePointer<CChar>?>?) -> CUresult
    let nvrtcGetProgramLogSize: GetSize
    let nvrtcGetProgramLog: GetBytes
    let nvrtcGetPTXSize: GetSize
    let nvrtcGetPTX: GetBytes
    let nvrtcGetCUBINSize: GetSize
    let nvrtcGetCUBIN: GetBytes
    let nvrtcDestroyProgram: @convention(c) (UnsafeMutablePointer<Program?>?) -> CUresult
    let nvrtcGetErrorString: (@convention(c) (CUresult) -> UnsafePointer<CChar>?)?

    /// NVRTC's (major, minor) version: (13, 0) for the 13.0 wheel.
    let version: (major: Int, minor: Int)
    /// The `sm_XY` architectures this NVRTC can target, as XY numbers (90 for sm_90).
    let supportedArchitectures: [Int]
    /// The builtins library preloaded from NVRTC's folder, if one was needed and found.
    let builtinsPath: String?

    /// Every symbol the table needs, checked in one go for a complete message.
    static let requiredSymbols = [
        "nvrtcVersion", "nvrtcGetNumSupportedArchs", "nvrtcGetSupportedArchs", "nvrtcCreateProgram",
        "nvrtcCompileProgram", "nvrtcGetProgramLogSize", "nvrtcGetProgramLog", "nvrtcGetPTXSize", "nvrtcGetPTX",
        "nvrtcGetCUBINSize", "nvrtcGetCUBIN", "nvrtcDestroyProgram",
    ]

    /// Resolves the table, reads the version and supported architectures, and preloads the
    /// builtins library that NVRTC dlopens by soname at its first compile: some wheels (13.0)
    /// ship NVRTC without an RPATH, so that dlopen fails unless the folder is on the loader's
    /// path (`NVRTC_ERROR_BUILTIN_OPERATION_FAILURE`, "failed to open libnvrtc-builtins").
    init(library: CUDASharedLibrary) throws(CUDAError) {
        try library.requireAll(Self.requiredSymbols)
        self.library = library
        nvrtcVersion = try library.require("nvrtcVersion")
        nvrtcCreateProgram = try library.require("nvrtcCreateProgram")
        nvrtcCompileProgram = try library.require("nvrtcCompileProgram")
        nvrtcGetProgramLogSize = try library.require("nvrtcGetProgramLogSize")
        nvrtcGetProgramLog = try library.require("nvrtcGetProgramLog")
        nvrtcGetPTXSize = try library.require("nvrtcGetPTXSize")
        nvrtcGetPTX = try library.require("nvrtcGetPTX")
        nvrtcGetCUBINSize = try library.require("nvrtcGetCUBINSize")
        nvrtcGetCUBIN = try library.require("nvrtcGetCUBIN")
        nvrtcDestroyProgram = try library.require("nvrtcDestroyProgram")
        nvrtcGetErrorString = library.optional("nvrtcGetErrorString")

        var major: Int32 = 0, minor: Int32 = 0
        _ = nvrtcVersion(&major, &minor)
        version = (Int(major), Int(minor))

        let getCount: @convention(c) (UnsafeMutablePointer<Int32>?) -> CUresult = try library.require("nvrtcGetNumSupportedArchs")
        let getArchs: @convention(c) (UnsafeMutablePointer<Int32>?) -> CUresult = try library.require("nvrtcGetSupportedArchs")
        var count: Int32 = 0
        var architectures: [Int32] = []
        if getCount(&count) == NVRTCResultCode.success && count > 0 {
            architectures = [Int32](repeating: 0, count: Int(count))
            if getArchs(&architectures) != NVRTCResultCode.success { architectures = [] }
        }
        supportedArchitectures = architectures.map(Int.init)

        let builtins = CUDALibrarySearch.join(library.directory, "libnvrtc-builtins.so.\(major).\(minor)")
        if FileManager.default.fileExists(atPath: builtins), (try? CUDASharedLibrary(opening: builtins, global: true)) != nil {
            builtinsPath = builtins
        } else {
            builtinsPath = nil
        }
    }

    /// NVRTC's name for `result`.
    func name(of result: CUresult) -> String {
        if let nvrtcGetErrorString, let text = nvrtcGetErrorString(result) { return String(cString: text) }
        return NVRTCResultCode.names[result] ?? "NVRTC error \(result)"
    }

    /// Where NVRTC was loaded from, for diagnostics.
    var path: String { library.resolvedPath }
}

// MARK: - cuBLAS

/// cuBLAS's functions for matmul, resolved by their `_v2` names where the header renames them.
struct CUBLASAPI: Sendable {
    typealias Handle = CUhandle
    typealias Gemm =
        @convention(c) (
            Handle?, Int32, Int32, Int32, Int32, Int32, UnsafeRawPointer?, UnsafeRawPointer?, Int32, UnsafeRawPointer?,
            Int32, UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32
        ) -> CUresult
    typealias GemmStridedBatched =
        @convention(c) (
            Handle?, Int32, Int32, Int32, Int32, Int32, UnsafeRawPointer?, UnsafeRawPointer?, Int32, Int64,
            UnsafeRawPointer?, Int32, Int64, UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, Int64, Int32
        ) -> CUresult

    /// The opened libcublas.
    let library: CUDASharedLibrary
    // The entry points, named as in cublas_api.h, where the header's #defines hide the `_v2`.
    let cublasCreate: @convention(c) (UnsafeMutablePointer<Handle?>?) -> CUresult
    let cublasDestroy: @convention(c) (Handle?) -> CUresult
    let cublasSetStream: @convention(c) (Handle?, CUhandle?) -> CUresult
    let cublasSetMathMode: @convention(c) (Handle?, Int32) -> CUresult
    let cublasSetWorkspace: @convention(c) (Handle?, UnsafeMutableRawPointer?, Int) -> CUresult
    let cublasGetProperty: @convention(c) (Int32, UnsafeMutablePointer<Int32>?) -> CUresult
    let cublasSgemm: Gemm
    let cublasDgemm: Gemm
    /// `cublasGemmEx(h, ta, tb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta, C, Ctype, ldc,
    /// computeType, algo)`, for float16 and bfloat16.
    let cublasGemmEx:
        @convention(c) (
            Handle?, Int32, Int32, Int32, Int32, Int32, UnsafeRawPointer?, UnsafeRawPointer?, Int32, Int32,
            UnsafeRawPointer?, Int32, Int32, UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, Int32, Int32, Int32
        ) -> CUresult
    let cublasSgemmStridedBatched: GemmStridedBatched
    let cublasDgemmStridedBatched: GemmStridedBatched
    /// `cublasGemmStridedBatchedEx(h, ta, tb, m, n, k, alpha, A, Atype, lda, strideA, B, Btype, ldb,
    /// strideB, beta, C, Ctype, ldc, strideC, batchCount, computeType, algo)`.
    let cublasGemmStridedBatchedEx:
        @convention(c) (
            Handle?, Int32, Int32, Int32, Int32, Int32, UnsafeRawPointer?, UnsafeRawPointer?, Int32, Int32, Int64,
            UnsafeRawPointer?, Int32, Int32, Int64, UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, Int32, Int64,
            Int32, Int32, Int32
        ) -> CUresult
    let cublasGetStatusString: (@convention(c) (CUresult) -> UnsafePointer<CChar>?)?

    /// cuBLAS's (major, minor, patch) version.
    let version: (major: Int, minor: Int, patch: Int)

    /// Every symbol the table needs, checked in one go for a complete message.
    static let requiredSymbols = [
        "cublasCreate_v2", "cublasDestroy_v2", "cublasSetStream_v2", "cublasSetMathMode", "cublasSetWorkspace_v2",
        "cublasGetProperty", "cublasSgemm_v2", "cublasDgemm_v2", "cublasGemmEx", "cublasSgemmStridedBatched",
        "cublasDgemmStridedBatched", "cublasGemmStridedBatchedEx",
    ]

    /// Resolves the table from an opened libcublas.
    init(library: CUDASharedLibrary) throws(CUDAError) {
        try library.requireAll(Self.requiredSymbols)
        self.library = library
        cublasCreate = try library.require("cublasCreate_v2")
        cublasDestroy = try library.require("cublasDestroy_v2")
        cublasSetStream = try library.require("cublasSetStream_v2")
        cublasSetMathMode = try library.require("cublasSetMathMode")
        cublasSetWorkspace = try library.require("cublasSetWorkspace_v2")
        cublasGetProperty = try library.require("cublasGetProperty")
        cublasSgemm = try library.require("cublasSgemm_v2")
        cublasDgemm = try library.require("cublasDgemm_v2")
        cublasGemmEx = try library.require("cublasGemmEx")
        cublasSgemmStridedBatched = try library.require("cublasSgemmStridedBatched")
        cublasDgemmStridedBatched = try library.require("cublasDgemmStridedBatched")
        cublasGemmStridedBatchedEx = try library.require("cublasGemmStridedBatchedEx")
        cublasGetStatusString = library.optional("cublasGetStatusString")
        var parts: [Int32] = [0, 0, 0]
        for index in 0..<3 { _ = cublasGetProperty(Int32(index), &parts[index]) }  // MAJOR, MINOR, PATCH
        version = (Int(parts[0]), Int(parts[1]), Int(parts[2]))
    }

    /// Throws a `CUDAError.cublas` for a failed `call`.
    func check(_ status: CUresult, _ call: String) throws(CUDAError) {
        guard status != CUBLASStatusCode.success else { return }
        let name = cublasGetStatusString.flatMap { $0(status) }.map { String(cString: $0) }
        throw .cublas(call: call, code: status, name: name ?? CUBLASStatusCode.names[status] ?? "cuBLAS status \(status)")
    }
}

// MARK: - Entry point

/// The CUDA libraries, each loaded once on first use; without a driver or GPU everything here
/// answers "none" instead of crashing.
///
/// ```swift
/// CUDA.deviceCount     // 0 on a machine without an NVIDIA driver
/// print(CUDA.diagnostics)
/// ```
enum CUDA {
    private static let driverResult = Result { () throws(CUDAError) in
        try CUDALibraryLoader.load(.driver, environment: .current, validate: CUDADriverAPI.init(library:))
    }

    private static let nvrtcResult = Result { () throws(CUDAError) in
        try CUDALibraryLoader.load(.nvrtc, environment: .current, validate: NVRTCAPI.init(library:))
    }

    private static let cublasResult = Result { () throws(CUDAError) in
        try CUDALibraryLoader.load(
            .cublas, environment: .current,
            prepare: { path in
                // cuBLAS needs cuBLASLt of the same major, in the same folder; preloading it
                // helps installs whose cuBLAS has no RPATH.
                let folder = (path as NSString).deletingLastPathComponent
                let major = path.split(separator: ".").last.map(String.init) ?? ""
                let lt = CUDALibrarySearch.join(folder, "libcublasLt.so.\(major)")
                if FileManager.default.fileExists(atPath: lt) { _ = try? CUDASharedLibrary(opening: lt, global: true) }
            },
            validate: CUBLASAPI.init(library:))
    }

    /// The driver's version and device count, from `cuInit` once per process.
    private static let initialization = Result { () throws(CUDAError) -> (driverVersion: Int, devices: Int) in
        let driver = try driverResult.get()
        try driver.check(driver.cuInit(0), "cuInit")
        var version: Int32 = 0, count: Int32 = 0
        try driver.check(driver.cuDriverGetVersion(&version), "cuDriverGetVersion")
        try driver.check(driver.cuDeviceGetCount(&count), "cuDeviceGetCount")
        return (Int(version), Int(count))
    }

    /// The driver API, loading libcuda.so.1 on first use.
    static func driver() throws(CUDAError) -> CUDADriverAPI { try driverResult.get() }

    /// NVRTC, loading it on first use.
    static func nvrtc() throws(CUDAError) -> NVRTCAPI { try nvrtcResult.get() }

    /// cuBLAS, loading it on first use.
    static func cublas() throws(CUDAError) -> CUBLASAPI { try cublasResult.get() }

    /// The number of usable NVIDIA GPUs; 0 without a driver, without a GPU, or when `cuInit`
    /// fails (a stub library, a driver too old): never a crash.
    static var deviceCount: Int { (try? initialization.get().devices) ?? 0 }

    /// The driver's CUDA version as `cuDriverGetVersion` reports it (13000 for 13.0), or nil.
    static var driverVersion: Int? { try? initialization.get().driverVersion }

    /// Why CUDA is or isn't usable: each library's path or its load report.
    static var diagnostics: String {
        var lines: [String] = []
        switch initialization {
        case .success(let state): lines.append("driver: CUDA \(state.driverVersion / 1000).\(state.driverVersion % 1000 / 10), \(state.devices) device(s)")
        case .failure(let error): lines.append("driver: \(error)")
        }
        switch nvrtcResult {
        case .success(let nvrtc):
            lines.append("NVRTC \(nvrtc.version.major).\(nvrtc.version.minor) at \(nvrtc.path)")
        case .failure(let error): lines.append("NVRTC: \(error)")
        }
        switch cublasResult {
        case .success(let cublas):
            lines.append("cuBLAS \(cublas.version.major).\(cublas.version.minor).\(cublas.version.patch) at \(cublas.library.resolvedPath)")
        case .failure(let error): lines.append("cuBLAS: \(error)")
        }
        return lines.joined(separator: "\n")
    }
}
