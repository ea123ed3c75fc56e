import Foundation
import Testing

@testable import Ember

/// Checks every GEMM path (the default dispatch, the loaded BLAS when there is one, and the
/// built-in kernel called directly at each instruction-set level this CPU has) against a naive
/// `Double` reference.
@Suite("GEMM")
struct GEMMTests {
    /// Shapes (m, n, k) around the kernels' tile edges (6 or 8 rows, twice that in a tall
    /// half-width tile; 8, 16 or 32 floats and 4, 8 or 16 doubles, or a half or quarter of that in
    /// a narrow last panel: n = 40 and 41, 20 and 21, and n = 264 past the width up to which A is
    /// read in place, so that a narrow panel meets a packed A), their cache blocks (96 or 144
    /// rows, 256 deep, 1024 columns), thin products (computed transposed when A is, or by the
    /// Swift kernel), and the seed workload's products.
    static let shapes: [Shape] = [
        Shape(1, 1, 1), Shape(1, 17, 3), Shape(3, 1, 17), Shape(17, 3, 1), Shape(6, 8, 5), Shape(7, 9, 4),
        Shape(17, 63, 65), Shape(63, 65, 17), Shape(65, 129, 3), Shape(129, 17, 63), Shape(13, 11, 257),
        Shape(129, 65, 17), Shape(200, 5, 31), Shape(64, 10, 100), Shape(64, 100, 10), Shape(3, 2100, 2),
        Shape(12, 40, 9), Shape(150, 48, 300), Shape(25, 41, 7), Shape(31, 20, 11), Shape(19, 21, 6),
        Shape(64, 100, 300), Shape(29, 264, 40), Shape(20, 8, 30), Shape(20, 1100, 9),
    ]

    static let transpositions: [Transposition] = [
        Transposition(a: false, b: false), Transposition(a: true, b: false),
        Transposition(a: false, b: true), Transposition(a: true, b: true),
    ]

    @Test("matches the reference", arguments: shapes, transpositions)
    func matchesReference(shape: Shape, transposition: Transposition) {
        for path in Path.entryPoints {
            check(Float.self, path, shape, transposition, alpha: 1, beta: 0)
            check(Double.self, path, shape, transposition, alpha: 1, beta: 0)
        }
    }

    @Test("scales by alpha and beta", arguments: [(2.5, -1.5), (-1, 1), (0.5, 0), (0, 2), (0, 0)])
    func alphaBeta(alpha: Double, beta: Double) {
        for path in Path.entryPoints {
            // The second shape's last 4 columns are computed as their transpose on AVX-512.
            for transposition in Self.transpositions {
                for shape in [Shape(19, 23, 29), Shape(40, 36, 29), Shape(19, 1, 70), Shape(1, 19, 70)] {
                    check(Float.self, path, shape, transposition, alpha: Float(alpha), beta: Float(beta))
                    check(Double.self, path, shape, transposition, alpha: alpha, beta: beta)
                }
            }
        }
    }

    @Test("honours leading dimensions larger than the rows")
    func stridedRows() {
        for path in Path.entryPoints {
            for transposition in Self.transpositions {
                // Matrix–vector products too: a strided x, and a y whose elements are rows apart.
                for shape in [Shape(17, 19, 23), Shape(70, 9, 300), Shape(40, 36, 50), Shape(70, 1, 300), Shape(1, 45, 200)] {
                    check(Float.self, path, shape, transposition, alpha: 1.5, beta: 0.5, padding: 5)
                    check(Double.self, path, shape, transposition, alpha: 1.5, beta: 0.5, padding: 3)
                }
            }
        }
    }

