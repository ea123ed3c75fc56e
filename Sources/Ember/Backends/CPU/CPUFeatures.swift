#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

internal import CEmberKernels

/// The widest vector unit the C kernels may use on this machine.
///
/// `EMBER_CPU=baseline|avx2|avx512` lowers it (never raises it), to compare kernels or to rule
/// one out when hunting a numerical difference.
///
/// ```swift
/// CPUFeatures.level >= .avx2  // true on Haswell, Zen and later
/// ```
enum CPUFeatures {
    enum Level: Int, Comparable, Sendable, CustomStringConvertible {
        case baseline = 0, avx2 = 1, avx512 = 2

        static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }

        var description: String {
            switch self {
            case .baseline: "baseline"
            case .avx2: "AVX2+FMA"
            case .avx512: "AVX-512"
            }
        }
    }

    /// What the CPU supports.
    static let detected = Level(rawValue: Int(ember_cpu_detect().rawValue)) ?? .baseline

    /// Whether 512-bit multiply-adds run at twice the rate of 256-bit ones (Zen 5, Intel's
    /// AVX-512 cores), not as two halves (Zen 4): see `ember_cpu_avx512_is_full_width`.
    static let avx512IsFullWidth = ember_cpu_avx512_is_full_width() != 0

    /// What the kernels use: `detected`, or less if `EMBER_CPU` asks for less.
    static let level: Level = {
        let requested: Level? = switch getenv("EMBER_CPU").map({ String(cString: $0) }) {
        case "baseline": .baseline
        case "avx2": .avx2
        case "avx512": .avx512
        default: nil
        }
        return min(requested ?? detected, detected)
    }()
}
