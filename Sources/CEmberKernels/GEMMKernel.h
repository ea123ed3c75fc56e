// One blocked GEMM, stamped out per scalar type and instruction set by GEMM.c, which defines
// these before each #include (the end of this file undefines all but GEMM_TARGET and the
// cache blocks):
//   GEMM_SCALAR, GEMM_VECTOR      float or double, and the register type holding GEMM_LANES of them
//   GEMM_ROWS, GEMM_COLUMNS       the register tile of C (GEMM_ROWS 6 or 8, a literal; GEMM_COLUMNS a
//                                 multiple of GEMM_LANES)
//   GEMM_DEPTH_BLOCK, GEMM_ROW_BLOCK, GEMM_COLUMN_BLOCK   cache blocks of k, m and n
//   GEMM_TARGET                   the __attribute__((target(...))) string
//   GEMM_LOAD, GEMM_STORE, GEMM_BROADCAST, GEMM_FMA (x·y + z), GEMM_MULTIPLY, GEMM_ZERO
//   GEMM_PREFIX                   token pasted onto the static helpers' names
//   GEMM_TALL_ROWS                the height of the tall half-width tile (at most 2·GEMM_ROWS)
//   GEMM_NARROW_COLUMNS, GEMM_NARROW_ROWS, GEMM_NARROW_TILES, GEMM_NARROW_TALL_TILE,
//   GEMM_NARROW_TALL_ROWS         optional: a narrower instantiation's tile height, tiles table,
//                                 and tall half-width tile and its height, which run last panels
//                                 of at most that many columns against an A read in place
//   GEMM_TRANSPOSED_EDGE, GEMM_TRANSPOSED_EDGE_PACKS   optional: the widest last panel that is
//                                 computed as its transpose, and whether it is where A is row-major
//   GEMM_PACK_COLUMNS             optional: packs a panel of B stored transposed, or of a
//                                 row-major A, as ember_pack_columns_f32 does (else one element
//                                 at a time)
//   GEMM_ENTRY                    the public function's name
//
// The scheme is Goto/BLIS: B is packed in GEMM_DEPTH_BLOCK×GEMM_COLUMNS micro-panels, A in
// GEMM_ROW_BLOCK×GEMM_DEPTH_BLOCK blocks of GEMM_ROWS-row micro-panels, and each B micro-panel
// stays in L1 while the micro-kernels stream the A block's micro-panels past it from L2, each
// into a register tile of C. Products too small to use the packed copies more than once read A,
// or B's whole micro-panels, where they are (GEMM_ENTRY says when).

#define GEMM_PASTE2(x, y) x##_##y
#define GEMM_PASTE(x, y) GEMM_PASTE2(x, y)
#define GEMM_STATIC(name) GEMM_PASTE(GEMM_PREFIX, name)
#define GEMM_VECTORS (GEMM_COLUMNS / GEMM_LANES)

/// The height of the next tile of C, or of A's packed micro-panel, when `left` rows remain of
/// tiles `height` high: a whole tile, or the rest, except that 1–3 rows more than a tile are
/// shared by two tiles of 4–6 rows. A tile under 4 rows has too few accumulators to cover the
/// multiply-add's latency, and a product's rows split between threads often leave such a rest:
/// 32×1000 · 1000×100 took 87 µs as tiles of 6,6,6,6,6,2 rows and 83 as 6,6,6,6,4,4 (AVX2, one
/// thread of the EPYC, alternating three times).
static inline ptrdiff_t GEMM_STATIC(tile_height)(ptrdiff_t left, ptrdiff_t height) {
    if (left <= height) return left;
    return left < height + 4 ? (left + 1) / 2 : height;
}

