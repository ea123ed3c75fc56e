/// A differentiable operation defined by the user: a forward computation and its backward
/// (PyTorch's `torch.autograd.Function`).
///
/// Implement a `forward` and a `backward` of one tensor, or of arrays for several inputs and
/// outputs; a `backward` may return optionals, `nil` where an input gets no gradient (PyTorch's
/// `None`).
///
/// ```swift
/// struct MyReLU: Function {
///     static func forward(_ ctx: FunctionContext, _ input: Tensor) -> Tensor {
///         ctx.saveForBackward(input)
///         return input.clamp(min: 0)
///     }
///     static func backward(_ ctx: FunctionContext, _ gradOutput: Tensor) -> Tensor {
///         let input = ctx.savedTensors[0]
///         let gradInput = gradOutput.clone()
///         gradInput[input .< 0] = 0
///         return gradInput
///     }
/// }
/// let relu = MyReLU.apply   // (Tensor) -> Tensor; outputs' gradFn is "MyReLUBackward"
/// ```
public protocol Function {
    /// Computes the output of one input; runs without recording.
    static func forward(_ ctx: FunctionContext, _ input: Tensor) -> Tensor
    /// The gradient of the input from the gradient of the output.
    static func backward(_ ctx: FunctionContext, _ gradOutput: Tensor) -> Tensor
    /// The gradient of the input from the gradient of the output; `nil` for none.
    static func backward(_ ctx: FunctionContext, _ gradOutput: Tensor) -> Tensor?
    /// Computes several outputs from several inputs; runs without recording.
    static func forward(_ ctx: FunctionContext, _ inputs: [Tensor]) -> [Tensor]
    /// One gradient per input from one per output.
    static func backward(_ ctx: FunctionContext, _ gradOutputs: [Tensor]) -> [Tensor]
    /// One gradient per input (`nil` where an input needs none) from one per output.
    static func backward(_ ctx: FunctionContext, _ gradOutputs: [Tensor]) -> [Tensor?]
}

// Each form a Function leaves out falls back on the next, down to the one-tensor `backward`,
// whose default reports that there is none. They are separate requirements because Swift
// does not let a method returning `Tensor` stand for one returning `Tensor?`: with a single
// optional requirement, the seed's `MyReLU` silently got the default and failed at run time.
extension Function {
    /// Reports that the one-tensor form is not implemented.
    public static func forward(_ ctx: FunctionContext, _ input: Tensor) -> Tensor {
        reportError("\(Self.self) implements neither forward(_:_:) form")
        return input
    }

    /// Reports that no `backward` is implemented.
    public static func backward(_ ctx: FunctionContext, _ gradOutput: Tensor) -> Tensor {
        reportError("\(Self.self) implements no backward(_:_:), which backward mode AD needs")
        return gradOutput
    }

    /// Calls the one-tensor `backward` that returns a tensor.
    public static func backward(_ ctx: FunctionContext, _ gradOutput: Tensor) -> Tensor? {
        let gradInput: Tensor = backward(ctx, gradOutput)
        return gradInput
    }

    /// Calls the one-tensor `forward`.
    public static func forward(_ ctx: FunctionContext, _ inputs: [Tensor]) -> [Tensor] {
        [forward(ctx, inputs[0])]
    }

    /// Empty, which no Function of one input or more returns: the optionals' form takes it
    /// for "not implemented".
    public static func backward(_ ctx: FunctionContext, _ gradOutputs: [Tensor]) -> [Tensor] { [] }

    /// Calls the array `backward` that returns tensors, else the one-tensor forms.
    public static func backward(_ ctx: FunctionContext, _ gradOutputs: [Tensor]) -> [Tensor?] {
        let gradInputs: [Tensor] = backward(ctx, gradOutputs)
        if !gradInputs.isEmpty { return gradInputs }
        let gradInput: Tensor? = backward(ctx, gradOutputs[0])
        return [gradInput]
    }

    /// Runs the function on one tensor and records it for autograd (`MyFunction.apply(x)`).
    public static func apply(_ input: Tensor) -> Tensor { applyMany([input])[0] }

