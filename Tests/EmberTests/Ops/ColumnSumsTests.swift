import CEmberKernels
import Testing

@testable import Ember

/// The column-total kernels behind sums over leading and middle dimensions, at every
/// instruction-set level this CPU runs: bit for bit the scalar loop's double totals.
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

    /// Sums over consecutive middle dimensions add each block's rows in order, in Double, as
    /// the leading-dimension sums do: `[64, 128, 128]` is shared out between threads by block.
    @Test(arguments: [([4, 5, 6], [1]), ([3, 4, 5, 6], [1, 2]), ([2, 3, 1], [1]), ([64, 128, 128], [1]), ([2, 7, 3, 9], [2])])
    func middleDimensionsAddEachBlocksRowsInOrder(shape: [Int], dims: [Int]) {
        let count = shape.reduce(1, *)
        let values = (0..<count).map { Float(($0 * 7919) % 2003) / 16 - 60 }
        let (first, last) = (dims.first!, dims.last!)
        let slices = shape[..<first].reduce(1, *), rows = shape[first...last].reduce(1, *), columns = shape[(last + 1)...].reduce(1, *)
        var expected = [Double](repeating: 0, count: slices * columns)
        for slice in 0..<slices {
            for row in 0..<rows {
                for column in 0..<columns { expected[slice * columns + column] += Double(values[(slice * rows + row) * columns + column]) }
            }
        }
        let x = Tensor(values, shape: shape)
        let kept = shape.indices.filter { !dims.contains($0) }.map { shape[$0] }
        let sum = x.sum(dims: dims)
        #expect(sum.shape == kept)
        #expect(sum.toArray(as: Float.self) == expected.map { Float($0) })
        #expect(x.sum(dims: dims, keepdim: true).shape == shape.indices.map { dims.contains($0) ? 1 : shape[$0] })
        #expect(x.to(.float64).sum(dims: dims).toArray(as: Double.self) == expected)
        #expect(x.mean(dims: dims).toArray(as: Float.self) == expected.map { Float($0) / Float(rows) })
        let integers = Tensor((0..<count).map { Int64($0 % 11) - 5 }, shape: shape).sum(dims: dims)
        #expect(integers.dtype == .int64)
        var integerTotals = [Int64](repeating: 0, count: slices * columns)
        for index in 0..<count {
            let (slice, column) = (index / (rows * columns), index % columns)
            integerTotals[slice * columns + column] += Int64(index % 11) - 5
        }
        #expect(integers.toArray(as: Int64.self) == integerTotals)
    }
}
