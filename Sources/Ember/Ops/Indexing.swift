// Indexing: subscripts (integers, ranges, masks, index tensors), indexSelect, gather, scatter.

import Synchronization

/// One position in a subscript: an integer, a range, a new axis, an ellipsis, or a tensor
/// (a bool mask, or integer indices).
///
/// ```swift
/// t[0]                      // select
/// t[1..<3, 2]               // slice, then select
/// t[TensorIndex.ellipsis, 0]
/// gradH[h .< 0] = 0         // boolean mask
/// ```
public enum TensorIndex: Sendable {
    /// One position along a dimension (negative counts from the end); removes the dimension.
    case index(Int)
    /// `start..<end` by `step`, bounds clamped as Python's slices are.
    case slice(start: Int?, end: Int?, step: Int)
    /// A new dimension of size 1 (`None` in PyTorch).
    case newAxis
    /// As many full slices as needed (`...`).
    case ellipsis
    /// A bool mask over the next dimensions, or integer indices along the next dimension.
    case tensor(Tensor)

    /// Every element along a dimension (`:`).
    public static let all = TensorIndex.slice(start: nil, end: nil, step: 1)
}

/// A value usable inside a tensor subscript.
public protocol TensorIndexConvertible {
    /// The subscript position this value stands for.
    var tensorIndex: TensorIndex { get }
}

extension TensorIndex: TensorIndexConvertible {
    /// Itself.
    public var tensorIndex: TensorIndex { self }
}
extension Int: TensorIndexConvertible {
    /// `.index(self)`.
    public var tensorIndex: TensorIndex { .index(self) }
}
extension Range<Int>: TensorIndexConvertible {
    /// `lowerBound..<upperBound`.
    public var tensorIndex: TensorIndex { .slice(start: lowerBound, end: upperBound, step: 1) }
}
extension ClosedRange<Int>: TensorIndexConvertible {
    /// `lowerBound...upperBound`.
    public var tensorIndex: TensorIndex { .slice(start: lowerBound, end: upperBound + 1, step: 1) }
}
extension PartialRangeFrom<Int>: TensorIndexConvertible {
    /// `lowerBound...`.
    public var tensorIndex: TensorIndex { .slice(start: lowerBound, end: nil, step: 1) }
}
extension PartialRangeUpTo<Int>: TensorIndexConvertible {
    /// `..<upperBound`.
    public var tensorIndex: TensorIndex { .slice(start: nil, end: upperBound, step: 1) }
}
extension PartialRangeThrough<Int>: TensorIndexConvertible {
    /// `...upperBound`.
    public var tensorIndex: TensorIndex { .slice(start: nil, end: upperBound + 1, step: 1) }
}
extension StrideTo<Int>: TensorIndexConvertible {
    /// `stride(from: a, to: b, by: s)` as the slice `a:b:s`.
    public var tensorIndex: TensorIndex {
        let mirror = Mirror(reflecting: self).children.map(\.value)
        return .slice(start: mirror[0] as? Int, end: mirror[1] as? Int, step: (mirror[2] as? Int) ?? 1)
    }
}
extension Tensor: TensorIndexConvertible {
    /// `.tensor(self)`: a mask or integer indices.
    public var tensorIndex: TensorIndex { .tensor(self) }
}

extension Tensor {
    /// The elements at the given positions: views for integers and ranges, copies for masks
    /// and index tensors. Assigning writes through, broadcasting and casting the value.
    public subscript(_ indices: any TensorIndexConvertible...) -> Tensor {
        get { index(indices.map(\.tensorIndex)) }
        set { assign(newValue, at: indices.map(\.tensorIndex)) }
    }

    /// The basic (view) part of an index expression applied, and the advanced tensor index that
    /// follows it, if any, with the dimension it starts at.
    private func applyBasicIndices(_ indices: [TensorIndex]) -> (view: Tensor, advanced: (Tensor, Int)?)? {
        if dim == 0, indices.contains(where: { if case .index = $0 { true } else { false } }) {
            reportError(
                "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
            return nil
        }
        let consumed = indices.reduce(0) { count, index in
            switch index {
            case .index, .slice: count + 1
            case .tensor(let t): count + (t.dtype == .bool ? Swift.max(t.dim, 1) : 1)
            case .newAxis, .ellipsis: count
            }
        }
        guard consumed <= dim else {
            reportError("too many indices for tensor of dimension \(dim)")
            return nil
        }
        var view = self
        // `axis` walks the view; `sourceAxis` the dimensions of `self`, which messages name.
        var axis = 0, sourceAxis = 0
        var advanced: (Tensor, Int)?
        for index in indices {
            switch index {
            case .index(let position):
                let size = view.shape[axis]
                guard position >= -size && position < size else {
                    reportError("index \(position) is out of bounds for dimension \(sourceAxis) with size \(size)")
                    return nil
                }
                view = view.select(dim: axis, index: position)
                sourceAxis += 1
            case .slice(let start, let end, let step):
                view = view.slice(dim: axis, start: start, end: end, step: step)
                axis += 1
                sourceAxis += 1
            case .newAxis:
                view = view.unsqueeze(axis)
                axis += 1
            case .ellipsis:
                axis += dim - consumed
                sourceAxis += dim - consumed
            case .tensor(let tensor):
                guard advanced == nil else {
                    reportError("indexing with more than one tensor index is not supported yet")
                    return nil
                }
                guard tensor.dtype == .bool || tensor.dtype == .uint8 || tensor.dtype == .int64 || tensor.dtype == .int32 else {
                    reportError("tensors used as indices must be long, int, byte or bool tensors")
                    return nil
                }
                advanced = (tensor, axis)
                axis += tensor.dtype == .bool ? Swift.max(tensor.dim, 1) : 1
                sourceAxis += tensor.dtype == .bool ? Swift.max(tensor.dim, 1) : 1
            }
        }
        return (view, advanced)
    }

    private func index(_ indices: [TensorIndex]) -> Tensor {
        guard let (view, advanced) = applyBasicIndices(indices) else { return self }
        guard let (indexTensor, axis) = advanced else { return view }
        if indexTensor.dtype == .bool || indexTensor.dtype == .uint8 {
            return view.maskedSelect(indexTensor.truthValues(), startingAt: axis)
        }
        var shape = view.shape
        shape.replaceSubrange(axis...axis, with: indexTensor.shape)
        return view.advancedIndex(axis: axis, index: indexTensor.reshape([-1]), resultShape: shape)
    }

    /// The slices at `index` (a vector; negatives count from the end) along `axis`, reshaped
    /// to `resultShape`, recorded as one `IndexBackward0` node whose backward adds the gradient
    /// back at the positions.
    private func advancedIndex(axis: Int, index: Tensor, resultShape: [Int]) -> Tensor {
        guard let selected = noGrad({ selectingSlices(axis: axis, index: index, op: .index) }) else { return self }
        let output = noGrad { selected.reshape(resultShape) }
        if Tensor.isRecording(self) {
            let shape = self.shape, selectedShape = selected.shape
            let savedIndex = index.detach()
            Tensor.record("IndexBackward0", inputs: [self], outputs: [output]) { gradients in
                [Tensor.addingSlicesToZeros(shape, axis: axis, index: savedIndex, gradient: gradients[0].reshape(selectedShape), op: .index)]
            }
        }
        return output
    }

    private func assign(_ value: Tensor, at indices: [TensorIndex]) {
        guard let (view, advanced) = applyBasicIndices(indices) else { return }
        guard checkAssignmentAllowed() else { return }
        if let (indexTensor, axis) = advanced {
            if indexTensor.dtype == .bool || indexTensor.dtype == .uint8 {
                view.maskedAssign(indexTensor.truthValues(), value, startingAt: axis, base: self)
            } else {
                let flat = indexTensor.reshape([-1])
                var shape = view.shape
                shape[axis] = flat.numel
                let source = value.broadcastView(to: Tensor.broadcastShapes(shape, value.shape) ?? shape)
                view.indexCopyInPlace(dim: axis, index: flat, source: source, base: self)
            }
            return
        }
        guard let shape = Tensor.broadcastShapes(view.shape, value.shape), shape == view.shape else {
            reportError("shape mismatch: value tensor of shape \(Tensor.describe(value.shape)) cannot be broadcast to indexing result of shape \(Tensor.describe(view.shape))")
            return
        }
        view.copyAssign(value, base: self)
    }

    /// PyTorch's refusal to write into a view of a leaf that requires grad.
    private func checkAssignmentAllowed() -> Bool {
        if GradMode.isEnabled && withAutogradLock({ storedGradFn == nil && leafRequiresGrad }) {
            reportError("a view of a leaf Variable that requires grad is being used in an in-place operation.")
            return false
        }
        return true
    }

    /// Writes `value` over this view of `base` in place, recording the change on `base`.
    private func copyAssign(_ value: Tensor, base: Tensor) {
        let recording = Tensor.isRecording(base, value)
        copyElements(from: value)
        base.version.bump()
        if recording { base.recordCopySlices(region: self, source: value) }
    }
}

// MARK: - Masks

extension Tensor {
    /// Checks that a mask covers dimensions `axis...` of this tensor.
    private func checkMask(_ mask: Tensor, startingAt axis: Int) -> Bool {
        for (position, size) in mask.shape.enumerated() where axis + position >= dim || shape[axis + position] != size {
            reportError(
                "The shape of the mask \(Tensor.describe(mask.shape)) at index \(position) does not match the shape of the indexed tensor \(Tensor.describe(shape)) at index \(axis + position)")
            return false
        }
        return true
    }

