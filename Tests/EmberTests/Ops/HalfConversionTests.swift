import CEmberKernels
import Testing

@testable import Ember

/// The F16C conversion kernels behind `to(.float16)` and `to(.float32)` of halves: bit for bit
/// `Half(_:)` and `Half.floatValue`, NaN payloads and every tail length included.
@Suite struct HalfConversionTests {
    static let level = ember_cpu_level(rawValue: UInt32(CPUFeatures.Level.avx2.rawValue))

    @Test func baselineKeepsTheLoop() {
        #expect(ember_float_to_half_kernel_for(EMBER_CPU_BASELINE) == nil)
        #expect(ember_half_to_float_kernel_for(EMBER_CPU_BASELINE) == nil)
    }

    @Test func floatsRoundAsHalfDoes() throws {
        guard CPUFeatures.detected >= .avx2 else { return }
        let toHalf = try #require(ember_float_to_half_kernel_for(Self.level))
        // Every 1531st bit pattern, then ties between halves, the subnormal and overflow edges and
        // NaNs with payloads, which the instruction would keep.
        let edges: [UInt32] = [0x3380_0000, 0x3380_0001, 0x337F_FFFF, 0x3300_0000, 0x3300_0001, 0x387F_E000, 0x3880_1000,
                               0x3880_3000, 0x477F_EFFF, 0x477F_F000, 0x4780_0000, 0x7F80_0000, 0x7F80_0001, 0x7FC0_0000,
                               0x7FFF_FFFF, 0xFFC0_1234, 0xFF80_0000, 0x8000_0001, 0x0000_0000, 0x8000_0000]
        let inputs = stride(from: UInt32(0), to: .max, by: 1531).map(Float.init(bitPattern:)) + edges.map(Float.init(bitPattern:))
        var halves = [UInt16](repeating: 0, count: inputs.count)
        halves.withUnsafeMutableBufferPointer { out in inputs.withUnsafeBufferPointer { toHalf($0.baseAddress, out.baseAddress, inputs.count) } }
        let expected = inputs.map { Half($0).bitPattern }
        let wrong = inputs.indices.filter { halves[$0] != expected[$0] }
        #expect(wrong.isEmpty, "\(wrong.prefix(5).map { String(inputs[$0].bitPattern, radix: 16) })")
    }

    @Test func everyHalfWidensAsFloatValueDoes() throws {
        guard CPUFeatures.detected >= .avx2 else { return }
        let toFloat = try #require(ember_half_to_float_kernel_for(Self.level))
        let halves = (0...UInt16.max).map { $0 }
        var floats = [Float](repeating: 0, count: halves.count)
        floats.withUnsafeMutableBufferPointer { out in halves.withUnsafeBufferPointer { toFloat($0.baseAddress, out.baseAddress, halves.count) } }
        let wrong = halves.indices.filter { floats[$0].bitPattern != Half(bitPattern: halves[$0]).floatValue.bitPattern }
        #expect(wrong.isEmpty, "\(wrong.prefix(5).map { String(halves[$0], radix: 16) })")
    }

    @Test func tailsStopAtTheirEnd() throws {
        guard CPUFeatures.detected >= .avx2 else { return }
        let toHalf = try #require(ember_float_to_half_kernel_for(Self.level))
        let toFloat = try #require(ember_half_to_float_kernel_for(Self.level))
        let values = (0..<20).map { Float($0) * 0.7 - 3 }
        for count in 0...19 {
            var halves = [UInt16](repeating: 0xBEEF, count: 20)
            halves.withUnsafeMutableBufferPointer { out in values.withUnsafeBufferPointer { toHalf($0.baseAddress, out.baseAddress, count) } }
            #expect(Array(halves[..<count]) == values[..<count].map { Half($0).bitPattern } && halves[count...].allSatisfy { $0 == 0xBEEF })
            var floats = [Float](repeating: 99, count: 20)
            floats.withUnsafeMutableBufferPointer { out in halves.withUnsafeBufferPointer { toFloat($0.baseAddress, out.baseAddress, count) } }
            #expect(Array(floats[..<count]) == halves[..<count].map { Half(bitPattern: $0).floatValue } && floats[count...].allSatisfy { $0 == 99 })
        }
    }

    @Test func tensorsConvertThroughTheKernels() {
        let count = 100_003  // split across threads, with a tail
        let values = (0..<count).map { Float($0 % 4099) * 0.37 - 700 }
        let halves = Tensor(values, shape: [count]).to(.float16)
        #expect(halves.toArray(as: Half.self).map(\.bitPattern) == values.map { Half($0).bitPattern })
        #expect(halves.to(.float32).toArray(as: Float.self) == values.map { Half($0).floatValue })
    }
}
