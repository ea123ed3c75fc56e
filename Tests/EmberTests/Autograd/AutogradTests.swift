import Synchronization
import Testing

@testable import Ember

/// The engine's semantics, checked against values worked out by hand (and PyTorch's words for
/// errors).
@Suite("Autograd engine")
struct AutogradTests {
    func values(_ tensor: Tensor?) -> [Double] { tensor?.toArray(as: Double.self) ?? [] }

    @Test func gradientsFlowingIntoOneTensorAreSummed() {
        let x = Tensor([1.0, 2.0, 3.0], requiresGrad: true)
        let y = (x * x + x).sum()   // dy/dx = 2x + 1
        y.backward()
        #expect(values(x.grad) == [3, 5, 7])
    }

    @Test func gradientsAccumulateAcrossBackwardCalls() {
        let x = Tensor([1.0, -2.0], requiresGrad: true)
        let y = (x * 3).sum()
        y.backward(retainGraph: true)
        y.backward()
        #expect(values(x.grad) == [6, 6])
    }

    @Test func clampSelectsTheGradientRatherThanMultiplying() {
        // PyTorch: where(inside, grad, 0), so an infinite gradient outside the bounds gives 0.
        let x = Tensor([-2.0, 0.5, 3.0], requiresGrad: true)
        x.clamp(min: 0, max: 1).backward(gradient: Tensor([Double.infinity, 1, .infinity]))
        #expect(values(x.grad) == [0, 1, 0])
    }

    @Test func clampGradientPassesStrictlyInsideEachGivenBound() {
        // One pass on the CPU: a missing bound passes everything, infinities included; NaN and
        // the bounds themselves get 0. The gradient here is an expanded scalar (from `sum`).
        let values: [Float] = [-.infinity, -1, 0, 0.5, 1, .infinity, .nan]
        for (min, max, expected) in [(-1.0, nil, [0, 0, 1, 1, 1, 1, 0]), (nil, 1.0, [1, 1, 1, 1, 0, 0, 0]), (0.0, 1.0, [0, 0, 0, 1, 0, 0, 0])] as [(Double?, Double?, [Float])] {
            let x = Tensor(values, requiresGrad: true)
            x.clamp(min: min, max: max).sum().backward()
            #expect(x.grad!.toArray(as: Float.self) == expected, "min \(String(describing: min)) max \(String(describing: max))")
            let y = Tensor(values, requiresGrad: true)
            let inPlace = y * 1
            inPlace.clamp_(min: min, max: max)
            inPlace.sum().backward()
            #expect(y.grad!.toArray(as: Float.self) == expected, "in place, min \(String(describing: min)) max \(String(describing: max))")
        }
        // A transposed input and gradient.
        let matrix = Tensor.randn([30, 20], requiresGrad: true, generator: Generator(seed: 2))
        let gradient = Tensor.randn([30, 20], generator: Generator(seed: 3)).t()
        matrix.t().clamp(min: -0.2, max: 0.3).backward(gradient: gradient)
        let inside = (matrix.detach() .> -0.2).logicalAnd(matrix.detach() .< 0.3)
        #expect(matrix.grad!.toArray(as: Float.self) == Tensor.where(inside, gradient.t(), 0.0).toArray(as: Float.self))
    }

    @Test func reluGradientDropsAtZeroAndBelowAndPassesNaN() {
        // PyTorch's threshold_backward: result <= 0 ? 0 : grad.
        let x = Tensor([-Float.infinity, -1, -0.0, 0, 0.5, .infinity, .nan], requiresGrad: true)
        x.relu().sum().backward()
        #expect(x.grad!.toArray(as: Float.self) == [0, 0, 0, 0, 1, 1, 1])
        let matrix = Tensor.randn([30, 20], requiresGrad: true, generator: Generator(seed: 4))
        let gradient = Tensor.randn([30, 20], generator: Generator(seed: 5)).t()
        matrix.t().relu().backward(gradient: gradient)
        #expect(matrix.grad!.toArray(as: Float.self) == Tensor.where(matrix.detach() .> 0, gradient.t(), 0.0).toArray(as: Float.self))
    }

    @Test func powGradientRoundsInPyTorchsOrder() {
        // grad · (3 · x²), not (grad · 3) · x²: the two differ in the last bit for some floats.
        let x = Tensor.randn([2000], requiresGrad: true, generator: Generator(seed: 0))
        let g = Tensor.randn([2000], generator: Generator(seed: 1))
        x.pow(3).backward(gradient: g)
        let expected = g * (3 * x.detach().pow(2))
        #expect(x.grad!.toArray(as: Float.self) == expected.toArray(as: Float.self))
        #expect(((g * 3) * x.detach().pow(2)).toArray(as: Float.self) != expected.toArray(as: Float.self))
    }