    /// The elements where `mask` is true, as `t[mask]` gives them (a copy, recorded as
    /// `IndexBackward0`).
    func maskedSelect(_ mask: Tensor, startingAt axis: Int = 0) -> Tensor {
        guard checkMask(mask, startingAt: axis) else { return self }
        if axis == 0, mask.dim == dim, dim > 0, device.kind == .cpu, mask.device.kind == .cpu, !Tensor.isRecording(self) {
            return compacted(by: mask)
        }
        let positions = mask.truePositions()
        let flatShape = Array(shape[..<axis]) + [mask.numel] + Array(shape[(axis + mask.dim)...])
        var resultShape = flatShape
        resultShape[axis] = positions.numel
        return reshape(flatShape).advancedIndex(axis: axis, index: positions, resultShape: resultShape)
    }

    /// `self[mask]` for a CPU bool mask of this tensor's own shape: the elements where it is
    /// true, in row-major order, each thread compacting its part of the elements straight into
    /// its place in the result, without a branch per element (a random mask would mispredict
    /// one on every other element) and without a list of positions.
    private func compacted(by mask: Tensor) -> Tensor {
        let source = contiguous(), flags = mask.contiguous()
        let count = numel, itemSize = dtype.itemSize
        let flagBytes = UnsafeRawPointer(flags.elementBytes).assumingMemoryBound(to: UInt8.self)
        let parts = Swift.max(1, Swift.min(Parallel.threadCount, count / Parallel.defaultGrain))
        let bounds = (0...parts).map { count * $0 / parts }
        let found = UnsafeMutableBufferPointer<Int>.allocate(capacity: parts)
        defer { found.deallocate() }
        Parallel.forRanges(count: parts, grain: 1) { range in
            for part in range { found[part] = Tensor.countTrue(flagBytes, in: bounds[part]..<bounds[part + 1]) }
        }
        let output = Tensor(uninitializedShape: [found.reduce(0, +)], dtype: dtype)
        let from = UnsafeRawPointer(source.elementBytes), to = output.elementBytes
        Parallel.forRanges(count: parts, grain: 1) { range in
            for part in range {
                let target = to + found[..<part].reduce(0, +) * itemSize, elements = bounds[part]..<bounds[part + 1]
                switch itemSize {
                case 1: Tensor.compact(UInt8.self, from, flagBytes, elements, into: target)
                case 2: Tensor.compact(UInt16.self, from, flagBytes, elements, into: target)
                case 4: Tensor.compact(UInt32.self, from, flagBytes, elements, into: target)
                default: Tensor.compact(UInt64.self, from, flagBytes, elements, into: target)
                }
            }
        }
        return output
    }

    /// How many of the bool bytes in `range` are true, eight at a time: bytes of 0 or 1 sum into
    /// the top byte of their product with 0x0101…01.
    static func countTrue(_ flags: UnsafePointer<UInt8>, in range: Range<Int>) -> Int {
        let raw = UnsafeRawPointer(flags)
        var total = 0, index = range.lowerBound
        while index + 8 <= range.upperBound {
            total &+= Int((raw.loadUnaligned(fromByteOffset: index, as: UInt64.self) &* 0x0101_0101_0101_0101) >> 56)
            index += 8
        }
        while index < range.upperBound {
            total &+= Int(flags[index])
            index += 1
        }
        return total
    }

    /// Copies the elements of `source` in `range` whose flag is true to `target`, in order. Every
    /// element up to the last true one is written and kept only if true, so a false one lands
    /// on a slot that the next true one overwrites, never past this range's own slots.
    static func compact<T>(_: T.Type, _ source: UnsafeRawPointer, _ flags: UnsafePointer<UInt8>, _ range: Range<Int>, into target: UnsafeMutableRawPointer) {
        guard let last = range.last(where: { flags[$0] != 0 }) else { return }
        let from = source.assumingMemoryBound(to: T.self), to = target.assumingMemoryBound(to: T.self)
        var written = 0
        for index in range.lowerBound...last {
            to[written] = from[index]
            written &+= Int(flags[index])
        }
    }

