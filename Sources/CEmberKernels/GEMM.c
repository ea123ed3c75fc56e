#include "EmberGEMM.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>

typedef struct {
    void *memory;
    size_t bytes;
} ember_gemm_buffer;

static pthread_key_t ember_gemm_buffer_key;
static pthread_once_t ember_gemm_buffer_once = PTHREAD_ONCE_INIT;

static void ember_gemm_free_buffer(void *buffer) {
    free(((ember_gemm_buffer *)buffer)->memory);
    free(buffer);
}

static void ember_gemm_make_buffer_key(void) { pthread_key_create(&ember_gemm_buffer_key, ember_gemm_free_buffer); }

/// A 64-byte-aligned buffer of at least `bytes` for this thread's packed panels, kept from one
/// product to the next: allocating and freeing it each call took ~8% of a small product's time,
/// mostly in malloc consolidating the freed chunk. It grows to the largest product's blocks (at
/// most 2.3 MB of floats, 4.5 MB of doubles) and is freed when the thread exits; NULL when out of
/// memory. A product must not hold it across another product on the same thread.
static void *ember_gemm_scratch(size_t bytes) {
    pthread_once(&ember_gemm_buffer_once, ember_gemm_make_buffer_key);
    ember_gemm_buffer *buffer = pthread_getspecific(ember_gemm_buffer_key);
    if (!buffer) {
        if (!(buffer = calloc(1, sizeof *buffer))) return NULL;
        pthread_setspecific(ember_gemm_buffer_key, buffer);
    }
    if (buffer->bytes < bytes) {
        free(buffer->memory);
        buffer->memory = aligned_alloc(64, (bytes + 63) / 64 * 64);
        buffer->bytes = buffer->memory ? bytes : 0;
    }
    return buffer->memory;
}

// Blocks for Zen 4 / Skylake-class caches (32–48 KiB L1, 1–2 MiB L2): an A micro-panel of 8×256
// floats is 8 KiB, an A block of 144×256 floats 144 KiB, a B block of 256×1024 floats 1 MiB,
// which stays in a 2 MiB L2 beside the A block (2048 columns, 2 MiB, spilled to L3: on the
// Emerald Rapids host, with the prefetches of GEMMKernel.h, 2048² took 151 ms against 164 on
// one thread, alternating in one process).
// AVX-512 tiles are 8 rows by two vectors (16 of the 32 registers accumulate), AVX2 ones 6 by
// two (12 of 16). On Zen 5, on one thread, 8×32 ran 64×1000 · 1000×96 in 57.6 µs against
// 6×32's 72.8, and 96×96×1000, 64×96×500 and 256³ 2–15% faster; on Zen 4, 6×32 had matched
// 6×16 AVX2 tiles (~100 GFLOP/s at n = 256–1024) and beaten 8×32, 12×32 and 14×32 ones.
_Static_assert(EMBER_SGEMM_AVX2_ROWS == 6 && EMBER_DGEMM_AVX2_ROWS == 6 && EMBER_SGEMM_AVX512_ROWS == 8
                   && EMBER_DGEMM_AVX512_ROWS == 8,
               "each GEMM_ROWS below is its tile height in EmberGEMM.h");

// AVX2's tall half-width tile: 8 rows, where 12 spilled their rows' offsets from the 16 general
// registers and reloaded five of them each step of k. On one thread of the EPYC (Zen 3),
// alternating: 64×500 · 500×8 (A and B in place, as in half of the seed's x·w1) 7.4 µs against
// 9.4, and the 4-column edge of 500×64 · 64×100 (A transposed, as in xᵀ·g, whose edge is now
// computed transposed: GEMMKernel.h) 9.1 against 10.5.
#define EMBER_AVX2_TALL_ROWS 8

#define GEMM_ROW_BLOCK 144
#define GEMM_COLUMN_BLOCK 1024
#define GEMM_DEPTH_BLOCK 256

