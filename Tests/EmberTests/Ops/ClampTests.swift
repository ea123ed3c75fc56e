import CEmberKernels
import Testing

@testable import Ember

/// The float32 clamp kernel behind `clamp` and `relu`, at every instruction-set level this CPU
/// runs, against the Swift loop's bits: NaN, ±0, ±inf and subnormals, every vector tail, bounds
/// missing, NaN or crossed, into another array and in place; nothing written past the end; and
/// through the ops.
@Suite struct ClampTests {
    static let levels = [CPUFeatures.Level.avx2, .avx512].filter { $0 <= CPUFeatures.detected }

    static let specials: [Float] = [
        .nan, -.nan, 0, -0.0, 1, -1, .infinity, -.infinity, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
        0.25, -0.5, 0.2500001, -0.50000006, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 3, -7,
    ]

    @Test func baselineKeepsTheSwiftLoop() {
        #expect(ember_clamp_f32_kernel_for(EMBER_CPU_BASELINE) == nil)
    }

    @Test func everyLevelGivesTheSwiftLoopsBits() throws {
        let bounds: [(Float, Float)] = [(0, .infinity), (-0.5, 0.25), (-.infinity, 0.25), (.nan, 1), (-1, .nan), (1, -1), (-0.0, 0)]
        for level in Self.levels {
            let clamp = try #require(ember_clamp_f32_kernel_for(ember_cpu_level(rawValue: UInt32(level.rawValue))))
            for count in [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 131] {
                let input = (0..<count).map { Self.specials[($0 * 5) % Self.specials.count] * ($0 % 4 == 3 ? 0.5 : 1) }
                for (low, high) in bounds {
                    var output = [Float](repeating: 42, count: count + 16)
                    input.withUnsafeBufferPointer { x in
                        output.withUnsafeMutableBufferPointer { y in clamp(x.baseAddress, y.baseAddress, count, low, high) }
                    }
                    let expected = input.map { ClampMax.apply(ClampMin.apply($0, low), high) }
                    #expect(output[..<count].map(\.bitPattern) == expected.map(\.bitPattern), "\(level) count \(count) bounds \(low)...\(high)")
                    #expect(output[count...].allSatisfy { $0 == 42 }, "\(level) wrote past \(count)")
                    var inPlace = input
                    inPlace.withUnsafeMutableBufferPointer { x in clamp(x.baseAddress, x.baseAddress, count, low, high) }
                    #expect(inPlace.map(\.bitPattern) == expected.map(\.bitPattern), "\(level) in place, count \(count)")
                }
            }
        }
    }

    @Test func clampAndReluRunItOnDenseFloat32() {
        let values = (0..<1000).map { Self.specials[$0 % Self.specials.count] }
        let x = Tensor(values, shape: [1000])
        let relu = x.relu().toArray(as: Float.self), clamped = x.clamp(min: -0.5, max: 0.25).toArray(as: Float.self)
        #expect(relu.map(\.bitPattern) == values.map { Relu.apply($0) }.map(\.bitPattern))
        #expect(clamped.map(\.bitPattern) == values.map { ClampMax.apply(ClampMin.apply($0, -0.5), 0.25) }.map(\.bitPattern))
        // In place, and a transposed view (the Swift loop), agree.
        let inPlace = x.clone()
        inPlace.clamp_(min: -0.5, max: 0.25)
        #expect(inPlace.toArray(as: Float.self).map(\.bitPattern) == clamped.map(\.bitPattern))
        let matrix = x.view(40, 25).t()
        #expect(matrix.relu().contiguous().toArray(as: Float.self).map(\.bitPattern) == matrix.contiguous().toArray(as: Float.self).map { Relu.apply($0) }.map(\.bitPattern))
    }
}
