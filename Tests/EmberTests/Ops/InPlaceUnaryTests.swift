import Testing

@testable import Ember

/// Unary ops in place (`exp_`, `relu_`, …): the out-of-place op's bits, whichever kernel runs
/// (the vectorized C kernels on dense float32, the Swift loop on views and other dtypes), and
/// autograd through a view. Gradients against PyTorch are rows of grads_extra.json; refusals are
/// rows of errors.json.
@Suite struct InPlaceUnaryTests {
    static let ops: [(name: String, outOfPlace: @Sendable (Tensor) -> Tensor, inPlace: @Sendable (Tensor) -> Tensor)] = [
        ("exp", { $0.exp() }, { $0.exp_() }), ("log", { $0.log() }, { $0.log_() }),
        ("sqrt", { $0.sqrt() }, { $0.sqrt_() }), ("rsqrt", { $0.rsqrt() }, { $0.rsqrt_() }),
        ("reciprocal", { $0.reciprocal() }, { $0.reciprocal_() }), ("sin", { $0.sin() }, { $0.sin_() }),
        ("cos", { $0.cos() }, { $0.cos_() }), ("tanh", { $0.tanh() }, { $0.tanh_() }),
        ("sigmoid", { $0.sigmoid() }, { $0.sigmoid_() }), ("abs", { $0.abs() }, { $0.abs_() }),
        ("sign", { $0.sign() }, { $0.sign_() }), ("relu", { $0.relu() }, { $0.relu_() }),
        ("neg", { -$0 }, { $0.neg_() }),
    ]

    /// `count` standard normal samples with NaN, ±0, ±inf, a subnormal and values near exp's
    /// overflow and underflow mixed in.
    static func values(_ count: Int) -> [Float] {
        let specials: [Float] = [.nan, 0, -0.0, .infinity, -.infinity, Float.leastNormalMagnitude / 4, -88.5, 89]
        let normal = Tensor.randn(count, generator: Generator(seed: 3)).toArray(as: Float.self)
        return normal.enumerated().map { $0.offset % 7 == 3 ? specials[$0.offset / 7 % specials.count] : $0.element }
    }

    @Test(arguments: [1, 17, 1000, 70_000])
    func denseFloat32GivesTheOutOfPlaceBits(count: Int) {
        let x = Tensor(Self.values(count), shape: [count])
        for op in Self.ops {
            let expected = op.outOfPlace(x).toArray(as: Float.self)
            let target = x.clone()
            let returned = op.inPlace(target)
            #expect(returned === target, "\(op.name)_ returns the tensor it changed")
            #expect(target.toArray(as: Float.self).map(\.bitPattern) == expected.map(\.bitPattern), "\(op.name)_ of \(count)")
        }
    }

    @Test func viewsAndOtherDTypesGiveTheOutOfPlaceValues() {
        let base = Tensor(Self.values(60), shape: [6, 10])
        for op in Self.ops {
            // A transposed view and a strided slice write only their own elements.
            for view in [{ (t: Tensor) in t.t() }, { (t: Tensor) in t[1..., 2..<7] }] {
                let target = base.clone()
                _ = op.inPlace(view(target))
                let expected = base.clone()
                view(expected).copy_(op.outOfPlace(view(base)))
                #expect(target.toArray(as: Float.self).map(\.bitPattern) == expected.toArray(as: Float.self).map(\.bitPattern), "\(op.name)_ on a view")
            }
            for dtype in [DType.float64, .float16, .bfloat16] {
                let x = base.to(dtype)
                let target = x.clone()
                _ = op.inPlace(target)
                #expect(target.dtype == dtype)
                #expect(target.toArray(as: Double.self).map(\.bitPattern) == op.outOfPlace(x).toArray(as: Double.self).map(\.bitPattern), "\(op.name)_ \(dtype)")
            }
        }
        let integers = Tensor([-3, 0, 5] as [Int32], shape: [3])
        #expect(integers.clone().abs_().toArray(as: Int32.self) == [3, 0, 5])
        #expect(integers.clone().sign_().toArray(as: Int32.self) == [-1, 0, 1])
        #expect(integers.clone().relu_().toArray(as: Int32.self) == [0, 0, 5])
        #expect(integers.clone().neg_().toArray(as: Int32.self) == [3, 0, -5])
    }

    /// `abs` clears the sign bit, as PyTorch's does (`fabs`, or its vectors' and-not): a NaN
    /// comes out positive, as do -0 and -inf; integers wrap at their minimum.
    @Test(arguments: [DType.float32, .float64, .float16, .bfloat16])
    func absClearsTheSignBit(dtype: DType) {
        let x = Tensor([-Double.nan, .nan, -0.0, -.infinity, -2.5, 3], shape: [6]).to(dtype)
        for result in [x.abs(), x.clone().abs_(), x.t().abs()] {
            let values = result.toArray(as: Double.self)
            #expect(values.allSatisfy { $0.sign == .plus }, "\(dtype): \(values)")
            #expect(values[0].isNaN && values[1].isNaN && values[2...] == [0, .infinity, 2.5, 3])
        }
        #expect(Tensor([-128, -5, 7] as [Int8], shape: [3]).abs().toArray(as: Int8.self) == [-128, 5, 7])
    }

    @Test func aChangedSliceSendsItsGradientThroughTheBase() {
        // y = x * 1; y[1:].exp_(): dy/dx is 1 on the first row, exp(x) on the rest.
        let x = Tensor.randn(3, 4, dtype: .float64, requiresGrad: true, generator: Generator(seed: 5))
        let y = x * 1
        y[1...].exp_()
        #expect(y.gradFn?.name == "CopySlices")
        y.sum().backward()
        let expected = Tensor.cat([Tensor.ones(1, 4, dtype: .float64), x.detach()[1...].exp()])
        #expect(x.grad?.toArray(as: Double.self) == expected.toArray(as: Double.self))
    }

    @Test func eachChangeBumpsTheVersion() {
        let t = Tensor.ones(3)
        let before = t.version.value
        t.relu_().exp_()
        #expect(t.version.value == before + 2)
    }
}