/// Copies `columns` columns of B, each `k` contiguous floats `column_stride` apart (B stored
/// transposed), into the rows of a packed panel `width` wide: packed[p·width + c] =
/// panel[p + c·column_stride]. Eight columns at a time go through registers in 8×8 blocks:
/// element by element, half the time of a 64×1000 · (100×1000)ᵀ product went to packing.
__attribute__((target("avx2,fma"))) static void ember_pack_columns_f32(
    ptrdiff_t k, ptrdiff_t columns, const float *panel, ptrdiff_t column_stride, float *restrict packed,
    ptrdiff_t width) {
    ptrdiff_t c = 0;
    for (; c + 8 <= columns; c += 8) {
        ptrdiff_t p = 0;
        for (; p + 8 <= k; p += 8) {
            __m256 r[8], t[8], u[8];
            for (int j = 0; j < 8; j++) r[j] = _mm256_loadu_ps(panel + (c + j) * column_stride + p);
            for (int j = 0; j < 8; j += 2) {
                t[j] = _mm256_unpacklo_ps(r[j], r[j + 1]);
                t[j + 1] = _mm256_unpackhi_ps(r[j], r[j + 1]);
            }
            for (int j = 0; j < 8; j += 4) {
                u[j] = _mm256_shuffle_ps(t[j], t[j + 2], 0x44);
                u[j + 1] = _mm256_shuffle_ps(t[j], t[j + 2], 0xEE);
                u[j + 2] = _mm256_shuffle_ps(t[j + 1], t[j + 3], 0x44);
                u[j + 3] = _mm256_shuffle_ps(t[j + 1], t[j + 3], 0xEE);
            }
            // u[i] holds element i of columns c…c+3 (low half: p…p+3, high: p+4…p+7); u[4 + i]
            // the same for columns c+4…c+7.
            for (int i = 0; i < 4; i++) {
                _mm256_storeu_ps(packed + (p + i) * width + c, _mm256_permute2f128_ps(u[i], u[4 + i], 0x20));
                _mm256_storeu_ps(packed + (p + 4 + i) * width + c, _mm256_permute2f128_ps(u[i], u[4 + i], 0x31));
            }
        }
        for (; p < k; p++)
            for (int j = 0; j < 8; j++) packed[p * width + c + j] = panel[(c + j) * column_stride + p];
    }
    for (; c < columns; c++)
#pragma clang loop vectorize(disable)
        for (ptrdiff_t p = 0; p < k; p++) packed[p * width + c] = panel[p + c * column_stride];  // see pack_b
}

/// ember_pack_columns_f32 sixteen columns at a time, through 16×16 register transposes: a third
/// fewer shuffles an element than the 8×8 ones, whose shuffles bound the packing. On one thread,
/// alternating in one process, 64×1000 · (100×1000)ᵀ took 97 µs against 107, and 64×1000 ·
/// 1000×100, whose narrow last panel packs A's columns, 92 against 96. (Gathering 128-bit rows by
/// inserts from memory, to leave only 4×4 transposes to the shuffle port, ran 2–3% slower.)
__attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma"))) static void ember_pack_columns_f32_avx512(
    ptrdiff_t k, ptrdiff_t columns, const float *panel, ptrdiff_t column_stride, float *restrict packed,
    ptrdiff_t width) {
    ptrdiff_t c = 0;
    for (; c + 16 <= columns; c += 16) {
        ptrdiff_t p = 0;
        for (; p + 16 <= k; p += 16) {
            __m512 r[16], t[16];
            for (int j = 0; j < 16; j++) r[j] = _mm512_loadu_ps(panel + (c + j) * column_stride + p);
            // Pairs of columns interleaved, then pairs of pairs: lane l of r[4g + i] is element
            // 4l + i of columns 4g…4g+3.
            for (int j = 0; j < 16; j += 2) {
                t[j] = _mm512_unpacklo_ps(r[j], r[j + 1]);
                t[j + 1] = _mm512_unpackhi_ps(r[j], r[j + 1]);
            }
            for (int j = 0; j < 16; j += 4) {
                r[j] = _mm512_shuffle_ps(t[j], t[j + 2], 0x44);
                r[j + 1] = _mm512_shuffle_ps(t[j], t[j + 2], 0xEE);
                r[j + 2] = _mm512_shuffle_ps(t[j + 1], t[j + 3], 0x44);
                r[j + 3] = _mm512_shuffle_ps(t[j + 1], t[j + 3], 0xEE);
            }
            // Then the 128-bit lanes, in two rounds: packed row 4l + i gathers lane l of r[i],
            // r[4 + i], r[8 + i] and r[12 + i].
            for (int i = 0; i < 4; i++) {
                t[i] = _mm512_shuffle_f32x4(r[i], r[4 + i], 0x88);
                t[4 + i] = _mm512_shuffle_f32x4(r[i], r[4 + i], 0xDD);
                t[8 + i] = _mm512_shuffle_f32x4(r[8 + i], r[12 + i], 0x88);
                t[12 + i] = _mm512_shuffle_f32x4(r[8 + i], r[12 + i], 0xDD);
            }
            for (int i = 0; i < 4; i++) {
                _mm512_storeu_ps(packed + (p + i) * width + c, _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88));
                _mm512_storeu_ps(packed + (p + 4 + i) * width + c, _mm512_shuffle_f32x4(t[4 + i], t[12 + i], 0x88));
                _mm512_storeu_ps(packed + (p + 8 + i) * width + c, _mm512_shuffle_f32x4(t[i], t[8 + i], 0xDD));
                _mm512_storeu_ps(packed + (p + 12 + i) * width + c, _mm512_shuffle_f32x4(t[4 + i], t[12 + i], 0xDD));
            }
        }
        if (p < k) ember_pack_columns_f32(k - p, 16, panel + c * column_stride + p, column_stride, packed + p * width + c, width);
    }
    if (c < columns) ember_pack_columns_f32(k, columns - c, panel + c * column_stride, column_stride, packed + c, width);
}

// MARK: AVX2 + FMA

#define GEMM_TARGET "avx2,fma"

