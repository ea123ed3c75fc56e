#ifndef EMBER_GEMM_H
#define EMBER_GEMM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__x86_64__)

/// Register-tile sizes of the C micro-kernels: each keeps a ROWS×COLUMNS block of C in
/// registers, so callers splitting work across threads cut C along multiples of these. A last
/// panel of at most NARROW columns costs about a panel that narrow: it runs a tile that narrow
/// (AVX-512: the AVX2 kernel's half width) against an A read in place, or, when m > COLUMNS,
/// is computed transposed (in the AVX-512 kernels; in the AVX2 float kernel, for a last panel of
/// at most 6 columns of an A stored transposed). One of at most COLUMNS / 2 columns runs a
/// half-width tile.
enum {
    EMBER_SGEMM_AVX2_ROWS = 6, EMBER_SGEMM_AVX2_COLUMNS = 16, EMBER_SGEMM_AVX2_NARROW = 8,
    EMBER_DGEMM_AVX2_ROWS = 6, EMBER_DGEMM_AVX2_COLUMNS = 8, EMBER_DGEMM_AVX2_NARROW = 4,
    EMBER_SGEMM_AVX512_ROWS = 8, EMBER_SGEMM_AVX512_COLUMNS = 32, EMBER_SGEMM_AVX512_NARROW = 8,
    EMBER_DGEMM_AVX512_ROWS = 8, EMBER_DGEMM_AVX512_COLUMNS = 16, EMBER_DGEMM_AVX512_NARROW = 4,
};

/// C = alpha·A·B + beta·C on the calling thread, with packing and cache blocking, where element
/// (i, p) of the m×k matrix A is `a[i * a_row + p * a_column]`, and likewise for the k×n B and
/// the m×n C. Strides may be anything, so transposed operands need no copy:
///
///     // C (m×n, row-major) = Aᵀ·B with A stored k×m
///     ember_sgemm_avx2(m, n, k, 1, a, 1, m, b, n, 1, 0, c, n, 1);
///
/// Requires m, n, k > 0 and alpha ≠ 0. With beta 0, C is only written. With alpha 1 each element
/// of C is one fused multiply-add chain in k order, whatever the blocking. The AVX2 variants need
/// AVX2 and FMA, the AVX-512 ones AVX-512 F/VL/DQ/BW too: see ember_cpu_detect().
void ember_sgemm_avx2(
    ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
    const float *a, ptrdiff_t a_row, ptrdiff_t a_column, const float *b, ptrdiff_t b_row, ptrdiff_t b_column,
    float beta, float *c, ptrdiff_t c_row, ptrdiff_t c_column);

/// The AVX-512 counterpart of ember_sgemm_avx2().
void ember_sgemm_avx512(
    ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
    const float *a, ptrdiff_t a_row, ptrdiff_t a_column, const float *b, ptrdiff_t b_row, ptrdiff_t b_column,
    float beta, float *c, ptrdiff_t c_row, ptrdiff_t c_column);

/// The double-precision counterpart of ember_sgemm_avx2().
void ember_dgemm_avx2(
    ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, double alpha,
    const double *a, ptrdiff_t a_row, ptrdiff_t a_column, const double *b, ptrdiff_t b_row, ptrdiff_t b_column,
    double beta, double *c, ptrdiff_t c_row, ptrdiff_t c_column);

/// The double-precision counterpart of ember_sgemm_avx512().
void ember_dgemm_avx512(
    ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, double alpha,
    const double *a, ptrdiff_t a_row, ptrdiff_t a_column, const double *b, ptrdiff_t b_row, ptrdiff_t b_column,
    double beta, double *c, ptrdiff_t c_row, ptrdiff_t c_column);

/// y = alpha·A·x + beta·y on the calling thread, for the m×k matrix A whose row i starts at
/// `a + i * a_row` and is contiguous, the contiguous x of k and the y of m, `y_stride` apart:
///
///     ember_sgemv_avx512(m, k, 1, a, k, x, 0, y, 1);   // y = A·x, A row-major
///
/// Each element of y is a dot product 2·WIDTH lanes wide (WIDTH = 16 floats or 8 doubles): lane
/// l takes the fused multiply-adds of the elements p ≡ l (mod 2·WIDTH) of each whole group of
/// 2·WIDTH, in order, from 0; then lane i + WIDTH is added to lane i, and the halves of the
/// remaining lanes as a tree (lane i + lane i + WIDTH/2, and so on down to one); the elements
/// past the last whole group are fused multiply-added onto that in order. Fewer than 2·WIDTH
/// elements are thus one chain in k order, as in the GEMM kernels. alpha and beta apply as
/// there; with beta 0, y is only written. The AVX2 and AVX-512 variants give the same bits.
void ember_sgemv_avx2(
    ptrdiff_t m, ptrdiff_t k, float alpha, const float *a, ptrdiff_t a_row, const float *x, float beta, float *y,
    ptrdiff_t y_stride);

/// The AVX-512 counterpart of ember_sgemv_avx2().
void ember_sgemv_avx512(
    ptrdiff_t m, ptrdiff_t k, float alpha, const float *a, ptrdiff_t a_row, const float *x, float beta, float *y,
    ptrdiff_t y_stride);

/// The double-precision counterpart of ember_sgemv_avx2().
void ember_dgemv_avx2(
    ptrdiff_t m, ptrdiff_t k, double alpha, const double *a, ptrdiff_t a_row, const double *x, double beta,
    double *y, ptrdiff_t y_stride);

/// The double-precision counterpart of ember_sgemv_avx512().
void ember_dgemv_avx512(
    ptrdiff_t m, ptrdiff_t k, double alpha, const double *a, ptrdiff_t a_row, const double *x, double beta,
    double *y, ptrdiff_t y_stride);

#endif

#ifdef __cplusplus
}
#endif

#endif
