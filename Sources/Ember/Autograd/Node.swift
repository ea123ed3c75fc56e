import Synchronization

/// A node of the backward graph: the function that turns gradients of an operation's outputs
/// into gradients of its inputs (PyTorch's `grad_fn`).
///
/// ```swift
/// let loss = (x.mm(w) - y).pow(2).sum()
/// loss.gradFn?.name                           // "SumBackward0"
/// loss.gradFn?.nextFunctions.first?.node?.name  // "PowBackward0"
/// ```
public class Node: @unchecked Sendable, CustomStringConvertible {
    /// PyTorch's name for the node, such as `MmBackward0`.
    public let name: String
    /// Later nodes run first when several are ready, as PyTorch orders them.
    let sequenceNumber: Int
    /// One edge per input of the forward operation; `nil` where that input needs no gradient.
    let nextEdges: [Edge?]
    /// Shape and dtype of each forward output, to make zero gradients for unused outputs.
    let outputMetadata: [TensorMetadata]
    private var body: (([Tensor]) -> [Tensor?])?
    /// Hooks on the gradient of each output, registered through the output tensors.
    var gradientHooks: [Int: [(Tensor) -> Tensor?]] = [:]

    private static let sequenceCounter = Atomic<Int>(0)

    init(name: String, nextEdges: [Edge?], outputs: [TensorMetadata], body: (([Tensor]) -> [Tensor?])?) {
        self.name = name
        self.nextEdges = nextEdges
        outputMetadata = outputs
        self.body = body
        sequenceNumber = Self.sequenceCounter.add(1, ordering: .relaxed).newValue
    }

    /// The nodes that receive this node's gradients, with the input number at each
    /// (`grad_fn.next_functions`); `nil` for inputs that need no gradient.
    public var nextFunctions: [(node: Node?, inputNumber: Int)] {
        nextEdges.map { ($0?.node, $0?.inputNumber ?? 0) }
    }

    /// The name, as PyTorch prints `<SumBackward0 object>`.
    public var description: String { "<\(name)>" }

    /// Computes input gradients from output gradients (missing ones become zeros).
    func apply(_ gradients: [Tensor?]) -> [Tensor?] {
        guard let body else {
            reportError(
                "Trying to backward through the graph a second time (or directly access saved tensors after they have already been freed). Saved intermediate values of the graph are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or if you need to access saved tensors after calling backward."
            )
            return nextEdges.map { _ in nil }
        }
        let filled = gradients.indices.map { output in
            gradients[output] ?? Tensor.zeros(outputMetadata[output].shape, dtype: outputMetadata[output].dtype, device: outputMetadata[output].device)
        }
        return body(filled)
    }

    /// Frees what the node saved for backward (done after backward unless `retainGraph`).
    func release() {
        body = nil
    }
}

/// Where a gradient goes: input `inputNumber` of `node`.
struct Edge {
    let node: Node
    let inputNumber: Int
    /// The shape of the tensor this edge carries the gradient for, to undo broadcasting.
    let shape: [Int]
    let dtype: DType
}

/// What backward needs to know about a tensor without keeping it alive.
struct TensorMetadata {
    let shape: [Int]
    let dtype: DType
    let device: Device

    init(_ tensor: Tensor) {
        shape = tensor.shape
        dtype = tensor.dtype
        device = tensor.device
    }
}

/// The node at the end of every path: adds the gradient into a leaf tensor's `grad`.
final class AccumulateGrad: Node, @unchecked Sendable {
    let variable: Tensor

    init(variable: Tensor) {
        self.variable = variable
        super.init(name: "AccumulateGrad", nextEdges: [], outputs: [TensorMetadata(variable)], body: nil)
    }
}

/// A tensor saved for backward, checked on use against in-place changes since it was saved.
final class SavedTensor: @unchecked Sendable {
    private let saved: Tensor
    private let savedVersion: Int
    /// For a saved output: its position among the node's outputs.
    private let outputNumber: Int
    /// The node that produced a saved output; set by `Tensor.record`.
    weak var node: Node?

    /// Saves an input of an operation (kept alive; it is upstream in the graph).
    init(input: Tensor) {
        saved = input
        savedVersion = input.version.value
        outputNumber = -1
    }

    /// Saves an output of an operation without its `gradFn`, which would make a reference cycle;
    /// `unpack()` puts the node back.
    init(output: Tensor, outputNumber: Int = 0) {
        saved = output.alias()
        savedVersion = output.version.value
        self.outputNumber = outputNumber
    }

    /// The saved tensor, or PyTorch's error when it was modified in place after being saved.
    func unpack() -> Tensor {
        let current = saved.version.value
        if current != savedVersion {
            let type = "[torch.\(saved.dtype.legacyTypeName) [\(saved.shape.map(String.init).joined(separator: ", "))]]"
            // PyTorch names, without the suffix (`ExpBackward0` is `Exp`), the node that saved an
            // output, or the current node of a saved input.
            let maker = outputNumber >= 0 ? node.map { (outputNumber, $0.name) } : saved.gradFn.map { (saved.outputNumber, $0.name) }
            let origin = maker.map { ", which is output \($0.0) of \($0.1.replacing(/Backward\d*$/, with: "")),"
            } ?? ""
            reportError(
                "one of the variables needed for gradient computation has been modified by an inplace operation: \(type)\(origin) is at version \(current); expected version \(savedVersion) instead. Hint: enable anomaly detection to find the operation that failed to compute its gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False)."
            )
        }
        guard outputNumber >= 0, let node else { return saved }
        let output = saved.alias()
        output.storedGradFn = node
        output.outputNumber = outputNumber
        return output
    }
}
