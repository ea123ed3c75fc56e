import Foundation
import Testing

@testable import Ember

/// CPUID detection agrees with what the kernel reports in /proc/cpuinfo.
@Suite struct CPUFeaturesTests {
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/cpuinfo"), "needs Linux's /proc/cpuinfo"))
    func detectionMatchesProcCPUInfo() throws {
        let info = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flagsLine = try #require(info.split(separator: "\n").first { $0.hasPrefix("flags") })
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        let expected: CPUFeatures.Level =
            if ["avx512f", "avx512vl", "avx512dq", "avx512bw", "avx2", "fma"].allSatisfy(flags.contains) {
                .avx512
            } else if ["avx2", "fma"].allSatisfy(flags.contains) {
                .avx2
            } else {
                .baseline
            }
        #expect(CPUFeatures.detected == expected)
        #expect(CPUFeatures.level <= CPUFeatures.detected)
    }
}
