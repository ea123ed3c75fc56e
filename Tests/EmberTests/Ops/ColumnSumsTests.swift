import CEmberKernels
import Testing

@testable import Ember

/// The column-total kernels behind sums over leading dimensions, at every instruction-set
/// level this CPU runs: bit for bit the scalar loop's double totals.
@Suite struct ColumnSumsTests {
    static let levels = [CPUFeatures.Level.avx2, .avx512].filter { $0 <= CPUFeatures.detected }

    @Test func baselineLeavesTheSwiftLoop() {
        #expect(ember_column_sums_f32_kernel_for(EMBER_CPU_BASELINE) == nil)
    }

    @Test(arguments: [(1, 1), (3, 7), (37, 1029), (200, 16), (5, 33)])
    func totalsMatchTheScalarLoop(rows: Int, columns: Int) throws {
        var state: UInt64 = 12_345
        let values = (0..<rows * columns).map { _ -> Float in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state >> 11) % 2_000_001) / 1000 - 1000
        }
        let start = (0..<columns).map { Double($0) * 0.25 }  // totals already hold something
        var expected = start
        for row in 0..<rows {
            for column in 0..<columns { expected[column] += Double(values[row * columns + column]) }
        }
        for level in Self.levels {
            let sums = try #require(ember_column_sums_f32_kernel_for(ember_cpu_level(rawValue: UInt32(level.rawValue))))
            var totals = start + [-7]  // a sentinel past the end
            values.withUnsafeBufferPointer { sums($0.baseAddress!, rows, columns, &totals) }
            #expect(Array(totals.prefix(columns)).map(\.bitPattern) == expected.map(\.bitPattern), "\(level)")
            #expect(totals.last == -7, "\(level) wrote past the totals")
        }
        // Through the op: the float32 rounding of totals from zero.
        var fromZero = [Double](repeating: 0, count: columns)
        for row in 0..<rows {
            for column in 0..<columns { fromZero[column] += Double(values[row * columns + column]) }
        }
        #expect(Tensor(values, shape: [rows, columns]).sum(dim: 0).toArray(as: Float.self) == fromZero.map { Float($0) })
    }
}
