internal import CEmberKernels

/// A scalar type of the built-in GEMM, with the 128-bit vector (`Lane`) its kernel computes in.
///
/// 128 bits because SwiftPM compiles libraries for baseline x86_64, which has SSE2 but neither
/// AVX nor FMA: wider `SIMD` types would only be split across SSE registers. The operations are
/// requirements rather than generic `SIMD` code so that each conformance uses its concrete type's
/// one-instruction operators, not the element-by-element generic fallbacks.
///
/// ```swift
/// Float.multiplyAddLanes(Float.splat(1), Float.splat(2), Float.splat(3))  // [7.0, 7.0, 7.0, 7.0]
/// ```
protocol GEMMScalar: BinaryFloatingPoint {
    /// `SIMD4<Float>` or `SIMD2<Double>`.
    associatedtype Lane
    /// Scalars per lane.
    static var laneWidth: Int { get }
    /// A lane with every element equal to `value`.
    static func splat(_ value: Self) -> Lane
    /// `x * y`, element-wise.
    static func multiplyLanes(_ x: Lane, _ y: Lane) -> Lane
    /// `sum + x * y`, element-wise, rounded twice (unfused, as baseline x86_64 has no FMA).
    static func multiplyAddLanes(_ sum: Lane, _ x: Lane, _ y: Lane) -> Lane
    /// The C micro-kernel family for `level`, or `nil` where only the Swift kernel exists.
    static func vectorKernel(for level: CPUFeatures.Level) -> VectorKernel<Self>?
}

extension Float: GEMMScalar {
    static func vectorKernel(for level: CPUFeatures.Level) -> VectorKernel<Float>? {
        #if arch(x86_64)
        switch level {
        case .baseline: nil
        case .avx2:
            VectorKernel(
                rows: EMBER_SGEMM_AVX2_ROWS, columns: EMBER_SGEMM_AVX2_COLUMNS, narrowColumns: EMBER_SGEMM_AVX2_NARROW,
                product: ember_sgemm_avx2, matrixVector: ember_sgemv_avx2)
        case .avx512:
            VectorKernel(
                rows: EMBER_SGEMM_AVX512_ROWS, columns: EMBER_SGEMM_AVX512_COLUMNS, narrowColumns: EMBER_SGEMM_AVX512_NARROW,
                product: ember_sgemm_avx512, matrixVector: ember_sgemv_avx512)
        }
        #else
        nil
        #endif
    }

    static var laneWidth: Int { 4 }
    @inline(__always) static func splat(_ value: Float) -> SIMD4<Float> { SIMD4(repeating: value) }
    @inline(__always) static func multiplyLanes(_ x: SIMD4<Float>, _ y: SIMD4<Float>) -> SIMD4<Float> { x * y }
    @inline(__always)
    static func multiplyAddLanes(_ sum: SIMD4<Float>, _ x: SIMD4<Float>, _ y: SIMD4<Float>) -> SIMD4<Float> {
        sum + x * y
    }
}

extension Double: GEMMScalar {
    static func vectorKernel(for level: CPUFeatures.Level) -> VectorKernel<Double>? {
        #if arch(x86_64)
        switch level {
        case .baseline: nil
        case .avx2:
            VectorKernel(
                rows: EMBER_DGEMM_AVX2_ROWS, columns: EMBER_DGEMM_AVX2_COLUMNS, narrowColumns: EMBER_DGEMM_AVX2_NARROW,
                product: ember_dgemm_avx2, matrixVector: ember_dgemv_avx2)
        case .avx512:
            VectorKernel(
                rows: EMBER_DGEMM_AVX512_ROWS, columns: EMBER_DGEMM_AVX512_COLUMNS, narrowColumns: EMBER_DGEMM_AVX512_NARROW,
                product: ember_dgemm_avx512, matrixVector: ember_dgemv_avx512)
        }
        #else
        nil
        #endif
    }

    static var laneWidth: Int { 2 }
    @inline(__always) static func splat(_ value: Double) -> SIMD2<Double> { SIMD2(repeating: value) }
    @inline(__always) static func multiplyLanes(_ x: SIMD2<Double>, _ y: SIMD2<Double>) -> SIMD2<Double> { x * y }
    @inline(__always)
    static func multiplyAddLanes(_ sum: SIMD2<Double>, _ x: SIMD2<Double>, _ y: SIMD2<Double>) -> SIMD2<Double> {
        sum + x * y
    }
}