    /// Writes `value` where `mask` is true, in place (`t[mask] = value`).
    fileprivate func maskedAssign(_ mask: Tensor, _ value: Tensor, startingAt axis: Int, base: Tensor) {
        guard checkMask(mask, startingAt: axis) else { return }
        if value.numel == 1 {
            let expandedMask = mask.reshape(Array(repeating: 1, count: axis) + mask.shape + Array(repeating: 1, count: dim - axis - mask.dim))
                .broadcastView(to: shape)
            let recording = Tensor.isRecording(base, value)
            let scalar = value.converted(to: dtype).reshape([])
            dtype.dispatch(MaskedFillKernel(mask: expandedMask, value: scalar, tensor: self))
            base.version.bump()
            if recording {
                let savedMask = expandedMask.contiguous()
                let isWhole = self.storage === base.storage && self.shape == base.shape && self.strides == base.strides
                if isWhole {
                    base.recordInPlace("MaskedFillBackward0", inputs: [base.previousHistory(), value]) { gradients in
                        [gradients[0].maskedFill(savedMask, 0), Tensor.where(savedMask, gradients[0], 0).sum().reshape(value.shape)]
                    }
                }
            }
            return
        }
        let flatShape = Array(shape[..<axis]) + [mask.numel] + Array(shape[(axis + mask.dim)...])
        let flat = noGrad { view(flatShape) }
        flat.indexCopyInPlace(dim: axis, index: mask.truePositions(), source: value, base: base)
    }

    /// The indices of the nonzero elements, one row of coordinates per element in row-major
    /// order, as int64 (`torch.nonzero`).
    ///
    /// ```swift
    /// Tensor([0, 1, 2, 0] as [Float], shape: [2, 2]).nonzero()   // [[0, 1], [1, 0]]
    /// ```
    public func nonzero() -> Tensor {
        guard device.kind == .cuda else { return nonzeroOnCPU() }
        let positions = truePositions()
        guard dim > 0, positions.numel > 0 else { return Tensor(uninitializedShape: [positions.numel, dim], dtype: .int64, device: device) }
        return noGrad {
            // Each dimension's coordinate from the flat position, last dimension fastest.
            var coordinates: [Tensor] = [], stride = 1
            for size in shape.reversed() {
                let quotient = positions.div(Tensor(Int64(stride)), roundingMode: .trunc)
                coordinates.insert(quotient - quotient.div(Tensor(Int64(size)), roundingMode: .trunc) * size, at: 0)
                stride *= size
            }
            return Tensor.stack(coordinates, dim: 1)
        }
    }

    /// `nonzero()` in one pass over the mask per thread, each thread writing the coordinates of
    /// its part of the rows of the last dimension straight into its place in the result,
    /// carrying the leading coordinates instead of dividing positions, and without a branch per
    /// element (each element's coordinates are written, and kept only if it is true).
    private func nonzeroOnCPU() -> Tensor {
        let mask = truthValues().contiguous(), count = mask.numel
        let flags = UnsafeRawPointer(mask.elementBytes).assumingMemoryBound(to: UInt8.self)
        guard dim > 0 else { return Tensor(uninitializedShape: [Tensor.countTrue(flags, in: 0..<count), 0], dtype: .int64) }
        let shape = self.shape, last = shape[dim - 1], rows = last == 0 ? 0 : count / last
        let parts = Swift.max(1, Swift.min(Parallel.threadCount, count / Parallel.defaultGrain, rows))
        let rowBounds = (0...parts).map { rows * $0 / parts }
        let found = UnsafeMutableBufferPointer<Int>.allocate(capacity: parts)
        defer { found.deallocate() }
        Parallel.forRanges(count: parts, grain: 1) { range in
            for part in range { found[part] = Tensor.countTrue(flags, in: rowBounds[part] * last..<rowBounds[part + 1] * last) }
        }
        let output = Tensor(uninitializedShape: [found.reduce(0, +), dim], dtype: .int64)
        let out = output.elementPointer(as: Int64.self)
        Parallel.forRanges(count: parts, grain: 1) { range in
            for part in range {
                Tensor.writeCoordinates(
                    of: flags, shape: shape, rows: rowBounds[part]..<rowBounds[part + 1], into: out + found[..<part].reduce(0, +) * shape.count)
            }
        }
        return output
    }

    /// Writes the coordinates of the true flags in `rows` (rows of the last dimension of
    /// `shape`) to `target`, a row of coordinates each. Every element up to the last true one is
    /// written and kept only if true, so nothing lands past these rows' own slots.
    private static func writeCoordinates(of flags: UnsafePointer<UInt8>, shape: [Int], rows: Range<Int>, into target: UnsafeMutablePointer<Int64>) {
        let dim = shape.count, last = shape[dim - 1]
        guard let lastTrue = (rows.lowerBound * last..<rows.upperBound * last).last(where: { flags[$0] != 0 }) else { return }
        var leading = [Int64](repeating: 0, count: dim - 1), remaining = rows.lowerBound
        for axis in stride(from: dim - 2, through: 0, by: -1) {
            leading[axis] = Int64(remaining % shape[axis])
            remaining /= shape[axis]
        }
        var written = 0
        for row in rows where row * last <= lastTrue {
            let rowFlags = flags + row * last, columns = Swift.min(last, lastTrue - row * last + 1)
            if dim == 2 {
                // A matrix, the common case: two stores an element, no loop over the axes.
                let rowCoordinate = leading[0]
                for column in 0..<columns {
                    let at = target + 2 * written
                    at[0] = rowCoordinate
                    at[1] = Int64(column)
                    written &+= Int(rowFlags[column])
                }
            } else {
                leading.withUnsafeBufferPointer { leading in
                    for column in 0..<columns {
                        let at = target + written * dim
                        for axis in 0..<(dim - 1) { at[axis] = leading[axis] }
                        at[dim - 1] = Int64(column)
                        written &+= Int(rowFlags[column])
                    }
                }
            }
            advance(&leading, in: shape)
        }
    }

    /// Flat positions of the true elements, in row-major order, as int64 on this tensor's
    /// device (computed there: a GPU's mask does not come to the host).
    func truePositions() -> Tensor {
        if device.kind == .cuda { return truthValues().truePositionsOnGPU() }
        let positions = truePositionList()
        return Tensor(positions.map(Int64.init), shape: [positions.count])
    }

