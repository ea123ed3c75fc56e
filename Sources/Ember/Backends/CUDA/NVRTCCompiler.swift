// Compiling kernel sources with NVRTC, cached in memory and on disk.

import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What NVRTC emits for one device: a cubin for its exact architecture, or PTX the driver
/// compiles when it loads the module.
struct CUDACompileTarget: Hashable, Sendable, CustomStringConvertible {
    /// A cubin (machine code, `nvrtcGetCUBIN`) or PTX (`nvrtcGetPTX`, NUL-terminated).
    enum Format: String, Sendable { case cubin, ptx }

    /// The architecture as XY (90 for sm_90).
    let architecture: Int
    /// Cubin or PTX.
    let format: Format

    /// A cubin for `sm_<architecture>`.
    static func cubin(_ architecture: Int) -> Self { Self(architecture: architecture, format: .cubin) }
    /// PTX for `compute_<architecture>`.
    static func ptx(_ architecture: Int) -> Self { Self(architecture: architecture, format: .ptx) }

    /// `sm_90` or `compute_90`.
    var description: String { format == .cubin ? "sm_\(architecture)" : "compute_\(architecture)" }

    /// NVRTC's option selecting the target; `sm_` makes NVRTC run ptxas and produce a cubin.
    var architectureOption: String { "--gpu-architecture=\(description)" }

    /// The target for a GPU of compute capability `computeCapability` (90 for 9.0).
    ///
    /// A cubin whenever NVRTC knows the GPU: a cubin from any NVRTC of the driver's major
    /// version loads (minor-version compatibility), whereas PTX only loads when its ISA is not
    /// newer than the driver's (NVRTC 13.5's PTX 9.5 is rejected by driver 580, CUDA 13.0, with
    /// CUDA_ERROR_UNSUPPORTED_PTX_VERSION). PTX for the newest architecture NVRTC knows only
    /// for a GPU newer than NVRTC, and only when NVRTC is not newer than the driver.
    /// `driverVersion` is `cuDriverGetVersion`'s encoding (13000 for 13.0).
    static func select(
        computeCapability: Int, nvrtcVersion: (major: Int, minor: Int), supportedArchitectures: [Int], driverVersion: Int
    ) throws(CUDAError) -> Self {
        let driver = (major: driverVersion / 1000, minor: driverVersion % 1000 / 10)
        let nvrtcName = "NVRTC \(nvrtcVersion.major).\(nvrtcVersion.minor)"
        let driverName = "the driver's CUDA \(driver.major).\(driver.minor)"
        guard nvrtcVersion.major <= driver.major else {
            throw .unsupportedTarget(
                "\(nvrtcName) is newer than \(driverName), so nothing it compiles can load: install NVRTC \(driver.major).x (nvidia-cuda-nvrtc==\(driver.major).\(driver.minor).*) or update the NVIDIA driver"
            )
        }
        if supportedArchitectures.contains(computeCapability) { return .cubin(computeCapability) }
        guard let newest = supportedArchitectures.filter({ $0 <= computeCapability }).max() else {
            let oldest = supportedArchitectures.min().map { "sm_\($0)" } ?? "none"
            throw .unsupportedTarget(
                "the GPU (sm_\(computeCapability)) is older than \(nvrtcName) supports (oldest: \(oldest)); use an older NVRTC")
        }
        guard (nvrtcVersion.major, nvrtcVersion.minor) <= (driver.major, driver.minor) else {
            throw .unsupportedTarget(
                "the GPU (sm_\(computeCapability)) is newer than \(nvrtcName) knows, and its PTX needs a driver of CUDA \(nvrtcVersion.major).\(nvrtcVersion.minor) or newer but \(driverName) is older: update NVRTC or the driver"
            )
        }
        return .ptx(newest)
    }
}

/// A compiled module: the image to hand to `cuModuleLoadData` and the kernels in it.
struct CUDACompiledModule: Sendable {
    /// The module's name, for messages.
    let name: String
    /// The `extern "C"` kernel names to look up with `cuModuleGetFunction`.
    let kernels: [String]
    /// What the image was compiled for.
    let target: CUDACompileTarget
    /// A cubin, or NUL-terminated PTX.
    let image: [UInt8]
    /// NVRTC's log (warnings); empty when the image came from the disk cache.
    let log: String
}

/// Turns kernel modules into images for `cuModuleLoadData`: NVRTC on a real GPU.
protocol CUDAModuleCompiler: Sendable {
    /// What to compile for a GPU of compute capability `computeCapability` (90 for 9.0)
    /// under a driver of `driverVersion` (13000 for CUDA 13.0).
    func target(computeCapability: Int, driverVersion: Int) throws(CUDAError) -> CUDACompileTarget
    /// `module` compiled for `target`.
    func compile(_ module: CUDAKernelModule, for target: CUDACompileTarget) throws(CUDAError) -> CUDACompiledModule
}

/// Compiles kernel sources with NVRTC, caching images in memory and on disk. Thread-safe:
/// NVRTC compiles separate programs concurrently, and the caches are locked or atomic.
///
/// ```swift
/// let compiler = NVRTCCompiler(nvrtc: try CUDA.nvrtc())
/// let compiled = try compiler.compile(CUDAKernelSource.module(.binary, .float32), for: .cubin(90))
/// ```
final class NVRTCCompiler: CUDAModuleCompiler {
    /// The NVRTC library compiling.
    let nvrtc: NVRTCAPI
    /// nil to compile every time (tests that must exercise NVRTC, or `EMBER_KERNEL_CACHE=0`).
    let diskCache: CUDAKernelDiskCache?
    private let memoryCache = Mutex<[String: CUDACompiledModule]>([:])