    /// `blasEnabled = false` runs the built-in kernel in place of a loaded BLAS, and `true` goes
    /// back. In a child process: the switch is process-wide, and the other tests run beside.
    @Test func blasEnabledChoosesTheKernel() async {
        await #expect(processExitsWith: .success) {
            let a = Tensor.randn([70, 300], generator: Generator(seed: 1)), b = Tensor.randn([300, 9], generator: Generator(seed: 2))
            let expected = a.to(.float64).mm(b.to(.float64)).toArray(as: Double.self)
            Ember.blasEnabled = false
            precondition(Ember.gemmImplementation == "built-in" && GEMM.library == nil)
            let product = a.mm(b).toArray(as: Float.self)
            precondition(zip(product, expected).allSatisfy { abs(Double($0) - $1) <= 1e-4 * max(1, abs($1)) })
            Ember.blasEnabled = true
            precondition(Ember.gemmImplementation == Ember.blasLibrary ?? "built-in" && GEMM.library?.name == BLASLibrary.shared?.name)
        }
    }

    /// Products of up to 1M multiply-adds (96³, a `bmm`'s 64×64 matrices), and thin ones (C of
    /// at most 128 columns, such as the seed's) of up to 64M, run the built-in kernel even where
    /// a BLAS is loaded; 160³ and 1000×1000 · 1000×100 keep the BLAS.
    @Test("small and thin products are the built-in kernel's")
    func smallProducts() {
        // A BLAS that fills C with NaN: a product that reaches it comes back NaN.
        let fake = BLASLibrary(
            name: "NaN BLAS",
            sgemm: { _, _, _, m, n, _, _, _, _, _, _, _, c, ldc in
                for row in 0..<Int(m) { for column in 0..<Int(n) { c![row * Int(ldc) + column] = .nan } }
            },
            dgemm: { _, _, _, m, n, _, _, _, _, _, _, _, c, ldc in
                for row in 0..<Int(m) { for column in 0..<Int(n) { c![row * Int(ldc) + column] = .nan } }
            })
        let builtinRunsSmall = Float.vectorKernel(for: CPUFeatures.level) != nil
        for (m, n, k, builtin) in [(64, 64, 64, true), (160, 160, 160, false), (64, 100, 1000, true), (1000, 100, 1000, false)] {
            let a = [Float](repeating: 1, count: m * k), b = [Float](repeating: 1, count: k * n)
            var c = [Float](repeating: 0, count: m * n)
            GEMM.sgemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: n, beta: 0, c: &c, ldc: n, library: fake)
            let reachedBLAS = c.allSatisfy(\.isNaN), computed = c.allSatisfy { $0 == Float(k) }
            #expect(builtin && builtinRunsSmall ? computed : reachedBLAS, "\(m)×\(n)×\(k)")
        }
        #expect(GEMM.prefersBuiltin(m: 64, n: 64, k: 64))
        #expect(GEMM.prefersBuiltin(m: 96, n: 96, k: 96))
        #expect(!GEMM.prefersBuiltin(m: 160, n: 160, k: 160))
        #expect(GEMM.prefersBuiltin(m: 1, n: 1 << 20, k: 1))
        #expect(!GEMM.prefersBuiltin(m: 1, n: 1 << 20, k: 2))
        #expect(GEMM.prefersBuiltin(m: 64, n: 100, k: 1000))  // the seed's x·w1
        #expect(GEMM.prefersBuiltin(m: 1000, n: 100, k: 64))  // and xᵀ·g
        #expect(GEMM.prefersBuiltin(m: 4096, n: 128, k: 128))
        #expect(!GEMM.prefersBuiltin(m: 4096, n: 129, k: 128))
        #expect(!GEMM.prefersBuiltin(m: 1000, n: 100, k: 1000))
        #expect(!GEMM.prefersBuiltin(m: 1 << 40, n: 1 << 40, k: 1))  // overflows Int: not small
    }

    /// A long depth and a small C (the seed's x·w1) split the depth across threads and add
    /// the partial products; leading dimensions and alpha included.
    @Test("splits long, narrow products along the depth")
    func depthSplit() {
        #expect(GEMM.depthSplitParts(m: 64, n: 100, k: 1000, threads: 2) == 2)
        #expect(GEMM.depthSplitParts(m: 1000, n: 100, k: 64, threads: 2) == nil)
        #expect(GEMM.depthSplitParts(m: 64, n: 100, k: 1000, threads: 1) == nil)
        #expect(GEMM.depthSplitParts(m: 2, n: 2, k: 100, threads: 2) == nil)  // too little work
        for transposition in Self.transpositions {
            for padding in [0, 3] {
                check(Float.self, .dispatcher, Shape(16, 20, 3301), transposition, alpha: 1.5, beta: 0, padding: padding)
                check(Double.self, .dispatcher, Shape(17, 15, 4003), transposition, alpha: -0.5, beta: 0, padding: padding)
            }
        }
    }

    @Test("k = 0 leaves beta·C, without reading C when beta is 0")
    func emptyDepth() {
        for path in Path.entryPoints {
            for beta in [0.0, 1, -2] {
                check(Float.self, path, Shape(5, 7, 0), Transposition(a: false, b: false), alpha: 1, beta: Float(beta))
                check(Double.self, path, Shape(9, 3, 0), Transposition(a: true, b: true), alpha: 1, beta: beta)
            }
        }
    }

    @Test("empty C is not touched", arguments: [Shape(0, 5, 3), Shape(4, 0, 3), Shape(0, 0, 0)])
    func emptyOutput(shape: Shape) {
        for path in Path.entryPoints {
            check(Float.self, path, shape, Transposition(a: false, b: true), alpha: 1, beta: 1)
        }
    }

    @Test("splits products across threads by rows or by columns")
    func threadedShapes() {
        // Ragged last tiles; the second shape has too few rows to share out, so its columns are.
        for level in Path.levels {
            for shape in [Shape(61, 37, 50), Shape(13, 150, 50)] {
                check(Float.self, .threaded(level), shape, Transposition(a: false, b: false), alpha: 1, beta: 1)
                check(Double.self, .threaded(level), shape, Transposition(a: true, b: true), alpha: 1, beta: 1)
            }
        }
    }

    @Test("cuts C into one block per thread along its longer side for a single-threaded BLAS")
    func threadBlocksCoverC() {
        final class Blocks: @unchecked Sendable {
            let lock = Lock()
            var cells: [Int] = []
        }
        for (m, n) in [(61, 37), (13, 150), (1, 9), (7, 1)] {
            let blocks = Blocks()
            blocks.cells = Array(repeating: 0, count: m * n)
            GEMM.forEachThreadBlock(m: m, n: n, k: 50, workPerThread: 1) { rows, columns in
                blocks.lock.withLock { for i in rows { for j in columns { blocks.cells[i * n + j] += 1 } } }
            }
            #expect(blocks.cells.allSatisfy { $0 == 1 }, "\(m)×\(n): every element of C in exactly one block")
        }
        var calls = 0
        GEMM.forEachThreadBlock(m: 64, n: 64, k: 64) { rows, columns in
            calls += 1
            #expect(rows == 0..<64 && columns == 0..<64)
        }
        #expect(calls == 1, "a 64³ product is too small to split")
    }

    /// The flip to Cᵀ = op(B)ᵀ·op(A)ᵀ is priced with each kernel's narrow last panels: the
    /// seed's xᵀ·g (C 1000×100) stays as it is on AVX-512, where its last 4 columns run a
    /// quarter-width tile, and flipping it to a transposed C ran 15% slower.
    @Test("prices a narrow last panel at its own width")
    func edgeCost() {
        let tile = (rows: 6, columns: 32)
        #expect(BuiltinGEMM.cost(rows: 1000, columns: 100, tile: tile, narrowest: 8) == 1002 * (96 + 8 + 32))
        #expect(BuiltinGEMM.cost(rows: 1000, columns: 110, tile: tile, narrowest: 8) == 1002 * (96 + 16 + 32))
        #expect(BuiltinGEMM.cost(rows: 1000, columns: 120, tile: tile, narrowest: 8) == 1002 * (128 + 32))
        #expect(BuiltinGEMM.cost(rows: 1000, columns: 100, tile: tile, narrowest: 32) == 1002 * (128 + 32))
        #expect(BuiltinGEMM.cost(rows: 6, columns: 64, tile: tile, narrowest: 8) == 6 * (64 + 32))
    }

    @Test("with alpha 1 and beta 0, gives the naive loop's sums bit for bit")
    func sequentialSums() {
        // Deeper than one depth block, thin enough to be computed transposed, threaded, and a
        // narrow last panel computed as its transpose.
        for level in Path.levels {
            for (shape, transposition) in [
                (Shape(13, 11, 600), Transposition(a: false, b: false)),
                (Shape(64, 10, 1000), Transposition(a: true, b: false)),
                (Shape(37, 90, 700), Transposition(a: false, b: true)),
                (Shape(37, 100, 600), Transposition(a: false, b: false)),
                (Shape(100, 100, 300), Transposition(a: true, b: false)),
                // As the seed's xᵀ·g (1000×64 · 64×100): A's columns 2400 bytes apart are packed,
                // and C's last 4 columns are computed as their transpose.
                (Shape(600, 100, 64), Transposition(a: true, b: false)),
            ] {
                exactCheck(Float.self, level, shape, transposition)
                exactCheck(Double.self, level, shape, transposition)
            }
        }
    }

    /// A share of C whose rows are 1–3 more than a whole number of tiles ends in two shorter
    /// tiles (`tile_height` in GEMMKernel.h), whether A is read in place or packed into panels
    /// of those heights: 300 columns are too many to read A in place, 100 few enough, and leave
    /// 4 columns for the tall half-width tiles, whose rest of rows ends the same way.
    @Test("runs the last 7–9 rows of a share as two shorter tiles")
    func shortTiles() {
        for level in Path.levels where level != .baseline {
            for m in [7, 8, 9, 10, 11, 12, 15, 17, 20] {
                for (n, transposition) in [(300, Transposition(a: false, b: false)), (300, Transposition(a: true, b: true)), (100, Transposition(a: false, b: false))] {
                    exactCheck(Float.self, level, Shape(m, n, 40), transposition)
                    exactCheck(Double.self, level, Shape(m, n, 40), transposition)
                }
            }
            // Shared out by rows: 64 rows as 32 and 32, each six tiles of 6, 6, 6, 6, 4 and 4 rows.
            check(Float.self, .threaded(level), Shape(64, 100, 70), Transposition(a: false, b: false), alpha: 1, beta: 1)
            check(Double.self, .threaded(level), Shape(64, 300, 70), Transposition(a: false, b: true), alpha: 1, beta: 1)
        }
    }

    /// A C of one column (or one row) whose op(A) rows (or op(B) columns) are contiguous is a
    /// set of dot products along them, each in the lane order of `ember_sgemv_avx2`, whatever the
    /// threads; at the baseline level the Swift kernel's tiles run it.
    @Test("takes matrix–vector products as dot products in a fixed lane order, bit for bit")
    func matrixVectorLanes() {
        for level in Path.levels where level != .baseline {
            for path in [Path.builtin(level), .threaded(level)] {
                for (shape, transposition) in [
                    (Shape(13, 1, 1000), Transposition(a: false, b: false)),
                    (Shape(7, 1, 31), Transposition(a: false, b: true)),
                    (Shape(1, 9, 70), Transposition(a: true, b: true)),
                    (Shape(1, 21, 64), Transposition(a: false, b: true)),
                ] {
                    laneCheck(Float.self, path, shape, transposition)
                    laneCheck(Double.self, path, shape, transposition)
                }
            }
        }
    }

    /// `mv` and its gradients through the dot products (rows of 32 floats and more), against a
    /// double reference and float64 gradcheck.
    @Test func mvRunsTheDotProducts() throws {
        let generator = Generator(seed: 8)
        let matrix = Tensor.randn([37, 100], generator: generator), vector = Tensor.randn([100], generator: generator)
        let (a, x) = (matrix.toArray(as: Float.self), vector.toArray(as: Float.self))
        let product = matrix.mv(vector).toArray(as: Float.self)
        for row in 0..<37 {
            let terms = (0..<100).map { Double(a[row * 100 + $0]) * Double(x[$0]) }
            let bound = Double(Float.ulpOfOne) * 102 * terms.reduce(0) { $0 + Swift.abs($1) }
            #expect(Swift.abs(Double(product[row]) - terms.reduce(0, +)) <= bound, "row \(row)")
        }
        let m = Tensor.randn([5, 40], dtype: .float64, requiresGrad: true, generator: generator)
        let v = Tensor.randn([40], dtype: .float64, requiresGrad: true, generator: generator)
        try gradcheck([m, v]) { $0[0].mv($0[1]) }
    }

    /// Strides may be anything, zero included (an expanded tensor): A read in place, B's packing
    /// and the transposed narrow edge then read one row of A, or of B, again and again.
    @Test("reads a leading dimension of 0 as one row repeated, bit for bit", arguments: [false, true])
    func repeatedRows(inB: Bool) {
        let (m, n, k) = (64, 100, 300)
        var seed: UInt64 = 11
        let row = (0..<(inB ? n : k)).map { _ in Float(Self.nextUniform(&seed)) }
        let other = (0..<(inB ? m * k : k * n)).map { _ in Float(Self.nextUniform(&seed)) }
        let (a, lda, b, ldb) = inB ? (other, k, row, 0) : (row, 0, other, n)
        for level in Path.levels {
            var c = [Float](repeating: .nan, count: m * n)
            Float.gemm(
                .builtin(level), transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: a, lda: lda, b: b,
                ldb: ldb, beta: 0, c: &c, ldc: n)
            let sums = naiveSums(m: m, n: n, k: k, level: level, a: { i, p in a[i * lda + p] }, b: { p, j in b[p * ldb + j] })
            let mismatches = zip(c, sums).filter { $0 != $1 }.count
            #expect(mismatches == 0, "\(level)")
        }
    }

    @Test("ignores the leading dimension of a single row")
    func loneRow() {
        // [1 2 3] · [[1 2], [3 4], [5 6]] = [22 28], with lda 0: a lone row's stride is never used.
        let a: [Float] = [1, 2, 3], b: [Float] = [1, 2, 3, 4, 5, 6]
        for path in Path.entryPoints {
            var c: [Float] = [.nan, .nan]
            Float.gemm(
                path, transA: false, transB: false, m: 1, n: 2, k: 3, alpha: 1, a: a, lda: 0, b: b, ldb: 2,
                beta: 0, c: &c, ldc: 0)
            #expect(c == [22, 28], "\(path)")
        }
    }

    @Test("names its implementation")
    func implementationName() {
        #expect(Ember.blasLibrary == BLASLibrary.shared?.name)
        #expect(GEMM.implementation == (BLASLibrary.isEnabledByDefault ? Ember.blasLibrary ?? "built-in" : "built-in"))
        if let library = BLASLibrary.shared, library.name.hasPrefix("OpenBLAS") {
            // "OpenBLAS 0.3.21 (libopenblas.so.0, Haswell kernels)": the version and kernels it chose.
            #expect(library.name.wholeMatch(of: /OpenBLAS [0-9][^ ]* \([^,]+, [A-Za-z0-9_]+ kernels\)/) != nil, "\(library.name)")
        }
    }

    /// An OpenBLAS whose kernels are narrower than the built-in kernel's yields to it: 256-bit
    /// ones only where 512-bit multiply-adds run at full rate, 128-bit ones (SSE3, or AVX
    /// without fused multiply-adds) wherever the built-in kernel has AVX2. OpenBLAS's own
    /// AVX-512 kernels, Zen 4's half-width AVX-512 against 256-bit kernels, a CPU without AVX2,
    /// or a name it does not know keep the library.
    @Test(arguments: [
        ("Haswell", CPUFeatures.Level.avx512, true, true), ("Zen", .avx512, true, true), ("HASWELL", .avx512, true, true),
        ("SkylakeX", .avx512, true, false), ("Cooperlake", .avx512, true, false), ("SapphireRapids", .avx512, true, false),
        ("Haswell", .avx512, false, false), ("Haswell", .avx2, true, false), ("Haswell", .baseline, false, false),
        ("Prescott", .avx512, true, true), ("Prescott", .avx512, false, true), ("Sandybridge", .avx2, false, true),
        ("Nehalem", .avx2, false, true), ("Prescott", .baseline, false, false), ("SkylakeX", .avx2, false, false),
        ("Zen6", .avx512, true, false), ("Unknown", .avx512, true, false), (nil, .avx512, true, false),
    ] as [(String?, CPUFeatures.Level, Bool, Bool)])
    func builtinOutrunsNarrowOpenBLAS(core: String?, level: CPUFeatures.Level, fullWidth: Bool, outruns: Bool) {
        #expect(BLASLibrary.builtinOutruns(openBLASCore: core, level: level, avx512IsFullWidth: fullWidth) == outruns)
    }

    /// The library is on by default unless the built-in kernel outruns it; `EMBER_BLAS` naming
    /// it keeps it on. In child processes, as the environment is read once.
    @Test func blasDefaultFollowsTheChoice() async {
        await #expect(processExitsWith: .success) {
            guard let library = BLASLibrary.shared else { return }
            precondition(Ember.blasEnabled == !library.isOutrunByBuiltin)
            let core = library.name.firstMatch(of: /^OpenBLAS .*, ([A-Za-z0-9_]+) kernels\)$/).map { String($0.1) }
            precondition(library.isOutrunByBuiltin == BLASLibrary.builtinOutruns(openBLASCore: core))
        }
        await #expect(processExitsWith: .success) {
            setenv("EMBER_BLAS", "libopenblas.so.0", 1)
            guard BLASLibrary.shared?.path == "libopenblas.so.0" else { return }
            precondition(Ember.blasEnabled && Ember.gemmImplementation == Ember.blasLibrary)
        }
    }

    /// A batch of small products is shared out whole between the threads: each matrix is
    /// still its own `mm`'s, bit for bit, for float, integer and half types, strided views, every
    /// other matrix of a batch, and a matrix expanded to a batch (batch stride 0).
    @Test(arguments: [DType.float32, .float64, .int64, .bfloat16])
    func batchOfSmallProductsMatchesEachProduct(dtype: DType) {
        let aValues: [Double] = (0..<32 * 48 * 40).map { Double(($0 * 37) % 23 - 11) }
        let bValues: [Double] = (0..<32 * 40 * 36).map { Double(($0 * 53) % 19 - 9) }
        let a = Tensor(aValues, shape: [32, 48, 40]).to(dtype)
        let b = Tensor(bValues, shape: [32, 36, 40]).to(dtype).transpose(1, 2)
        let product = a.bmm(b)
        #expect(product.shape == [32, 48, 36])
        for index in 0..<32 {
            let expected: [Double] = a[index].mm(b[index]).to(DType.float64).toArray(as: Double.self)
            let actual: [Double] = product[index].to(DType.float64).toArray(as: Double.self)
            #expect(actual == expected, "\(dtype) matrix \(index)")
        }
        let everyOther = a[TensorIndex.slice(start: nil, end: nil, step: 2)], shared = b[3].unsqueeze(0).expand([16, 40, 36])
        #expect(shared.strides[0] == 0)
        let mixed = everyOther.bmm(shared)
        for index in 0..<16 {
            let expected: [Double] = a[2 * index].mm(b[3]).to(DType.float64).toArray(as: Double.self)
            #expect(mixed[index].to(DType.float64).toArray(as: Double.self) == expected, "\(dtype) every other matrix \(index)")
        }
    }

    /// `ember_cpu_avx512_is_full_width` reads the vendor and family as Linux reports them:
    /// Intel's AVX-512 cores and AMD's from family 1Ah (Zen 5).
    @Test func fullWidthAVX512FollowsTheVendorAndFamily() throws {
        #if os(Linux) && arch(x86_64)
        let info = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        func field(_ name: String) -> String? {
            info.split(separator: "\n").first { $0.hasPrefix(name) }?.split(separator: ":", maxSplits: 1).last?
                .trimmingCharacters(in: .whitespaces)
        }
        let vendor = try #require(field("vendor_id")), family = try #require(field("cpu family").flatMap { Int($0) })
        let avx512 = CPUFeatures.detected == .avx512
        #expect(CPUFeatures.avx512IsFullWidth == (avx512 && (vendor == "GenuineIntel" || (vendor == "AuthenticAMD" && family >= 0x1A))))
        #endif
    }
}