    /// Flat positions of the true elements of this CPU tensor, in row-major order.
    private func truePositionList() -> [Int] {
        let mask = truthValues().contiguous(), count = mask.numel
        let flags = UnsafeRawPointer(mask.elementBytes).assumingMemoryBound(to: UInt8.self)
        let found = Tensor.countTrue(flags, in: 0..<count)
        // Branch-free: every position is written, and the next one overwrites it unless true
        // (a random mask would mispredict a branch on every other element).
        return [Int](unsafeUninitializedCapacity: found + 1) { buffer, initialized in
            var written = 0
            for position in 0..<count {
                buffer[written] = position
                written &+= Int(flags[position])
            }
            initialized = written
        }
    }
}

private struct MaskedFillKernel: ElementVisitor {
    let mask: Tensor, value: Tensor, tensor: Tensor
    func visit<E: Element>(_ type: E.Type) {
        let broadcastValue = value.broadcastView(to: tensor.shape)
        if tensor.device.kind == .cuda { return Tensor.launchWhere(tensor, mask, broadcastValue, tensor) }
        if selectDense(E.self, condition: mask, a: broadcastValue, b: tensor, output: tensor) { return }
        let element = value.elementPointer(as: E.self)[0]
        mapElements(into: tensor, mask, tensor, Map(element: element))
    }

    struct Map<E: Element>: BinaryElementFunction {
        let element: E
        @inline(__always) func callAsFunction(_ take: Bool, _ x: E) -> E { take ? element : x }
    }
}

// MARK: - Index ops

/// The ops that index along one dimension with an index tensor: the name they go by, and which
/// accept negative indices (the subscripts, as Python's lists do; `index_select`, `index_add`,
/// `gather` and `scatter` refuse them, as PyTorch's do).
enum IndexingOp: Int32, Sendable {
    case index = 1, indexPut, indexSelect, indexAdd, gather, scatter, scatterAdd

    /// PyTorch's name for the op.
    var name: String {
        switch self {
        case .index: "index"
        case .indexPut: "index_put"
        case .indexSelect: "index_select"
        case .indexAdd: "index_add"
        case .gather: "gather"
        case .scatter: "scatter"
        case .scatterAdd: "scatter_add"
        }
    }

    /// Whether `-size..<0` counts from the end, as in `t[Tensor([-1])]`.
    var countsNegativeFromEnd: Bool { self == .index || self == .indexPut }

    /// PyTorch's message for an index outside the dimension.
    func outOfRangeMessage(_ index: Int, axis: Int, size: Int) -> String {
        self == .indexSelect ? "index out of range in self" : "index \(index) is out of bounds for dimension \(axis) with size \(size)"
    }
}

extension Tensor {
    /// An index tensor's values, checked against dimension `axis` (negatives counted from the
    /// end where `op` takes them).
    private func indexValues(_ index: Tensor, op: IndexingOp, axis: Int) -> [Int]? {
        guard Self.checkIndexDType(index, op: op) else { return nil }
        let values = index.toArray(as: Int.self)
        let size = dim == 0 ? 1 : shape[axis]
        // The range from the extremes, in a loop that vectorizes (a check per value in a `map`
        // took a fifth of a 4096-row `index_select`); negatives are wrapped only if there are any.
        var (lowest, highest) = (0, 0)
        if let first = values.first {
            (lowest, highest) = (first, first)
            for value in values { (lowest, highest) = (Swift.min(lowest, value), Swift.max(highest, value)) }
        }
        let inRange = lowest >= (op.countsNegativeFromEnd ? -size : 0) && highest < size
        guard inRange || checkIndexRange(values, op: op, axis: axis) else { return nil }
        return lowest < 0 ? values.map { $0 < 0 ? $0 + size : $0 } : values
    }

    /// Whether `index` holds integers an index op takes (int64 or int32); reports it if not.
    private static func checkIndexDType(_ index: Tensor, op: IndexingOp) -> Bool {
        guard index.dtype != .int64 && index.dtype != .int32 else { return true }
        reportError("\(op.name)(): Expected dtype int32 or int64 for index")
        return false
    }

    /// Whether `indices` all fall in dimension `axis` (negatives counting from the end where `op`
    /// takes them); reports the first that does not.
    private func checkIndexRange(_ indices: [Int], op: IndexingOp, axis: Int) -> Bool {
        let size = dim == 0 ? 1 : shape[axis]
        let lowest = op.countsNegativeFromEnd ? -size : 0
        guard let bad = indices.first(where: { $0 < lowest || $0 >= size }) else { return true }
        reportError(op.outOfRangeMessage(bad, axis: axis, size: size))
        return false
    }

    /// The index vector `index` as this GPU tensor's index kernels take it: int64 on its
    /// device. An index on the CPU is checked here, at once; one on the GPU is left to the kernel
    /// (see `CUDAIndexErrors`), so that the host does not wait for the GPU to read it.
    private func deviceIndex(_ index: Tensor, op: IndexingOp, axis: Int) -> (values: Tensor, checkedByHost: Bool)? {
        guard index.device != device else {
            guard Self.checkIndexDType(index, op: op) else { return nil }
            return (index.reshape([-1]).converted(to: .int64), false)
        }
        guard let positions = indexValues(index, op: op, axis: axis) else { return nil }
        return (Tensor(positions.map(Int64.init), shape: [positions.count], device: device), true)
    }

    /// The slices at `index` (a vector) along `axis`, without autograd: one gather kernel on a
    /// GPU.
    private func selectingSlices(axis: Int, index: Tensor, op: IndexingOp) -> Tensor? {
        if device.kind == .cuda && dim > 0 {
            guard let (values, checkedByHost) = deviceIndex(index, op: op, axis: axis) else { return nil }
            var resultShape = shape, indexShape = Array(repeating: 1, count: dim)
            resultShape[axis] = values.numel
            indexShape[axis] = values.numel
            let output = Tensor(uninitializedShape: resultShape, dtype: dtype, device: device)
            Tensor.launchIndex(
                gathering: true, for: op, axis: axis, index: values.reshape(indexShape).expand(resultShape), output: output, source: self,
                checkedByHost: checkedByHost)
            return output
        }
        guard let positions = indexValues(index, op: op, axis: axis) else { return nil }
        var resultShape = shape
        if dim > 0 { resultShape[axis] = positions.count }
        let output = Tensor(uninitializedShape: resultShape, dtype: dtype, device: device)
        guard dim > 0 else {
            for (slot, position) in positions.enumerated() {
                output.sliceView(axis, slot).copyElements(from: sliceView(axis, position))
            }
            return output
        }
        RowLayout(shape, axis: axis).copyRows(
            from: contiguous(), at: positions, into: output, at: nil, parallel: true, itemSize: dtype.itemSize)
        return output
    }