    @Test func broadcastingIsUndoneBySummingToTheInputShape() {
        let a = Tensor.ones([3, 1], dtype: .float64, requiresGrad: true)
        let b = Tensor.ones([4], dtype: .float64, requiresGrad: true)
        (a * b * 2).sum().backward()
        #expect(a.grad?.shape == [3, 1])
        #expect(values(a.grad) == [8, 8, 8])
        #expect(b.grad?.shape == [4])
        #expect(values(b.grad) == [6, 6, 6, 6])
    }

    @Test func leafAndNodeState() {
        let w = Tensor.randn(2, 2, requiresGrad: true)
        let y = w.mm(w).sum()
        #expect(w.isLeaf && w.gradFn == nil && w.requiresGrad)
        #expect(!y.isLeaf && y.gradFn?.name == "SumBackward0")
        #expect(y.gradFn?.nextFunctions.first?.node?.name == "MmBackward0")
        let mmNode = y.gradFn!.nextFunctions[0].node!
        #expect(mmNode.nextFunctions.map { $0.node?.name } == ["AccumulateGrad", "AccumulateGrad"])
    }

    @Test func noGradRecordsNothingAndIsTaskLocal() async {
        let w = Tensor.randn(3, requiresGrad: true)
        let inside = noGrad { w * 2 }
        #expect(!inside.requiresGrad && inside.gradFn == nil)
        #expect(enableGrad { noGrad { enableGrad { w * 2 } } }.requiresGrad)
        // A concurrent task keeps recording while another is inside noGrad.
        async let recorded: Bool = Task.detached { (w * 2).requiresGrad }.value
        let notRecorded = noGrad { (w * 2).requiresGrad }
        #expect(await recorded)
        #expect(!notRecorded)
    }

    @Test func dataAndDetachShareMemoryOutsideTheGraph() {
        let w = Tensor([1.0, 2.0], requiresGrad: true)
        let data = w.data
        #expect(!data.requiresGrad)
        data.mul_(10)
        #expect(values(w) == [10, 20])
        let detached = w.detach()
        #expect(!detached.requiresGrad)
        detached.add_(1)
        #expect(values(w) == [11, 21])
        w.data = Tensor([5.0, 6.0, 7.0])
        #expect(w.shape == [3] && w.requiresGrad)
    }

    @Test func retainGradAndHooks() {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let y = x * 3
        y.retainGrad()
        y.registerHook { $0 * 2 }
        (y * y).sum().backward()
        // dL/dy = 2y = [6, 12]; the hook doubles what flows on to x: [12, 24] * 3.
        #expect(values(y.grad) == [6, 12])
        #expect(values(x.grad) == [36, 72])
    }

    /// Hooks run tensor ops; with hundreds of retained tensors, some gradient shares an
    /// autograd lock stripe with its tensor, which once deadlocked.
    @Test(.timeLimit(.minutes(1))) func manyRetainedGradients() {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        var values: [Tensor] = []
        var total = x
        for _ in 0..<500 {
            total = total * 1
            total.retainGrad()
            values.append(total)
        }
        total.sum().backward()
        #expect(values.allSatisfy { self.values($0.grad) == [1, 1] })
        #expect(self.values(x.grad) == [1, 1])
    }

    @Test func functionalGradWithHigherOrderDerivatives() {
        let x = Tensor([2.0], requiresGrad: true)
        let y = x.pow(3)
        let first = autogradGrad(outputs: [y], inputs: [x], createGraph: true)[0]!
        #expect(values(first) == [12])
        let second = autogradGrad(outputs: [first], inputs: [x])[0]!
        #expect(values(second) == [12])
        #expect(x.grad == nil)
    }

    @Test func backwardThroughInPlaceOpsOnNonLeaves() {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let y = x * 2
        y.add_(1)
        y.mul_(3)
        y.sum().backward()
        #expect(values(x.grad) == [6, 6])
        #expect(y.gradFn?.name == "MulBackward0")
    }

    @Test func inPlaceThroughAViewUpdatesTheBase() {
        let x = Tensor([1.0, 2.0, 3.0], requiresGrad: true)
        let a = x * 1
        let view = a[0..<2]
        view.mul_(2)
        #expect(values(a) == [2, 4, 3])
        #expect(a.gradFn?.name == "CopySlices")
        (a * a).sum().backward()   // a = [2x₀, 2x₁, x₂], so d/dx Σa² = [8x₀, 8x₁, 2x₂]
        #expect(values(x.grad) == [8, 16, 6])
    }

    @Test func assigningAGradientCarryingValue() {
        let w = Tensor([5.0], requiresGrad: true)
        let a = Tensor.zeros([3], dtype: .float64)
        a[1] = (w * 2).sum()
        #expect(values(a) == [0, 10, 0])
        (a * 3).sum().backward()
        #expect(values(w.grad) == [6])
    }

    @Test func graphIsFreedAfterBackward() {
        weak var node: Node?
        let x = Tensor.randn(4, requiresGrad: true)
        do {
            let y = x.exp().sum()
            node = y.gradFn?.nextFunctions[0].node
            #expect(node != nil)
            y.backward()
        }
        #expect(node == nil, "the graph must hold no reference cycle")
    }