/// Copies the m×k block of A into micro-panels of `tile_height` rows, column by column, so that
/// the micro-kernel reads A sequentially: a panel of r rows holds element (i, p) at p·r + i.
__attribute__((target(GEMM_TARGET)))
static void GEMM_STATIC(pack_a)(
    ptrdiff_t m, ptrdiff_t k, const GEMM_SCALAR *a, ptrdiff_t a_row, ptrdiff_t a_column,
    GEMM_SCALAR *restrict packed) {
    for (ptrdiff_t i = 0, rows; i < m; i += rows, packed += rows * k) {
        rows = GEMM_STATIC(tile_height)(m - i, GEMM_ROWS);
        const GEMM_SCALAR *panel = a + i * a_row;
        if (rows == GEMM_ROWS && a_row == 1) {
            // A transposed: each packed column is contiguous in A.
            for (ptrdiff_t p = 0; p < k; p++)
                for (int r = 0; r < GEMM_ROWS; r++) packed[p * GEMM_ROWS + r] = panel[p * a_column + r];
            continue;
        }
#ifdef GEMM_PACK_COLUMNS
        if (rows == GEMM_ROWS && a_column == 1) {
            // A row-major: its rows are the contiguous columns that B's transposing packer reads.
            GEMM_PACK_COLUMNS(k, GEMM_ROWS, panel, a_row, packed, GEMM_ROWS);
            continue;
        }
#endif
        for (ptrdiff_t r = 0; r < rows; r++)
#pragma clang loop vectorize(disable)  // strided stores: see pack_b
            for (ptrdiff_t p = 0; p < k; p++) packed[p * rows + r] = panel[r * a_row + p * a_column];
    }
}

/// Prefetches, for writing, the `rows` rows of a whole-width C tile at `c`.
__attribute__((target(GEMM_TARGET), always_inline))
static inline void GEMM_STATIC(prefetch_tile)(GEMM_SCALAR *c, ptrdiff_t rows, ptrdiff_t c_row) {
    for (ptrdiff_t r = 0; r < rows; r++)
        for (size_t byte = 0; byte < GEMM_COLUMNS * sizeof(GEMM_SCALAR); byte += 64)
            __builtin_prefetch((char *)(c + r * c_row) + byte, 1, 3);
}

/// Whether a last panel of `columns` columns runs the narrower instantiation's tiles: only
/// against an A read in place, as their height differs from A's packed micro-panels'.
static inline int GEMM_STATIC(is_narrow)(ptrdiff_t columns, int a_in_place) {
#ifdef GEMM_NARROW_COLUMNS
    return a_in_place && columns <= GEMM_NARROW_COLUMNS;
#else
    return 0;
#endif
}

/// The packed width of a B micro-panel of `columns` columns: the narrowest micro-kernel's width
/// that holds them.
static inline ptrdiff_t GEMM_STATIC(panel_width)(ptrdiff_t columns, int narrow) {
#ifdef GEMM_NARROW_COLUMNS
    if (narrow) return GEMM_NARROW_COLUMNS;
#endif
    return columns <= GEMM_COLUMNS / 2 ? GEMM_COLUMNS / 2 : GEMM_COLUMNS;
}

/// Copies the k×n block of B into GEMM_COLUMNS-column micro-panels, row by row, zero-padded; a
/// narrow last panel is packed at the width of the micro-kernel that runs it (`panel_width`).
/// Padding columns are computed but never stored; zeros keep NaN or denormal garbage from
/// slowing the arithmetic.
__attribute__((target(GEMM_TARGET)))
static void GEMM_STATIC(pack_b)(
    ptrdiff_t k, ptrdiff_t n, const GEMM_SCALAR *b, ptrdiff_t b_row, ptrdiff_t b_column, int a_in_place,
    GEMM_SCALAR *restrict packed) {
    for (ptrdiff_t j = 0; j < n; j += GEMM_COLUMNS, packed += GEMM_COLUMNS * k) {
        ptrdiff_t columns = n - j < GEMM_COLUMNS ? n - j : GEMM_COLUMNS;
        ptrdiff_t width = GEMM_STATIC(panel_width)(columns, GEMM_STATIC(is_narrow)(columns, a_in_place));
        const GEMM_SCALAR *panel = b + j * b_column;
        if (columns == GEMM_COLUMNS && b_column == 1) {
            for (ptrdiff_t p = 0; p < k; p++)
                for (int v = 0; v < GEMM_VECTORS; v++)
                    GEMM_STORE(packed + p * GEMM_COLUMNS + v * GEMM_LANES, GEMM_LOAD(panel + p * b_row + v * GEMM_LANES));
            continue;
        }
        // Element by element, along B's contiguous side, after zeroing the padding in one call
        // (zeroing it row by row became a memset call per row).
        if (columns < width) memset(packed, 0, (size_t)(k * width) * sizeof(GEMM_SCALAR));
        if (b_row == 1) {
#ifdef GEMM_PACK_COLUMNS
            GEMM_PACK_COLUMNS(k, columns, panel, b_column, packed, width);
#else
            for (ptrdiff_t c = 0; c < columns; c++)
                // Vectorized, strided stores become scatters, slower on Zen 5 than one element at
                // a time (a 64×1000 · (100×1000)ᵀ product took 70–104 µs instead of 65–67).
#pragma clang loop vectorize(disable)
                for (ptrdiff_t p = 0; p < k; p++) packed[p * width + c] = panel[p + c * b_column];
#endif
        } else {
            for (ptrdiff_t p = 0; p < k; p++)
                for (ptrdiff_t c = 0; c < columns; c++) packed[p * width + c] = panel[p * b_row + c * b_column];
        }
    }
}