    /// A copy with `source`'s slices added at `index` (a vector) along `axis`, without
    /// autograd. `source` has this tensor's shape but for `axis`, where it has the index's length.
    private func addingSlices(axis: Int, index: Tensor, source: Tensor, op: IndexingOp) -> Tensor? {
        let output = clone()
        return output.addSlices(axis: axis, index: index, source: source, op: op) ? output : nil
    }

    /// Adds `source`'s slices at `index` along `axis` in place, without autograd: one atomic
    /// scatter_add kernel on a GPU. False after reporting a bad index.
    private func addSlices(axis: Int, index: Tensor, source: Tensor, op: IndexingOp) -> Bool {
        if device.kind == .cuda && dim > 0 && source.dim == dim {
            guard let (values, checkedByHost) = deviceIndex(index, op: op, axis: axis) else { return false }
            var indexShape = Array(repeating: 1, count: dim)
            indexShape[axis] = values.numel
            Tensor.launchIndex(
                gathering: false, adding: true, for: op, axis: axis, index: values.reshape(indexShape).expand(source.shape), output: self,
                source: source.converted(to: dtype), checkedByHost: checkedByHost)
            return true
        }
        guard let positions = indexValues(index, op: op, axis: axis) else { return false }
        if dim > 0 && source.dim == dim {
            dtype.dispatch(AddRowsKernel(layout: RowLayout(shape, axis: axis), positions: positions, source: source.converted(to: dtype).contiguous(), target: self))
            return true
        }
        for (slot, position) in positions.enumerated() {
            let target = sliceView(axis, position)
            target.copyElements(from: target + source.sliceView(axis, slot))
        }
        return true
    }

    /// The derivative of selecting slices at `index` along `axis`: `gradient`'s slices added
    /// back into zeros of the input's `shape` (differentiably, as `IndexAddBackward0`, under
    /// `createGraph`).
    private static func addingSlicesToZeros(_ shape: [Int], axis: Int, index: Tensor, gradient: Tensor, op: IndexingOp) -> Tensor {
        zeros(
            shape, receiving: gradient, write: { _ = $0.addSlices(axis: axis, index: index, source: gradient, op: op) },
            recorded: { $0.indexAdding(axis: axis, index: index, source: gradient, op: op) ?? $0 })
    }

    /// `selectingSlices`, recorded as `IndexSelectBackward0`, whose backward adds the gradient
    /// back at the positions.
    private func indexSelecting(axis: Int, index: Tensor, op: IndexingOp) -> Tensor? {
        guard let output = noGrad({ selectingSlices(axis: axis, index: index, op: op) }) else { return nil }
        if Tensor.isRecording(self) {
            let shape = self.shape
            let savedIndex = index.detach()
            Tensor.record("IndexSelectBackward0", inputs: [self], outputs: [output]) { gradients in
                [Tensor.addingSlicesToZeros(shape, axis: axis, index: savedIndex, gradient: gradients[0], op: op)]
            }
        }
        return output
    }

    /// `addingSlices`, recorded as `IndexAddBackward0`, whose backward passes the gradient on
    /// and selects the source's slices from it.
    private func indexAdding(axis: Int, index: Tensor, source: Tensor, op: IndexingOp) -> Tensor? {
        guard let output = noGrad({ addingSlices(axis: axis, index: index, source: source, op: op) }) else { return nil }
        if Tensor.isRecording(self, source) {
            let savedIndex = index.detach()
            Tensor.record("IndexAddBackward0", inputs: [self, source], outputs: [output]) { gradients in
                [gradients[0], gradients[0].indexSelecting(axis: axis, index: savedIndex, op: op) ?? gradients[0]]
            }
        }
        return output
    }

    /// The slices at `index` along `dim`, in order (`index_select`).
    public func indexSelect(dim: Int, index: Tensor) -> Tensor {
        let axis = normalizedDim(dim)
        guard index.dim <= 1 else {
            reportError("index_select(): Index is supposed to be a vector")
            return self
        }
        return indexSelecting(axis: axis, index: index, op: .indexSelect) ?? self
    }

    /// The slice at `position` along `axis`, keeping the dimension (size 1), without autograd.
    private func sliceView(_ axis: Int, _ position: Int) -> Tensor {
        guard dim > 0 else { return self }
        var newShape = shape
        newShape[axis] = 1
        return makeView(shape: newShape, strides: strides, offset: offset + position * strides[axis])
    }

    /// A copy with `source`'s slices added at `index` along `dim` (`index_add`): `source` has
    /// this tensor's shape and dtype but along `dim`, where it has one slice per index.
    public func indexAdd(dim: Int, index: Tensor, source: Tensor) -> Tensor {
        let axis = normalizedDim(dim)
        guard index.dim <= 1 else {
            reportError(
                "index_add_(): Index is supposed to be a vector, but got dim: \(index.dim) with type: \(index.dtype.scalarTypeName) and size: \(Tensor.describe(index.shape))")
            return self
        }
        guard index.dtype == .int64 || index.dtype == .int32 else {
            reportError("index_add_(): Expected dtype int32/int64 for index but got: \(index.dtype.scalarTypeName)")
            return self
        }
        guard dtype == source.dtype else {
            reportError("index_add_(): self (\(dtype.scalarTypeName)) and source (\(source.dtype.scalarTypeName)) must have the same scalar type")
            return self
        }
        guard axis == 0 || axis < source.dim else {
            reportError("index_add_(): Indexing dim \(axis) is out of bounds of the source tensor with dim \(source.dim)")
            return self
        }
        let sliceCount = source.dim == 0 ? 1 : source.shape[axis]
        guard index.numel == sliceCount else {
            reportError("index_add_(): Number of indices (\(index.numel)) should be equal to source.size(dim): (\(sliceCount)), for dim: \(axis)")
            return self
        }
        var expectedShape = shape
        if self.dim > 0 { expectedShape[axis] = index.numel }
        guard source.shape == expectedShape || (self.dim == 0 && source.numel == 1) else {
            reportError(
                "source tensor shape must match self tensor shape, excluding the specified dimension. Got self.shape = \(Tensor.describe(shape)) source.shape = \(Tensor.describe(source.shape))")
            return self
        }
        return indexAdding(axis: axis, index: index, source: source, op: .indexAdd) ?? self
    }

