// Matrix products: mm, bmm, mv, dot, outer and matmul over every rank combination.
// The kernels go through GEMM (BLAS found at run time, or the built-in kernel).

extension Tensor {
    /// How GEMM reads the matrices of the last two dimensions in place: transposed or not, and
    /// the leading dimension; `nil` when the layout needs a copy first.
    private var gemmLayout: (transposed: Bool, leading: Int)? {
        let (rows, columns) = (shape[dim - 2], shape[dim - 1])
        let (rowStride, columnStride) = (strides[dim - 2], strides[dim - 1])
        let denseRowStride = rows == 1 ? Swift.max(columns, 1) : rowStride
        let denseColumnStride = columns == 1 ? 1 : columnStride
        if denseColumnStride == 1 && denseRowStride >= Swift.max(columns, 1) { return (false, denseRowStride) }
        let transposedRowStride = rows == 1 ? 1 : rowStride
        let transposedColumnStride = columns == 1 ? Swift.max(rows, 1) : columnStride
        if transposedRowStride == 1 && transposedColumnStride >= Swift.max(rows, 1) { return (true, transposedColumnStride) }
        return nil
    }

    /// `output = a · b` for 2-d tensors of one dtype, or `output[i] = a[i] · b[i]` for 3-d ones,
    /// outside autograd; `output` is new and contiguous.
    static func matrixProduct(_ a: Tensor, _ b: Tensor, into output: Tensor) {
        let (m, k, n) = (a.shape[a.dim - 2], a.shape[a.dim - 1], b.shape[b.dim - 1])
        if output.numel == 0 { return }
        if k == 0 {
            output.fillElements(.integer(0))
            return
        }
        if output.device.kind == .cuda { return deviceMatrixProduct(a, b, into: output, m: m, n: n, k: k) }
        switch a.dtype {
        case .float32, .float64:
            let a = a.gemmLayout == nil ? a.cloneContiguous() : a
            let b = b.gemmLayout == nil ? b.cloneContiguous() : b
            let (layoutA, layoutB) = (a.gemmLayout!, b.gemmLayout!)
            // The matrices of a batch by pointer offsets: a view of each cost ~3 µs a product
            // (32 products of 64×64·64×64 took 222 µs on one thread through views, now 126–144).
            let batchStride = { (matrices: Tensor) in matrices.dim == 3 ? matrices.strides[0] : 0 }
            let (aStride, bStride) = (batchStride(a), batchStride(b))
            func products<T>(_: T.Type, _ gemm: (UnsafePointer<T>, UnsafePointer<T>, UnsafeMutablePointer<T>) -> Void) {
                let (x, y, z) = (a.elementPointer(as: T.self), b.elementPointer(as: T.self), output.elementPointer(as: T.self))
                forEachProduct(of: output, work: m * n * k) { index in gemm(x + index * aStride, y + index * bStride, z + index * m * n) }
            }
            let (transA, transB, lda, ldb) = (layoutA.transposed, layoutB.transposed, layoutA.leading, layoutB.leading)
            if a.dtype == .float32 {
                products(Float.self) {
                    GEMM.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: $0, lda: lda, b: $1, ldb: ldb, beta: 0, c: $2, ldc: n)
                }
            } else {
                products(Double.self) {
                    GEMM.dgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: $0, lda: lda, b: $1, ldb: ldb, beta: 0, c: $2, ldc: n)
                }
            }
        case .float16, .bfloat16:
            // Half types multiply in float32 and round once, as PyTorch's CPU kernels do.
            let result = Tensor(uninitializedShape: output.shape, dtype: .float32)
            matrixProduct(a.converted(to: .float32), b.converted(to: .float32), into: result)
            output.copyElements(from: result)
        default:
            forEachProduct(of: output, work: m * n * k) { index in
                let (a, b, output) = output.dim == 3 ? (a.selectView(index), b.selectView(index), output.selectView(index)) : (a, b, output)
                a.dtype.dispatch(IntegerMatrixProduct(a: a, b: b, output: output))
            }
        }
    }

    /// Runs `product` for each matrix of a batch (`output` 3-d) or once (with 0). Products of
    /// under 4M multiply-adds share the batch out whole, each on one thread: splitting each of 32
    /// products of 64×64·64×64 across the threads cost more in hand-offs than it saved (140 µs
    /// against PyTorch's 56 on two threads).
    private static func forEachProduct(of output: Tensor, work: Int, _ product: (Int) -> Void) {
        guard output.dim == 3 else { return product(0) }
        let batch = output.shape[0]
        Parallel.forRanges(count: batch, grain: work >= 1 << 22 ? batch + 1 : Swift.max(1, (1 << 18) / work)) { range in
            for index in range { product(index) }
        }
    }

    /// `matrixProduct` on a GPU: one cuBLAS call for the whole batch (a batch of one matrix
    /// repeated reads it with stride 0), half types on tensor cores adding in float32.
    private static func deviceMatrixProduct(_ a: Tensor, _ b: Tensor, into output: Tensor, m: Int, n: Int, k: Int) {
        guard a.dtype.isFloatingPoint else {
            // cuBLAS has no integer products (PyTorch refuses them on GPUs): the CPU's, on copies.
            let result = Tensor(uninitializedShape: output.shape, dtype: output.dtype)
            matrixProduct(a.copied(to: .cpu), b.copied(to: .cpu), into: result)
            return output.copyElements(from: result)
        }
        let a = a.gemmLayout == nil ? a.cloneContiguous() : a
        let b = b.gemmLayout == nil ? b.cloneContiguous() : b
        let (layoutA, layoutB) = (a.gemmLayout!, b.gemmLayout!)
        let batchStride = { (matrices: Tensor) in matrices.dim == 3 && matrices.shape[0] > 1 ? matrices.strides[0] : 0 }
        let product = CUDAMatrixProduct(
            dtype: a.dtype, transA: layoutA.transposed, transB: layoutB.transposed, m: m, n: n, k: k,
            a: (a.deviceAddress, layoutA.leading, batchStride(a)), b: (b.deviceAddress, layoutB.leading, batchStride(b)),
            c: (output.deviceAddress, n, m * n), batchCount: output.dim == 3 ? output.shape[0] : 1)
        do throws(CUDAError) {
            try output.cudaBackend.gemm(product)
        } catch {
            reportError("matrix product on \(output.device) failed: \(error)")
        }
    }

    /// The matrix product of two 2-d tensors (`torch.mm`).
    ///
    /// ```swift
    /// let h = x.mm(w1)   // [64, 1000] · [1000, 100] → [64, 100]
    /// ```
    public func mm(_ other: Tensor) -> Tensor {
        guard dim == 2 else {
            reportError("mm: self must be a matrix, got \(dim)-D tensor")
            return self
        }
        guard other.dim == 2 else {
            reportError("mm: mat2 must be a matrix, got \(other.dim)-D tensor")
            return self
        }
        guard Tensor.checkSameDevice(self, other) else { return self }
        guard dtype == other.dtype else {
            reportError("expected m1 and m2 to have the same dtype, but got: \(dtype.cTypeName) != \(other.dtype.cTypeName)")
            return self
        }
        guard shape[1] == other.shape[0] else {
            reportError(
                "mm: mat1 and mat2 shapes cannot be multiplied (\(shape[0])x\(shape[1]) and \(other.shape[0])x\(other.shape[1]))")
            return self
        }
        guard dtype != .bool else {
            reportError("\"addmm_impl_cpu_\" not implemented for 'Bool'")
            return self
        }
        let output = Tensor(uninitializedShape: [shape[0], other.shape[1]], dtype: dtype, device: device)
        Tensor.matrixProduct(self, other, into: output)
        if Tensor.isRecording(self, other) {
            let savedA = other.requiresGrad ? SavedTensor(input: self) : nil
            let savedB = requiresGrad ? SavedTensor(input: other) : nil
            Tensor.record("MmBackward0", inputs: [self, other], outputs: [output]) { gradients in
                [savedB.map { gradients[0].mm($0.unpack().t()) }, savedA.map { $0.unpack().t().mm(gradients[0]) }]
            }
        }
        return output
    }

    /// Batched matrix products of two 3-d tensors (`torch.bmm`).
    public func bmm(_ other: Tensor) -> Tensor {
        guard dim == 3 else {
            reportError("batch1 must be a 3D tensor")
            return self
        }
        guard other.dim == 3 else {
            reportError("batch2 must be a 3D tensor")
            return self
        }
        guard Tensor.checkSameDevice(self, other) else { return self }
        guard other.shape[0] == shape[0] && other.shape[1] == shape[2] else {
            reportError(
                "Expected size for first two dimensions of batch2 tensor to be: [\(shape[0]), \(shape[2])] but got: [\(other.shape[0]), \(other.shape[1])].")
            return self
        }
        guard dtype == other.dtype else {
            reportError("expected scalar type \(dtype.legacyName) but found \(other.dtype.legacyName)")
            return self
        }
        let output = Tensor(uninitializedShape: [shape[0], shape[1], other.shape[2]], dtype: dtype, device: device)
        Tensor.matrixProduct(self, other, into: output)
        if Tensor.isRecording(self, other) {
            let savedA = other.requiresGrad ? SavedTensor(input: self) : nil
            let savedB = requiresGrad ? SavedTensor(input: other) : nil
            Tensor.record("BmmBackward0", inputs: [self, other], outputs: [output]) { gradients in
                [savedB.map { gradients[0].bmm($0.unpack().transpose(1, 2)) }, savedA.map { $0.unpack().transpose(1, 2).bmm(gradients[0]) }]
            }
        }
        return output
    }

    /// The first-dimension slice `index` as a view, outside autograd.
    private func selectView(_ index: Int) -> Tensor {
        makeView(shape: Array(shape.dropFirst()), strides: Array(strides.dropFirst()), offset: offset + index * strides[0])
    }

    /// The product of a matrix and a vector (`torch.mv`).
    public func mv(_ vector: Tensor) -> Tensor {
        guard dim == 2 && vector.dim == 1 && shape[1] == vector.shape[0] else {
            reportError(
                "size mismatch, got input (\(dim > 0 ? shape[0] : 0)), mat (\(shape.map(String.init).joined(separator: "x"))), vec (\(vector.shape.map(String.init).joined(separator: "x")))")
            return self
        }
        let output = noGrad { mm(vector.unsqueeze(1)).squeeze(1) }
        if Tensor.isRecording(self, vector) {
            let savedMatrix = vector.requiresGrad ? SavedTensor(input: self) : nil
            let savedVector = requiresGrad ? SavedTensor(input: vector) : nil
            Tensor.record("MvBackward0", inputs: [self, vector], outputs: [output]) { gradients in
                [savedVector.map { gradients[0].outer($0.unpack()) }, savedMatrix.map { $0.unpack().t().mv(gradients[0]) }]
            }
        }
        return output
    }

    /// The inner product of two 1-d tensors (`torch.dot`).
    public func dot(_ other: Tensor) -> Tensor {
        guard dim == 1 && other.dim == 1 else {
            reportError("1D tensors expected, but got \(dim)D and \(other.dim)D tensors")
            return self
        }
        guard numel == other.numel else {
            reportError(
                "inconsistent tensor size, expected tensor [\(numel)] and src [\(other.numel)] to have the same number of elements, but got \(numel) and \(other.numel) elements respectively")
            return self
        }
        guard dtype == other.dtype else {
            reportError("dot : expected both vectors to have same dtype, but found \(dtype.legacyName) and \(other.dtype.legacyName)")
            return self
        }
        let output = noGrad { unsqueeze(0).mm(other.unsqueeze(1)).reshape([]) }
        if Tensor.isRecording(self, other) {
            let (a, b) = (SavedTensor(input: self), SavedTensor(input: other))
            Tensor.record("DotBackward0", inputs: [self, other], outputs: [output]) { gradients in
                [gradients[0] * b.unpack(), gradients[0] * a.unpack()]
            }
        }
        return output
    }

    /// The outer product of two 1-d tensors (`torch.outer`).
    public func outer(_ other: Tensor) -> Tensor { unsqueeze(1) * other }

    /// The matrix product with NumPy's rules for every rank (`torch.matmul`): 1-d operands act
    /// as vectors, and leading dimensions are batch dimensions that broadcast.
    ///
    /// The cases are PyTorch's (`_matmul_impl`), so that results round alike and the backward
    /// nodes have PyTorch's names: a batch folded into one `mm` or `mv` when that needs no
    /// copy (or saves one in backward), `bmm` over broadcast batches otherwise.
    ///
    /// ```swift
    /// Tensor.randn(10, 3, 4).matmul(Tensor.randn(4, 5))   // [10, 3, 5]
    /// ```
    public func matmul(_ other: Tensor) -> Tensor {
        switch (dim, other.dim) {
        case (0, _), (_, 0):
            reportError("both arguments to matmul need to be at least 1D, but they are \(dim)D and \(other.dim)D")
            return self
        case (1, 1): return dot(other)
        case (2, 1): return mv(other)
        case (1, 2): return unsqueeze(0).mm(other).squeezedInPlace(0)
        case (2, 2): return mm(other)
        default:
            if Tensor.shouldFold(self, other) { return foldedMatmul(other) }
            // A batch of one against a longer batch: drop it rather than expand, so backward
            // need not sum over the expanded batch.
            if dim == 3 && other.dim == 3 && shape[0] != other.shape[0] {
                if shape[0] == 1 && requiresGrad { return squeeze(0).matmul(other) }
                if other.shape[0] == 1 && other.requiresGrad { return matmul(other.squeeze(0)) }
            }
            return batchedMatmul(other)
        }
    }

    /// Whether `a · b` can fold the batch of the operand with more dimensions into the rows of
    /// one `mm` (or `mv`): PyTorch's `should_fold`.
    private static func shouldFold(_ a: Tensor, _ b: Tensor) -> Bool {
        let aIsLarger = a.dim >= b.dim
        // The larger operand, transposed in its last two dimensions when it is on the right.
        var (shape, strides) = aIsLarger ? (a.shape, a.strides) : (b.shape, b.strides)
        if !aIsLarger {
            shape.swapAt(shape.count - 1, shape.count - 2)
            strides.swapAt(strides.count - 1, strides.count - 2)
        }
        guard shape.count >= 3 && (aIsLarger ? b.dim : a.dim) <= 2 else { return false }
        // Folding saves backward a large expanded gradient of the smaller operand.
        if aIsLarger ? b.requiresGrad : a.requiresGrad { return true }
        // A matrix on the left would need a copy of the transposed result.
        if a.dim == 2 { return false }
        if shape.contains(0) { return true }
        // The leading dimensions must merge into one without a copy.
        return (0..<(shape.count - 2)).allSatisfy { strides[$0] == strides[$0 + 1] * shape[$0 + 1] }
    }

    /// The product with the larger operand's batch folded into rows: one `mm` or `mv`.
    private func foldedMatmul(_ other: Tensor) -> Tensor {
        let transpose = other.dim > dim
        let larger = transpose ? other.transpose(-1, -2) : self
        let smaller = !transpose ? other : (dim == 2 ? t() : self)
        var outputShape = Array(larger.shape.dropLast())
        let rows = outputShape.reduce(1, *)
        let folded = larger.reshape([rows, larger.shape[larger.dim - 1]])
        guard smaller.dim == 2 else { return folded.mv(smaller).unsafeView(outputShape) }
        outputShape.append(smaller.shape[1])
        let output = folded.mm(smaller).unsafeView(outputShape)
        return transpose ? output.transpose(-1, -2).contiguous() : output
    }

    /// The product over broadcast batch dimensions: one `bmm`.
    private func batchedMatmul(_ other: Tensor) -> Tensor {
        let (n, m1) = (dim > 1 ? shape[dim - 2] : 1, shape[dim - 1])
        let m2 = other.dim > 1 ? other.shape[other.dim - 2] : other.shape[0]
        let p = other.dim > 1 ? other.shape[other.dim - 1] : 1
        guard let batch = Tensor.broadcastShapes(Array(shape.dropLast(2)), Array(other.shape.dropLast(2))) else { return self }
        let batchCount = batch.reduce(1, *)
        let left = expand(batch + [n, m1]).reshape([batchCount, n, m1])
        var outputShape = batch
        if dim > 1 { outputShape.append(n) }
        if other.dim > 1 { outputShape.append(p) }
        if other.dim == 1 {
            let right = other.expand(batch + [m2]).reshape([batchCount, m2])
            return left.bmm(right.unsqueeze(-1)).squeeze(-1).unsafeView(outputShape)
        }
        let right = other.expand(batch + [m2, p]).reshape([batchCount, m2, p])
        return left.bmm(right).unsafeView(outputShape)
    }

    /// A reshape of a fresh result recorded as PyTorch's `_unsafe_view`.
    private func unsafeView(_ shape: [Int]) -> Tensor {
        let view = makeView(shape: shape, strides: Tensor.contiguousStrides(for: shape))
        if Tensor.isRecording(self) {
            let original = self.shape
            Tensor.record("UnsafeViewBackward0", inputs: [self], outputs: [view]) { gradients in [gradients[0].reshape(original)] }
        }
        return view
    }
}

extension DType {
    /// The C type name PyTorch's matmul errors use (`float`, `double`).
    var cTypeName: String {
        switch self {
        case .float32: "float"
        case .float64: "double"
        case .float16: "c10::Half"
        case .bfloat16: "c10::BFloat16"
        case .int64: "long int"
        case .int32: "int"
        case .int16: "short int"
        case .int8: "signed char"
        case .uint8: "unsigned char"
        case .bool: "bool"
        }
    }
}

/// Integer matrix products (wrapping), where BLAS has nothing to offer.
private struct IntegerMatrixProduct: ElementVisitor {
    let a: Tensor, b: Tensor, output: Tensor
    func visit<E: Element>(_ type: E.Type) {
        let (m, k, n) = (a.shape[0], a.shape[1], b.shape[1])
        let x = a.elementPointer(as: E.self), y = b.elementPointer(as: E.self), z = output.elementPointer(as: E.self)
        for i in 0..<m {
            for j in 0..<n {
                var total = E.Compute.zero
                for p in 0..<k {
                    total = .add(total, .multiply(x[i * a.strides[0] + p * a.strides[1]].compute, y[p * b.strides[0] + j * b.strides[1]].compute))
                }
                z[i * n + j] = E(compute: total)
            }
        }
    }
}