extension GEMMTests {
    /// m×n output, k deep.
    struct Shape: CustomTestStringConvertible, Sendable {
        let m, n, k: Int
        init(_ m: Int, _ n: Int, _ k: Int) { (self.m, self.n, self.k) = (m, n, k) }
        var testDescription: String { "\(m)×\(n)×\(k)" }
    }

    struct Transposition: CustomTestStringConvertible, Sendable {
        let a, b: Bool
        var testDescription: String { "\(a ? "Aᵀ" : "A")·\(b ? "Bᵀ" : "B")" }
    }

    /// Which entry point a check calls.
    enum Path {
        /// `GEMM.sgemm` / `dgemm` with the library products run by default, or none.
        case dispatcher
        /// `GEMM.sgemm` / `dgemm` through the loaded BLAS, whether products run it by default
        /// or not.
        case library
        /// The built-in kernel for a level (what `GEMM.sgemm` / `dgemm` run without a BLAS),
        /// whatever BLAS is loaded.
        case builtin(CPUFeatures.Level)
        /// The built-in kernel for a level, split across threads however little work the product is.
        case threaded(CPUFeatures.Level)

        /// Every kernel level this CPU can run, whatever `EMBER_CPU` asks for.
        static let levels = [CPUFeatures.Level.baseline, .avx2, .avx512].filter { $0 <= CPUFeatures.detected }