    /// Copies `source`'s slices to positions `index` along `dim` in place (index_put / setitem):
    /// one scatter kernel on a GPU.
    fileprivate func indexCopyInPlace(dim axis: Int, index: Tensor, source: Tensor, base: Tensor) {
        var sourceShape = shape
        sourceShape[axis] = index.numel
        let onGPU = device.kind == .cuda && dim > 0
        let positions = onGPU ? nil : indexValues(index, op: .indexPut, axis: axis)
        guard onGPU || positions != nil else { return }
        guard let broadcast = Tensor.broadcastShapes(sourceShape, source.shape), broadcast == sourceShape else {
            reportError("shape mismatch: value tensor of shape \(Tensor.describe(source.shape)) cannot be broadcast to indexing result of shape \(Tensor.describe(sourceShape))")
            return
        }
        let values = source.broadcastView(to: sourceShape)
        if let positions, dim > 0 && isContiguous {
            // In order, so that the last of repeated positions wins, as on PyTorch's CPU.
            RowLayout(shape, axis: axis).copyRows(
                from: noGrad { values.converted(to: dtype).contiguous() }, at: nil, into: self, at: positions, parallel: false,
                itemSize: dtype.itemSize)
        } else if let positions {
            for (slot, position) in positions.enumerated() {
                sliceView(axis, position).copyElements(from: values.sliceView(axis, slot))
            }
        } else {
            guard let (deviceValues, checkedByHost) = deviceIndex(index, op: .indexPut, axis: axis) else { return }
            var indexShape = Array(repeating: 1, count: dim)
            indexShape[axis] = deviceValues.numel
            Tensor.launchIndex(
                gathering: false, for: .indexPut, axis: axis, index: deviceValues.reshape(indexShape).expand(sourceShape), output: self,
                source: values.converted(to: dtype), checkedByHost: checkedByHost)
        }
        base.version.bump()
    }

    /// Values picked along `dim` by `index`: `out[i][j] = self[i][index[i][j]]` for dim 1
    /// (`torch.gather`).
    public func gather(dim: Int, index: Tensor) -> Tensor {
        let axis = normalizedDim(dim)
        guard index.dim == self.dim else {
            reportError("Index tensor must have the same number of dimensions as input tensor")
            return self
        }
        guard index.dtype == .int64 || index.dtype == .int32 else {
            reportError("gather(): Expected dtype int64 for index")
            return self
        }
        let output = Tensor(uninitializedShape: index.shape, dtype: dtype, device: device)
        guard scatterGather(.gather, index: index, axis: axis, other: output, src: nil) else { return self }
        if Tensor.isRecording(self) {
            let shape = self.shape
            let savedIndex = index.detach()
            Tensor.record("GatherBackward0", inputs: [self], outputs: [output]) { gradients in
                let gradient = gradients[0]
                return [
                    Tensor.zeros(
                        shape, receiving: gradient,
                        write: { _ = $0.scatterGather(.scatterAdd, index: savedIndex, axis: axis, other: gradient, src: gradient) },
                        recorded: { $0.scatterAdd(dim: axis, index: savedIndex, src: gradient) })
                ]
            }
        }
        return output
    }

    /// A copy with `src`'s values written at `index` along `dim` (`torch.scatter`).
    public func scatter(dim: Int, index: Tensor, src: Tensor) -> Tensor {
        let axis = normalizedDim(dim)
        let output = noGrad { clone() }
        guard output.scatterGather(.scatter, index: index, axis: axis, other: src.converted(to: dtype), src: src) else { return self }
        if Tensor.isRecording(self, src) {
            let savedIndex = index.detach()
            Tensor.record("ScatterBackward0", inputs: [self, src], outputs: [output]) { gradients in
                [gradients[0].scatter(dim: axis, index: savedIndex, value: 0), gradients[0].gather(dim: axis, index: savedIndex)]
            }
        }
        return output
    }

    /// A copy with `value` written at `index` along `dim` (`torch.scatter` with a scalar).
    public func scatter<S: TensorScalar>(dim: Int, index: Tensor, value: S) -> Tensor {
        let axis = normalizedDim(dim)
        let output = noGrad { clone() }
        let source = Tensor.full(index.shape, ScalarValue(value), dtype: dtype, device: device)
        guard output.scatterGather(.scatter, index: index, axis: axis, other: source, src: nil) else { return self }
        if Tensor.isRecording(self) {
            let savedIndex = index.detach()
            Tensor.record("ScatterBackward1", inputs: [self], outputs: [output]) { gradients in
                [gradients[0].scatter(dim: axis, index: savedIndex, value: 0)]
            }
        }
        return output
    }

    /// A copy with `src`'s values added at `index` along `dim` (`torch.scatter_add`).
    public func scatterAdd(dim: Int, index: Tensor, src: Tensor) -> Tensor {
        let axis = normalizedDim(dim)
        let output = noGrad { clone() }
        guard output.scatterGather(.scatterAdd, index: index, axis: axis, other: src.converted(to: dtype), src: src) else { return self }
        if Tensor.isRecording(self, src) {
            let savedIndex = index.detach()
            Tensor.record("ScatterAddBackward0", inputs: [self, src], outputs: [output]) { gradients in
                [gradients[0], gradients[0].gather(dim: axis, index: savedIndex)]
            }
        }
        return output
    }

    /// PyTorch's limits on the index of gather and scatter: no larger than this tensor but along
    /// `axis`, and no larger than `src` anywhere, so that every position it names exists.
    private func checkIndexShape(_ index: Tensor, axis: Int, gathering: Bool, src: Tensor?) -> Bool {
        guard gathering || index.numel > 0 else { return true }
        let size = { (tensor: Tensor, d: Int) in tensor.dim == 0 ? 1 : tensor.shape[d] }
        let dims = 0..<Swift.max(dim, 1)
        if gathering {
            guard let d = dims.first(where: { $0 != axis && size(index, $0) > size(self, $0) }) else { return true }
            reportError(
                "Size does not match at dimension \(d) expected index \(Tensor.describe(index.shape)) to be no larger than self \(Tensor.describe(shape)) apart from dimension \(axis)")
            return false
        }
        if let src, Swift.max(src.dim, 1) != Swift.max(index.dim, 1) {
            reportError("Index tensor must have the same number of dimensions as src tensor")
            return false
        }
        let fitsSelf = dims.allSatisfy { $0 == axis || size(index, $0) <= size(self, $0) }
        let fitsSource = src.map { src in dims.allSatisfy { size(index, $0) <= size(src, $0) } } ?? true
        guard !fitsSelf || !fitsSource else { return true }
        let bound = src.map { " and to be no larger size than src \(Tensor.describe($0.shape))" } ?? ""
        reportError("Expected index \(Tensor.describe(index.shape)) to be no larger than self \(Tensor.describe(shape)) apart from dimension \(axis)" + bound)
        return false
    }

