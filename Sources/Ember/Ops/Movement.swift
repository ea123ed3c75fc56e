// Views and layout changes: they move no data (except `contiguous`, `clone` and reshapes
// that cannot be views), and their derivative is the inverse movement.

extension Tensor {
    /// A view of the same memory with another shape and strides, sharing the version counter.
    func makeView(shape: [Int], strides: [Int], offset: Int? = nil) -> Tensor {
        Tensor(storage: storage, shape: shape, strides: strides, offset: offset ?? self.offset, dtype: dtype, version: separateVersion)
    }

    /// Records a view's derivative.
    private func recordView(_ name: String, _ output: Tensor, backward: @escaping (Tensor) -> Tensor) -> Tensor {
        if Tensor.isRecording(self) {
            Tensor.record(name, inputs: [self], outputs: [output]) { gradients in [backward(gradients[0])] }
            if output.storage === storage { output.viewBase = viewBase ?? self }
        }
        return output
    }

    /// Fills in a `-1` in a requested shape, checking that the element count matches.
    private func inferShape(_ requested: [Int]) -> [Int]? {
        var shape = requested
        let inferred = shape.indices.filter { shape[$0] == -1 }
        guard inferred.count <= 1 else {
            reportError("only one dimension can be inferred")
            return nil
        }
        if let index = shape.firstIndex(where: { $0 < -1 }) {
            reportError("invalid shape dimension \(shape[index]) at index \(index) of shape \(Tensor.describe(shape))")
            return nil
        }
        let known = shape.filter { $0 != -1 }.reduce(1, *)
        if let axis = inferred.first {
            guard known != 0, numel % known == 0 else {
                reportError("shape '\(Tensor.describe(requested))' is invalid for input of size \(numel)")
                return nil
            }
            shape[axis] = numel / known
        }
        guard shape.reduce(1, *) == numel else {
            reportError("shape '\(Tensor.describe(requested))' is invalid for input of size \(numel)")
            return nil
        }
        return shape
    }