        /// The entry points that production code calls.
        static let entryPoints: [Path] =
            [.dispatcher] + (BLASLibrary.shared != nil && !BLASLibrary.isEnabledByDefault ? [.library] : []) + levels.map { .builtin($0) }
    }

    /// A row-major matrix whose rows are `padding` elements longer than needed; the gaps hold NaN
    /// so that reading them poisons the result and writing them shows up as a changed value.
    struct PaddedMatrix<T: GEMMTestScalar> {
        let rows, columns, stride: Int
        var storage: [T]

        init(rows: Int, columns: Int, padding: Int, seed: inout UInt64, fill: T? = nil) {
            (self.rows, self.columns, stride) = (rows, columns, columns + padding)
            storage = Array(repeating: .nan, count: max(rows * stride, 1))
            for i in 0..<rows {
                for j in 0..<columns { storage[i * stride + j] = fill ?? T(GEMMTests.nextUniform(&seed)) }
            }
        }

        subscript(i: Int, j: Int) -> T { storage[i * stride + j] }
    }

    /// A deterministic value in [-1, 1) (SplitMix64), so failures reproduce.
    static func nextUniform(_ state: inout UInt64) -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Double((z ^ (z >> 31)) >> 11) / Double(1 << 52) - 1
    }

    /// Runs one product through `path` and compares every element of C, gaps included, with a
    /// `Double` reference, to within the rounding bound of a k-term dot product in `T`.
    func check<T: GEMMTestScalar>(
        _: T.Type, _ path: Path, _ shape: Shape, _ transposition: Transposition, alpha: T, beta: T,
        padding: Int = 0, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let (m, n, k) = (shape.m, shape.n, shape.k)
        var seed = UInt64(m * 1_000_003 + n * 1_009 + k)
        let a = transposition.a
            ? PaddedMatrix<T>(rows: k, columns: m, padding: padding, seed: &seed)
            : PaddedMatrix<T>(rows: m, columns: k, padding: padding, seed: &seed)
        let b = transposition.b
            ? PaddedMatrix<T>(rows: n, columns: k, padding: padding, seed: &seed)
            : PaddedMatrix<T>(rows: k, columns: n, padding: padding, seed: &seed)
        // With beta 0, C starts as NaN: the product must overwrite it without reading it.
        var c = PaddedMatrix<T>(rows: m, columns: n, padding: padding, seed: &seed, fill: beta == 0 ? .nan : nil)
        let original = c
        let opA = { (i: Int, p: Int) in Double(transposition.a ? a[p, i] : a[i, p]) }
        let opB = { (p: Int, j: Int) in Double(transposition.b ? b[j, p] : b[p, j]) }

        a.storage.withUnsafeBufferPointer { aBuffer in
            b.storage.withUnsafeBufferPointer { bBuffer in
                c.storage.withUnsafeMutableBufferPointer { cBuffer in
                    T.gemm(
                        path, transA: transposition.a, transB: transposition.b, m: m, n: n, k: k, alpha: alpha,
                        a: aBuffer.baseAddress!, lda: a.stride, b: bBuffer.baseAddress!, ldb: b.stride,
                        beta: beta, c: cBuffer.baseAddress!, ldc: c.stride)
                }
            }
        }

        var mismatches = 0
        for i in 0..<m {
            for j in 0..<c.stride {
                let actual = c[i, j]
                guard j < n else {
                    // Gaps past the last column stay NaN.
                    if !actual.isNaN { mismatches += 1 }
                    continue
                }
                var sum = 0.0, magnitude = 0.0
                for p in 0..<k {
                    sum += opA(i, p) * opB(p, j)
                    magnitude += abs(opA(i, p) * opB(p, j))
                }
                let start = beta == 0 ? 0 : Double(beta) * Double(original[i, j])
                let expected = Double(alpha) * sum + start
                let bound = Double(T.ulpOfOne) * Double(k + 2) * (abs(Double(alpha)) * magnitude + abs(start))
                if !(abs(Double(actual) - expected) <= bound) { mismatches += 1 }
            }
        }
        #expect(
            mismatches == 0,
            """
            \(mismatches) wrong elements: \(T.self) \(path) \(shape.testDescription) \
            \(transposition.testDescription) alpha \(alpha) beta \(beta) padding \(padding)
            """,
            sourceLocation: sourceLocation)
    }
}