    /// Runs the function on several tensors and records it for autograd.
    public static func applyMany(_ inputs: [Tensor]) -> [Tensor] {
        let recording = Tensor.isRecording(inputs)
        let ctx = FunctionContext(needsInputGrad: inputs.map { recording && $0.requiresGrad })
        var outputs = noGrad { forward(ctx, inputs) }
        guard recording else { return outputs }
        let name = "\(Self.self)Backward"
        // An input returned as it is becomes a new tensor object that can carry the node.
        outputs = outputs.map { output in
            inputs.contains { $0 === output } && !ctx.dirtyTensors.contains { $0 === output } ? output.alias() : output
        }
        for dirty in ctx.dirtyTensors where !dirty.checkInPlaceAllowed() { return outputs }
        let saved = ctx.tensorsToSave.map { tensor in
            outputs.firstIndex { $0 === tensor }.map { SavedTensor(output: tensor, outputNumber: $0) } ?? SavedTensor(input: tensor)
        }
        ctx.saved = saved
        ctx.tensorsToSave = []
        let inputShapes = inputs.map(\.shape)
        // Dirty inputs hand their history to this node; keep the old history for the edges.
        let edgeInputs = inputs.map { input in ctx.dirtyTensors.contains { $0 === input } ? input.previousHistory() : input }
        let differentiable = outputs.filter { output in !ctx.nonDifferentiableTensors.contains { $0 === output } }
        let node = Tensor.record(name, inputs: edgeInputs, outputs: outputs, savedOutputs: saved) { gradients in
            let results: [Tensor?] = backward(ctx, gradients)
            guard results.count == inputShapes.count else {
                reportError("function \(name) returned an incorrect number of gradients (expected \(inputShapes.count), got \(results.count))")
                return inputShapes.map { _ in nil }
            }
            for (index, (result, shape)) in zip(results, inputShapes).enumerated() {
                if let result, result.shape != shape, Tensor.broadcastShapes(shape, result.shape) != shape {
                    reportError(
                        "Function \(name) returned an invalid gradient at index \(index) - got \(Tensor.describe(result.shape)) but expected shape compatible with \(Tensor.describe(shape))")
                    return inputShapes.map { _ in nil }
                }
            }
            return results
        }
        for output in outputs where !differentiable.contains(where: { $0 === output }) {
            output.withAutogradLock { output.storedGradFn = nil }
        }
        _ = node
        return outputs
    }
}

/// What a `Function`'s forward leaves for its backward: saved tensors, flags, and notes
/// (PyTorch's `ctx`).
public final class FunctionContext: @unchecked Sendable {
    /// For each input, whether backward must compute its gradient (`ctx.needs_input_grad`).
    public let needsInputGrad: [Bool]
    /// Anything else forward wants backward to have (constants, shapes).
    public var userInfo: [String: Any] = [:]

    var tensorsToSave: [Tensor] = []
    var saved: [SavedTensor] = []
    var dirtyTensors: [Tensor] = []
    var nonDifferentiableTensors: [Tensor] = []

    init(needsInputGrad: [Bool]) { self.needsInputGrad = needsInputGrad }

    /// Keeps tensors for backward, checked against later in-place changes
    /// (`ctx.save_for_backward`).
    public func saveForBackward(_ tensors: Tensor...) { tensorsToSave.append(contentsOf: tensors) }

    /// The tensors given to `saveForBackward`, in order (`ctx.saved_tensors`).
    public var savedTensors: [Tensor] { saved.isEmpty ? tensorsToSave : saved.map { $0.unpack() } }

    /// Declares inputs that forward modified in place (`ctx.mark_dirty`).
    public func markDirty(_ tensors: Tensor...) { dirtyTensors.append(contentsOf: tensors) }

    /// Declares outputs that have no gradient, such as indices (`ctx.mark_non_differentiable`).
    public func markNonDifferentiable(_ tensors: Tensor...) { nonDifferentiableTensors.append(contentsOf: tensors) }
}