    /// Options after the architecture: device code by default, so helpers need no
    /// `__device__`; C++17 for `if constexpr`-era code; and no "pointless comparison of
    /// unsigned integer with zero" warnings, which generic code produces for uint8.
    static let standardOptions = ["-default-device", "--std=c++17", "--diag-suppress=186"]

    /// Bumped when anything outside the source changes what a cached image means.
    static let cacheFormatVersion = 1

    /// A compiler using `nvrtc`, caching on disk in `diskCache` (the standard folder by default).
    init(nvrtc: NVRTCAPI, diskCache: CUDAKernelDiskCache? = .standard) {
        self.nvrtc = nvrtc
        self.diskCache = diskCache
    }

    /// The full option list for `target`.
    static func options(for target: CUDACompileTarget) -> [String] { [target.architectureOption] + standardOptions }

    /// The cache key: SHA-256 over everything that determines the image (the source, the
    /// options, NVRTC's version, the target), each field length-prefixed so that no two
    /// different inputs concatenate to the same bytes.
    static func cacheKey(
        source: String, options: [String], nvrtcVersion: (major: Int, minor: Int), target: CUDACompileTarget
    ) -> String {
        var bytes: [UInt8] = []
        func field(_ text: String) {
            let utf8 = Array(text.utf8)
            withUnsafeBytes(of: UInt64(utf8.count).littleEndian) { bytes += $0 }
            bytes += utf8
        }
        field("ember-kernel-cache-\(cacheFormatVersion)")
        field("nvrtc-\(nvrtcVersion.major).\(nvrtcVersion.minor)")
        field(target.description)
        field(target.format.rawValue)
        field(String(options.count))
        options.forEach(field)
        field(source)
        return SHA256.hexDigest(bytes)
    }

    func target(computeCapability: Int, driverVersion: Int) throws(CUDAError) -> CUDACompileTarget {
        try CUDACompileTarget.select(
            computeCapability: computeCapability, nvrtcVersion: (nvrtc.version.major, nvrtc.version.minor),
            supportedArchitectures: nvrtc.supportedArchitectures, driverVersion: driverVersion)
    }

    /// `module` compiled for `target`, from memory, then disk, then NVRTC.
    func compile(_ module: CUDAKernelModule, for target: CUDACompileTarget) throws(CUDAError) -> CUDACompiledModule {
        let options = Self.options(for: target)
        let key = Self.cacheKey(source: module.source, options: options, nvrtcVersion: nvrtc.version, target: target)
        if let cached = memoryCache.withLock({ $0[key] }) { return cached }
        let compiled: CUDACompiledModule
        if let image = diskCache?.load(key: key) {
            compiled = CUDACompiledModule(name: module.name, kernels: module.kernels, target: target, image: image, log: "")
        } else {
            let (image, log) = try compile(source: module.source, name: module.name, options: options, format: target.format)
            compiled = CUDACompiledModule(name: module.name, kernels: module.kernels, target: target, image: image, log: log)
            // Best effort: a read-only or full disk only costs a recompile next time.
            try? diskCache?.store(image, key: key)
        }
        memoryCache.withLock { $0[key] = compiled }
        return compiled
    }

    /// Compiles `source` with NVRTC, no caching: the image and NVRTC's log, or an error that
    /// carries the log.
    func compile(
        source: String, name: String, options: [String], format: CUDACompileTarget.Format
    ) throws(CUDAError) -> (image: [UInt8], log: String) {
        var program: NVRTCAPI.Program?
        try check(nvrtc.nvrtcCreateProgram(&program, source, name + ".cu", 0, nil, nil), "nvrtcCreateProgram(\(name))")
        defer { _ = nvrtc.nvrtcDestroyProgram(&program) }

        let arguments = options.map { UnsafePointer(strdup($0)) }
        defer { arguments.forEach { free(UnsafeMutablePointer(mutating: $0)) } }
        let result = arguments.withUnsafeBufferPointer { nvrtc.nvrtcCompileProgram(program, Int32(options.count), $0.baseAddress) }
        let log = programLog(program)
        guard result == NVRTCResultCode.success else {
            throw .nvrtc(call: "nvrtcCompileProgram(\(name), \(options.joined(separator: " ")))", code: result, name: nvrtc.name(of: result), log: log)
        }

        let (getSize, getBytes, label) =
            format == .cubin
            ? (nvrtc.nvrtcGetCUBINSize, nvrtc.nvrtcGetCUBIN, "nvrtcGetCUBIN") : (nvrtc.nvrtcGetPTXSize, nvrtc.nvrtcGetPTX, "nvrtcGetPTX")
        var size = 0
        try check(getSize(program, &size), "\(label)Size(\(name))")
        // A cubin of size 0 means the options asked for PTX only (a compute_ architecture).
        guard size > 0 else {
            throw .nvrtc(call: "\(label)(\(name))", code: NVRTCResultCode.success, name: "empty \(format.rawValue)", log: log)
        }
        var image = [UInt8](repeating: 0, count: size)
        let status = image.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: size) { getBytes(program, $0) }
        }
        try check(status, "\(label)(\(name))")
        return (image, log)
    }

    /// The program's log without its terminating NUL; empty when there is none.
    private func programLog(_ program: NVRTCAPI.Program?) -> String {
        var size = 0
        guard nvrtc.nvrtcGetProgramLogSize(program, &size) == NVRTCResultCode.success, size > 1 else { return "" }
        var buffer = [CChar](repeating: 0, count: size)
        guard nvrtc.nvrtcGetProgramLog(program, &buffer) == NVRTCResultCode.success else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private func check(_ result: CUresult, _ call: String) throws(CUDAError) {
        guard result != NVRTCResultCode.success else { return }
        throw .nvrtc(call: call, code: result, name: nvrtc.name(of: result), log: "")
    }
}
