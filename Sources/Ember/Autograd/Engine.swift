/// Runs the backward graph: counts each node's dependencies, then executes nodes whose
/// gradients are complete, latest first, summing gradients that meet at one input.
enum Engine {
    /// Backpropagates `gradients` from `roots`. With `inputs`, returns their gradients instead
    /// of accumulating into leaves' `grad` (the functional form, `torch.autograd.grad`).
    static func run(
        roots: [Tensor], gradients: [Tensor], inputs: [Tensor]? = nil,
        retainGraph: Bool, createGraph: Bool, allowUnused: Bool = false
    ) -> [Tensor?] {
        var rootEdges: [(Edge, Tensor)] = []
        for (root, gradient) in zip(roots, gradients) {
            guard let edge = root.gradientEdge else {
                reportError("element 0 of tensors does not require grad and does not have a grad_fn")
                return inputs?.map { _ in nil } ?? []
            }
            rootEdges.append((edge, gradient))
        }

        // Discover the graph and count, for each node, the edges that lead into it.
        var dependencies: [ObjectIdentifier: Int] = [:]
        var nodes: [Node] = []
        var seen: Set<ObjectIdentifier> = []
        var stack: [Node] = []
        for (edge, _) in rootEdges where seen.insert(ObjectIdentifier(edge.node)).inserted { stack.append(edge.node) }
        while let node = stack.popLast() {
            nodes.append(node)
            for case let edge? in node.nextEdges {
                let id = ObjectIdentifier(edge.node)
                dependencies[id, default: 0] += 1
                if seen.insert(id).inserted { stack.append(edge.node) }
            }
        }

        // In the functional form, capture gradients where they reach the inputs and run only
        // the nodes that lead there.
        var captureSlots: [ObjectIdentifier: [(inputNumber: Int, slot: Int)]] = [:]
        var needed: Set<ObjectIdentifier>?
        if let inputs {
            for (slot, input) in inputs.enumerated() {
                guard let edge = input.gradientEdge else {
                    reportError("One of the differentiated Tensors does not require grad")
                    return inputs.map { _ in nil }
                }
                captureSlots[ObjectIdentifier(edge.node), default: []].append((edge.inputNumber, slot))
            }
            needed = neededNodes(nodes, targets: Set(captureSlots.keys))
        }

        var captured = [Tensor?](repeating: nil, count: inputs?.count ?? 0)
        var buffers: [ObjectIdentifier: [Tensor?]] = [:]
        var ready = ReadyQueue()
        func deliver(_ gradient: Tensor?, to edge: Edge) {
            let id = ObjectIdentifier(edge.node)
            let empty = { [Tensor?](repeating: nil, count: edge.node.outputMetadata.count) }
            if let gradient {
                let shaped = conform(gradient, to: edge)
                let existing = buffers[id]?[edge.inputNumber] ?? nil
                // Mutated in place in the dictionary: copying the array out would copy it.
                buffers[id, default: empty()][edge.inputNumber] = existing.map { $0 + shaped } ?? shaped
            } else if buffers[id] == nil {
                buffers[id] = empty()
            }
        }
        for (edge, gradient) in rootEdges { deliver(gradient, to: edge) }
        var rootNodes = Set<ObjectIdentifier>()
        for (edge, _) in rootEdges {
            let id = ObjectIdentifier(edge.node)
            if dependencies[id, default: 0] == 0 && rootNodes.insert(id).inserted { ready.push(edge.node) }
        }

        var executed: [Node] = []
        GradMode.$isEnabled.withValue(createGraph) {
            while let node = ready.pop() {
                let id = ObjectIdentifier(node)
                var gradients = buffers.removeValue(forKey: id) ?? []
                for (number, hooks) in node.gradientHooks {
                    for hook in hooks { if let gradient = gradients[number], let replaced = hook(gradient) { gradients[number] = replaced } }
                }
                if !captureSlots.isEmpty, let slots = captureSlots[id] {
                    for (number, slot) in slots { captured[slot] = gradients[number] }
                }
                if let accumulator = node as? AccumulateGrad {
                    if inputs == nil, let gradient = gradients[0] { accumulate(gradient, into: accumulator.variable, createGraph: createGraph) }
                    continue
                }
                if let needed, !needed.contains(id) { continue }
                let inputGradients = node.apply(gradients)
                executed.append(node)
                for (edge, gradient) in zip(node.nextEdges, inputGradients) {
                    guard let edge else { continue }
                    deliver(gradient, to: edge)
                    let target = ObjectIdentifier(edge.node)
                    let remaining = dependencies[target, default: 1] - 1
                    dependencies[target] = remaining
                    if remaining == 0 { ready.push(edge.node) }
                }
            }
        }
        if !retainGraph { executed.forEach { $0.release() } }
        if inputs != nil, !allowUnused, let unused = captured.firstIndex(where: { $0 == nil }) {
            reportError(
                "The differentiated Tensor at index \(unused) appears to not have been used in the graph. Set allow_unused=True if this is the desired behavior."
            )
        }
        return captured
    }