/// C tile = alpha·(S + A micro-panel · B micro-panel) + beta·C tile, where S is the C tile itself
/// when `resuming` and zero otherwise, storing only the first `columns` columns. The A
/// micro-panel's element (r, p) is `a[r * a_row + p * a_column]` and the B micro-panel's row p
/// starts at `b + p * b_row`: packed, or the matrix itself. The tile
/// is `rows` high (GEMM_ROWS, or fewer for a ragged last panel, or twice it for a half-width
/// panel of an A read in place) and `vectors` registers wide (GEMM_VECTORS, or half that for a narrow
/// last panel), so that edges waste no arithmetic on padding rows and little on padding columns.
__attribute__((target(GEMM_TARGET), always_inline))
static inline void GEMM_STATIC(tile)(
    int rows, int vectors, ptrdiff_t k, const GEMM_SCALAR *restrict a, ptrdiff_t a_row, ptrdiff_t a_column,
    const GEMM_SCALAR *restrict b, ptrdiff_t b_row, GEMM_SCALAR *c, ptrdiff_t c_row, ptrdiff_t c_column,
    ptrdiff_t columns, GEMM_SCALAR alpha, GEMM_SCALAR beta, int resuming) {
    int width = vectors * GEMM_LANES;
    // A whole-width tile of contiguous C is read and written in place; any other goes through `edge`.
    int direct = columns == width && c_column == 1;
    GEMM_SCALAR edge[2 * GEMM_ROWS * GEMM_COLUMNS] __attribute__((aligned(64)));
    GEMM_SCALAR *tile = direct ? c : edge;
    ptrdiff_t tile_row = direct ? c_row : width;
    if (!direct && (resuming || beta != 0)) {
        for (int r = 0; r < rows; r++)
            for (ptrdiff_t j = 0; j < columns; j++) edge[r * width + j] = c[r * c_row + j * c_column];
    }

    GEMM_VECTOR sums[2 * GEMM_ROWS][GEMM_VECTORS];
    for (int r = 0; r < rows; r++)
        for (int v = 0; v < vectors; v++)
            sums[r][v] = resuming ? GEMM_LOAD(tile + r * tile_row + v * GEMM_LANES) : GEMM_ZERO();
    // Each row's offset from `a` in a register of its own. Left to itself, LLVM reaches row r by
    // adding a_row to row r − 1's address, a chain of dependent adds that held a narrow tile to
    // ~6 cycles per step of k instead of its 4 cycles of multiply-add latency; the empty asm
    // hides how the offsets relate, so each load adds its own.
    ptrdiff_t offsets[2 * GEMM_ROWS];
    for (int r = 0; r < rows; r++) {
        offsets[r] = r * a_row;
        __asm__("" : "+r"(offsets[r]));
    }
    for (ptrdiff_t p = 0; p < k; p++, a += a_column, b += b_row) {
        GEMM_VECTOR row[GEMM_VECTORS];
        // B's row 8 steps ahead: the panel is meant to stay in L1, but on a host whose other
        // hyperthread evicts it the hardware prefetcher fetches it too late (512²–2048² 5–6%
        // faster then on the Emerald Rapids host; reading B in place, the rows are not adjacent).
        for (int v = 0; v < vectors; v++) __builtin_prefetch(b + 8 * b_row + v * GEMM_LANES, 0, 3);
        for (int v = 0; v < vectors; v++) row[v] = GEMM_LOAD(b + v * GEMM_LANES);
        for (int r = 0; r < rows; r++) {
            GEMM_VECTOR element = GEMM_BROADCAST(a[offsets[r]]);
            for (int v = 0; v < vectors; v++) sums[r][v] = GEMM_FMA(element, row[v], sums[r][v]);
        }
    }

    GEMM_VECTOR alphas = GEMM_BROADCAST(alpha), betas = GEMM_BROADCAST(beta);
    for (int r = 0; r < rows; r++) {
        for (int v = 0; v < vectors; v++) {
            GEMM_SCALAR *target = tile + r * tile_row + v * GEMM_LANES;
            GEMM_VECTOR value = alpha == 1 ? sums[r][v] : GEMM_MULTIPLY(alphas, sums[r][v]);
            if (beta != 0) value = GEMM_FMA(betas, GEMM_LOAD(target), value);
            GEMM_STORE(target, value);
        }
    }
    if (!direct) {
        for (int r = 0; r < rows; r++)
#pragma clang loop vectorize(disable)  // strided stores: see pack_b
            for (ptrdiff_t j = 0; j < columns; j++) c[r * c_row + j * c_column] = edge[r * width + j];
    }
}