    /// The shared loop of gather and scatter: walks `index`, pairing each position with this
    /// tensor's element whose `axis` coordinate is the index value, and with `other`'s (the
    /// gather's output, or what scatters: `src`, or the value filled to the index's shape).
    func scatterGather(_ op: IndexingOp, index: Tensor, axis: Int, other: Tensor, src: Tensor?) -> Bool {
        let gathering = op == .gather
        guard index.dim == dim else {
            reportError("Index tensor must have the same number of dimensions as \(gathering ? "input" : "self") tensor")
            return false
        }
        guard checkIndexShape(index, axis: axis, gathering: gathering, src: src) else { return false }
        if device.kind == .cuda && dim > 0 {
            let checkedByHost = index.device != device
            if checkedByHost && !checkIndexRange(index.toArray(as: Int.self), op: op, axis: axis) { return false }
            let deviceIndex = index.to(device).converted(to: .int64)
            if gathering {
                Tensor.launchIndex(
                    gathering: true, for: op, axis: axis, index: deviceIndex, output: other, source: self, checkedByHost: checkedByHost)
            } else {
                Tensor.launchIndex(
                    gathering: false, adding: op == .scatterAdd, for: op, axis: axis, index: deviceIndex, output: self, source: other,
                    checkedByHost: checkedByHost)
                version.bump()
            }
            return true
        }
        if device.kind == .cuda {
            guard checkIndexRange(index.toArray(as: Int.self), op: op, axis: axis) else { return false }
            // A 0-dim tensor: the CPU's loop on host copies.
            let (hostSelf, hostOther) = (copied(to: .cpu), other.copied(to: .cpu))
            _ = hostSelf.scatterGather(op, index: index.to(.cpu), axis: axis, other: hostOther, src: nil)
            if gathering {
                other.copyElements(from: hostOther)
            } else {
                copyElements(from: hostSelf)
                version.bump()
            }
            return true
        }
        // The index read where it lies, int64 and dense: converting it to `[Int]` first took a
        // tenth of a 40,960-element gather. A scatter checks it all before writing; a gather,
        // which writes only its own output, checks each value as it reads it (a pass of its own
        // had taken 6%), and looks for the first bad value only if there is one.
        let indices = index.converted(to: .int64).contiguous()
        let values = UnsafeBufferPointer(start: indices.elementPointer(as: Int64.self), count: indices.numel)
        return withExtendedLifetime(indices) {
            guard gathering || checkIndexRange(values, op: op, axis: axis) else { return false }
            let allInRange = dtype.dispatch(
                ScatterGatherKernel(tensor: self, other: other, indexShape: index.shape, indices: values.baseAddress!, axis: axis, op: op))
            if !gathering { version.bump() }
            return allInRange || checkIndexRange(values, op: op, axis: axis)
        }
    }

    /// Whether `indices` all fall in dimension `axis`; reports the first that does not. A value
    /// shifted to `x` in `0..<limit` has neither `x` nor `limit - 1 - x` negative, so one OR of
    /// both over all values tells, in a loop that vectorizes with the baseline's 64-bit adds (a
    /// min and max did not: 12% of a 40,960-element gather).
    private func checkIndexRange(_ indices: UnsafeBufferPointer<Int64>, op: IndexingOp, axis: Int) -> Bool {
        let size = Int64(dim == 0 ? 1 : shape[axis])
        let (shift, limit) = op.countsNegativeFromEnd ? (size, 2 * size) : (0, size)
        var signs: Int64 = 0
        for value in indices {
            let shifted = value &+ shift
            signs |= shifted | (limit &- 1 &- shifted)
        }
        return signs >= 0 || checkIndexRange(indices.map(Int.init), op: op, axis: axis)
    }
}

/// The CPU loop of gather and scatter: a row of the index's last dimension at a time, the
/// offsets of both tensors stepping by their strides along it, and from row to row by one
/// stride where the leading dimensions merge (`uniformRowStride`), else by the leading
/// coordinates carried along. A gather writes each output element once, so its rows are split
/// across threads (40,960 elements picked from a 4096×1000 float matrix had taken 313–440 µs
/// on one thread, PyTorch 59–71 on two). A scatter writes in index order: along the index's
/// last dimension each of its rows writes a row of its own, so they are split too (gather's
/// gradient over 4096×1000 took 0.3 ms of CPU on one thread); along another, it runs on one.
/// The offsets wrap rather than trap on overflow (the shapes were checked): the loop with
/// overflow checks took 2.2x as long, and a gather along a dense last dimension into a dense
/// row has a loop of its own. A gather checks each index before it reads there, and returns
/// false if one was outside the dimension (its thread stops there); a scatter's were checked
/// before it ran.
private struct ScatterGatherKernel: ElementVisitor {
    let tensor: Tensor, other: Tensor, indexShape: [Int], indices: UnsafePointer<Int64>, axis: Int, op: IndexingOp
    func visit<E: Element>(_ type: E.Type) -> Bool {
        let count = indexShape.reduce(1, *)
        guard count > 0 else { return true }
        let base = tensor.storage.pointer(as: E.self), otherBase = other.storage.pointer(as: E.self)
        // A 0-dim tensor as one element along one dimension.
        let shape = indexShape.isEmpty ? [1] : indexShape, last = shape.count - 1
        let (selfStrides, otherStrides) = (tensor.dim == 0 ? [0] : tensor.strides, other.dim == 0 ? [0] : other.strides)
        let (rowLength, axisStride) = (shape[last], selfStrides[axis])
        let (selfStep, otherStep) = (axis == last ? 0 : selfStrides[last], otherStrides[last])
        let (selfOffset, otherOffset, op, indices) = (tensor.offset, other.offset, op, indices)
        let axisSize = UInt64(tensor.dim == 0 ? 1 : tensor.shape[axis]), allInRange = Atomic<Bool>(true)
        let rowsAreDisjoint = op == .gather || axis == last
        let leadingSelfStrides = (0..<last).map { $0 == axis ? 0 : selfStrides[$0] }
        let rowStrides = uniformRowStride(leadingSelfStrides, shape).flatMap { selfStride in
            uniformRowStride(Array(otherStrides.prefix(last)), shape).map { (tensor: selfStride, other: $0) }
        }
        Parallel.forRanges(count: count / rowLength, grain: rowsAreDisjoint ? Swift.max(1, 16_384 / rowLength) : count + 1) { range in
            // The first row's coordinates over the leading dimensions, row-major.
            var leading = [Int](repeating: 0, count: rowStrides == nil ? last : 0), remaining = range.lowerBound
            for axisIndex in (0..<leading.count).reversed() {
                leading[axisIndex] = remaining % shape[axisIndex]
                remaining /= shape[axisIndex]
            }
            for row in range {
                var (selfRow, otherRow) = (selfOffset, otherOffset)
                if let rowStrides {
                    selfRow &+= row &* rowStrides.tensor
                    otherRow &+= row &* rowStrides.other
                } else {
                    for axisIndex in 0..<last {
                        selfRow &+= leading[axisIndex] &* leadingSelfStrides[axisIndex]
                        otherRow &+= leading[axisIndex] &* otherStrides[axisIndex]
                    }
                    advance(&leading, in: shape)
                }
                let (rowIndices, selfElements, otherElements) = (indices + row &* rowLength, base + selfRow, otherBase + otherRow)
                switch op {
                case .gather where selfStep == 0 && otherStep == 1:
                    for column in 0..<rowLength {
                        let index = rowIndices[column]
                        guard UInt64(bitPattern: index) < axisSize else { return allInRange.store(false, ordering: .relaxed) }
                        otherElements[column] = selfElements[Int(index) &* axisStride]
                    }
                case .gather:
                    for column in 0..<rowLength {
                        let index = rowIndices[column]
                        guard UInt64(bitPattern: index) < axisSize else { return allInRange.store(false, ordering: .relaxed) }
                        otherElements[column &* otherStep] = selfElements[column &* selfStep &+ Int(index) &* axisStride]
                    }
                case .scatterAdd:
                    for column in 0..<rowLength {
                        let at = column &* selfStep &+ Int(rowIndices[column]) &* axisStride
                        selfElements[at] = E(compute: .add(selfElements[at].compute, otherElements[column &* otherStep].compute))
                    }
                default:
                    for column in 0..<rowLength {
                        selfElements[column &* selfStep &+ Int(rowIndices[column]) &* axisStride] = otherElements[column &* otherStep]
                    }
                }
            }
        }
        return allInRange.load(ordering: .relaxed)
    }
}

/// The one stride between consecutive rows over the leading dimensions of `shape` (those
/// `strides` covers, row-major), or nil when they do not merge into one: a 2-d tensor's row
/// stride, say. Carrying each row's coordinates instead took a third of the time of a gather
/// of 10 from each of 4096 rows of 1000 floats: 193–201 µs on one thread, now 123–134
/// (PyTorch 79–82; a plain loop with the row length a constant, 63–76).
private func uniformRowStride(_ strides: [Int], _ shape: [Int]) -> Int? {
    let spanned = strides.indices.filter { shape[$0] != 1 }  // a dimension of 1 adds nothing to an offset
    guard let last = spanned.last else { return 0 }
    for (outer, inner) in zip(spanned, spanned.dropFirst()) where strides[outer] != strides[inner] &* shape[inner] {
        return nil
    }
    return strides[last]
}

/// Moves `coordinates`, over the leading dimensions of `shape`, to the next position in
/// row-major order (back to all zeros after the last).
private func advance<T: FixedWidthInteger>(_ coordinates: inout [T], in shape: [Int]) {
    var axis = coordinates.count - 1
    while axis >= 0 {
        coordinates[axis] += 1
        if coordinates[axis] < T(shape[axis]) { return }
        coordinates[axis] = 0
        axis -= 1
    }
}

/// A contiguous tensor seen as `[outer, rows, inner]` around the indexed dimension, for the
/// CPU's index ops: a slice along that dimension is `outer` runs of `inner` elements.
private struct RowLayout {
    let outer: Int, rows: Int, inner: Int

