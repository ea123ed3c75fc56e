import Testing

@testable import Ember

/// User-defined autograd functions, as API.md shows them.
@Suite("User-defined functions")
struct FunctionTests {
    func values(_ tensor: Tensor?) -> [Double] { tensor?.toArray(as: Double.self) ?? [] }

    /// x·y and x+y: two inputs, two outputs, with `needsInputGrad`.
    struct MulAdd: Function {
        static func forward(_ ctx: FunctionContext, _ inputs: [Tensor]) -> [Tensor] {
            ctx.saveForBackward(inputs[0], inputs[1])
            return [inputs[0] * inputs[1], inputs[0] + inputs[1]]
        }

        static func backward(_ ctx: FunctionContext, _ gradOutputs: [Tensor]) -> [Tensor?] {
            let (x, y) = (ctx.savedTensors[0], ctx.savedTensors[1])
            return [
                ctx.needsInputGrad[0] ? gradOutputs[0] * y + gradOutputs[1] : nil,
                ctx.needsInputGrad[1] ? gradOutputs[0] * x + gradOutputs[1] : nil,
            ]
        }
    }

    @Test func severalInputsAndOutputs() {
        let x = Tensor([2.0, 3.0], requiresGrad: true)
        let y = Tensor([5.0, 7.0])
        let outputs = MulAdd.applyMany([x, y])
        #expect(outputs[0].gradFn?.name == "MulAddBackward")
        #expect(outputs[1].gradFn === outputs[0].gradFn)
        (outputs[0].sum() + outputs[1].sum() * 10).backward()
        #expect(values(x.grad) == [15, 17])
        #expect(y.grad == nil)
    }

    @Test func unusedOutputsGetZeroGradients() {
        let x = Tensor([2.0], requiresGrad: true)
        let outputs = MulAdd.applyMany([x, Tensor([4.0], requiresGrad: true)])
        outputs[1].sum().backward()   // the product's gradient is materialized as zeros
        #expect(values(x.grad) == [1])
    }

    /// Squares its input with differentiable ops in backward, so double backward works.
    struct Square: Function {
        static func forward(_ ctx: FunctionContext, _ input: Tensor) -> Tensor {
            ctx.saveForBackward(input)
            return input * input
        }

        static func backward(_ ctx: FunctionContext, _ gradOutput: Tensor) -> Tensor? {
            gradOutput * 2 * ctx.savedTensors[0]
        }
    }

    @Test func doubleBackwardThroughAFunction() {
        let x = Tensor([3.0], requiresGrad: true)
        let first = autogradGrad(outputs: [Square.apply(x)], inputs: [x], createGraph: true)[0]!
        #expect(values(first) == [6])
        #expect(values(autogradGrad(outputs: [first], inputs: [x])[0]) == [2])
    }

    @Test func composesWithBuiltInOpsAndPassesGradcheck() throws {
        let x = Tensor.randn([5], dtype: .float64, requiresGrad: true)
        try gradcheck([x]) { Square.apply($0[0].sin()).exp() }
        try gradgradcheck([x]) { Square.apply($0[0]) * 3 }
    }

    /// Adds one in place and says so with `markDirty`.
    struct AddOneInPlace: Function {
        static func forward(_ ctx: FunctionContext, _ input: Tensor) -> Tensor {
            input.add_(1)
            ctx.markDirty(input)
            return input
        }

        static func backward(_ ctx: FunctionContext, _ gradOutput: Tensor) -> Tensor? { gradOutput }
    }

    @Test func markDirtyRebasesHistory() {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        let y = x * 2
        let z = AddOneInPlace.apply(y)
        #expect(z === y && y.gradFn?.name == "AddOneInPlaceBackward")
        #expect(values(y) == [3, 5])
        z.sum().backward()
        #expect(values(x.grad) == [2, 2])
    }

    /// Returns the maximum and its index; the index is not differentiable.
    struct ArgMaxFunction: Function {
        static func forward(_ ctx: FunctionContext, _ inputs: [Tensor]) -> [Tensor] {
            let (values, indices) = inputs[0].max(dim: 0)
            ctx.markNonDifferentiable(indices)
            ctx.saveForBackward(indices)
            ctx.userInfo["size"] = inputs[0].numel
            return [values, indices]
        }