#define GEMM_SCALAR float
#define GEMM_VECTOR __m256
#define GEMM_LANES 8
#define GEMM_ROWS 6
#define GEMM_TALL_ROWS EMBER_AVX2_TALL_ROWS
#define GEMM_COLUMNS EMBER_SGEMM_AVX2_COLUMNS
#define GEMM_LOAD _mm256_loadu_ps
#define GEMM_STORE _mm256_storeu_ps
#define GEMM_BROADCAST _mm256_set1_ps
#define GEMM_FMA _mm256_fmadd_ps
#define GEMM_MULTIPLY _mm256_mul_ps
#define GEMM_ZERO _mm256_setzero_ps
#define GEMM_PREFIX sgemm_avx2
#define GEMM_PACK_COLUMNS ember_pack_columns_f32
#define GEMM_TRANSPOSED_EDGE 6
#define GEMM_TRANSPOSED_EDGE_PACKS 0
#define GEMM_ENTRY ember_sgemm_avx2
#include "GEMMKernel.h"

#define GEMM_SCALAR double
#define GEMM_VECTOR __m256d
#define GEMM_LANES 4
#define GEMM_ROWS 6
#define GEMM_TALL_ROWS EMBER_AVX2_TALL_ROWS
#define GEMM_COLUMNS EMBER_DGEMM_AVX2_COLUMNS
#define GEMM_LOAD _mm256_loadu_pd
#define GEMM_STORE _mm256_storeu_pd
#define GEMM_BROADCAST _mm256_set1_pd
#define GEMM_FMA _mm256_fmadd_pd
#define GEMM_MULTIPLY _mm256_mul_pd
#define GEMM_ZERO _mm256_setzero_pd
#define GEMM_PREFIX dgemm_avx2
#define GEMM_ENTRY ember_dgemm_avx2
#include "GEMMKernel.h"

#undef GEMM_TARGET

// MARK: AVX-512
//
// A last B panel of a quarter tile's width or less (n = 100 leaves 4 columns) runs on the AVX2
// kernel's half-width tiles: a 256-bit multiply-add costs half a 512-bit one on Zen 4, whose
// 512-bit operations take both of its 256-bit pipes. 64×1000·1000×100 ran 6% faster.

#define GEMM_TARGET "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma"

#define GEMM_SCALAR float
#define GEMM_VECTOR __m512
#define GEMM_LANES 16
#define GEMM_ROWS 8
#define GEMM_TALL_ROWS 16
#define GEMM_COLUMNS EMBER_SGEMM_AVX512_COLUMNS
#define GEMM_LOAD _mm512_loadu_ps
#define GEMM_STORE _mm512_storeu_ps
#define GEMM_BROADCAST _mm512_set1_ps
#define GEMM_FMA _mm512_fmadd_ps
#define GEMM_MULTIPLY _mm512_mul_ps
#define GEMM_ZERO _mm512_setzero_ps
#define GEMM_PREFIX sgemm_avx512
#define GEMM_NARROW_COLUMNS EMBER_SGEMM_AVX512_NARROW
#define GEMM_TRANSPOSED_EDGE EMBER_SGEMM_AVX512_NARROW
#define GEMM_TRANSPOSED_EDGE_PACKS 1
#define GEMM_NARROW_ROWS EMBER_SGEMM_AVX2_ROWS
#define GEMM_NARROW_TILES sgemm_avx2_tiles
#define GEMM_NARROW_TALL_TILE sgemm_avx2_tile_tall_half
#define GEMM_NARROW_TALL_ROWS EMBER_AVX2_TALL_ROWS
#define GEMM_PACK_COLUMNS ember_pack_columns_f32_avx512
#define GEMM_ENTRY ember_sgemm_avx512
#include "GEMMKernel.h"

#define GEMM_SCALAR double
#define GEMM_VECTOR __m512d
#define GEMM_LANES 8
#define GEMM_ROWS 8
#define GEMM_TALL_ROWS 16
#define GEMM_COLUMNS EMBER_DGEMM_AVX512_COLUMNS
#define GEMM_LOAD _mm512_loadu_pd
#define GEMM_STORE _mm512_storeu_pd
#define GEMM_BROADCAST _mm512_set1_pd
#define GEMM_FMA _mm512_fmadd_pd
#define GEMM_MULTIPLY _mm512_mul_pd
#define GEMM_ZERO _mm512_setzero_pd
#define GEMM_PREFIX dgemm_avx512
#define GEMM_NARROW_COLUMNS EMBER_DGEMM_AVX512_NARROW
#define GEMM_TRANSPOSED_EDGE EMBER_DGEMM_AVX512_NARROW
#define GEMM_TRANSPOSED_EDGE_PACKS 1
#define GEMM_NARROW_ROWS EMBER_DGEMM_AVX2_ROWS
#define GEMM_NARROW_TILES dgemm_avx2_tiles
#define GEMM_NARROW_TALL_TILE dgemm_avx2_tile_tall_half
#define GEMM_NARROW_TALL_ROWS EMBER_AVX2_TALL_ROWS
#define GEMM_ENTRY ember_dgemm_avx512
#include "GEMMKernel.h"

#endif