    @Test func variableAndLegacyTypes() {
        let v = Variable(Tensor.randn(2, 2), requiresGrad: true)
        #expect(v.requiresGrad && v.isLeaf)
        let d = Tensor.randn(2).type(.doubleTensor)
        #expect(d.dtype == .float64)
    }

    // MARK: - Errors, with PyTorch's messages

    func message(_ body: () -> Void) -> String? {
        do {
            try withErrorChecking(body)
            return nil
        } catch {
            return (error as? EmberError)?.message
        }
    }

    @Test func backwardTwiceThroughAFreedGraph() {
        let x = Tensor([1.0], requiresGrad: true)
        let y = (x * 2).sum()
        y.backward()
        #expect(message { y.backward() }?.hasPrefix("Trying to backward through the graph a second time") == true)
    }

    @Test func implicitGradientNeedsAScalar() {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        #expect(message { (x * 2).backward() } == "grad can be implicitly created only for scalar outputs")
    }

    @Test func backwardWithoutGrad() {
        #expect(message { Tensor([1.0]).sum().backward() } == "element 0 of tensors does not require grad and does not have a grad_fn")
    }

    @Test func inPlaceOnALeafThatRequiresGrad() {
        let w = Tensor([1.0], requiresGrad: true)
        #expect(message { w += 1 } == "a leaf Variable that requires grad is being used in an in-place operation.")
        #expect(message { w.zero_() } == "a leaf Variable that requires grad is being used in an in-place operation.")
        noGrad { w += 1 }
        #expect(values(w) == [2])
        let pair = Tensor([1.0, 2.0], requiresGrad: true)
        #expect(message { pair[0..<1].mul_(2) } == "a view of a leaf Variable that requires grad is being used in an in-place operation.")
        #expect(message { pair[0] = 5 } == "a view of a leaf Variable that requires grad is being used in an in-place operation.")
    }

    @Test func modifiedSavedTensorIsCaught() {
        let x = Tensor([1.0, 2.0, 3.0] as [Float], requiresGrad: true)
        let y = x.exp()
        y.add_(1)
        #expect(
            message { y.sum().backward() }
                == "one of the variables needed for gradient computation has been modified by an inplace operation: [torch.FloatTensor [3]], which is output 0 of Exp, is at version 1; expected version 0 instead. Hint: enable anomaly detection to find the operation that failed to compute its gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False)."
        )
    }

    @Test func onlyFloatingPointTensorsRequireGrad() {
        #expect(message { Tensor([1, 2]).requiresGrad_() } == "only Tensors of floating point dtype can require gradients")
        #expect(message { _ = Tensor.zeros([2], dtype: .int64, requiresGrad: true) } == "Only Tensors of floating point and complex dtype can require gradients")
    }

    /// Triples its input; its backward's fresh result, whose memory the test then looks for.
    struct TripleRecordingGradient: Function {
        static let gradientAddress = Mutex<UInt>(0)
        static func forward(_ ctx: FunctionContext, _ input: Tensor) -> Tensor { input * 3 }
        static func backward(_ ctx: FunctionContext, _ gradOutput: Tensor) -> Tensor {
            let gradInput = gradOutput * 3
            gradientAddress.withLock { $0 = UInt(bitPattern: gradInput.elementBytes) }
            return gradInput
        }
    }

    /// A leaf with no `grad` takes over a gradient that nothing else holds, as PyTorch's
    /// AccumulateGrad does, and copies one that something else holds: the caller's gradient,
    /// a view of it, or one tensor sent to two leaves.
    @Test func aLeafTakesOverAGradientNothingElseHolds() {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        TripleRecordingGradient.apply(x).backward(gradient: Tensor([1.0, 1.0]))
        #expect(UInt(bitPattern: x.grad!.elementBytes) == TripleRecordingGradient.gradientAddress.withLock { $0 })
        #expect(x.grad!.toArray(as: Double.self) == [3, 3])

        let leaf = Tensor([1.0, 2.0], requiresGrad: true), given = Tensor([5.0, 7.0])
        leaf.backward(gradient: given)
        let view = Tensor.zeros([2, 1], dtype: .float64, requiresGrad: true), viewed = Tensor([1.0, 1.0])
        view.view(2).backward(gradient: viewed)
        let (a, b) = (Tensor([1.0], requiresGrad: true), Tensor([2.0], requiresGrad: true)), shared = Tensor([4.0])
        (a + b).backward(gradient: shared)
        given.add_(1)
        viewed.add_(1)
        shared.add_(1)
        a.grad!.add_(10)
        #expect(leaf.grad!.toArray(as: Double.self) == [5, 7])
        #expect(view.grad!.toArray(as: Double.self) == [1, 1])
        #expect(a.grad!.toArray(as: Double.self) == [14] && b.grad!.toArray(as: Double.self) == [4])
    }

    @Test func exitsWithTheMessageOutsideErrorChecking() async {
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            Tensor([1.0]).sum().backward()
        }
    }
}