extension GEMMTests {
    /// Compares the built-in kernel for `level` with the naive loop over k in `T` (`naiveSums`),
    /// for exact equality.
    func exactCheck<T: GEMMTestScalar>(
        _: T.Type, _ level: CPUFeatures.Level, _ shape: Shape, _ transposition: Transposition,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        exactProduct(T.self, .builtin(level), shape, transposition, sourceLocation: sourceLocation) { a, b in
            naiveSums(m: shape.m, n: shape.n, k: shape.k, level: level, a: a, b: b)
        }
    }

    /// Compares a matrix–vector product through `path` with `laneDots`, for exact equality: the
    /// matrix's rows are op(A)'s for a C of one column, op(B)'s columns for a C of one row.
    func laneCheck<T: GEMMTestScalar>(
        _: T.Type, _ path: Path, _ shape: Shape, _ transposition: Transposition, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        exactProduct(T.self, path, shape, transposition, sourceLocation: sourceLocation) { opA, opB in
            shape.n == 1
                ? laneDots(count: shape.m, k: shape.k, matrix: opA, vector: { opB($0, 0) })
                : laneDots(count: shape.n, k: shape.k, matrix: { j, p in opB(p, j) }, vector: { opA(0, $0) })
        }
    }

    /// Runs a product with alpha 1 and beta 0 through `path` and compares C, element for element,
    /// with `expected` of op(A) and op(B).
    func exactProduct<T: GEMMTestScalar>(
        _: T.Type, _ path: Path, _ shape: Shape, _ transposition: Transposition, sourceLocation: SourceLocation,
        expected: (_ opA: (Int, Int) -> T, _ opB: (Int, Int) -> T) -> [T]
    ) {
        let (m, n, k) = (shape.m, shape.n, shape.k)
        var seed: UInt64 = 7
        let (aRows, aColumns) = transposition.a ? (k, m) : (m, k)
        let (bRows, bColumns) = transposition.b ? (n, k) : (k, n)
        let a = PaddedMatrix<T>(rows: aRows, columns: aColumns, padding: 0, seed: &seed)
        let b = PaddedMatrix<T>(rows: bRows, columns: bColumns, padding: 0, seed: &seed)
        var c = [T](repeating: .nan, count: m * n)
        T.gemm(
            path, transA: transposition.a, transB: transposition.b, m: m, n: n, k: k, alpha: 1,
            a: a.storage, lda: a.stride, b: b.storage, ldb: b.stride, beta: 0, c: &c, ldc: n)
        let values = expected({ i, p in transposition.a ? a[p, i] : a[i, p] }, { p, j in transposition.b ? b[j, p] : b[p, j] })
        let mismatches = zip(c, values).filter { $0 != $1 }.count
        #expect(mismatches == 0, "\(T.self) \(path) \(shape.testDescription)", sourceLocation: sourceLocation)
    }

