import CEmberKernels
import Testing

@testable import Ember

/// The float32 comparison kernels, at every instruction-set level this CPU runs, against Swift's
/// comparisons for both operand layouts (dense, a number second): NaN, ±0, ±inf and subnormals,
/// every vector tail, nothing written past the end; and through the operators.
@Suite struct CompareKernelTests {
    static let levels = [CPUFeatures.Level.avx2, .avx512].filter { $0 <= CPUFeatures.detected }
    static let comparisons: [(ember_compare_op, @Sendable (Float, Float) -> Bool)] = [
        (EMBER_COMPARE_LESS, { $0 < $1 }), (EMBER_COMPARE_LESS_EQUAL, { $0 <= $1 }),
        (EMBER_COMPARE_GREATER, { $0 > $1 }), (EMBER_COMPARE_GREATER_EQUAL, { $0 >= $1 }),
        (EMBER_COMPARE_EQUAL, { $0 == $1 }), (EMBER_COMPARE_NOT_EQUAL, { $0 != $1 }),
    ]
    static let specials: [Float] = [.nan, 0, -0.0, 1, -1, .infinity, -.infinity, .leastNonzeroMagnitude, 0.1, -0.3, 3, 1]

    @Test func baselineKeepsTheSwiftLoop() {
        for (op, _) in Self.comparisons {
            let kernels = ember_compare_f32_kernels_for(EMBER_CPU_BASELINE, op)
            #expect(kernels.dense == nil && kernels.number_second == nil)
        }
    }

    @Test func everyLevelComparesAsSwiftDoes() throws {
        for level in Self.levels {
            for (op, swift) in Self.comparisons {
                let kernels = ember_compare_f32_kernels_for(ember_cpu_level(rawValue: UInt32(level.rawValue)), op)
                let dense = try #require(kernels.dense), numberSecond = try #require(kernels.number_second)
                for count in [0, 1, 7, 8, 9, 31, 32, 33, 63, 64, 65, 100, 131] {
                    let a = (0..<count).map { Self.specials[($0 * 5) % Self.specials.count] }
                    let b = (0..<count).map { Self.specials[($0 * 7 + 3) % Self.specials.count] }
                    var output = [UInt8](repeating: 42, count: count + 16)
                    output.withUnsafeMutableBufferPointer { dense(a, b, $0.baseAddress, count) }
                    #expect(output[..<count].elementsEqual(zip(a, b).map { swift($0, $1) ? 1 : 0 }), "\(op) dense at \(level), count \(count)")
                    #expect(output[count...].allSatisfy { $0 == 42 }, "\(op) dense wrote past the end")
                    for number in [Float(0), -0.0, .nan, 1, -.infinity] {
                        output = [UInt8](repeating: 42, count: count + 16)
                        output.withUnsafeMutableBufferPointer { numberSecond(a, [number], $0.baseAddress, count) }
                        #expect(output[..<count].elementsEqual(a.map { swift($0, number) ? 1 : 0 }), "\(op) against \(number) at \(level), count \(count)")
                        #expect(output[count...].allSatisfy { $0 == 42 }, "\(op) against a number wrote past the end")
                    }
                }
            }
        }
    }

    @Test func theOperatorsRunThemOnFloat32() {
        let values = (0..<1000).map { Self.specials[$0 % Self.specials.count] }
        let others = (0..<1000).map { Self.specials[($0 * 3 + 1) % Self.specials.count] }
        let x = Tensor(values, shape: [1000]), y = Tensor(others, shape: [1000])
        #expect((x .< 0).toArray(as: Bool.self) == values.map { $0 < 0 })
        #expect((x .>= y).toArray(as: Bool.self) == zip(values, others).map { $0 >= $1 })
        #expect((x .!= y).toArray(as: Bool.self) == zip(values, others).map { $0 != $1 })
        // A transposed view and a broadcast row (the Swift loop) agree.
        let matrix = x.view(40, 25).t(), row = y[0..<40]
        let expected = zip(matrix.contiguous().toArray(as: Float.self), (0..<1000).map { others[$0 % 40] }).map { $0 <= $1 }
        #expect((matrix .<= row).toArray(as: Bool.self) == expected)
    }
}
