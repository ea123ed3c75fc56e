/// Walks several operands of one shape in row-major order, each with its own strides.
///
/// Dimensions of size 1 are dropped and neighbouring dimensions that every operand lays out
/// contiguously are merged, so most loops become one long row (PyTorch's TensorIterator does
/// the same); the kernel then runs over rows with a contiguous fast path.
struct StridedLoop {
    /// Coalesced sizes, outermost first; never empty.
    let shape: [Int]
    /// Per operand, strides in elements for the coalesced dimensions.
    let strides: [[Int]]
    /// The number of elements.
    let count: Int

    init(shape: [Int], strides operandStrides: [[Int]]) {
        var sizes: [Int] = []
        var strides = [[Int]](repeating: [], count: operandStrides.count)
        for axis in shape.indices where shape[axis] != 1 {
            if let last = sizes.indices.last,
                operandStrides.indices.allSatisfy({ strides[$0][last] == operandStrides[$0][axis] * shape[axis] })
            {
                sizes[last] *= shape[axis]
                for k in strides.indices { strides[k][last] = operandStrides[k][axis] }
            } else {
                sizes.append(shape[axis])
                for k in strides.indices { strides[k].append(operandStrides[k][axis]) }
            }
        }
        if sizes.isEmpty {
            sizes = [shape.contains(0) ? 0 : 1]
            strides = strides.map { _ in [1] }
        }
        self.shape = sizes
        self.strides = strides
        count = sizes.reduce(1, *)
    }

    /// The innermost stride of each operand.
    func innerStride(_ operand: Int) -> Int { strides[operand][strides[operand].count - 1] }

    /// Calls `body(offsets, length)` for each run of consecutive elements of the flat `range`
    /// that lies in one row; `offsets[k]` is operand k's element offset of the run's start.
    @inline(__always)
    func forEachRow(in range: Range<Int>, _ body: (UnsafeMutableBufferPointer<Int>, Int) -> Void) {
        guard !range.isEmpty else { return }
        let operands = strides.count
        let outer = shape.count - 1
        let rowLength = shape[outer]
        withUnsafeTemporaryAllocation(of: Int.self, capacity: operands + max(outer, 1)) { scratch in
            let offsets = UnsafeMutableBufferPointer(rebasing: scratch[0..<operands])
            let index = UnsafeMutableBufferPointer(rebasing: scratch[operands...])
            var flat = range.lowerBound
            var column = flat % rowLength
            var row = flat / rowLength
            for k in 0..<operands { offsets[k] = column * strides[k][outer] }
            for axis in stride(from: outer - 1, through: 0, by: -1) {
                index[axis] = row % shape[axis]
                row /= shape[axis]
                for k in 0..<operands { offsets[k] += index[axis] * strides[k][axis] }
            }
            while true {
                let length = min(rowLength - column, range.upperBound - flat)
                body(offsets, length)
                flat += length
                if flat >= range.upperBound { return }
                for k in 0..<operands { offsets[k] -= column * strides[k][outer] }
                column = 0
                var axis = outer - 1
                while axis >= 0 {
                    index[axis] += 1
                    for k in 0..<operands { offsets[k] += strides[k][axis] }
                    if index[axis] < shape[axis] { break }
                    for k in 0..<operands { offsets[k] -= shape[axis] * strides[k][axis] }
                    index[axis] = 0
                    axis -= 1
                }
            }
        }
    }

    /// Runs `body` over all rows, split across cores when there are enough elements.
    @inline(__always)
    func run(grain: Int = Parallel.defaultGrain, _ body: (UnsafeMutableBufferPointer<Int>, Int) -> Void) {
        Parallel.forRanges(count: count, grain: grain) { range in forEachRow(in: range, body) }
    }
}

// MARK: - Elementwise kernels

// Element functions are values of their own types, not closures: the loops are specialized on
// them, so the function is inlined even in the copies of the loop that run on other threads
// (a captured closure would be called indirectly for every element there).