/// A C micro-kernel family (`Sources/CEmberKernels/GEMM.c`): its register tile, and the blocked
/// product that packs for it and runs it on the calling thread.
///
/// ```swift
/// let kernel = Float.vectorKernel(for: .avx2)!
/// kernel.product(m, n, k, 1, a, k, 1, b, n, 1, 0, c, n, 1)  // C = A·B, all row-major
/// ```
struct VectorKernel<T: GEMMScalar> {
    /// C = alpha·A·B + beta·C with (m, n, k, alpha, a, aRow, aColumn, b, bRow, bColumn, beta, c, cRow,
    /// cColumn), the strides as in ``Operands``; m, n, k > 0 and alpha ≠ 0.
    typealias Product = (
        Int, Int, Int, T, UnsafePointer<T>, Int, Int, UnsafePointer<T>, Int, Int, T, UnsafeMutablePointer<T>, Int, Int
    ) -> Void

    /// Rows and columns of the block of C that the kernel keeps in registers.
    let rows, columns: Int
    /// The narrowest tile, which runs a last panel of at most this many columns (a half-width
    /// tile runs one of at most `columns / 2`).
    let narrowColumns: Int
    let product: Product
    /// y = alpha·A·x + beta·y with (m, k, alpha, a, aRow, x, beta, y, yStride): A's rows and x
    /// contiguous, each element of y a dot product 32 floats or 16 doubles wide (`ember_sgemv_avx2`).
    let matrixVector: (Int, Int, T, UnsafePointer<T>, Int, UnsafePointer<T>, T, UnsafeMutablePointer<T>, Int) -> Void
}

/// The three matrices of one product as pointers and strides, which hide the transposition flags.
///
/// Element (i, p) of op(A) is `a[i * aRow + p * aColumn]`, and likewise for op(B) and C, so a
/// block of the product is an offset and the transposed product is a swap of fields.
///
/// ```swift
/// let operands = Operands(transA: true, transB: false, a: a, lda: 4, b: b, ldb: 3, c: c, ldc: 3)
/// operands.aRow  // 1: rows of op(A) are columns of the stored A
/// ```
struct Operands<T: GEMMScalar> {
    var a: UnsafePointer<T>, aRow: Int, aColumn: Int
    var b: UnsafePointer<T>, bRow: Int, bColumn: Int
    var c: UnsafeMutablePointer<T>, cRow: Int, cColumn: Int

    init(
        transA: Bool, transB: Bool, a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
        c: UnsafeMutablePointer<T>, ldc: Int
    ) {
        (self.a, aRow, aColumn) = transA ? (a, 1, lda) : (a, lda, 1)
        (self.b, bRow, bColumn) = transB ? (b, 1, ldb) : (b, ldb, 1)
        (self.c, cRow, cColumn) = (c, ldc, 1)
    }

    /// The product whose C starts at (`row`, `column`) and whose depth starts at `depth`.
    func offset(row: Int = 0, column: Int = 0, depth: Int = 0) -> Operands {
        var moved = self
        moved.a += row * aRow + depth * aColumn
        moved.b += depth * bRow + column * bColumn
        moved.c += row * cRow + column * cColumn
        return moved
    }

    /// The same product written as Cᵀ = op(B)ᵀ·op(A)ᵀ, which swaps the roles of m and n.
    var transposed: Operands {
        var swapped = self
        (swapped.a, swapped.aRow, swapped.aColumn) = (b, bColumn, bRow)
        (swapped.b, swapped.bRow, swapped.bColumn) = (a, aColumn, aRow)
        (swapped.cRow, swapped.cColumn) = (cColumn, cRow)
        return swapped
    }
}