// The micro-kernels proper, one per tile height and width, both constants so that the
// accumulators live in registers. Not inlined: inside the blocking loops LLVM runs out of
// registers and spills accumulators.

#define GEMM_TILE_PARAMETERS                                                                           \
    ptrdiff_t k, const GEMM_SCALAR *restrict a, ptrdiff_t a_row, ptrdiff_t a_column,                   \
        const GEMM_SCALAR *restrict b, ptrdiff_t b_row, GEMM_SCALAR *c, ptrdiff_t c_row,               \
        ptrdiff_t c_column, ptrdiff_t columns, GEMM_SCALAR alpha, GEMM_SCALAR beta, int resuming
#define GEMM_DEFINE_TILE(rows, vectors, name)                                                          \
    __attribute__((target(GEMM_TARGET), noinline))                                                     \
    static void GEMM_STATIC(name)(GEMM_TILE_PARAMETERS) {                                              \
        GEMM_STATIC(tile)(rows, vectors, k, a, a_row, a_column, b, b_row, c, c_row, c_column, columns, \
                          alpha, beta, resuming);                                                      \
    }
GEMM_DEFINE_TILE(1, GEMM_VECTORS / 2, tile_1_half)
GEMM_DEFINE_TILE(1, GEMM_VECTORS, tile_1_full)
GEMM_DEFINE_TILE(2, GEMM_VECTORS / 2, tile_2_half)
GEMM_DEFINE_TILE(2, GEMM_VECTORS, tile_2_full)
GEMM_DEFINE_TILE(3, GEMM_VECTORS / 2, tile_3_half)
GEMM_DEFINE_TILE(3, GEMM_VECTORS, tile_3_full)
GEMM_DEFINE_TILE(4, GEMM_VECTORS / 2, tile_4_half)
GEMM_DEFINE_TILE(4, GEMM_VECTORS, tile_4_full)
GEMM_DEFINE_TILE(5, GEMM_VECTORS / 2, tile_5_half)
GEMM_DEFINE_TILE(5, GEMM_VECTORS, tile_5_full)
GEMM_DEFINE_TILE(6, GEMM_VECTORS / 2, tile_6_half)
GEMM_DEFINE_TILE(6, GEMM_VECTORS, tile_6_full)
#if GEMM_ROWS == 8
GEMM_DEFINE_TILE(7, GEMM_VECTORS / 2, tile_7_half)
GEMM_DEFINE_TILE(7, GEMM_VECTORS, tile_7_full)
GEMM_DEFINE_TILE(8, GEMM_VECTORS / 2, tile_8_half)
GEMM_DEFINE_TILE(8, GEMM_VECTORS, tile_8_full)
#elif GEMM_ROWS != 6
#error "micro-kernels are defined for tiles 6 or 8 rows high"
#endif
// A half-width tile taller than the others: the six accumulators of a 6-row half tile wait on
// the multiply-add's latency (4 cycles for 6 multiply-adds where 2 a cycle could issue), and an
// 8-row one's eight only just cover it; twice as many keep both pipes busy. It runs a half-width
// last panel of B against an A read in place, whose rows are all `a_row` apart. Measured with
// six-row tiles, on one thread, alternating five times: a classifier head's 64×1000 · 1000×10
// took 15.0–19.5 µs against 19.7–21.4, and the seed's 64×1000 · 1000×100 (whose last 4 columns
// AVX-512 now computes transposed instead) 79.5–90.1 µs against 86.8–90.8. AVX2's is 8 rows, not
// 12: with 16 general registers, 12 rows' offsets spilled, and the reloads made 12 rows slower
// than 8 (see GEMM.c).
_Static_assert(GEMM_TALL_ROWS > GEMM_ROWS && GEMM_TALL_ROWS <= 2 * GEMM_ROWS, "the tall tile is taller than a tile");
GEMM_DEFINE_TILE(GEMM_TALL_ROWS, GEMM_VECTORS / 2, tile_tall_half)

