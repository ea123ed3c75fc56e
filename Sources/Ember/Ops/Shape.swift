// Shape arithmetic shared by the ops: dimension wrapping, broadcasting, and messages.

extension Tensor {
    /// Wraps a possibly negative dimension into `0..<dim` (a 0-dim tensor accepts 0 and -1).
    /// Reports PyTorch's error and returns 0 when out of range.
    func normalizedDim(_ dim: Int, rank: Int? = nil) -> Int {
        let rank = rank ?? self.dim
        let extent = Swift.max(rank, 1)
        guard dim >= -extent && dim < extent else {
            reportError("Dimension out of range (expected to be in range of [\(-extent), \(extent - 1)], but got \(dim))")
            return 0
        }
        return dim < 0 ? dim + extent : dim
    }

    /// PyTorch's rendering of a shape in messages: `[2, 3]`.
    static func describe(_ shape: [Int]) -> String { "[\(shape.map(String.init).joined(separator: ", "))]" }

    /// The shape two shapes broadcast to, or PyTorch's error.
    static func broadcastShapes(_ a: [Int], _ b: [Int]) -> [Int]? {
        if a == b || b.isEmpty { return a }
        if a.isEmpty { return b }
        let rank = Swift.max(a.count, b.count)
        var result = [Int](repeating: 1, count: rank)
        for axis in 0..<rank {
            let sizeA = axis < rank - a.count ? 1 : a[axis - (rank - a.count)]
            let sizeB = axis < rank - b.count ? 1 : b[axis - (rank - b.count)]
            if sizeA == sizeB || sizeB == 1 {
                result[axis] = sizeA
            } else if sizeA == 1 {
                result[axis] = sizeB
            } else {
                reportError(
                    "The size of tensor a (\(sizeA)) must match the size of tensor b (\(sizeB)) at non-singleton dimension \(axis)")
                return nil
            }
        }
        return result
    }

    /// Whether this tensor is a dense row-major array of `shape`, as the C kernels read one.
    func isDense(_ shape: [Int]) -> Bool { isContiguous && self.shape == shape }

    /// Whether every element is the one stored element (a 0-dim number or a broadcast of it),
    /// as the C kernels' number operands are read.
    var isBroadcastNumber: Bool { strides.allSatisfy { $0 == 0 } }

    /// A view of this tensor broadcast to `shape` (stride 0 along expanded dimensions); the
    /// caller has checked that the shapes are compatible.
    func broadcastView(to shape: [Int]) -> Tensor {
        if shape == self.shape { return self }
        let lead = shape.count - self.shape.count
        var newStrides = [Int](repeating: 0, count: shape.count)
        for axis in self.shape.indices where self.shape[axis] == shape[axis + lead] {
            newStrides[axis + lead] = strides[axis]
        }
        return Tensor(storage: storage, shape: shape, strides: newStrides, offset: offset, dtype: dtype, version: separateVersion)
    }

    /// Sums a broadcast gradient back to `shape` (PyTorch's `sum_to`).
    func sumTo(_ shape: [Int]) -> Tensor {
        if self.shape == shape { return self }
        let lead = self.shape.count - shape.count
        guard lead >= 0 else { return self.reshape(shape) }
        var dims = Array(0..<lead)
        for axis in shape.indices where shape[axis] == 1 && self.shape[axis + lead] != 1 { dims.append(axis + lead) }
        var result = dims.isEmpty ? self : sum(dims: dims, keepdim: true)
        if lead > 0 { result = result.reshape(shape) }
        return result
    }
}
