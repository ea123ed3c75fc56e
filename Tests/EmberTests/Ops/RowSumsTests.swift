import CEmberKernels
import Testing

@testable import Ember

/// The float32 row-sum kernels (AVX2, AVX-512) give the Swift loop's totals bit for bit, for
/// rows that end anywhere in a block of 256 or a group of eight.
@Suite struct RowSumsTests {
    static let levels = [CPUFeatures.Level.avx2, .avx512].filter { $0 <= CPUFeatures.detected }

    @Test func baselineLeavesTheSwiftLoop() {
        #expect(ember_row_sum_f32_kernel_for(EMBER_CPU_BASELINE) == nil)
    }

    @Test(arguments: [0, 1, 7, 8, 9, 255, 256, 257, 263, 1000, 4109])
    func totalsMatchTheSwiftLoop(count: Int) throws {
        var values = Tensor.randn([count], generator: Generator(seed: UInt64(count))).toArray(as: Float.self)
        for index in stride(from: 0, to: count, by: 97) { values[index] *= 1e6 }  // rounding that order shows
        let expected = values.withUnsafeMutableBufferPointer { SumRowsKernel.loopSum($0.baseAddress!, count: count) }
        for level in Self.levels {
            let sum = try #require(ember_row_sum_f32_kernel_for(ember_cpu_level(rawValue: UInt32(level.rawValue))))
            let total = values.withUnsafeBufferPointer { sum($0.baseAddress!, count) }
            #expect(total.bitPattern == expected.bitPattern, "\(level): \(total) against \(expected)")
        }
    }
}