/// The micro-kernels by height − 1, then by width: half or full.
static void (*const GEMM_STATIC(tiles)[GEMM_ROWS][2])(GEMM_TILE_PARAMETERS) = {
    {GEMM_STATIC(tile_1_half), GEMM_STATIC(tile_1_full)}, {GEMM_STATIC(tile_2_half), GEMM_STATIC(tile_2_full)},
    {GEMM_STATIC(tile_3_half), GEMM_STATIC(tile_3_full)}, {GEMM_STATIC(tile_4_half), GEMM_STATIC(tile_4_full)},
    {GEMM_STATIC(tile_5_half), GEMM_STATIC(tile_5_full)}, {GEMM_STATIC(tile_6_half), GEMM_STATIC(tile_6_full)},
#if GEMM_ROWS == 8
    {GEMM_STATIC(tile_7_half), GEMM_STATIC(tile_7_full)}, {GEMM_STATIC(tile_8_half), GEMM_STATIC(tile_8_full)},
#endif
};

/// The micro-kernel for a `rows`×`columns` tile of C: a `narrow` edge of B runs on the narrower
/// instruction set's half-width kernel, whose vectors are half as wide and on Zen 4 twice as
/// fast; more rows than a tile's run the tall half-width tile.
static inline void (*GEMM_STATIC(tile_for)(ptrdiff_t rows, ptrdiff_t columns, int narrow))(
    GEMM_TILE_PARAMETERS) {
#ifdef GEMM_NARROW_COLUMNS
    if (narrow) return rows > GEMM_NARROW_ROWS ? GEMM_NARROW_TALL_TILE : GEMM_NARROW_TILES[rows - 1][0];
#endif
    if (rows > GEMM_ROWS) return GEMM_STATIC(tile_tall_half);
    return GEMM_STATIC(tiles)[rows - 1][columns > GEMM_COLUMNS / 2];
}