/// An elementwise function of one operand.
protocol UnaryElementFunction {
    associatedtype Input: Element
    associatedtype Output: Element
    func callAsFunction(_ x: Input) -> Output
}

/// An elementwise function of two operands.
protocol BinaryElementFunction {
    associatedtype First: Element
    associatedtype Second: Element
    associatedtype Output: Element
    func callAsFunction(_ a: First, _ b: Second) -> Output
}

/// An elementwise function of three operands.
protocol TernaryElementFunction {
    associatedtype First: Element
    associatedtype Second: Element
    associatedtype Third: Element
    associatedtype Output: Element
    func callAsFunction(_ a: First, _ b: Second, _ c: Third) -> Output
}

/// `out[i] = f(a[i])` over tensors of one shape (inputs already broadcast), any layouts.
@inline(__always)
func mapElements<F: UnaryElementFunction>(into out: Tensor, _ a: Tensor, grain: Int = Parallel.defaultGrain, _ f: F) {
    if out.isContiguous && a.isContiguous && out.shape == a.shape {
        // The common case needs no loop plan, which matters for small tensors.
        let o = out.elementPointer(as: F.Output.self), x = a.elementPointer(as: F.Input.self)
        if Int(bitPattern: o) == Int(bitPattern: x) {
            // In place: see the binary loop below.
            Parallel.forRanges(count: out.numel, grain: grain) { range in
                for i in range { o[i] = f(unsafeBitCast(o[i], to: F.Input.self)) }
            }
            return
        }
        Parallel.forRanges(count: out.numel, grain: grain) { range in
            for i in range { o[i] = f(x[i]) }
        }
        return
    }
    let loop = StridedLoop(shape: out.shape, strides: [out.strides, a.strides])
    let o = out.elementPointer(as: F.Output.self), x = a.elementPointer(as: F.Input.self)
    let (so, sa) = (loop.innerStride(0), loop.innerStride(1))
    loop.run(grain: grain) { offsets, length in
        let o = o + offsets[0], x = x + offsets[1]
        if so == 1 && sa == 1 {
            for i in 0..<length { o[i] = f(x[i]) }
        } else if so == 1 && sa == 0 {
            // One value a row (`column.expand(...).contiguous()`, a sum's gradient over its
            // last dimension): a fill that vectorizes, where the strided loop below took 2.4 ms
            // for 4096x1000 (PyTorch 0.4).
            let value = f(x[0])
            for i in 0..<length { o[i] = value }
        } else {
            for i in 0..<length { o[i * so] = f(x[i * sa]) }
        }
    }
}