/// Goto/BLIS-style blocked GEMM: op(B) is packed in `depthBlock`×`columnsPerTile` micro-panels
/// that stay in L1, op(A) in `rowBlock`×`depthBlock` blocks that stay in L2, and the micro-kernel
/// keeps a `rowsPerTile`×`columnsPerTile` tile of C in registers. That Swift kernel runs at
/// `.baseline`; at `.avx2` and above, ``run(_:m:n:k:alpha:beta:workPerThread:level:)`` hands each
/// thread's share to the C kernels (``VectorKernel``), which block the same way with wider tiles.
///
/// ```swift
/// let operands = Operands(transA: false, transB: false, a: a, lda: 1000, b: b, ldb: 100, c: c, ldc: 100)
/// BuiltinGEMM.run(operands, m: 64, n: 100, k: 1000, alpha: 1, beta: 0)
/// ```
enum BuiltinGEMM {
    /// Rows of C per micro-tile: 6 rows of 2 lanes are 12 accumulators, which leaves 4 of the 16
    /// SSE registers for the B lanes and the splatted A value.
    static let rowsPerTile = 6
    /// Lanes of C per micro-tile row.
    static let lanesPerTile = 2
    /// Depth of a packed block: a B micro-panel of 256 rows is 8 KiB of floats, well inside L1.
    static let depthBlock = 256
    /// Rows of a packed A block: 96×256 splatted floats are 384 KiB, inside a 512 KiB–1 MiB L2.
    static let rowBlock = 96
    /// Columns of a packed B block, bounding the B buffer (2 MiB of floats).
    static let columnBlock = 2048
    /// Packing an element of A or B costs about as much as this many multiply-adds.
    static let packingCost = 4
    /// Multiply-adds per thread (about 4 µs of work for the C kernels, 8 µs for the Swift one)
    /// below which a second thread is not used: handing a chunk to an awake worker costs under
    /// a microsecond, each thread packs the operand it does not split, and when the worker is
    /// parked the caller takes its chunk back instead of waiting ~40 µs for it to wake. On the
    /// 2-vCPU EPYC, 96³ took 20 µs on one thread and 12–14 on two, 64×128 · 128×64 12.5 and 7.3;
    /// at 100,000, 64³ took 7.9 µs on two threads against 6.9 on one.
    static let minimumWorkPerThread = 200_000

    /// Columns of C per micro-tile: 8 floats or 4 doubles.
    static func columnsPerTile<T: GEMMScalar>(_: T.Type) -> Int { lanesPerTile * T.laneWidth }

