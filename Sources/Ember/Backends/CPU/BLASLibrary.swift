#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A CBLAS library found at run time with `dlopen`, so that building Ember needs no BLAS.
///
/// ```swift
/// if let blas = BLASLibrary.shared { print(blas.name) }  // "OpenBLAS 0.3.21 (libopenblas.so.0, Haswell kernels)"
/// ```
struct BLASLibrary: Sendable {
    /// `cblas_sgemm` or `cblas_dgemm` as a Swift function of its scalar type.
    typealias GEMM<T> = (
        Int32, Int32, Int32, Int32, Int32, Int32, T, UnsafePointer<T>?, Int32, UnsafePointer<T>?, Int32, T,
        UnsafeMutablePointer<T>?, Int32
    ) -> Void

    /// `cblas_sgemm`: order, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc.
    typealias SGEMM = @convention(c) (
        Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
        UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32
    ) -> Void
    /// `cblas_dgemm`, with the same argument order as ``SGEMM``.
    typealias DGEMM = @convention(c) (
        Int32, Int32, Int32, Int32, Int32, Int32, Double, UnsafePointer<Double>?, Int32,
        UnsafePointer<Double>?, Int32, Double, UnsafeMutablePointer<Double>?, Int32
    ) -> Void

    /// `CBLAS_ORDER` / `CBLAS_TRANSPOSE` values shared by every CBLAS header.
    static let rowMajor: Int32 = 101
    static let noTranspose: Int32 = 111
    static let transpose: Int32 = 112

    /// The name shown in benchmarks, e.g. "OpenBLAS 0.3.21 (libopenblas.so.0, Haswell kernels)" or
    /// "Accelerate".
    let name: String
    /// Where it was loaded from, as asked for (a file path or a name for the dynamic loader).
    let path: String
    let sgemm: SGEMM
    let dgemm: DGEMM
    /// Whether the library was set to one thread, so that ``GEMM`` splits products across
    /// Ember's workers instead: two thread pools spinning on the same cores slow each other
    /// (OpenBLAS's threads keep polling long after a product, and take the core from Ember's).
    let runsOnEmberThreads: Bool
    /// Whether the built-in kernel outruns the library on this CPU: the library's kernels
    /// multiply-add in narrower vectors than the built-in one's (an OpenBLAS that predates the
    /// CPU falls back to older kernels). On Zen 5 with OpenBLAS 0.3.21's Haswell kernels that
    /// is 194 against 113 GFLOP/s on one core; on an Emerald Rapids Xeon, where 0.3.21 falls
    /// back to its SSE3 Prescott kernels, 97–109 against 20.
    let isOutrunByBuiltin: Bool

    /// The library used by ``GEMM``, or `nil` when none loads or `EMBER_BLAS=builtin`.
    ///
    /// `EMBER_BLAS=/path/to/libblas.so` is tried before the usual names.
    static let shared: BLASLibrary? = {
        if request == "builtin" { return nil }
        let candidates = (request.isEmpty ? [] : [request]) + defaultPaths
        return candidates.lazy.compactMap(BLASLibrary.init(path:)).first
    }()

    /// Whether products run ``shared`` until ``Ember/blasEnabled`` says otherwise: yes, unless
    /// the built-in kernel outruns it and `EMBER_BLAS` did not name it.
    static var isEnabledByDefault: Bool {
        guard let shared else { return true }
        return shared.path == request || !shared.isOutrunByBuiltin
    }

    /// `EMBER_BLAS`: "builtin", a library to try first, or "" when unset.
    private static let request = getenv("EMBER_BLAS").map { String(cString: $0) } ?? ""

