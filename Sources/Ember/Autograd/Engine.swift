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

        // Discover the graph and count, for each node, the edges that lead into it. Nodes are
        // numbered in discovery order; the per-node state below is indexed by that number.
        var index = NodeIndex()
        var nodes: [Node] = []
        var dependencies: [Int] = []
        func discover(_ node: Node) {
            if index.insert(node, as: nodes.count) {
                nodes.append(node)
                dependencies.append(0)
            }
        }
        for (edge, _) in rootEdges { discover(edge.node) }
        var next = 0
        while next < nodes.count {
            for case let edge? in nodes[next].nextEdges {
                discover(edge.node)
                dependencies[index[edge.node]!] += 1
            }
            next += 1
        }

        // In the functional form, capture gradients where they reach the inputs and run only
        // the nodes that lead there.
        var captureSlots: [Int: [(inputNumber: Int, slot: Int)]] = [:]
        var needed: [Bool]?
        if let inputs {
            for (slot, input) in inputs.enumerated() {
                guard let edge = input.gradientEdge else {
                    reportError("One of the differentiated Tensors does not require grad")
                    return inputs.map { _ in nil }
                }
                // An input the graph never reaches keeps a nil gradient.
                if let target = index[edge.node] { captureSlots[target, default: []].append((edge.inputNumber, slot)) }
            }
            needed = neededNodes(nodes, index: index, targets: Set(captureSlots.keys))
        }

        var captured = [Tensor?](repeating: nil, count: inputs?.count ?? 0)
        var buffers = [[Tensor?]?](repeating: nil, count: nodes.count)
        var ready = ReadyQueue()
        func deliver(_ gradient: Tensor?, to edge: Edge, at target: Int) {
            if buffers[target] == nil { buffers[target] = [Tensor?](repeating: nil, count: edge.node.outputMetadata.count) }
            guard let gradient else { return }
            let shaped = conform(gradient, to: edge)
            // Mutated in place: copying the array out would copy it.
            buffers[target]![edge.inputNumber] = buffers[target]![edge.inputNumber].map { $0 + shaped } ?? shaped
        }
        for (edge, gradient) in rootEdges { deliver(gradient, to: edge, at: index[edge.node]!) }
        var queued = Set<Int>()
        for (edge, _) in rootEdges {
            let target = index[edge.node]!
            if dependencies[target] == 0 && queued.insert(target).inserted { ready.push(edge.node, number: target) }
        }

        var executed: [Node] = []
        GradMode.$isEnabled.withValue(createGraph) {
            while let (node, number) = ready.pop() {
                var gradients = buffers[number] ?? []
                buffers[number] = nil
                for (output, hooks) in node.gradientHooks {
                    for hook in hooks { if let gradient = gradients[output], let replaced = hook(gradient) { gradients[output] = replaced } }
                }
                if !captureSlots.isEmpty, let slots = captureSlots[number] {
                    for (output, slot) in slots { captured[slot] = gradients[output] }
                }
                if let accumulator = node as? AccumulateGrad {
                    if inputs == nil, let gradient = gradients[0] {
                        gradients[0] = nil  // so that the leaf may take it over: see `accumulate`
                        accumulate(consume gradient, into: accumulator.variable, createGraph: createGraph)
                    }
                    continue
                }
                if let needed, !needed[number] { continue }
                let inputGradients = node.apply(gradients)
                executed.append(node)
                for (edge, gradient) in zip(node.nextEdges, inputGradients) {
                    guard let edge else { continue }
                    let target = index[edge.node]!
                    deliver(gradient, to: edge, at: target)
                    dependencies[target] -= 1
                    if dependencies[target] == 0 { ready.push(edge.node, number: target) }
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
    private static func accumulate(_ incoming: consuming Tensor, into variable: Tensor, createGraph: Bool) {
        var gradient = consume incoming
        for hook in variable.withAutogradLock({ variable.hooks }) {
            if let replaced = hook(gradient) { gradient = replaced }
        }
        let existing = variable.grad
        if let existing {
            if createGraph || existing.requiresGrad {
                variable.grad = existing + gradient
            } else {
                existing.add_(gradient)  // not recorded: the engine runs with grad mode off here
            }
        } else if createGraph {
            variable.grad = gradient
        } else if isKnownUniquelyReferenced(&gradient), gradient.isSoleTensorOnStorage, gradient.isContiguous,
            gradient.shape == variable.shape, gradient.dtype == variable.dtype, gradient.device == variable.device
        {
            // Nothing else holds the gradient or its memory (a product's fresh result, say), so
            // the leaf takes it over instead of copying it, as PyTorch's AccumulateGrad does:
            // with `grad` reset to nil each step, no step copies its gradients.
            variable.grad = gradient
        } else {
            // The gradient may be shared (a root gradient or one sent to several inputs), so
            // the leaf gets its own copy.
            variable.grad = gradient.detach().clone()
        }
    }

    /// Which nodes (by number) can reach a target.
    private static func neededNodes(_ nodes: [Node], index: NodeIndex, targets: Set<Int>) -> [Bool] {
        var memo = [Bool?](repeating: nil, count: nodes.count)
        func reaches(_ number: Int) -> Bool {
            if let known = memo[number] { return known }
            memo[number] = false
            var result = false
            for case let edge? in nodes[number].nextEdges {
                let next = index[edge.node]!
                if targets.contains(next) || reaches(next) { result = true }
            }
            memo[number] = result
            return result
        }
        return nodes.indices.map(reaches)
    }
}

/// Node → number, by open addressing on the node's address: the engine looks nodes up on
/// every edge, and Dictionary's seeded hashing cost more than the rest of a small backward.
/// Nodes are not retained; the engine's are alive throughout, held by the roots' graph.
///
/// ```swift
/// var index = NodeIndex()
/// index.insert(node, as: 0)  // true
/// index[node]                // 0
/// ```
struct NodeIndex {
    private var keys: [UnsafeMutableRawPointer?] = Array(repeating: nil, count: 16)
    private var numbers: [Int] = Array(repeating: 0, count: 16)
    private var count = 0

    /// The number given to `node`, if it has one.
    subscript(node: Node) -> Int? {
        let key = Unmanaged.passUnretained(node).toOpaque()
        var slot = Self.hash(key) & (keys.count - 1)
        while let occupant = keys[slot] {
            if occupant == key { return numbers[slot] }
            slot = (slot + 1) & (keys.count - 1)
        }
        return nil
    }

    /// Numbers `node` unless it already has a number; returns whether it was new.
    @discardableResult
    mutating func insert(_ node: Node, as number: Int) -> Bool {
        if 2 * (count + 1) > keys.count { grow() }
        let key = Unmanaged.passUnretained(node).toOpaque()
        var slot = Self.hash(key) & (keys.count - 1)
        while let occupant = keys[slot] {
            if occupant == key { return false }
            slot = (slot + 1) & (keys.count - 1)
        }
        keys[slot] = key
        numbers[slot] = number
        count += 1
        return true
    }

    private mutating func grow() {
        let old = zip(keys, numbers).compactMap { key, number in key.map { ($0, number) } }
        keys = Array(repeating: nil, count: 2 * keys.count)
        numbers = Array(repeating: 0, count: keys.count)
        for (key, number) in old {
            var slot = Self.hash(key) & (keys.count - 1)
            while keys[slot] != nil { slot = (slot + 1) & (keys.count - 1) }
            keys[slot] = key
            numbers[slot] = number
        }
    }

    /// Fibonacci hashing: the high bits of address × 2⁶⁴/φ, since addresses' low bits are zero.
    private static func hash(_ key: UnsafeMutableRawPointer) -> Int {
        Int(truncatingIfNeeded: (UInt(bitPattern: key) &* 0x9E37_79B9_7F4A_7C15) >> 32)
    }
}

/// Nodes ready to run, with their numbers, highest sequence number (most recently created) first.
private struct ReadyQueue {
    private var heap: [(node: Node, number: Int)] = []

    mutating func push(_ node: Node, number: Int) {
        heap.append((node, number))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].node.sequenceNumber > heap[parent].node.sequenceNumber else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (Node, Int)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var largest = parent
            if left < heap.count && heap[left].node.sequenceNumber > heap[largest].node.sequenceNumber { largest = left }
            if right < heap.count && heap[right].node.sequenceNumber > heap[largest].node.sequenceNumber { largest = right }
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
