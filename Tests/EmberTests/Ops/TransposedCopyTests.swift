import CEmberKernels
import Testing

@testable import Ember

/// Copies of views whose last two dimensions are stored by columns (the tiled copy) against
/// the elements their strides name, for several dtypes, batches, and views that start inside
/// their storage or skip rows; and the C kernels against the element-by-element definition, for
/// every element size and shapes around their 8x8 and 4x4 blocks.
@Suite struct TransposedCopyTests {
    /// The view's elements in row-major order, read from its base through its strides.
    static func reference(_ view: Tensor, base: [Double]) -> [Double] {
        let coordinates = view.shape.reduce([[]]) { prefixes, size in prefixes.flatMap { prefix in (0..<size).map { prefix + [$0] } } }
        return coordinates.map { coordinate in base[view.offset + zip(coordinate, view.strides).reduce(0) { $0 + $1.0 * $1.1 }] }
    }

    @Test(arguments: [DType.float32, .float64, .float16, .int8, .bool])
    func copiesMatchTheirStrides(dtype: DType) {
        let views: [(String, [Int], (Tensor) -> Tensor)] = [
            ("t()", [64, 100], { $0.t() }),
            ("batched transpose", [3, 40, 50], { $0.transpose(1, 2) }),
            ("slice, then t()", [70, 90], { $0[1..., 2...].t() }),
            ("every other row, then t()", [120, 80], { $0[TensorIndex.slice(start: nil, end: nil, step: 2)].t() }),
            ("permuted leading dimensions", [40, 3, 60], { $0.permute(1, 2, 0) }),
        ]
        for (name, shape, makeView) in views {
            let base = (Tensor.arange(0, Double(shape.reduce(1, *))).reshape(shape) - 60).to(dtype)
            let view = makeView(base)
            #expect(view.numel >= 4096 && !view.isContiguous, "\(name) does not reach the tiled copy")
            let copy = view.contiguous()
            #expect(copy.isContiguous && copy.shape == view.shape, "\(name)")
            #expect(copy.toArray(as: Double.self) == Self.reference(view, base: base.toArray(as: Double.self)), "\(name) \(dtype)")
        }
    }

    @Test(arguments: [1, 2, 4, 8])
    func transposesEveryElementSize(elementSize: Int) throws {
        let levels = CPUFeatures.detected >= .avx2 ? [EMBER_CPU_BASELINE, EMBER_CPU_AVX2_FMA] : [EMBER_CPU_BASELINE]
        for level in levels {
            let transpose = try #require(ember_transpose_kernel_for(level, elementSize))
            for (rows, columns) in [(1, 1), (3, 5), (8, 8), (9, 7), (16, 40), (33, 31), (40, 67)] {
                // Source columns `sourceStride` elements apart and target rows `targetStride`
                // apart, both padded, so a block read or written past its matrix shows.
                let (sourceStride, targetStride) = (rows + 3, columns + 2)
                let source = (0..<sourceStride * columns * elementSize).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }
                var target = [UInt8](repeating: 0xEE, count: targetStride * rows * elementSize)
                target.withUnsafeMutableBytes { to in
                    source.withUnsafeBytes { from in transpose(from.baseAddress!, sourceStride, to.baseAddress!, targetStride, rows, columns) }
                }
                var expected = [UInt8](repeating: 0xEE, count: target.count)
                for row in 0..<rows {
                    for column in 0..<columns {
                        let (to, from) = ((row * targetStride + column) * elementSize, (row + column * sourceStride) * elementSize)
                        expected[to..<to + elementSize] = source[from..<from + elementSize]
                    }
                }
                #expect(target == expected, "level \(level.rawValue), \(elementSize)-byte elements, \(rows)x\(columns)")
            }
        }
    }
}