    /// C = alpha·op(A)·op(B) + beta·C for the m×n×k product `operands`, split across threads
    /// when each would get at least `workPerThread` multiply-adds (by default the kernel's
    /// minimum; tests lower it), computed by the C kernels for `level` or, at `.baseline`, by the
    /// Swift one (tests pick each level). With alpha 1 and beta 0 each element is the naive loop's
    /// chain of multiply-adds in k order, except in the C kernels' matrix–vector products (C of one
    /// column or one row, the matrix side contiguous along k), which are dot products 32 floats or
    /// 16 doubles wide, as BLAS's gemv computes them.
    static func run<T: GEMMScalar>(
        _ operands: Operands<T>, m: Int, n: Int, k: Int, alpha: T, beta: T,
        workPerThread: Int? = nil, level: CPUFeatures.Level = CPUFeatures.level
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "GEMM sizes must not be negative")
        guard m > 0, n > 0 else { return }
        guard k > 0, alpha != 0 else {
            scale(operands, m: m, n: n, by: beta)
            return
        }
        let kernel = T.vectorKernel(for: level)
        if let kernel, let product = matrixVectorOperands(operands, m: m, n: n) {
            return matrixVector(kernel, product, m: max(m, n), k: k, alpha: alpha, beta: beta, workPerThread: workPerThread)
        }
        let (mr, nr) = kernel.map { ($0.rows, $0.columns) } ?? (rowsPerTile, columnsPerTile(T.self))
        let narrowest = kernel?.narrowColumns ?? nr
        let workPerThread = workPerThread ?? minimumWorkPerThread
        // The transposed product stores C a scalar at a time (its tile rows are C's columns), so it
        // must save a good share of the work to pay off: it does for C with few columns. The C
        // kernels also need op(A)'s rows to be its stored columns (A transposed): flipped, they
        // become the rows of B, which pack a vector at a time, while the rows of a row-major A
        // would pack an element at a time. Thin products (C of 2–20 columns) took 0.95–2.4× their
        // time flipped when A was row-major, 0.22–0.9× when it was transposed.
        let flip =
            (kernel == nil || operands.aColumn != 1)
            && 4 * cost(rows: n, columns: m, tile: (mr, nr), narrowest: narrowest)
                < 3 * cost(rows: m, columns: n, tile: (mr, nr), narrowest: narrowest)
        let (operands, m, n) = flip ? (operands.transposed, n, m) : (operands, m, n)
        // Rows are shared out one by one, as the C kernels run a share's rows in tiles of 4 to
        // `mr` (64 rows as 32 and 32 on two threads, not 36 and 28); columns a whole panel at a time,
        // as a ragged panel costs a whole one.
        let rowUnit = kernel == nil ? mr : 1
        let rowUnits = (m + rowUnit - 1) / rowUnit, columnPanels = (n + nr - 1) / nr
        // Each thread packs all of the operand whose side of C it does not split, so the split
        // that gives the cheaper share, packing included, wins.
        let threads = Parallel.threadCount
        let rowShare = (rowUnits + threads - 1) / threads * rowUnit
        let columnShare = (columnPanels + threads - 1) / threads * nr
        let splitRows = rowShare * (roundUp(n, to: nr) + packingCost) + n * packingCost
            <= columnShare * (roundUp(m, to: mr) + packingCost) + m * packingCost
        let unit = splitRows ? rowUnit : nr
        let workPerUnit = unit * (splitRows ? n : m) * k
        Parallel.forRanges(
            count: splitRows ? rowUnits : columnPanels, grain: max(1, workPerThread / workPerUnit)
        ) { units in
            let start = units.lowerBound * unit
            let size = min(splitRows ? m : n, units.upperBound * unit) - start
            let part = splitRows ? operands.offset(row: start) : operands.offset(column: start)
            let (rows, columns) = splitRows ? (size, n) : (m, size)
            if let kernel {
                kernel.product(
                    rows, columns, k, alpha, part.a, part.aRow, part.aColumn, part.b, part.bRow, part.bColumn,
                    beta, part.c, part.cRow, part.cColumn)
            } else {
                serial(part, m: rows, n: columns, k: k, alpha: alpha, beta: beta)
            }
        }
    }

    /// The product as one whose C is a column and whose op(A) has contiguous rows (itself, or
    /// its transpose for a C of one row), or nil when it is no such matrix–vector product.
    static func matrixVectorOperands<T: GEMMScalar>(_ operands: Operands<T>, m: Int, n: Int) -> Operands<T>? {
        let product = n == 1 ? operands : m == 1 ? operands.transposed : nil
        return product?.aColumn == 1 ? product : nil
    }

    /// C = alpha·op(A)·x + beta·C for a C of one column, op(A)'s rows contiguous: dot products
    /// along them, rows split across threads. The tiles would use one lane of each vector.
    private static func matrixVector<T: GEMMScalar>(
        _ kernel: VectorKernel<T>, _ operands: Operands<T>, m: Int, k: Int, alpha: T, beta: T, workPerThread: Int?
    ) {
        func run(_ x: UnsafePointer<T>) {
            Parallel.forRanges(count: m, grain: max(1, (workPerThread ?? minimumWorkPerThread) / k)) { rows in
                let part = operands.offset(row: rows.lowerBound)
                kernel.matrixVector(rows.count, k, alpha, part.a, part.aRow, x, beta, part.c, part.cRow)
            }
        }
        guard operands.bRow != 1 && k > 1 else { return run(operands.b) }
        // x strided (a column of a row-major matrix): a contiguous copy, read by every row.
        withUnsafeTemporaryAllocation(of: T.self, capacity: k) { copy in
            for p in 0..<k { copy[p] = operands.b[p * operands.bRow] }
            run(copy.baseAddress!)
        }
    }

    /// A per-unit-of-depth estimate of the work for a `rows`×`columns` C with `tile`-sized
    /// register tiles whose last panel runs `narrowest`, half or whole tiles wide: the padded
    /// tiles' multiply-adds, plus packing A, which costs about a B micro-panel's worth of them
    /// per row (the Swift kernel splats each element to a lane).
    static func cost(rows: Int, columns: Int, tile: (rows: Int, columns: Int), narrowest: Int) -> Int {
        let remainder = columns % tile.columns
        let edge = remainder == 0 ? 0 : remainder <= narrowest ? narrowest : remainder <= tile.columns / 2 ? tile.columns / 2 : tile.columns
        return roundUp(rows, to: tile.rows) * (columns - remainder + edge + tile.columns)
    }

    /// The smallest multiple of `multiple` that is at least `value`.
    static func roundUp(_ value: Int, to multiple: Int) -> Int { (value + multiple - 1) / multiple * multiple }

    /// C = beta·C, without reading C when beta is 0.
    static func scale<T: GEMMScalar>(_ operands: Operands<T>, m: Int, n: Int, by beta: T) {
        for i in 0..<m {
            for j in 0..<n {
                let element = operands.c + i * operands.cRow + j * operands.cColumn
                element.pointee = beta == 0 ? 0 : beta * element.pointee
            }
        }
    }

    /// The blocked product on the calling thread, by the Swift kernel.
    static func serial<T: GEMMScalar>(_ operands: Operands<T>, m: Int, n: Int, k: Int, alpha: T, beta: T) {
        let mr = rowsPerTile, nr = columnsPerTile(T.self)
        let kcMax = min(k, depthBlock)
        let aCount = roundUp(min(m, rowBlock), to: mr) * kcMax * T.laneWidth
        let bCount = roundUp(min(n, columnBlock), to: nr) * kcMax
        withUnsafeTemporaryAllocation(byteCount: (aCount + bCount) * MemoryLayout<T>.stride, alignment: 64) {
            buffer in
            // The micro-kernel's lane loads need aligned panels: A's size is whole lanes, so B,
            // after it, is aligned too.
            let packedA = buffer.baseAddress!.bindMemory(to: T.self, capacity: aCount + bCount)
            let packedB = packedA + aCount
            for jc in stride(from: 0, to: n, by: columnBlock) {
                let nc = min(columnBlock, n - jc)
                for pc in stride(from: 0, to: k, by: depthBlock) {
                    let kc = min(depthBlock, k - pc)
                    // Later depth blocks resume C's running sums when alpha is 1, so that each element
                    // is one sum in k order: with beta 0 that is the naive loop's result, bit for bit,
                    // whatever the blocking and threading. Otherwise they add alpha·A·B to C.
                    let resuming = pc > 0 && alpha == 1
                    let (blockAlpha, blockBeta) = pc == 0 ? (alpha, beta) : resuming ? (1, 0) : (alpha, 1)
                    packB(operands.offset(column: jc, depth: pc), k: kc, n: nc, into: packedB)
                    for ic in stride(from: 0, to: m, by: rowBlock) {
                        let mc = min(rowBlock, m - ic)
                        let block = operands.offset(row: ic, column: jc, depth: pc)
                        packA(block, m: mc, k: kc, into: packedA)
                        for jr in stride(from: 0, to: nc, by: nr) {
                            for ir in stride(from: 0, to: mc, by: mr) {
                                let tile = block.offset(row: ir, column: jr)
                                microKernel(
                                    k: kc, a: packedA + ir * kc * T.laneWidth, b: packedB + jr * kc,
                                    c: tile.c, cRow: tile.cRow, cColumn: tile.cColumn,
                                    rows: min(mr, mc - ir), columns: min(nr, nc - jr),
                                    alpha: blockAlpha, beta: blockBeta, resuming: resuming)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Copies op(A)'s `m`×`k` block into `rowsPerTile`-row panels, column by column, each element
    /// splatted to a whole lane so that the micro-kernel needs no broadcast instructions.
    static func packA<T: GEMMScalar>(_ operands: Operands<T>, m: Int, k: Int, into packed: UnsafeMutablePointer<T>) {
        let mr = rowsPerTile
        var panel = UnsafeMutableRawPointer(packed).assumingMemoryBound(to: T.Lane.self)
        for i in stride(from: 0, to: m, by: mr) {
            let rows = min(mr, m - i)
            if rows < mr {
                // Padding rows are computed but never stored; zeros keep NaN or denormal garbage
                // from slowing the arithmetic.
                panel.update(repeating: T.splat(0), count: mr * k)
            }
            // Pointer walks rather than index arithmetic, which Swift would check for overflow.
            for r in 0..<rows {
                var source = operands.a + (i + r) * operands.aRow
                var target = panel + r
                for _ in 0..<k {
                    target.pointee = T.splat(source.pointee)
                    source += operands.aColumn
                    target += mr
                }
            }
            panel += mr * k
        }
    }

    /// Copies op(B)'s `k`×`n` block into `columnsPerTile`-column panels, row by row, zero-padded.
    static func packB<T: GEMMScalar>(_ operands: Operands<T>, k: Int, n: Int, into packed: UnsafeMutablePointer<T>) {
        let nr = columnsPerTile(T.self)
        var panel = packed
        for j in stride(from: 0, to: n, by: nr) {
            let columns = min(nr, n - j)
            if columns == nr && operands.bColumn == 1 {
                // Rows of a row-major B are contiguous: copy them a lane at a time.
                var source = UnsafeRawPointer(operands.b + j)
                var target = UnsafeMutableRawPointer(panel).assumingMemoryBound(to: T.Lane.self)
                for _ in 0..<k {
                    for lane in 0..<lanesPerTile {
                        target[lane] = source.loadUnaligned(
                            fromByteOffset: lane * MemoryLayout<T.Lane>.stride, as: T.Lane.self)
                    }
                    source += operands.bRow * MemoryLayout<T>.stride
                    target += lanesPerTile
                }
            } else {
                if columns < nr {
                    // As for A: padding columns are never stored, but garbage could slow the arithmetic.
                    panel.update(repeating: 0, count: k * nr)
                }
                for column in 0..<columns {
                    var source = operands.b + (j + column) * operands.bColumn
                    var target = panel + column
                    for _ in 0..<k {
                        target.pointee = source.pointee
                        source += operands.bRow
                        target += nr
                    }
                }
            }
            panel += k * nr
        }
    }

    /// C tile = alpha·(S + A panel · B panel) + beta·C tile, where S is the C tile itself when
    /// `resuming` and zero otherwise, storing only the `rows`×`columns` corner that lies inside C,
    /// whose element (r, j) is `c[r * cRow + j * cColumn]`.
    @inline(__always)
    static func microKernel<T: GEMMScalar>(
        k: Int, a: UnsafePointer<T>, b: UnsafePointer<T>, c: UnsafeMutablePointer<T>, cRow: Int, cColumn: Int,
        rows: Int, columns: Int, alpha: T, beta: T, resuming: Bool
    ) {
        let nr = columnsPerTile(T.self)
        if rows == rowsPerTile && columns == nr && cColumn == 1 {
            var tile = MicroTile<T>()
            if resuming {
                tile = MicroTile { row, lane in
                    UnsafeRawPointer(c + row * cRow + lane * T.laneWidth).loadUnaligned(as: T.Lane.self)
                }
            }
            tile.addProducts(k: k, a: a, b: b)
            let alphaLane = T.splat(alpha), betaLane = T.splat(beta)
            tile.forEachLane { row, lane, sum in
                let target = UnsafeMutableRawPointer(c + row * cRow + lane * T.laneWidth)
                var value = alpha == 1 ? sum : T.multiplyLanes(sum, alphaLane)
                if beta != 0 {
                    value = T.multiplyAddLanes(value, betaLane, target.loadUnaligned(as: T.Lane.self))
                }
                target.storeBytes(of: value, as: T.Lane.self)
            }
            return
        }
        // A ragged or transposed tile goes through a whole tile in memory, element by element.
        withUnsafeTemporaryAllocation(of: T.self, capacity: rowsPerTile * nr) { buffer in
            let sums = UnsafeMutableRawPointer(buffer.baseAddress!)
            let laneBytes = MemoryLayout<T.Lane>.stride
            var tile = MicroTile<T>()
            if resuming {
                buffer.initialize(repeating: 0)
                for r in 0..<rows {
                    for j in 0..<columns { buffer[r * nr + j] = c[r * cRow + j * cColumn] }
                }
                tile = MicroTile { row, lane in
                    sums.loadUnaligned(fromByteOffset: (row * lanesPerTile + lane) * laneBytes, as: T.Lane.self)
                }
            }
            tile.addProducts(k: k, a: a, b: b)
            tile.forEachLane { row, lane, sum in
                sums.storeBytes(of: sum, toByteOffset: (row * lanesPerTile + lane) * laneBytes, as: T.Lane.self)
            }
            for r in 0..<rows {
                for j in 0..<columns {
                    let target = c + r * cRow + j * cColumn
                    let value = alpha * buffer[r * nr + j]
                    target.pointee = beta == 0 ? value : value + beta * target.pointee
                }
            }
        }
    }
}

/// The 6-row × 2-lane block of C that the micro-kernel keeps in registers.
///
/// ```swift
/// var tile = MicroTile<Float>()
/// tile.addOuterProduct(a: packedAColumn, b: packedBRow)  // tile += a ⊗ b
/// ```
struct MicroTile<T: GEMMScalar> {
    var c00 = T.splat(0), c01 = T.splat(0), c10 = T.splat(0), c11 = T.splat(0)
    var c20 = T.splat(0), c21 = T.splat(0), c30 = T.splat(0), c31 = T.splat(0)
    var c40 = T.splat(0), c41 = T.splat(0), c50 = T.splat(0), c51 = T.splat(0)

    /// A zero tile.
    init() {}

    /// A tile whose accumulator for `row` and `lane` is `initial(row, lane)`.
    @inline(__always)
    init(_ initial: (_ row: Int, _ lane: Int) -> T.Lane) {
        (c00, c01, c10, c11) = (initial(0, 0), initial(0, 1), initial(1, 0), initial(1, 1))
        (c20, c21, c30, c31) = (initial(2, 0), initial(2, 1), initial(3, 0), initial(3, 1))
        (c40, c41, c50, c51) = (initial(4, 0), initial(4, 1), initial(5, 0), initial(5, 1))
    }

    /// Adds A panel · B panel, `k` packed columns of A and rows of B, one after the other.
    @inline(__always)
    mutating func addProducts(k: Int, a: UnsafePointer<T>, b: UnsafePointer<T>) {
        let laneBytes = MemoryLayout<T.Lane>.stride
        var a = UnsafeRawPointer(a), b = UnsafeRawPointer(b)
        // Not unrolled: LLVM then interleaves the iterations and spills accumulators.
        for _ in 0..<k {
            addOuterProduct(a: a, b: b)
            a += BuiltinGEMM.rowsPerTile * laneBytes
            b += BuiltinGEMM.lanesPerTile * laneBytes
        }
    }

    /// Adds the outer product of a packed A column (6 splatted lanes) and a packed B row (2 lanes),
    /// both lane-aligned.
    @inline(__always)
    mutating func addOuterProduct(a: UnsafeRawPointer, b: UnsafeRawPointer) {
        let size = MemoryLayout<T.Lane>.stride
        let b0 = b.load(as: T.Lane.self), b1 = b.load(fromByteOffset: size, as: T.Lane.self)
        var s = a.load(as: T.Lane.self)
        c00 = T.multiplyAddLanes(c00, s, b0); c01 = T.multiplyAddLanes(c01, s, b1)
        s = a.load(fromByteOffset: size, as: T.Lane.self)
        c10 = T.multiplyAddLanes(c10, s, b0); c11 = T.multiplyAddLanes(c11, s, b1)
        s = a.load(fromByteOffset: 2 * size, as: T.Lane.self)
        c20 = T.multiplyAddLanes(c20, s, b0); c21 = T.multiplyAddLanes(c21, s, b1)
        s = a.load(fromByteOffset: 3 * size, as: T.Lane.self)
        c30 = T.multiplyAddLanes(c30, s, b0); c31 = T.multiplyAddLanes(c31, s, b1)
        s = a.load(fromByteOffset: 4 * size, as: T.Lane.self)
        c40 = T.multiplyAddLanes(c40, s, b0); c41 = T.multiplyAddLanes(c41, s, b1)
        s = a.load(fromByteOffset: 5 * size, as: T.Lane.self)
        c50 = T.multiplyAddLanes(c50, s, b0); c51 = T.multiplyAddLanes(c51, s, b1)
    }

    /// Calls `body(row, lane, sum)` for each of the 12 accumulators.
    @inline(__always)
    func forEachLane(_ body: (Int, Int, T.Lane) -> Void) {
        body(0, 0, c00); body(0, 1, c01); body(1, 0, c10); body(1, 1, c11)
        body(2, 0, c20); body(2, 1, c21); body(3, 0, c30); body(3, 1, c31)
        body(4, 0, c40); body(4, 1, c41); body(5, 0, c50); body(5, 1, c51)
    }
}
