import Testing

@testable import Ember

/// Laws that must hold for any shapes and values: broadcasting agrees with explicit expansion,
/// views share memory, promotion is symmetric, and layouts don't change results.
@Suite("Properties")
struct PropertyTests {
    /// A small deterministic stream of shapes and values, so failures reproduce.
    struct Stream {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
    }

    /// Pairs of broadcast-compatible shapes: each dimension of one is the other's or 1.
    static func broadcastPairs(count: Int) -> [([Int], [Int])] {
        var stream = Stream(state: 7)
        return (0..<count).map { _ in
            let rank = 1 + stream.next(4)
            let full = (0..<rank).map { _ in 1 + stream.next(4) }
            let a = full.map { stream.next(3) == 0 ? 1 : $0 }
            var b = full.map { stream.next(3) == 0 ? 1 : $0 }
            b.removeFirst(stream.next(rank))
            return (a, b)
        }
    }

    @Test(arguments: broadcastPairs(count: 40))
    func broadcastingEqualsExplicitExpansion(_ shapes: ([Int], [Int])) {
        let (shapeA, shapeB) = shapes
        let generator = Generator(seed: 3)
        let a = Tensor.randn(shapeA, dtype: .float64, generator: generator)
        let b = Tensor.randn(shapeB, dtype: .float64, generator: generator)
        let result = a * b + a
        let shape = result.shape
        let expected = a.expand(shape).contiguous() * b.expand(shape).contiguous() + a.expand(shape).contiguous()
        #expect(result.toArray(as: Double.self) == expected.toArray(as: Double.self))
        #expect(shape.count == Swift.max(shapeA.count, shapeB.count))
    }

    @Test(arguments: [[2, 3, 4], [5, 1, 3], [1, 7], [4, 4, 1, 2]])
    func layoutsDoNotChangeResults(_ shape: [Int]) {
        let x = Tensor.randn(shape, dtype: .float64, generator: Generator(seed: 11))
        let permuted = x.permute(Array((0..<shape.count).reversed()))
        let copy = permuted.contiguous()
        #expect(!permuted.isContiguous || shape.filter { $0 > 1 }.count <= 1)
        #expect(permuted.exp().toArray(as: Double.self) == copy.exp().toArray(as: Double.self))
        #expect((permuted * 2 - permuted).toArray(as: Double.self) == copy.toArray(as: Double.self))
        #expect(Swift.abs(permuted.sum().item() - x.sum().item()) < 1e-12)
        #expect(permuted.sum(dim: 0).toArray(as: Double.self) == copy.sum(dim: 0).toArray(as: Double.self))
    }

    /// Elementwise ops read an operand stored by columns (a transposed view, large enough for
    /// the tiled copy) through a contiguous copy: bit for bit the contiguous operand's results,
    /// vector kernels included, on either side of a binary op (both sides transposed alike:
    /// computed in memory order, then copied), and gradients reach the base.
    @Test(arguments: [DType.float32, .float64])
    func transposedOperandsGiveTheContiguousResults(dtype: DType) {
        let x = Tensor.randn([67, 131], dtype: dtype, generator: Generator(seed: 12)), y = Tensor.randn([131, 67], dtype: dtype)
        let zt = Tensor.randn([67, 131], dtype: dtype).t()
        let (xt, copy) = (x.t(), x.t().contiguous())
        #expect(xt.isStoredByColumns && !copy.isStoredByColumns)
        let ops: [(String, (Tensor) -> Tensor)] = [
            ("exp", { $0.exp() }), ("tanh", { $0.tanh() }), ("sigmoid", { $0.sigmoid() }), ("relu", { $0.relu() }),
            ("clamp", { $0.clamp(min: -0.5, max: 0.5) }), ("abs", { $0.abs() }), ("x * y", { $0 * y }), ("y - x", { y - $0 }),
            ("x / x", { $0 / $0 }), ("x * z.t()", { $0 * zt }), ("z.t() - x", { zt - $0 }),
        ]
        for (name, op) in ops {
            #expect(op(xt).toArray(as: Double.self) == op(copy).toArray(as: Double.self), "\(name) \(dtype)")
        }
        let base = x.clone().requiresGrad_()
        (base.t().exp() * y).sum().backward()
        #expect(base.grad!.toArray(as: Double.self) == (x.exp() * y.t()).toArray(as: Double.self))
    }