/// `out[i] = f(a[i], b[i])` over tensors of one shape (inputs already broadcast), any layouts.
@inline(__always)
func mapElements<F: BinaryElementFunction>(into out: Tensor, _ a: Tensor, _ b: Tensor, grain: Int = Parallel.defaultGrain, _ f: F) {
    if out.isContiguous && a.isContiguous && out.shape == a.shape {
        let o = out.elementPointer(as: F.Output.self), x = a.elementPointer(as: F.First.self), y = b.elementPointer(as: F.Second.self)
        if b.isContiguous && b.shape == out.shape {
            if Int(bitPattern: o) == Int(bitPattern: x) {
                // In place: reading through `o` alone lets the loop vectorize, where the
                // compiler's overlap check between `o` and `x` would fall back to scalar code.
                Parallel.forRanges(count: out.numel, grain: grain) { range in
                    for i in range { o[i] = f(unsafeBitCast(o[i], to: F.First.self), y[i]) }
                }
                return
            }
            Parallel.forRanges(count: out.numel, grain: grain) { range in
                for i in range { o[i] = f(x[i], y[i]) }
            }
            return
        }
        if b.strides.allSatisfy({ $0 == 0 }) {
            let scalar = y[0]
            Parallel.forRanges(count: out.numel, grain: grain) { range in
                for i in range { o[i] = f(x[i], scalar) }
            }
            return
        }
    }
    if out.isContiguous && b.isContiguous && out.shape == b.shape && a.strides.allSatisfy({ $0 == 0 }) {
        // A number first (`1e-6 * grad`, `1 - p`): without a loop plan, which costs a third of
        // the time of a 100K-element op.
        let o = out.elementPointer(as: F.Output.self), scalar = a.elementPointer(as: F.First.self)[0]
        let y = b.elementPointer(as: F.Second.self)
        Parallel.forRanges(count: out.numel, grain: grain) { range in
            for i in range { o[i] = f(scalar, y[i]) }
        }
        return
    }
    let loop = StridedLoop(shape: out.shape, strides: [out.strides, a.strides, b.strides])
    let o = out.elementPointer(as: F.Output.self), x = a.elementPointer(as: F.First.self), y = b.elementPointer(as: F.Second.self)
    let (so, sa, sb) = (loop.innerStride(0), loop.innerStride(1), loop.innerStride(2))
    loop.run(grain: grain) { offsets, length in
        let o = o + offsets[0], x = x + offsets[1], y = y + offsets[2]
        if so == 1 && sa == 1 && sb == 1 {
            for i in 0..<length { o[i] = f(x[i], y[i]) }
        } else if so == 1 && sa == 1 && sb == 0 {
            let scalar = y[0]
            for i in 0..<length { o[i] = f(x[i], scalar) }
        } else if so == 1 && sa == 0 && sb == 1 {
            let scalar = x[0]
            for i in 0..<length { o[i] = f(scalar, y[i]) }
        } else if so == 1 && sa == 0 && sb == 0 {
            // One value a row, as the unary loop fills (`mean()`'s gradient, an expanded number
            // divided by the count).
            let value = f(x[0], y[0])
            for i in 0..<length { o[i] = value }
        } else {
            for i in 0..<length { o[i * so] = f(x[i * sa], y[i * sb]) }
        }
    }
}

/// `out[i] = f(a[i], b[i], c[i])` over tensors of one shape (inputs already broadcast).
@inline(__always)
func mapElements<F: TernaryElementFunction>(into out: Tensor, _ a: Tensor, _ b: Tensor, _ c: Tensor, _ f: F) {
    let o = out.elementPointer(as: F.Output.self), x = a.elementPointer(as: F.First.self)
    let y = b.elementPointer(as: F.Second.self), z = c.elementPointer(as: F.Third.self)
    let (bIsDense, cIsDense) = (b.isDense(out.shape), c.isDense(out.shape))
    if out.isContiguous && a.isDense(out.shape) && (bIsDense || b.isBroadcastNumber) && (cIsDense || c.isBroadcastNumber) {
        // `where(mask, x, 0)` and friends: dense operands or broadcast scalars, no loop plan.
        let (sb, sc) = (bIsDense ? 1 : 0, cIsDense ? 1 : 0)
        Parallel.forRanges(count: out.numel, grain: Parallel.defaultGrain) { range in
            switch (sb, sc) {
            case (1, 1): for i in range { o[i] = f(x[i], y[i], z[i]) }
            case (1, 0): for i in range { o[i] = f(x[i], y[i], z[0]) }
            case (0, 1): for i in range { o[i] = f(x[i], y[0], z[i]) }
            default: for i in range { o[i] = f(x[i], y[0], z[0]) }
            }
        }
        return
    }
    let loop = StridedLoop(shape: out.shape, strides: [out.strides, a.strides, b.strides, c.strides])
    let (so, sa, sb, sc) = (loop.innerStride(0), loop.innerStride(1), loop.innerStride(2), loop.innerStride(3))
    loop.run { offsets, length in
        let o = o + offsets[0], x = x + offsets[1], y = y + offsets[2], z = z + offsets[3]
        for i in 0..<length { o[i * so] = f(x[i * sa], y[i * sb], z[i * sc]) }
    }
}
