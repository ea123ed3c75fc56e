// MARK: - Public autograd state

extension Tensor {
    /// Whether gradients flow to this tensor: set on leaves to have `backward()` fill `grad`;
    /// true for every result of an operation on such tensors while grad mode is on.
    ///
    /// ```swift
    /// let w = Tensor.randn(3, 3)
    /// w.requiresGrad = true
    /// ```
    public var requiresGrad: Bool {
        get { requiresGradFlag.load(ordering: .relaxed) }
        set { setRequiresGrad(newValue, message: "only Tensors of floating point and complex dtype can require gradients") }
    }

    /// Sets `requiresGrad` in place and returns the tensor (`requires_grad_()`).
    @discardableResult
    public func requiresGrad_(_ requiresGrad: Bool = true) -> Tensor {
        setRequiresGrad(requiresGrad, message: "only Tensors of floating point dtype can require gradients")
        return self
    }

    /// `requiresGrad: true` given to a factory.
    func requiringGradFromFactory(_ requiresGrad: Bool) -> Tensor {
        if requiresGrad { setRequiresGrad(true, message: "Only Tensors of floating point and complex dtype can require gradients") }
        return self
    }

    private func setRequiresGrad(_ requiresGrad: Bool, message: String) {
        if requiresGrad && !dtype.isFloatingPoint {
            reportError(message)
            return
        }
        let isLeaf = withAutogradLock { () -> Bool in
            guard storedGradFn == nil else { return false }
            leafRequiresGrad = requiresGrad
            return true
        }
        if !isLeaf && !requiresGrad {
            reportError(
                "you can only change requires_grad flags of leaf variables. If you want to use a computed variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach()."
            )
        }
    }

    /// The gradient accumulated by `backward()`: set on leaves that require grad, and on other
    /// tensors after `retainGrad()`.
    public var grad: Tensor? {
        get { withAutogradLock { storedGrad } }
        set { withAutogradLock { storedGrad = newValue } }
    }

    /// The node that computes this tensor's gradient, `nil` for leaves (`grad_fn`).
    public var gradFn: Node? { withAutogradLock { storedGradFn } }

    /// Whether the tensor was made by the user rather than by a recorded operation.
    public var isLeaf: Bool { gradFn == nil }

    /// Keeps the gradient of this non-leaf tensor in `grad` during `backward()`.
    public func retainGrad() {
        guard let node = gradFn else { return }  // leaves keep their gradient anyway
        let alreadyRetaining = withAutogradLock { () -> Bool in
            defer { retainsGradient = true }
            return retainsGradient
        }
        if alreadyRetaining { return }
        let number = outputNumber
        node.gradientHooks[number, default: []].append { [weak self] gradient in
            guard let self else { return nil }
            // No tensor op may run under an autograd lock: locks are striped and not reentrant.
            let accumulated = grad.map { $0 + gradient } ?? gradient.detach().clone()
            grad = accumulated
            return nil
        }
    }

    /// Calls `hook` with this tensor's gradient during backward; a returned tensor replaces it.
    ///
    /// ```swift
    /// y.registerHook { grad in grad * 2 }
    /// ```
    public func registerHook(_ hook: @escaping (Tensor) -> Tensor?) {
        if !requiresGrad {
            reportError("cannot register a hook on a tensor that doesn't require gradient")
            return
        }
        if let node = gradFn {
            node.gradientHooks[outputNumber, default: []].append(hook)
        } else {
            withAutogradLock { hooks.append(hook) }
        }
    }

    /// A view of the same memory that is not part of the graph (`detach()`); in-place changes
    /// to it are still seen by autograd's checks of saved tensors.
    public func detach() -> Tensor { alias() }

    /// The same memory outside the graph, with its own version counter (`.data`); setting it
    /// replaces this tensor's memory and layout.
    ///
    /// ```swift
    /// w.data -= learningRate * w.grad!.data
    /// ```
    public var data: Tensor {
        get {
            Tensor(storage: storage, shape: shape, strides: strides, offset: offset, dtype: dtype, version: VersionCounter())
        }
        set { setData(from: newValue) }
    }

    /// A tensor object sharing this one's memory, layout and version counter, without graph.
    func alias() -> Tensor {
        Tensor(storage: storage, shape: shape, strides: strides, offset: offset, dtype: dtype, version: separateVersion)
    }
}

// MARK: - Recording operations

extension Tensor {
    /// Keeps the lock-free `requiresGrad` in step with the fields it summarizes.
    func updateRequiresGradFlag() {
        requiresGradFlag.store(leafRequiresGrad || storedGradFn != nil, ordering: .relaxed)
    }

    /// Runs `body` holding this tensor's stripe of `AutogradLocks`. The body must only read
    /// and write fields: the locks are striped and not reentrant, so a tensor op inside it
    /// can deadlock on another tensor that shares the stripe.
    @inline(__always)
    func withAutogradLock<R>(_ body: () throws -> R) rethrows -> R {
        try AutogradLocks.lock(for: self).withLock(body)
    }

    /// Whether an operation on `inputs` must record a backward node now.
    @inline(__always)
    static func isRecording(_ input: Tensor) -> Bool {
        input.requiresGrad && GradMode.isEnabled
    }

    /// Whether an operation on two inputs must record a backward node now.
    @inline(__always)
    static func isRecording(_ a: Tensor, _ b: Tensor) -> Bool {
        (a.requiresGrad || b.requiresGrad) && GradMode.isEnabled
    }