        static func backward(_ ctx: FunctionContext, _ gradOutputs: [Tensor]) -> [Tensor?] {
            let gradient = Tensor.zeros([ctx.userInfo["size"] as! Int], dtype: gradOutputs[0].dtype)
            return [gradient.scatter(dim: 0, index: ctx.savedTensors[0].unsqueeze(0), src: gradOutputs[0].unsqueeze(0))]
        }
    }

    @Test func nonDifferentiableOutputsAndUserInfo() {
        let x = Tensor([1.0, 5.0, 2.0], requiresGrad: true)
        let outputs = ArgMaxFunction.applyMany([x])
        #expect(outputs[0].requiresGrad && !outputs[1].requiresGrad)
        outputs[0].backward()
        #expect(values(x.grad) == [0, 1, 0])
    }

    /// Triples its input; backward in the one-tensor form that returns `Tensor`.
    struct Triple: Function {
        static func forward(_ ctx: FunctionContext, _ input: Tensor) -> Tensor { input * 3 }
        static func backward(_ ctx: FunctionContext, _ gradOutput: Tensor) -> Tensor { gradOutput * 3 }
    }

    /// Passes its input through but gives it no gradient, in the one-tensor optional form.
    struct Detached: Function {
        static func forward(_ ctx: FunctionContext, _ input: Tensor) -> Tensor { input * 1 }
        static func backward(_ ctx: FunctionContext, _ gradOutput: Tensor) -> Tensor? { nil }
    }

    /// x − y, backward in the array form that returns tensors.
    struct Difference: Function {
        static func forward(_ ctx: FunctionContext, _ inputs: [Tensor]) -> [Tensor] { [inputs[0] - inputs[1]] }
        static func backward(_ ctx: FunctionContext, _ gradOutputs: [Tensor]) -> [Tensor] { [gradOutputs[0], -gradOutputs[0]] }
    }

    /// Has a forward and no backward.
    struct ForwardOnly: Function {
        static func forward(_ ctx: FunctionContext, _ input: Tensor) -> Tensor { input * 2 }
    }

    /// Each way of writing `backward` is the one that runs: Swift would not take a method
    /// returning `Tensor` for a requirement returning `Tensor?`, so each form is a requirement
    /// of its own, and a Function with none gets an error, not a wrong gradient.
    @Test func everyFormOfBackwardRuns() {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        Triple.apply(x).sum().backward()
        #expect(values(x.grad) == [3, 3])

        let y = Tensor([1.0, 2.0], requiresGrad: true)
        (Detached.apply(y).sum() + y.sum()).backward()
        #expect(values(y.grad) == [1, 1])

        let (a, b) = (Tensor([4.0], requiresGrad: true), Tensor([1.0], requiresGrad: true))
        (Difference.applyMany([a, b])[0] * 5).sum().backward()
        #expect(values(a.grad) == [5] && values(b.grad) == [-5])

        let z = ForwardOnly.apply(Tensor([1.0], requiresGrad: true)).sum()
        let error = #expect(throws: EmberError.self) { try withErrorChecking { z.backward() } }
        #expect(error?.message == "ForwardOnly implements no backward(_:_:), which backward mode AD needs")
    }

    struct WrongCount: Function {
        static func forward(_ ctx: FunctionContext, _ inputs: [Tensor]) -> [Tensor] { [inputs[0] + inputs[1]] }
        static func backward(_ ctx: FunctionContext, _ gradOutputs: [Tensor]) -> [Tensor?] { [gradOutputs[0]] }
    }

    @Test func wrongNumberOfGradientsIsReported() {
        let x = Tensor([1.0], requiresGrad: true)
        let y = WrongCount.applyMany([x, x])[0].sum()
        #expect(throws: EmberError.self) { try withErrorChecking { y.backward() } }
        let message = (try? withErrorChecking { y.backward() }) == nil
        #expect(message)
    }
}
