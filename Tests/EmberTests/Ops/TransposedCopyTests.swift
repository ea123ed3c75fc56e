import Testing

@testable import Ember

/// Copies of views whose last two dimensions are stored by columns (the tiled copy) against
/// the elements their strides name, for several dtypes, batches, and views that start inside
/// their storage or skip rows.
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
}