    /// Strides that let this tensor be read in `newShape` without copying, if any (PyTorch's
    /// `computeStride`).
    private func viewStrides(for newShape: [Int]) -> [Int]? {
        if numel == 0 || shape.isEmpty { return Tensor.contiguousStrides(for: newShape) }
        var newStrides = [Int](repeating: 0, count: newShape.count)
        var viewAxis = newShape.count - 1
        var chunkBaseStride = strides.last!
        var tensorElements = 1
        var viewElements = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            tensorElements *= shape[axis]
            if axis == 0 || (shape[axis - 1] != 1 && strides[axis - 1] != tensorElements * chunkBaseStride) {
                while viewAxis >= 0 && (viewElements < tensorElements || newShape[viewAxis] == 1) {
                    newStrides[viewAxis] = viewElements * chunkBaseStride
                    viewElements *= newShape[viewAxis]
                    viewAxis -= 1
                }
                if viewElements != tensorElements { return nil }
                if axis > 0 {
                    chunkBaseStride = strides[axis - 1]
                    tensorElements = 1
                    viewElements = 1
                }
            }
        }
        return viewAxis == -1 ? newStrides : nil
    }

    /// The same elements in another shape, sharing memory; fails when the strides don't allow
    /// it (`view`). One dimension may be `-1`.
    public func view(_ shape: Int...) -> Tensor { view(shape) }

    /// The same elements in another shape, sharing memory (`view`).
    public func view(_ shape: [Int]) -> Tensor {
        guard let newShape = inferShape(shape) else { return self }
        guard let newStrides = viewStrides(for: newShape) else {
            reportError(
                "view size is not compatible with input tensor's size and stride (at least one dimension spans across two contiguous subspaces). Use .reshape(...) instead."
            )
            return self
        }
        let original = self.shape
        return recordView("ViewBackward0", makeView(shape: newShape, strides: newStrides)) { $0.reshape(original) }
    }

    /// The same elements in another shape: a view when possible, else a copy (`reshape`).
    ///
    /// ```swift
    /// Tensor.arange(12).reshape(3, 4)
    /// ```
    public func reshape(_ shape: Int...) -> Tensor { reshape(shape) }

    /// The same elements in another shape: a view when possible, else a copy (`reshape`).
    public func reshape(_ shape: [Int]) -> Tensor {
        guard let newShape = inferShape(shape) else { return self }
        if newShape == self.shape { return recordView("ViewBackward0", makeView(shape: newShape, strides: strides)) { $0 } }
        if let newStrides = viewStrides(for: newShape) {
            let original = self.shape
            return recordView("ViewBackward0", makeView(shape: newShape, strides: newStrides)) { $0.reshape(original) }
        }
        let copy = cloneContiguous()
        let original = self.shape
        return recordView("UnsafeViewBackward0", copy.makeView(shape: newShape, strides: Tensor.contiguousStrides(for: newShape))) {
            $0.reshape(original)
        }
    }

    /// All dimensions from `startDim` to `endDim` merged into one (`flatten`).
    public func flatten(startDim: Int = 0, endDim: Int = -1) -> Tensor {
        if dim == 0 { return reshape([1]) }
        let start = normalizedDim(startDim), end = normalizedDim(endDim)
        guard start <= end else {
            reportError("flatten() has invalid args: start_dim cannot come after end_dim")
            return self
        }
        let merged = shape[start...end].reduce(1, *)
        return reshape(Array(shape[..<start]) + [merged] + Array(shape[(end + 1)...]))
    }

    /// The transpose of a matrix (`t()`); 0-d and 1-d tensors are returned as they are.
    public func t() -> Tensor {
        guard dim <= 2 else {
            reportError("t() expects a tensor with <= 2 dimensions, but self is \(dim)D")
            return self
        }
        guard dim == 2 else { return recordView("TBackward0", makeView(shape: shape, strides: strides)) { $0 } }
        return recordView("TBackward0", makeView(shape: [shape[1], shape[0]], strides: [strides[1], strides[0]])) { $0.t() }
    }

    /// A view with dimensions `dim0` and `dim1` swapped (`transpose`).
    public func transpose(_ dim0: Int, _ dim1: Int) -> Tensor {
        let a = normalizedDim(dim0), b = normalizedDim(dim1)
        var newShape = shape, newStrides = strides
        if dim > 0 {
            newShape.swapAt(a, b)
            newStrides.swapAt(a, b)
        }
        return recordView("TransposeBackward0", makeView(shape: newShape, strides: newStrides)) { $0.transpose(a, b) }
    }

    /// A view with the dimensions reordered (`permute(2, 0, 1)`).
    public func permute(_ dims: Int...) -> Tensor { permute(dims) }

    /// A view with the dimensions reordered.
    public func permute(_ dims: [Int]) -> Tensor {
        guard dims.count == dim else {
            reportError(
                "permute(sparse_coo): number of dimensions in the tensor input does not match the length of the desired ordering of dimensions i.e. input.dim() = \(dim) is not equal to len(dims) = \(dims.count)")
            return self
        }
        let order = dims.map { normalizedDim($0) }
        guard Set(order).count == order.count else {
            reportError("permute(): duplicate dims are not allowed.")
            return self
        }
        var inverse = [Int](repeating: 0, count: order.count)
        for (position, axis) in order.enumerated() { inverse[axis] = position }
        return recordView("PermuteBackward0", permuteView(order)) { $0.permute(inverse) }
    }

    /// The permuted view without autograd.
    func permuteView(_ order: [Int]) -> Tensor {
        makeView(shape: order.map { shape[$0] }, strides: order.map { strides[$0] })
    }

    /// A view repeating size-1 dimensions to `shape` without copying; `-1` keeps a size (`expand`).
    public func expand(_ shape: Int...) -> Tensor { expand(shape) }

    /// A view repeating size-1 dimensions to `shape` without copying.
    public func expand(_ shape: [Int]) -> Tensor {
        guard shape.count >= dim else {
            reportError(
                "expand(torch.\(dtype.legacyTypeName){\(Tensor.describe(self.shape))}, size=\(Tensor.describe(shape))): the number of sizes provided (\(shape.count)) must be greater or equal to the number of dimensions in the tensor (\(dim))")
            return self
        }
        let lead = shape.count - dim
        var newShape = shape, newStrides = [Int](repeating: 0, count: shape.count)
        for axis in 0..<shape.count {
            if axis < lead {
                guard shape[axis] >= 0 else {
                    reportError("The expanded size of the tensor (\(shape[axis])) isn't allowed in a leading, non-existing dimension \(axis)")
                    return self
                }
                continue
            }
            let size = self.shape[axis - lead]
            if shape[axis] == -1 { newShape[axis] = size }
            if newShape[axis] == size {
                newStrides[axis] = strides[axis - lead]
            } else if size != 1 {
                reportError(
                    "The expanded size of the tensor (\(newShape[axis])) must match the existing size (\(size)) at non-singleton dimension \(axis).  Target sizes: \(Tensor.describe(shape)).  Tensor sizes: \(Tensor.describe(self.shape))")
                return self
            }
        }
        if newShape == self.shape { return recordView("ExpandBackward0", makeView(shape: newShape, strides: strides)) { $0 } }
        let original = self.shape
        return recordView("ExpandBackward0", makeView(shape: newShape, strides: newStrides)) { $0.sumTo(original) }
    }

    /// `expand` to another tensor's shape.
    public func expandAs(_ other: Tensor) -> Tensor { expand(other.shape) }

    /// A view without the size-1 dimensions (`squeeze()`).
    public func squeeze() -> Tensor {
        let kept = shape.indices.filter { shape[$0] != 1 }
        let original = shape
        return recordView("SqueezeBackward0", makeView(shape: kept.map { shape[$0] }, strides: kept.map { strides[$0] })) {
            $0.reshape(original)
        }
    }

    /// A view without dimension `dim` if it has size 1 (`squeeze(dim)`).
    public func squeeze(_ dim: Int) -> Tensor { squeeze(dim, nodeName: "SqueezeBackward1") }

    /// `squeeze(dim)` of a fresh result that PyTorch squeezes in place (`squeeze_(dim)`, whose
    /// node is `SqueezeBackward4`), as `matmul` of a vector and a matrix does.
    func squeezedInPlace(_ dim: Int) -> Tensor { squeeze(dim, nodeName: "SqueezeBackward4") }

    private func squeeze(_ dim: Int, nodeName: String) -> Tensor {
        let axis = normalizedDim(dim)
        guard self.dim > 0 && shape[axis] == 1 else { return recordView(nodeName, makeView(shape: shape, strides: strides)) { $0 } }
        var newShape = shape, newStrides = strides
        newShape.remove(at: axis)
        newStrides.remove(at: axis)
        return recordView(nodeName, makeView(shape: newShape, strides: newStrides)) { $0.unsqueeze(axis) }
    }

    /// A view with a size-1 dimension inserted at `dim` (`unsqueeze`).
    public func unsqueeze(_ dim: Int) -> Tensor {
        let axis = normalizedDim(dim, rank: self.dim + 1)
        var newShape = shape, newStrides = strides
        newShape.insert(1, at: axis)
        newStrides.insert(axis < self.dim ? strides[axis] * shape[axis] : 1, at: axis)
        return recordView("UnsqueezeBackward0", makeView(shape: newShape, strides: newStrides)) { $0.squeeze(axis) }
    }

    /// The view of `length` elements along `dim` from `start` (`narrow`).
    public func narrow(dim: Int, start: Int, length: Int) -> Tensor {
        let axis = normalizedDim(dim)
        guard self.dim > 0 else {
            reportError("narrow() cannot be applied to a 0-dim tensor.")
            return self
        }
        let begin = start < 0 ? start + shape[axis] : start
        guard begin >= 0, length >= 0, begin + length <= shape[axis] else {
            reportError("start (\(start)) + length (\(length)) exceeds dimension size (\(shape[axis])).")
            return self
        }
        return slice(dim: axis, start: begin, end: begin + length, step: 1)
    }

    /// Elements `start..<end` by `step` along `dim` as a view (`t[start:end:step]`); the bounds
    /// are clamped as Python's slicing clamps them.
    public func slice(dim: Int, start: Int? = nil, end: Int? = nil, step: Int = 1) -> Tensor {
        let axis = normalizedDim(dim)
        guard step > 0 else {
            reportError("slice step must be positive")
            return self
        }
        let size = shape[axis]
        func clampBound(_ value: Int?, _ defaultValue: Int) -> Int {
            guard var value else { return defaultValue }
            if value < 0 { value += size }
            return Swift.min(Swift.max(value, 0), size)
        }
        let begin = clampBound(start, 0), finish = Swift.max(clampBound(end, size), clampBound(start, 0))
        var newShape = shape, newStrides = strides
        newShape[axis] = (finish - begin + step - 1) / step
        newStrides[axis] = strides[axis] * step
        let original = shape
        let view = makeView(shape: newShape, strides: newStrides, offset: offset + begin * strides[axis])
        return recordView("SliceBackward0", view) { gradient in
            Tensor.zeros(
                original, receiving: gradient, write: { $0.sliceWindow(dim: axis, start: begin, step: step, length: gradient.shape[axis]).copyElements(from: gradient) },
                recorded: { $0.sliceScatter(gradient, dim: axis, start: begin, step: step) })
        }
    }

    /// The sub-tensor at `index` along `dim`, one dimension fewer (`select`, `t[i]`).
    public func select(dim: Int, index: Int) -> Tensor {
        guard self.dim > 0 else {
            reportError("select() cannot be applied to a 0-dim tensor.")
            return self
        }
        let axis = normalizedDim(dim)
        let size = shape[axis]
        guard index >= -size && index < size else {
            reportError("index \(index) is out of bounds for dimension \(axis) with size \(size)")
            return self
        }
        let position = index < 0 ? index + size : index
        var newShape = shape, newStrides = strides
        newShape.remove(at: axis)
        newStrides.remove(at: axis)
        let original = shape
        let view = makeView(shape: newShape, strides: newStrides, offset: offset + position * strides[axis])
        return recordView("SelectBackward0", view) { gradient in
            let slice = gradient.unsqueeze(axis)
            return Tensor.zeros(
                original, receiving: slice, write: { $0.sliceWindow(dim: axis, start: position, step: 1, length: 1).copyElements(from: slice) },
                recorded: { $0.sliceScatter(slice, dim: axis, start: position, step: 1) })
        }
    }

    /// A copy of `self` with `source` written over the slice `start::step` along `dim`;
    /// differentiable in both (the derivative of slicing).
    func sliceScatter(_ source: Tensor, dim axis: Int, start: Int, step: Int) -> Tensor {
        let output = noGrad { clone() }
        output.sliceWindow(dim: axis, start: start, step: step, length: source.shape[axis]).copyElements(from: source)
        if Tensor.isRecording(self, source) {
            Tensor.record("SliceScatterBackward0", inputs: [self, source], outputs: [output]) { gradients in
                let gradient = gradients[0]
                let zero = Tensor.zeros(source.shape, dtype: gradient.dtype, device: gradient.device)
                return [
                    gradient.sliceScatter(zero, dim: axis, start: start, step: step),
                    gradient.slice(dim: axis, start: start, end: start + (source.shape[axis] - 1) * step + 1, step: step),
                ]
            }
        }
        return output
    }

    /// The view of `length` elements from `start` by `step` along `dim`, without autograd:
    /// where `sliceScatter` writes its source.
    func sliceWindow(dim axis: Int, start: Int, step: Int, length: Int) -> Tensor {
        var windowShape = shape, windowStrides = strides
        windowShape[axis] = length
        windowStrides[axis] *= step
        return makeView(shape: windowShape, strides: windowStrides, offset: offset + start * strides[axis])
    }

    /// This tensor if contiguous, else a contiguous copy (`contiguous()`).
    public func contiguous() -> Tensor { isContiguous ? self : clone() }

    /// A contiguous copy that autograd sees as the same values (`clone()`).
    public func clone() -> Tensor {
        let copy = cloneContiguous()
        if Tensor.isRecording(self) {
            Tensor.record("CloneBackward0", inputs: [self], outputs: [copy]) { gradients in [gradients[0]] }
        }
        return copy
    }

    /// The tensor converted to `dtype` (`to(dtype)`); returns `self` when nothing changes.
    public func to(_ dtype: DType) -> Tensor {
        if dtype == self.dtype { return self }
        let copy = converted(to: dtype)
        if Tensor.isRecording(self) && dtype.isFloatingPoint {
            let original = self.dtype
            Tensor.record("ToCopyBackward0", inputs: [self], outputs: [copy]) { gradients in [gradients[0].to(original)] }
        }
        return copy
    }

    /// The tensor as float32 (`float()`).
    public func float() -> Tensor { to(.float32) }

    /// The tensor as float64 (`double()`).
    public func double() -> Tensor { to(.float64) }

    /// The tensor as float16 (`half()`).
    public func half() -> Tensor { to(.float16) }

    /// The tensor as int64 (`long()`).
    public func long() -> Tensor { to(.int64) }

    /// The tensor as int32 (`int()`).
    public func int() -> Tensor { to(.int32) }

    /// The tensor as bool (`bool()`).
    public func bool() -> Tensor { to(.bool) }
}
