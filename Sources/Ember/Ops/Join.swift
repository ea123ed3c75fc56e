// Joining and splitting: cat, stack, split, chunk.

extension Tensor {
    /// Tensors joined along an existing dimension (`torch.cat`); dtypes promote.
    ///
    /// ```swift
    /// Tensor.cat([a, b], dim: 0)
    /// ```
    public static func cat(_ tensors: [Tensor], dim: Int = 0) -> Tensor {
        guard let first = tensors.first else {
            reportError("torch.cat(): expected a non-empty list of Tensors")
            return Tensor.zeros([0])
        }
        // 1-d empty tensors are skipped, as PyTorch's legacy rule allows.
        let parts = tensors.filter { !($0.dim == 1 && $0.numel == 0) }
        guard let reference = parts.first else { return first.clone() }
        let axis = reference.normalizedDim(dim)
        guard checkSameDevice(parts) else { return reference }
        for (number, part) in parts.enumerated() {
            guard part.dim == reference.dim else {
                reportError("Tensors must have same number of dimensions: got \(reference.dim) and \(part.dim)")
                return reference
            }
            for other in 0..<reference.dim where other != axis && part.shape[other] != reference.shape[other] {
                reportError(
                    "Sizes of tensors must match except in dimension \(axis). Expected size \(reference.shape[other]) but got size \(part.shape[other]) for tensor number \(number) in the list.")
                return reference
            }
        }
        let dtype = parts.dropFirst().reduce(reference.dtype) { DType.promote($0, $1.dtype) }
        var shape = reference.shape
        shape[axis] = parts.reduce(0) { $0 + $1.shape[axis] }
        let output = Tensor(uninitializedShape: shape, dtype: dtype, device: reference.device)
        var start = 0
        for part in parts {
            let length = part.shape[axis]
            var windowShape = shape
            windowShape[axis] = length
            output.makeView(shape: windowShape, strides: output.strides, offset: start * output.strides[axis]).copyElements(from: part)
            start += length
        }
        if isRecording(parts) {
            let lengths = parts.map { $0.shape[axis] }
            record("CatBackward0", inputs: parts, outputs: [output]) { gradients in
                gradients[0].split(lengths, dim: axis).map { Optional($0) }
            }
        }
        return output
    }

    /// Tensors of one shape joined along a new dimension (`torch.stack`).
    public static func stack(_ tensors: [Tensor], dim: Int = 0) -> Tensor {
        guard let first = tensors.first else {
            reportError("stack expects a non-empty TensorList")
            return Tensor.zeros([0])
        }
        for (number, tensor) in tensors.enumerated() where tensor.shape != first.shape {
            reportError(
                "stack expects each tensor to be equal size, but got \(describe(first.shape)) at entry 0 and \(describe(tensor.shape)) at entry \(number)")
            return first
        }
        let axis = first.normalizedDim(dim, rank: first.dim + 1)
        let output = noGrad { cat(tensors.map { $0.unsqueeze(axis) }, dim: axis) }
        if isRecording(tensors) {
            record("StackBackward0", inputs: tensors, outputs: [output]) { gradients in
                (0..<tensors.count).map { gradients[0].select(dim: axis, index: $0) }
            }
        }
        return output
    }

    /// Views of consecutive pieces of `size` along `dim`; the last may be smaller (`split`).
    public func split(_ size: Int, dim: Int = 0) -> [Tensor] {
        let axis = normalizedDim(dim)
        let extent = self.dim == 0 ? 0 : shape[axis]
        guard size > 0 || extent == 0 else {
            reportError("split_size can only be 0 if dimension size is 0, but got dimension size of \(extent)")
            return [self]
        }
        if extent == 0 { return [self] }
        let count = (extent + size - 1) / size
        return splitViews((0..<count).map { Swift.min(size, extent - $0 * size) }, axis: axis, nodeName: "SplitBackward0")
    }

    /// Views of pieces with the given sizes along `dim`, which must sum to its size
    /// (`split_with_sizes`).
    public func split(_ sizes: [Int], dim: Int = 0) -> [Tensor] {
        let axis = normalizedDim(dim)
        guard sizes.reduce(0, +) == shape[axis], sizes.allSatisfy({ $0 >= 0 }) else {
            reportError(
                "split_with_sizes expects split_sizes to sum exactly to \(shape[axis]) (input tensor's size at dimension \(axis)), but got split_sizes=\(Tensor.describe(sizes))")
            return [self]
        }
        return splitViews(sizes, axis: axis, nodeName: "SplitWithSizesBackward0")
    }

    /// The pieces as views, recorded as one node with an output per piece, as PyTorch does:
    /// its backward joins the pieces' gradients (zeros for pieces left unused).
    private func splitViews(_ sizes: [Int], axis: Int, nodeName: String) -> [Tensor] {
        var start = 0
        let pieces = noGrad {
            sizes.map { size in
                defer { start += size }
                return narrow(dim: axis, start: start, length: size)
            }
        }
        if Tensor.isRecording(self) {
            Tensor.record(nodeName, inputs: [self], outputs: pieces) { gradients in [Tensor.cat(gradients, dim: axis)] }
        }
        return pieces
    }

    /// The slices along `dim` as views, one dimension fewer each (`torch.unbind`).
    ///
    /// ```swift
    /// let rows = Tensor.arange(6).reshape(2, 3).unbind()   // two tensors of shape [3]
    /// ```
    public func unbind(dim: Int = 0) -> [Tensor] {
        guard self.dim > 0 else {
            reportError("Dimension specified as \(dim) but tensor has no dimensions")
            return [self]
        }
        let axis = normalizedDim(dim)
        let pieces = noGrad { (0..<shape[axis]).map { select(dim: axis, index: $0) } }
        if Tensor.isRecording(self) {
            Tensor.record("UnbindBackward0", inputs: [self], outputs: pieces) { gradients in [Tensor.stack(gradients, dim: axis)] }
        }
        return pieces
    }

    /// At most `chunks` views of equal size along `dim`, the last smaller (`chunk`).
    public func chunk(_ chunks: Int, dim: Int = 0) -> [Tensor] {
        guard chunks > 0 else {
            reportError("chunk expects `chunks` to be greater than 0, got: \(chunks)")
            return [self]
        }
        let axis = normalizedDim(dim)
        let extent = shape[axis]
        return split(Swift.max((extent + chunks - 1) / chunks, extent == 0 ? 0 : 1), dim: axis)
    }
}
