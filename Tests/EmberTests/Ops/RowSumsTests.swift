import CEmberKernels
import Testing

@testable import Ember

/// The float32 row-sum and row-product kernels (AVX2, AVX-512) give the Swift loops' results
/// bit for bit, for rows that end anywhere in a block or a group.
@Suite struct RowSumsTests {
    static let levels = [CPUFeatures.Level.avx2, .avx512].filter { $0 <= CPUFeatures.detected }

    @Test func baselineLeavesTheSwiftLoop() {
        #expect(ember_row_sum_f32_kernel_for(EMBER_CPU_BASELINE) == nil)
        #expect(ember_row_product_f32_kernel_for(EMBER_CPU_BASELINE) == nil)
    }

    @Test(arguments: [0, 1, 7, 8, 9, 15, 16, 17, 100, 128, 255, 256, 257, 263, 1000, 4109])
    func totalsMatchTheSwiftLoop(count: Int) throws {
        var values = Tensor.randn([count], generator: Generator(seed: UInt64(count))).toArray(as: Float.self)
        // Elements 10¹² times the rest, so that even Double rounds, and in an order of its own.
        for index in stride(from: 0, to: count, by: 97) { values[index] *= 1e12 }
        let expected = values.withUnsafeMutableBufferPointer { SumRowsKernel.loopSum($0.baseAddress!, count: count) }
        if count < 256 {
            // Short rows add in Double throughout: within Double rounding of one chain's sum.
            let serial = values.reduce(0.0) { $0 + Double($1) }
            #expect(abs(expected - serial) <= 1e-13 * values.reduce(0.0) { $0 + abs(Double($1)) }, "\(expected) against one chain's \(serial)")
        }
        for level in Self.levels {
            let sum = try #require(ember_row_sum_f32_kernel_for(ember_cpu_level(rawValue: UInt32(level.rawValue))))
            let total = values.withUnsafeBufferPointer { sum($0.baseAddress!, count) }
            #expect(total.bitPattern == expected.bitPattern, "\(level): \(total) against \(expected)")
        }
    }

    /// Rows of 64 doubles or more add in sixteen lanes (one chain of additions took 6× PyTorch's
    /// time): `sum(dim: 1)` of float64 gives the lanes' sum, which is not one chain's here (the
    /// elements 10¹² times the rest make Double round) but within Double rounding of it.
    @Test(arguments: [64, 100, 1000])
    func doubleRowsAddInLanes(count: Int) {
        var values = Tensor.randn([2, count], dtype: .float64, generator: Generator(seed: UInt64(count))).toArray(as: Double.self)
        for index in stride(from: 0, to: values.count, by: 97) { values[index] *= 1e12 }
        let sums = Tensor(values, shape: [2, count]).sum(dim: 1).toArray(as: Double.self)
        var differs = false
        for row in 0..<2 {
            var rowValues = Array(values[row * count..<(row + 1) * count])
            let lanes = rowValues.withUnsafeMutableBufferPointer { SumRowsKernel.loopSum($0.baseAddress!, count: count) }
            let serial = rowValues.reduce(0, +)
            differs = differs || lanes.bitPattern != serial.bitPattern
            #expect(sums[row].bitPattern == lanes.bitPattern, "row \(row): \(sums[row]) against the lanes' \(lanes)")
            #expect(Swift.abs(lanes - serial) <= 1e-13 * rowValues.reduce(0) { $0 + Swift.abs($1) })
        }
        #expect(differs, "the lanes add in an order of their own")
    }

    @Test(arguments: [0, 1, 31, 32, 33, 63, 64, 100, 1000, 4109])
    func productsMatchTheSwiftLoop(count: Int) throws {
        // Factors near 1, and some far from it both ways, so that the product stays finite and
        // each order rounds differently.
        var values = Tensor.rand([count], generator: Generator(seed: UInt64(count))).add(0.5).toArray(as: Float.self)
        for index in stride(from: 0, to: count, by: 29) { values[index] *= 1e3 }
        for index in stride(from: 3, to: count, by: 31) { values[index] *= 1e-3 }
        let expected = values.withUnsafeMutableBufferPointer { SumRowsKernel.loopProduct($0.baseAddress!, count: count) }
        let serial = values.reduce(1.0) { $0 * Double($1) }
        #expect(abs(expected - serial) <= 1e-12 * abs(serial), "the lanes' product \(expected) against one chain's \(serial)")
        for level in Self.levels {
            let product = try #require(ember_row_product_f32_kernel_for(ember_cpu_level(rawValue: UInt32(level.rawValue))))
            let total = values.withUnsafeBufferPointer { product($0.baseAddress!, count) }
            #expect(total.bitPattern == expected.bitPattern, "\(level): \(total) against \(expected)")
        }
    }

    /// `prod` along rows of 32 or more runs the lanes: the tensor op gives their product (in
    /// float64, whose bits show the order; one chain of multiplications failed this), and its
    /// float64 gradients pass gradcheck there.
    @Test func prodAlongLongRowsRunsTheLanes() throws {
        let x = Tensor.rand([8, 70], dtype: .float64, generator: Generator(seed: 3)).add(0.5)
        let rows = x.toArray(as: Double.self)
        let expected = (0..<8).map { row in
            var values = Array(rows[row * 70..<(row + 1) * 70])
            return values.withUnsafeMutableBufferPointer { SumRowsKernel.product($0.baseAddress!, count: 70) }
        }
        #expect(x.prod(dim: 1).toArray(as: Double.self).map(\.bitPattern) == expected.map(\.bitPattern))
        let y = Tensor.rand([2, 40], dtype: .float64, generator: Generator(seed: 4)).add(0.5)
        y.requiresGrad_()
        try gradcheck([y]) { $0[0].prod(dim: 1) }
    }
}