__attribute__((target(GEMM_TARGET)))
void GEMM_ENTRY(
    ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, GEMM_SCALAR alpha,
    const GEMM_SCALAR *a, ptrdiff_t a_row, ptrdiff_t a_column, const GEMM_SCALAR *b, ptrdiff_t b_row,
    ptrdiff_t b_column, GEMM_SCALAR beta, GEMM_SCALAR *c, ptrdiff_t c_row, ptrdiff_t c_column) {
#ifdef GEMM_TRANSPOSED_EDGE
    // A narrow last panel (n = 100 leaves 4 columns) is computed as its transpose, whose rows are
    // those few columns and whose full-width tiles run along A's rows: 4 rows × 32 columns of it
    // cost 8 multiply-adds a step of k where the narrow tiles spent 32. With A stored transposed
    // (the seed's xᵀ·g) that transpose reads A's columns in place; with A row-major (x·w1) it
    // packs them, through register transposes. On one thread, alternating six to eight times in
    // one process: 1000×64 · 64×100 (A transposed) 64.9–66.8 µs against 68.9–71.5, 64×1000 ·
    // 1000×100 64.2 against 67.9, 256×256 · 256×100 65.2 against 68.0. Each element is still
    // one chain in k order. On AVX2 (GEMM_TRANSPOSED_EDGE_PACKS 0) only A stored transposed
    // gains: Zen 3 loads about one broadcast a cycle, so a half-width tile runs at half speed,
    // and 1000×64 · 64×100 took 162–166 µs against 175–185; packing a row-major A's columns
    // cost what the tiles saved (64×1000 · 1000×100 154–157 µs against 157–161, with 6 columns
    // left 163–164 against a half-width panel's 151).
    ptrdiff_t edge = n % GEMM_COLUMNS;
    int a_fits = a_row == 1 ? a_column != 1 : GEMM_TRANSPOSED_EDGE_PACKS && a_column == 1;
    if (a_fits && m > GEMM_COLUMNS && n > edge && edge && edge <= GEMM_TRANSPOSED_EDGE) {
        n -= edge;
        GEMM_ENTRY(
            edge, m, k, alpha, b + n * b_column, b_column, b_row, a, a_column, a_row, beta, c + n * c_column,
            c_column, c_row);
    }
#endif
    ptrdiff_t depth = k < GEMM_DEPTH_BLOCK ? k : GEMM_DEPTH_BLOCK;
    ptrdiff_t a_rows = m < GEMM_ROW_BLOCK ? m : GEMM_ROW_BLOCK;
    ptrdiff_t b_columns = n < GEMM_COLUMN_BLOCK ? n : GEMM_COLUMN_BLOCK;
    size_t a_count = (size_t)((a_rows + GEMM_ROWS - 1) / GEMM_ROWS * GEMM_ROWS * depth);
    size_t b_count = (size_t)((b_columns + GEMM_COLUMNS - 1) / GEMM_COLUMNS * GEMM_COLUMNS * depth);
    // Rounded up to whole cache lines, so that B's panels after A's stay 64-byte aligned.
    a_count = (a_count * sizeof(GEMM_SCALAR) + 63) / 64 * 64 / sizeof(GEMM_SCALAR);
    GEMM_SCALAR *packed_a = ember_gemm_scratch((a_count + b_count) * sizeof(GEMM_SCALAR));
    GEMM_SCALAR *packed_b = packed_a + a_count;

    for (ptrdiff_t jc = 0; jc < n; jc += GEMM_COLUMN_BLOCK) {
        ptrdiff_t nc = n - jc < GEMM_COLUMN_BLOCK ? n - jc : GEMM_COLUMN_BLOCK;
        // An A feeding few B micro-panels is read in place: the kernel's broadcasts load from a
        // tile's rows, or from a column of an A stored transposed, as cheaply as from one packed
        // column. Packing cost about a fifth of the time of a 64×1000 · 1000×100 product. Wider
        // products pack, as reading a 1024- or 2048-column row-major A in place was 10–20% slower.
        // So does an A stored transposed whose depth block spans more than 128 KiB: each step of
        // k then loads from another page, more pages than the L1 TLB's 64 entries hold. On one
        // thread of the EPYC (Zen 3), alternating: 1000×64 · 64×100 (the seed's xᵀ·g, rows 4000
        // bytes apart) 159–160 µs packed against 163–168 in place, 1000×512 · 512×100 1.19 ms
        // against 1.34; at 512×64 · 64×100 (128 KiB) in place still won, 81 against 91.
        int a_in_place = (a_column == 1 || (a_row == 1 && depth * a_column * (ptrdiff_t)sizeof(GEMM_SCALAR) <= 128 * 1024))
            && nc <= 8 * GEMM_COLUMNS;
        // The full micro-panels of a row-major B that one A block reads are read in place: packed,
        // each would be used once. On one thread, packing them cost ~6% of a 64×1000 · 1000×100
        // product, 7–12% of 64×256 · 256×1000, 64×256 · 256×2000 and 100×300 · 300×1000, and
        // half of 8×512 · 512×4000. Not for rows a multiple of 4 KiB apart, which would all fall
        // in the same L1 sets (64×256 · 256×2048 ran 20% slower).
        int read_b = b_column == 1 && b_row * (ptrdiff_t)sizeof(GEMM_SCALAR) % 4096 != 0 && m <= GEMM_ROW_BLOCK;
        ptrdiff_t b_in_place = read_b ? nc / GEMM_COLUMNS * GEMM_COLUMNS : 0;  // B's columns read in place
        for (ptrdiff_t pc = 0; pc < k; pc += GEMM_DEPTH_BLOCK) {
            ptrdiff_t kc = k - pc < GEMM_DEPTH_BLOCK ? k - pc : GEMM_DEPTH_BLOCK;
            // Later depth blocks resume C's running sums when alpha is 1, so that each element is
            // one chain in k order whatever the blocking; otherwise they add alpha·A·B to C.
            int resuming = pc > 0 && alpha == 1;
            GEMM_SCALAR block_alpha = pc == 0 || !resuming ? alpha : 1;
            GEMM_SCALAR block_beta = pc == 0 ? beta : resuming ? 0 : 1;
            GEMM_STATIC(pack_b)(
                kc, nc - b_in_place, b + pc * b_row + (jc + b_in_place) * b_column, b_row, b_column, a_in_place,
                packed_b + b_in_place * kc);
            for (ptrdiff_t ic = 0; ic < m; ic += GEMM_ROW_BLOCK) {
                ptrdiff_t mc = m - ic < GEMM_ROW_BLOCK ? m - ic : GEMM_ROW_BLOCK;
                const GEMM_SCALAR *block = a + ic * a_row + pc * a_column;
                if (!a_in_place) GEMM_STATIC(pack_a)(mc, kc, block, a_row, a_column, packed_a);
                for (ptrdiff_t jr = 0; jr < nc; jr += GEMM_COLUMNS) {
                    ptrdiff_t columns = nc - jr < GEMM_COLUMNS ? nc - jr : GEMM_COLUMNS;
                    int narrow = GEMM_STATIC(is_narrow)(columns, a_in_place);
#ifdef GEMM_NARROW_COLUMNS
                    ptrdiff_t height = narrow ? GEMM_NARROW_ROWS : GEMM_ROWS;
                    ptrdiff_t tall_height = narrow ? GEMM_NARROW_TALL_ROWS : GEMM_TALL_ROWS;
#else
                    ptrdiff_t height = GEMM_ROWS, tall_height = GEMM_TALL_ROWS;
#endif
                    // A half-width panel (this instantiation's or the narrower one's) of an A read
                    // in place runs tall tiles, but for a rest too short for one and 4 more rows.
                    int tall = a_in_place && columns <= GEMM_COLUMNS / 2;
                    for (ptrdiff_t ir = 0, rows; ir < mc; ir += rows) {
                        ptrdiff_t left = mc - ir;
                        rows = tall && (left == tall_height || left >= tall_height + 4)
                            ? tall_height : GEMM_STATIC(tile_height)(left, height);
                        // The next tile's C, whose rows are far apart and, in a large product,
                        // out of L2: the resumed sums' loads would stall the tile's start. On
                        // one thread, alternating: 1024² 5%, 2048² 10–20% faster.
                        ptrdiff_t next = ir + rows;
                        if (c_column == 1 && next < mc) {
                            GEMM_STATIC(prefetch_tile)(
                                c + (ic + next) * c_row + jc + jr, mc - next < height ? mc - next : height, c_row);
                        } else if (c_column == 1 && jr + GEMM_COLUMNS < nc) {  // the next panel's first tile
                            GEMM_STATIC(prefetch_tile)(c + ic * c_row + jc + jr + GEMM_COLUMNS, mc < height ? mc : height, c_row);
                        }
                        GEMM_STATIC(tile_for)(rows, columns, narrow)(
                            kc, a_in_place ? block + ir * a_row : packed_a + ir * kc, a_in_place ? a_row : 1,
                            a_in_place ? a_column : rows,
                            jr < b_in_place ? b + pc * b_row + jc + jr : packed_b + jr * kc,
                            jr < b_in_place ? b_row : GEMM_STATIC(panel_width)(columns, narrow),
                            c + (ic + ir) * c_row + (jc + jr) * c_column, c_row, c_column, columns,
                            block_alpha, block_beta, resuming);
                    }
                }
            }
        }
    }
}

#undef GEMM_PASTE2
#undef GEMM_PASTE
#undef GEMM_STATIC
#undef GEMM_VECTORS
#undef GEMM_TILE_PARAMETERS
#undef GEMM_DEFINE_TILE

// The parameters, so that GEMM.c can define the next variant's.
#undef GEMM_SCALAR
#undef GEMM_VECTOR
#undef GEMM_LANES
#undef GEMM_ROWS
#undef GEMM_COLUMNS
#undef GEMM_LOAD
#undef GEMM_STORE
#undef GEMM_BROADCAST
#undef GEMM_FMA
#undef GEMM_MULTIPLY
#undef GEMM_ZERO
#undef GEMM_PREFIX
#undef GEMM_ENTRY
#undef GEMM_NARROW_COLUMNS
#undef GEMM_NARROW_ROWS
#undef GEMM_NARROW_TALL_ROWS
#undef GEMM_TALL_ROWS
#undef GEMM_NARROW_TILES
#undef GEMM_NARROW_TALL_TILE
#undef GEMM_PACK_COLUMNS
#undef GEMM_TRANSPOSED_EDGE
#undef GEMM_TRANSPOSED_EDGE_PACKS
