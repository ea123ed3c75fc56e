import Synchronization

/// Dense matrix multiply on row-major buffers: a run-time-loaded BLAS when one is found,
/// else Ember's built-in kernel (see `GEMM+Builtin.swift`), which on x86 also takes the
/// matrix–vector and small products a BLAS call would run slower.
///
/// ```swift
/// // c (2×2) = a (2×3) · b (3×2)
/// GEMM.sgemm(transA: false, transB: false, m: 2, n: 2, k: 3, alpha: 1, a: a, lda: 3,
///            b: b, ldb: 2, beta: 0, c: c, ldc: 2)
/// ```
enum GEMM {
    /// "OpenBLAS 0.3.21 (libopenblas.so.0, Haswell kernels)", "Accelerate" or "built-in": what
    /// ``sgemm`` and ``dgemm`` run.
    static var implementation: String { library?.name ?? "built-in" }

    /// ``Ember/blasEnabled``.
    static let blasEnabled = Atomic<Bool>(BLASLibrary.isEnabledByDefault)

    /// The BLAS library products run, or nil for the built-in kernel.
    static var library: BLASLibrary? { blasEnabled.load(ordering: .relaxed) ? BLASLibrary.shared : nil }

    /// C = alpha·op(A)·op(B) + beta·C, all row-major; op(X) = Xᵀ when the flag is set.
    ///
    /// A is m×k (stored k×m when `transA`), B is k×n (stored n×k when `transB`), C is m×n.
    /// Each leading dimension is the distance between stored rows, at least the stored row length.
    /// When `beta` is 0, C is only written, so it may hold garbage such as NaN; when k is 0, C
    /// becomes beta·C. Calls on different C buffers may run concurrently. `library` nil runs
    /// the built-in kernel.
    static func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, library: BLASLibrary? = GEMM.library
    ) {
        product(
            library?.sgemm, onEmberThreads: library?.runsOnEmberThreads ?? false, transA: transA, transB: transB,
            m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }

    /// Runs a product through the loaded CBLAS `gemm` (in one call, or one per block of C when
    /// the library runs on Ember's threads), or through the built-in kernel when there is none
    /// or CBLAS cannot take the sizes, or the product is small or thin (`prefersBuiltin`).
    private static func product<T: GEMMScalar>(
        _ blasGemm: BLASLibrary.GEMM<T>?, onEmberThreads: Bool, transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: T,
        a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int, beta: T, c: UnsafeMutablePointer<T>, ldc: Int
    ) {
        let operands = Operands(transA: transA, transB: transB, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc)
        let hasVectorKernel = T.vectorKernel(for: CPUFeatures.level) != nil
        if hasVectorKernel, BuiltinGEMM.matrixVectorOperands(operands, m: m, n: n) != nil {
            // Matrix–vector products take the built-in dot products, whole, before a BLAS or the
            // depth split: a BLAS gemm runs them as GEMMs, one lane of each vector used (`mv` of
            // 4096×1024 took 1.9× PyTorch's time through OpenBLAS 0.3.21's Zen kernels).
            BuiltinGEMM.run(operands, m: m, n: n, k: k, alpha: alpha, beta: beta)
            return
        }
        let blasGemm = hasVectorKernel && prefersBuiltin(m: m, n: n, k: k) ? nil : blasGemm
        if beta == 0, let parts = depthSplitParts(m: m, n: n, k: k) {
            splitDepth(parts: parts, m: m, n: n, k: k, c: c, ldc: ldc) { depth, target, targetStride in
                var slice = operands.offset(depth: depth.lowerBound)
                (slice.c, slice.cRow) = (target, targetStride)
                if let gemm = blasGemm,
                    let shape = BLASShape(transA: transA, transB: transB, m: m, n: n, k: depth.count, lda: lda, ldb: ldb, ldc: targetStride)
                {
                    gemm(
                        BLASLibrary.rowMajor, shape.transA, shape.transB, shape.m, shape.n, shape.k,
                        alpha, slice.a, shape.lda, slice.b, shape.ldb, 0, target, shape.ldc)
                } else {
                    // One thread per partial product: this runs on the threads splitting the depth.
                    BuiltinGEMM.run(slice, m: m, n: n, k: depth.count, alpha: alpha, beta: 0, workPerThread: .max)
                }
            }
            return
        }
        guard let gemm = blasGemm,
            BLASShape(transA: transA, transB: transB, m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc) != nil
        else {
            BuiltinGEMM.run(operands, m: m, n: n, k: k, alpha: alpha, beta: beta)
            return
        }
        forEachThreadBlock(m: m, n: n, k: k, splitting: onEmberThreads) { rows, columns in
            let block = operands.offset(row: rows.lowerBound, column: columns.lowerBound)
            let shape = BLASShape(
                transA: transA, transB: transB, m: rows.count, n: columns.count, k: k, lda: lda, ldb: ldb, ldc: ldc)!
            gemm(
                BLASLibrary.rowMajor, shape.transA, shape.transB, shape.m, shape.n, shape.k,
                alpha, block.a, shape.lda, block.b, shape.ldb, beta, block.c, shape.ldc)
        }
    }

    /// Multiply-adds up to which any product runs the built-in kernel even where a BLAS is loaded.
    static let smallProductLimit = 1 << 20
    /// Columns of C, and multiply-adds, up to which a thin product does.
    static let thinProductColumns = 128, thinProductLimit = 1 << 26

    /// Whether the built-in kernel outruns a BLAS call on a product, which packs both operands
    /// and (OpenBLAS) first scales C by beta in a pass of its own.
    ///
    /// - Small products. Against OpenBLAS 0.3.21's Zen kernels, on one thread: 32³ 1.4 µs
    ///   against 2.0, 64³ 6.4 against 8.4, 96³ 20 against 26; a `bmm` of 32 64×64 products 203
    ///   µs against 270.
    /// - Thin ones, C of at most 128 columns, whose A the built-in kernel reads in place, up to
    ///   64M multiply-adds. On the 2-vCPU EPYC, alternating processes: the seed's manual and
    ///   autograd steps 233–242 and 261–270 µs against 243–249 and 276–286; 256×256 · 256×128
    ///   94 µs against 103; 64×1000 · (100×1000)ᵀ (nn.Linear) 88 against 93. Larger ones were
    ///   even (1000×1000 · 1000×100) or slower (2048×2048 · 2048×100, 5.5 ms against 5.3).
    static func prefersBuiltin(m: Int, n: Int, k: Int) -> Bool {
        let (rowsByColumns, overflow) = m.multipliedReportingOverflow(by: n)
        let (work, overflowAgain) = rowsByColumns.multipliedReportingOverflow(by: k)
        guard !overflow && !overflowAgain else { return false }
        return work <= smallProductLimit || (n <= thinProductColumns && work <= thinProductLimit)
    }

    /// Threads to split a product's depth across, or nil to split C instead. Splitting C makes
    /// every thread pack all of the operand along the side it does not split; when the depth is
    /// long and C small (the seed's 64×1000 · 1000×100), halving the depth halves both operands
    /// per thread and costs only adding up a small C.
    static func depthSplitParts(m: Int, n: Int, k: Int, threads: Int = Parallel.threadCount) -> Int? {
        guard threads > 1, k >= 4 * Swift.max(m, n), m * n * k / threads >= minimumBLASWorkPerThread else { return nil }
        return threads
    }

    /// Runs `parts` partial products over consecutive ranges of the depth, one per thread, the
    /// first into C and the others into scratch rows of n, then adds the scratch into C.
    private static func splitDepth<T: GEMMScalar>(
        parts: Int, m: Int, n: Int, k: Int, c: UnsafeMutablePointer<T>, ldc: Int,
        _ partial: (Range<Int>, UnsafeMutablePointer<T>, Int) -> Void
    ) {
        let scratch = UnsafeMutablePointer<T>.allocate(capacity: (parts - 1) * m * n)
        defer { scratch.deallocate() }
        Parallel.forRanges(count: parts, grain: 1) { range in
            for part in range {
                let depth = k * part / parts..<k * (part + 1) / parts
                if part == 0 { partial(depth, c, ldc) } else { partial(depth, scratch + (part - 1) * m * n, n) }
            }
        }
        for part in 1..<parts {
            let source = scratch + (part - 1) * m * n
            for row in 0..<m {
                let target = c + row * ldc, added = source + row * n
                for column in 0..<n { target[column] += added[column] }
            }
        }
    }

    /// Multiply-adds per thread below which splitting a BLAS product costs more than it saves
    /// (about 10 µs of work for one core).
    static let minimumBLASWorkPerThread = 500_000

    /// Calls `block(rows, columns)` for blocks of C that together cover it: one per thread,
    /// along C's longer side, when `splitting` and the product is big enough, else one block.
    static func forEachThreadBlock(
        m: Int, n: Int, k: Int, splitting: Bool = true, workPerThread: Int = minimumBLASWorkPerThread,
        _ block: (Range<Int>, Range<Int>) -> Void
    ) {
        let splitRows = m >= n
        let side = splitRows ? m : n
        let parts = splitting ? min(Parallel.threadCount, side, m * n * k / max(workPerThread, 1)) : 1
        guard parts > 1 else {
            block(0..<m, 0..<n)
            return
        }
        Parallel.forRanges(count: parts, grain: 1) { range in
            for part in range {
                let slice = side * part / parts..<side * (part + 1) / parts
                if splitRows { block(slice, 0..<n) } else { block(0..<m, slice) }
            }
        }
    }

    /// The `Double` counterpart of ``sgemm(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:library:)``.
    static func dgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
        a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int, library: BLASLibrary? = GEMM.library
    ) {
        product(
            library?.dgemm, onEmberThreads: library?.runsOnEmberThreads ?? false, transA: transA, transB: transB,
            m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
}

/// A GEMM call's sizes as CBLAS takes them, or `nil` when the built-in kernel should run instead.
///
/// ```swift
/// BLASShape(transA: false, transB: false, m: 1, n: 2, k: 0, lda: 0, ldb: 2, ldc: 2)  // nil: k is 0
/// ```
private struct BLASShape {
    let transA: Int32, transB: Int32
    let m: Int32, n: Int32, k: Int32
    let lda: Int32, ldb: Int32, ldc: Int32

    init?(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, lda: Int, ldb: Int, ldc: Int) {
        // Empty products stay built-in: CBLAS rejects a leading dimension of 0, which callers
        // legitimately pass for empty matrices, and there is no work worth a library call.
        guard m > 0, n > 0, k > 0 else { return nil }
        // CBLAS wants ld >= stored row length even for a single row, whose stride is never used.
        func leading(_ ld: Int, rows: Int, columns: Int) -> Int { rows == 1 ? columns : ld }
        // 32-bit CBLAS cannot express larger sizes; the built-in kernel can.
        guard let m = Int32(exactly: m), let n = Int32(exactly: n), let k = Int32(exactly: k),
              let lda = Int32(exactly: transA ? leading(lda, rows: Int(k), columns: Int(m))
                                              : leading(lda, rows: Int(m), columns: Int(k))),
              let ldb = Int32(exactly: transB ? leading(ldb, rows: Int(n), columns: Int(k))
                                              : leading(ldb, rows: Int(k), columns: Int(n))),
              let ldc = Int32(exactly: leading(ldc, rows: Int(m), columns: Int(n)))
        else { return nil }
        self.transA = transA ? BLASLibrary.transpose : BLASLibrary.noTranspose
        self.transB = transB ? BLASLibrary.transpose : BLASLibrary.noTranspose
        (self.m, self.n, self.k, self.lda, self.ldb, self.ldc) = (m, n, k, lda, ldb, ldc)
    }
}