    /// Whether an operation on `inputs` must record a backward node now.
    @inline(__always)
    static func isRecording(_ inputs: [Tensor]) -> Bool {
        inputs.contains { $0.requiresGrad } && GradMode.isEnabled
    }

    /// The edge that a gradient for this tensor travels along, if it needs one.
    var gradientEdge: Edge? {
        guard requiresGrad else { return nil }  // the flag summarizes the fields read below
        let (node, number) = withAutogradLock { () -> (Node?, Int) in
            if let node = storedGradFn { return (node, outputNumber) }
            guard leafRequiresGrad else { return (nil, 0) }
            if let accumulator = gradAccumulator { return (accumulator, 0) }
            let accumulator = AccumulateGrad(variable: self)
            gradAccumulator = accumulator
            return (accumulator, 0)
        }
        return node.map { Edge(node: $0, inputNumber: number, shape: shape, dtype: dtype) }
    }

    /// The derivative of an op that picks part of its input (gather, slicing, `index_select`,
    /// `max` along a dimension): zeros of the input's `shape`, into which `write` puts
    /// `gradient` in place. The out-of-place op would copy the fresh zeros first (a third of a
    /// gather's backward over 4096x1000); it runs instead, as `recorded`, when the gradient is
    /// itself recorded (`createGraph`), for its own derivative.
    ///
    /// ```swift
    /// Tensor.zeros(shape, receiving: gradient, write: { $0[2..<5] = gradient }, recorded: { $0.sliceScatter(…) })
    /// ```
    static func zeros(_ shape: [Int], receiving gradient: Tensor, write: (Tensor) -> Void, recorded: (Tensor) -> Tensor) -> Tensor {
        let zeros = Tensor.zeros(shape, dtype: gradient.dtype, device: gradient.device)
        if isRecording(gradient) { return recorded(zeros) }
        write(zeros)
        return zeros
    }

    /// Makes `outputs` the results of a new backward node named `name` whose `backward` maps
    /// the outputs' gradients to the inputs' (one entry per input, `nil` for none). Gradients
    /// are reduced to each input's shape by the engine, so `backward` may return broadcast ones.
    @discardableResult
    static func record(
        _ name: String, inputs: [Tensor], outputs: [Tensor], savedOutputs: [SavedTensor] = [],
        backward: @escaping ([Tensor]) -> [Tensor?]
    ) -> Node {
        let node = Node(name: name, nextEdges: inputs.map(\.gradientEdge), outputs: outputs.map(TensorMetadata.init), body: backward)
        for saved in savedOutputs { saved.node = node }
        for (number, output) in outputs.enumerated() where output.dtype.isFloatingPoint {
            output.withAutogradLock {
                output.storedGradFn = node
                output.outputNumber = number
            }
        }
        return node
    }

    /// Records an in-place operation on this tensor: its history now ends in a new node
    /// (callers first ask `checkInPlaceAllowed`, which refuses leaves that require grad).
    func recordInPlace(
        _ name: String, inputs: [Tensor], savedOutputs: [SavedTensor] = [], backward: @escaping ([Tensor]) -> [Tensor?]
    ) {
        Tensor.record(name, inputs: inputs, outputs: [self], savedOutputs: savedOutputs, backward: backward)
        // The view's base changed too: its history now passes through this view's new node.
        if let base = viewBase { base.recordCopySlices(region: self, source: self) }
    }

    /// Records that `source` was written over `region`, a view of this tensor's memory
    /// (PyTorch's `CopySlices`): the gradient outside the region goes to the old history and
    /// the gradient inside it to `source`.
    func recordCopySlices(region: Tensor, source: Tensor) {
        let window = (shape: region.shape, strides: region.strides, offset: region.offset)
        let layout = (shape: shape, strides: strides, offset: offset, byteCount: storage.byteCount)
        Tensor.record("CopySlices", inputs: [previousHistory(), source], outputs: [self]) { gradients in
            // Lay the gradient out like this tensor so the region has the same strides in it.
            let mirror = Tensor(
                storage: Storage(byteCount: layout.byteCount), shape: layout.shape, strides: layout.strides,
                offset: layout.offset, dtype: gradients[0].dtype)
            mirror.copyElements(from: gradients[0])
            let regionGradient = mirror.makeView(shape: window.shape, strides: window.strides, offset: window.offset)
            let sourceGradient = regionGradient.cloneContiguous()
            regionGradient.fillElements(.integer(0))
            return [mirror, sourceGradient]
        }
        if let base = viewBase { base.recordCopySlices(region: self, source: self) }
    }

    /// PyTorch's check before an in-place change: a leaf that requires grad, or a view of one,
    /// may only be modified under `noGrad`. Returns false (after reporting) when the change
    /// must not happen.
    func checkInPlaceAllowed() -> Bool {
        guard GradMode.isEnabled else { return true }
        if withAutogradLock({ storedGradFn == nil && leafRequiresGrad }) {
            reportError("a leaf Variable that requires grad is being used in an in-place operation.")
            return false
        }
        if let base = viewBase, base.withAutogradLock({ base.storedGradFn == nil && base.leafRequiresGrad }) {
            reportError("a view of a leaf Variable that requires grad is being used in an in-place operation.")
            return false
        }
        return true
    }
}

/// Striped locks for tensors' autograd fields: cheaper than a lock per tensor.
enum AutogradLocks {
    private static let locks = (0..<64).map { _ in Lock() }

    @inline(__always)
    static func lock(for tensor: Tensor) -> Lock {
        locks[(ObjectIdentifier(tensor).hashValue >> 6) & 63]
    }
}