    init(_ shape: [Int], axis: Int) {
        outer = shape[..<axis].reduce(1, *)
        rows = shape[axis]
        inner = shape[(axis + 1)...].reduce(1, *)
    }

    /// `target[o, targetRows[j], :] = source[o, sourceRows[j], :]` for every slot `j` (a nil
    /// list is `j` itself), both contiguous, `target` shaped as this layout when `targetRows`
    /// is given, `source` when `sourceRows` is. Copies bytes: the dtypes are the same.
    func copyRows(from source: Tensor, at sourceRows: [Int]?, into target: Tensor, at targetRows: [Int]?, parallel: Bool, itemSize: Int) {
        let slots = (sourceRows ?? targetRows)!.count
        let (sourceSize, targetSize) = (sourceRows == nil ? slots : rows, targetRows == nil ? slots : rows)
        let from = UnsafeRawPointer(source.elementBytes), to = target.elementBytes
        let rowBytes = inner * itemSize, inner = inner
        func run(_ range: Range<Int>) {
            for item in range {
                let (o, slot) = item.quotientAndRemainder(dividingBy: slots)
                let sourceRow = o * sourceSize + (sourceRows?[slot] ?? slot), targetRow = o * targetSize + (targetRows?[slot] ?? slot)
                let (a, b) = (from + sourceRow * rowBytes, to + targetRow * rowBytes)
                // One element: a typed move, not a call to memcpy per element (masks select so).
                switch (inner, itemSize) {
                case (1, 8): b.storeBytes(of: a.load(as: UInt64.self), as: UInt64.self)
                case (1, 4): b.storeBytes(of: a.load(as: UInt32.self), as: UInt32.self)
                case (1, 2): b.storeBytes(of: a.load(as: UInt16.self), as: UInt16.self)
                default: b.copyMemory(from: a, byteCount: rowBytes)
                }
            }
        }
        if parallel {
            Parallel.forRanges(count: outer * slots, grain: Swift.max(1, Parallel.defaultGrain / Swift.max(inner, 1)), run)
        } else {
            run(0..<outer * slots)
        }
    }
}

/// `target[o, positions[j], :] += source[o, j, :]` in place, slot after slot (repeated positions
/// add up in order, as on PyTorch's CPU), in each dtype's arithmetic.
private struct AddRowsKernel: ElementVisitor {
    let layout: RowLayout, positions: [Int], source: Tensor, target: Tensor
    func visit<E: Element>(_ type: E.Type) {
        let from = source.elementPointer(as: E.self), to = target.elementPointer(as: E.self)
        let (rows, inner, slots) = (layout.rows, layout.inner, positions.count)
        // Threads split each row's columns, in whole cache lines, not the rows: a repeated
        // position is then added by one thread, in the index's order, as on one thread, and
        // each thread waits on its own misses (4096 random rows of 64 floats: 115 -> ~65 µs).
        let lines = (inner * MemoryLayout<E>.stride + 63) / 64, perLine = Swift.max(1, 64 / MemoryLayout<E>.stride)
        let grain = Swift.max(1, Parallel.defaultGrain / Swift.max(1, layout.outer * slots * perLine))
        Parallel.forRanges(count: lines, grain: grain) { lineRange in
            let columns = lineRange.lowerBound * perLine..<Swift.min(inner, lineRange.upperBound * perLine)
            for o in 0..<layout.outer {
                for (slot, position) in positions.enumerated() {
                    let a = from + (o * slots + slot) * inner, b = to + (o * rows + position) * inner
                    for i in columns { b[i] = E(compute: .add(b[i].compute, a[i].compute)) }
                }
            }
        }
    }
}