    /// Whether the built-in kernel outruns OpenBLAS's kernels for `core` (its
    /// `openblas_get_corename()`) at the vector `level` the C kernels use: when the core's
    /// kernels multiply-add in narrower vectors than the built-in kernel, at full rate, does.
    /// OpenBLAS falls back to one of its older cores on x86-64 CPUs it does not know: Haswell
    /// or Zen (256-bit), or Prescott (128-bit SSE3). An unknown name may be a newer core: it
    /// keeps the library.
    static func builtinOutruns(
        openBLASCore core: String?, level: CPUFeatures.Level = CPUFeatures.level,
        avx512IsFullWidth: Bool = CPUFeatures.avx512IsFullWidth
    ) -> Bool {
        let builtinWidth = switch level {
        case .avx512: avx512IsFullWidth ? 512 : 256
        case .avx2: 256
        case .baseline: 0
        }
        guard let core, let libraryWidth = openBLASMultiplyAddWidth[core.lowercased()] else { return false }
        return libraryWidth < builtinWidth
    }

    /// The vector width in bits that OpenBLAS's single-precision GEMM kernels for each x86-64
    /// core name multiply-add at, with full-rate fused multiply-adds: Sandybridge's AVX kernels
    /// multiply and add separately, at half the rate, and the AMD cores before Zen run 256-bit
    /// operations as two halves, so both count as 128.
    private static let openBLASMultiplyAddWidth: [String: Int] = {
        var widths = ["skylakex": 512, "cooperlake": 512, "sapphirerapids": 512, "haswell": 256, "zen": 256]
        for core in [
            "katmai", "coppermine", "northwood", "prescott", "banias", "atom", "core2", "penryn", "dunnington", "nehalem",
            "athlon", "opteron", "opteron_sse3", "barcelona", "nano", "sandybridge", "bobcat", "bulldozer", "piledriver",
            "steamroller", "excavator",
        ] {
            widths[core] = 128
        }
        return widths
    }()

    #if canImport(Darwin)
    private static let defaultPaths = ["/System/Library/Frameworks/Accelerate.framework/Accelerate"]
    #else
    private static let defaultPaths = [
        "libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0", "libopenblaso.so.0", "libblas.so.3",
    ]
    #endif

    /// A library of the given functions: a test's stand-in, which tells which products reach it.
    init(name: String, sgemm: SGEMM, dgemm: DGEMM) {
        self.name = name
        self.path = name
        self.sgemm = sgemm
        self.dgemm = dgemm
        runsOnEmberThreads = false
        isOutrunByBuiltin = false
    }

    /// Loads the library at `path` (a file path or a name for the dynamic loader's search),
    /// or returns `nil` when it does not load or lacks `cblas_sgemm` / `cblas_dgemm`.
    init?(path: String) {
        // The handle is never closed: the function pointers live as long as the process.
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else { return nil }
        guard let sgemm = dlsym(handle, "cblas_sgemm"), let dgemm = dlsym(handle, "cblas_dgemm") else {
            dlclose(handle)
            return nil
        }
        self.sgemm = unsafeBitCast(sgemm, to: SGEMM.self)
        self.dgemm = unsafeBitCast(dgemm, to: DGEMM.self)
        self.path = path
        let fileName = path.split(separator: "/").last.map(String.init) ?? path
        if path.hasSuffix("/Accelerate") {
            name = "Accelerate"
            runsOnEmberThreads = false
            isOutrunByBuiltin = false
        } else if let setThreads = dlsym(handle, "openblas_set_num_threads") {
            typealias SetThreads = @convention(c) (Int32) -> Void
            unsafeBitCast(setThreads, to: SetThreads.self)(1)
            runsOnEmberThreads = true
            typealias Describe = @convention(c) () -> UnsafePointer<CChar>?
            func describe(_ symbol: String) -> String? {
                dlsym(handle, symbol).flatMap { unsafeBitCast($0, to: Describe.self)() }.map { String(cString: $0) }
            }
            // "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH …" and "Haswell".
            let version = describe("openblas_get_config")?.split(separator: " ").dropFirst().first.map { " \($0)" } ?? ""
            let core = describe("openblas_get_corename")
            name = "OpenBLAS\(version) (\(fileName)\(core.map { ", \($0) kernels" } ?? ""))"
            isOutrunByBuiltin = Self.builtinOutruns(openBLASCore: core)
        } else {
            name = "BLAS (\(fileName))"
            runsOnEmberThreads = false
            isOutrunByBuiltin = false
        }
    }
}