    /// Each row of `matrix` dotted with `vector` as `ember_sgemv_avx2` documents: 64 bytes' worth
    /// of lanes twice over, each fused multiply-adding every (2·width)th element of the whole
    /// groups, folded in half and then halved as a tree, and the rest fused multiply-added in order.
    func laneDots<T: GEMMTestScalar>(count: Int, k: Int, matrix: (Int, Int) -> T, vector: (Int) -> T) -> [T] {
        let width = 64 / MemoryLayout<T>.size, whole = k / (2 * width) * (2 * width)
        return (0..<count).map { i in
            var lanes = [T](repeating: 0, count: 2 * width)
            for p in 0..<whole { lanes[p % (2 * width)].addProduct(matrix(i, p), vector(p)) }
            var half = width
            while half > 0 {
                for lane in 0..<half { lanes[lane] += lanes[lane + half] }
                half /= 2
            }
            var total = lanes[0]
            for p in whole..<k { total.addProduct(matrix(i, p), vector(p)) }
            return total
        }
    }

    /// The m×n product of `a` (m×k) and `b` (k×n), row-major, each element summed in k order as
    /// the kernels for `level` do: `sum += a * b` for the Swift kernel, one fused multiply-add a
    /// step for the C kernels.
    func naiveSums<T: GEMMTestScalar>(
        m: Int, n: Int, k: Int, level: CPUFeatures.Level, a: (Int, Int) -> T, b: (Int, Int) -> T
    ) -> [T] {
        var sums = [T](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var sum: T = 0
                for p in 0..<k {
                    if level == .baseline { sum += a(i, p) * b(p, j) } else { sum.addProduct(a(i, p), b(p, j)) }
                }
                sums[i * n + j] = sum
            }
        }
        return sums
    }
}