    /// A reduction over all of a permuted tensor's dimensions (or a set of them) reads its
    /// memory in place, in memory order: bit for bit the base tensor's result, as in PyTorch.
    @Test func permutedReductionsReadMemoryInPlace() {
        let x = Tensor.randn([3, 40, 50], generator: Generator(seed: 13)) * 1e6 + Tensor.randn([3, 40, 50])
        let permuted = x.permute(2, 0, 1)
        #expect(permuted.sum().item() == x.sum().item())
        #expect(permuted.sum(dims: [0, 2]).toArray(as: Float.self) == x.sum(dims: [1, 2]).toArray(as: Float.self))
        #expect(x.sum(dims: [1, 0]).toArray(as: Float.self) == x.sum(dims: [0, 1]).toArray(as: Float.self))
        #expect(permuted.mean().item() == x.mean().item())
        #expect(permuted.max().item() == x.max().item() && permuted.amin(dims: [0, 2]).toArray(as: Float.self) == x.amin(dims: [1, 2]).toArray(as: Float.self))
    }

    @Test func viewsShareMemoryAndInPlaceChangesShowThroughAll() {
        let base = Tensor.arange(0.0, 12.0).reshape(3, 4)
        let views = [base.t(), base.view(12), base[1], base[0..<2, 1..<3], base.unsqueeze(0), base.narrow(dim: 1, start: 1, length: 2)]
        base.add_(100)
        #expect(views[0].toArray(as: Double.self) == base.t().contiguous().toArray(as: Double.self))
        #expect(views[1].toArray(as: Double.self) == (0..<12).map { Double($0) + 100 })
        #expect(views[2].toArray(as: Double.self) == [104, 105, 106, 107])
        #expect(views[3].toArray(as: Double.self) == [101, 102, 105, 106])
        views[3].zero_()
        #expect(base.toArray(as: Double.self)[1...2] == [0, 0])
        views[5].fill_(-1)
        #expect(base[2].toArray(as: Double.self) == [108, -1, -1, 111])
        #expect(views.allSatisfy { $0.storage === base.storage })
    }

    @Test func reshapeIsAViewWhenStridesAllowAndACopyOtherwise() {
        let x = Tensor.randn(4, 6)
        #expect(x.reshape(2, 12).storage === x.storage)
        #expect(x.t().reshape(24).storage !== x.storage)
        #expect(x.t().reshape(24).toArray(as: Float.self) == x.t().contiguous().toArray(as: Float.self))
    }

    @Test(arguments: DType.allCases)
    func promotionIsSymmetricAndIdempotent(_ a: DType) {
        for b in DType.allCases {
            #expect(DType.promote(a, b) == DType.promote(b, a))
            let promoted = DType.promote(a, b)
            #expect(DType.promote(promoted, a) == promoted && DType.promote(promoted, b) == promoted)
        }
        #expect(DType.promote(a, a) == a)
    }

    @Test(arguments: DType.allCases)
    func castsRoundTripSmallIntegers(_ dtype: DType) {
        let values: [Int64] = dtype == .bool ? [0, 1] : [0, 1, 2, 7, 100]
        let t = Tensor(values, shape: [values.count]).to(dtype)
        #expect(t.dtype == dtype)
        #expect(t.to(.int64).toArray(as: Int64.self) == values)
    }

    @Test func literalsBuildTensorsLikeTorchTensor() {
        let ints: Tensor = [[1, 2], [3, 4]]
        #expect(ints.dtype == .int64 && ints.shape == [2, 2])
        let floats: Tensor = [1, 2.5]
        #expect(floats.dtype == .float32 && floats.toArray(as: Double.self) == [1, 2.5])
        let flags: Tensor = [true, false]
        #expect(flags.dtype == .bool)
    }

    /// Swift may resolve `x * 0.1` through the tensor literal; the value must still round once,
    /// to float64 here, as a Python float does in PyTorch.
    @Test func floatLiteralsKeepDoublePrecision() {
        let x = Tensor([1.0, 3.0])
        #expect((x * 0.1).toArray(as: Double.self) == [0.1, 3.0 * 0.1])
        #expect((0.1 + x).toArray(as: Double.self) == [1.1, 3.1])
        #expect((x .< 1.0000000001).toArray(as: Bool.self) == [true, false])
        x[x .> 2] = 0.1
        #expect(x.toArray(as: Double.self) == [1.0, 0.1])
        #expect(x.maskedFill(x .< 0.5, 0.3).toArray(as: Double.self) == [1.0, 0.3])
        let single = Tensor([1.0] as [Float]) * 0.1
        #expect(single.dtype == .float32 && single.item(as: Float.self) == Float(0.1))
        let literal: Tensor = 0.1
        #expect(literal.dtype == .float32 && literal.description == "tensor(0.1000)")
    }

    @Test func largeTensorsSplitAcrossCoresGiveTheSameValues() {
        let n = 1 << 20
        let x = Tensor.arange(0.0, Double(n), dtype: .float64)
        let y = (x * 2 + 1).toArray(as: Double.self)
        #expect(y.enumerated().allSatisfy { $0.element == Double(2 * $0.offset + 1) })
        #expect(x.sum().item() == Double(n) * Double(n - 1) / 2)
    }
}