    /// Reduces a gradient to the shape of the tensor it belongs to (undoing broadcasting) and
    /// converts it to that tensor's dtype.
    private static func conform(_ gradient: Tensor, to edge: Edge) -> Tensor {
        var gradient = gradient
        if gradient.shape != edge.shape { gradient = gradient.sumTo(edge.shape) }
        if gradient.dtype != edge.dtype { gradient = gradient.to(edge.dtype) }
        return gradient
    }

    /// Adds a gradient into a leaf's `grad`, in place unless building a graph of the gradient.
    private static func accumulate(_ gradient: Tensor, into variable: Tensor, createGraph: Bool) {
        var gradient = gradient
        for hook in variable.withAutogradLock({ variable.hooks }) {
            if let replaced = hook(gradient) { gradient = replaced }
        }
        let existing = variable.grad
        if let existing {
            if createGraph || existing.requiresGrad {
                variable.grad = existing + gradient
            } else {
                _ = noGrad { existing.add_(gradient) }
            }
        } else {
            // The gradient may be shared (a root gradient or one sent to several inputs), so
            // the leaf gets its own copy unless the graph of the gradient is wanted.
            variable.grad = createGraph ? gradient : gradient.detach().clone()
        }
    }

    /// The nodes from which a target can be reached.
    private static func neededNodes(_ nodes: [Node], targets: Set<ObjectIdentifier>) -> Set<ObjectIdentifier> {
        var memo: [ObjectIdentifier: Bool] = [:]
        func reaches(_ node: Node) -> Bool {
            let id = ObjectIdentifier(node)
            if let known = memo[id] { return known }
            memo[id] = false
            var result = false
            for case let edge? in node.nextEdges where targets.contains(ObjectIdentifier(edge.node)) || reaches(edge.node) {
                result = true
            }
            memo[id] = result
            return result
        }
        return Set(nodes.filter(reaches).map(ObjectIdentifier.init))
    }
}

/// Nodes ready to run, highest sequence number (most recently created) first.
private struct ReadyQueue {
    private var heap: [Node] = []

    mutating func push(_ node: Node) {
        heap.append(node)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].sequenceNumber > heap[parent].sequenceNumber else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Node? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var largest = parent
            if left < heap.count && heap[left].sequenceNumber > heap[largest].sequenceNumber { largest = left }
            if right < heap.count && heap[right].sequenceNumber > heap[largest].sequenceNumber { largest = right }
            if largest == parent { break }
            heap.swapAt(parent, largest)
            parent = largest
        }
        return top
    }
}

// MARK: - Public entry points

extension Tensor {
    /// Computes the gradient of this tensor with respect to the graph's leaves, adding it into
    /// their `grad` (`tensor.backward()`).
    ///
    /// - Parameters:
    ///   - gradient: the gradient of some scalar with respect to this tensor; may be omitted
    ///     when the tensor has one element.
    ///   - retainGraph: keep saved tensors for another backward; defaults to `createGraph`.
    ///   - createGraph: record the backward pass itself, for higher-order derivatives.
    public func backward(gradient: Tensor? = nil, retainGraph: Bool? = nil, createGraph: Bool = false) {
        guard requiresGrad else {
            reportError("element 0 of tensors does not require grad and does not have a grad_fn")
            return
        }
        let seed: Tensor
        if let gradient {
            guard gradient.shape == shape else {
                reportError(
                    "Mismatch in shape: grad_output[0] has a shape of torch.Size(\(Tensor.describe(gradient.shape))) and output[0] has a shape of torch.Size(\(Tensor.describe(shape))).")
                return
            }
            seed = gradient
        } else {
            guard numel == 1 else {
                reportError("grad can be implicitly created only for scalar outputs")
                return
            }
            seed = Tensor.onesLike(self)
        }
        _ = Engine.run(roots: [self], gradients: [seed], retainGraph: retainGraph ?? createGraph, createGraph: createGraph)
    }
}

/// Gradients of `outputs` with respect to `inputs`, returned rather than accumulated into
/// `grad` (`torch.autograd.grad`).
///
/// ```swift
/// let x = Tensor([2.0], shape: [1], requiresGrad: true)
/// let y = x.pow(3)
/// let dy = autogradGrad(outputs: [y], inputs: [x], createGraph: true)[0]!   // 3x² = 12
/// let d2y = autogradGrad(outputs: [dy], inputs: [x])[0]!                    // 6x = 12
/// ```
public func autogradGrad(
    outputs: [Tensor], inputs: [Tensor], gradOutputs: [Tensor?]? = nil,
    retainGraph: Bool? = nil, createGraph: Bool = false, allowUnused: Bool = false
) -> [Tensor?] {
    var seeds: [Tensor] = []
    for (index, output) in outputs.enumerated() {
        if let given = gradOutputs?[index] {
            seeds.append(given)
        } else {
            guard output.numel == 1 else {
                reportError("grad can be implicitly created only for scalar outputs")
                return inputs.map { _ in nil }
            }
            seeds.append(Tensor.onesLike(output))
        }
    }
    return Engine.run(
        roots: outputs, gradients: seeds, inputs: inputs, retainGraph: retainGraph ?? createGraph,
        createGraph: createGraph, allowUnused: allowUnused)
}