/// Float and Double, routed to the matching GEMM entry points.
protocol GEMMTestScalar: GEMMScalar {
    /// `GEMM.sgemm` or `GEMM.dgemm`.
    static var dispatcher: (
        _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Self, _ a: UnsafePointer<Self>, _ lda: Int,
        _ b: UnsafePointer<Self>, _ ldb: Int, _ beta: Self, _ c: UnsafeMutablePointer<Self>, _ ldc: Int, _ library: BLASLibrary?
    ) -> Void { get }
}

extension Float: GEMMTestScalar {
    static var dispatcher: (Bool, Bool, Int, Int, Int, Float, UnsafePointer<Float>, Int, UnsafePointer<Float>, Int, Float, UnsafeMutablePointer<Float>, Int, BLASLibrary?) -> Void {
        GEMM.sgemm
    }
}

extension Double: GEMMTestScalar {
    static var dispatcher: (Bool, Bool, Int, Int, Int, Double, UnsafePointer<Double>, Int, UnsafePointer<Double>, Int, Double, UnsafeMutablePointer<Double>, Int, BLASLibrary?) -> Void {
        GEMM.dgemm
    }
}

extension GEMMTestScalar {
    static func gemm(
        _ path: GEMMTests.Path, transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Self,
        a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int
    ) {
        let operands = Operands(transA: transA, transB: transB, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc)
        switch path {
        case .dispatcher: dispatcher(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, GEMM.library)
        case .library: dispatcher(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, BLASLibrary.shared)
        case .builtin(let level): BuiltinGEMM.run(operands, m: m, n: n, k: k, alpha: alpha, beta: beta, level: level)
        case .threaded(let level):
            BuiltinGEMM.run(operands, m: m, n: n, k: k, alpha: alpha, beta: beta, workPerThread: 1, level: level)
        }
    }
}
