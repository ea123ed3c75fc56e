// Large contiguous copies (`copy_`, `clone()`, `contiguous()` of a dense view): on this machine
// glibc's memcpy took 10 ms for 64 MB on one core, a loop of 32-byte non-temporal stores
// 5.5-6.5 ms. Within the cache memcpy is as fast as any loop and streaming stores twice as
// slow, so callers stream only copies larger than the cache.
//
// Transposed copies (`x.t().contiguous()`, `permute(0, 2, 1).contiguous()`) move 8x8 blocks
// through registers: 64 matrices of 256x256 floats took 0.87-0.93 ms on two threads, against 2.0
// for a loop of scalar moves in 8x8 tiles and PyTorch's 3.0-3.8.

#include <stdint.h>
#include <string.h>

#include "EmberCopy.h"

// The portable transpose: 8x8 tiles, so that the eight target lines being filled stay in L1 (a
// power-of-two row length maps them to one set, and a set has at least eight ways).
#define EMBER_SCALAR_TRANSPOSE(name, type)                                                              \
    static void name(const void *source, size_t source_stride, void *target, size_t target_stride, size_t rows, size_t columns) { \
        const type *from = source;                                                                     \
        type *to = target;                                                                             \
        for (size_t row_start = 0; row_start < rows; row_start += 8) {                                 \
            size_t row_end = row_start + 8 < rows ? row_start + 8 : rows;                              \
            for (size_t column_start = 0; column_start < columns; column_start += 8) {                 \
                size_t column_end = column_start + 8 < columns ? column_start + 8 : columns;           \
                for (size_t column = column_start; column < column_end; column++)                      \
                    for (size_t row = row_start; row < row_end; row++)                                 \
                        to[row * target_stride + column] = from[row + column * source_stride];         \
            }                                                                                          \
        }                                                                                              \
    }

EMBER_SCALAR_TRANSPOSE(transpose_bytes1, uint8_t)
EMBER_SCALAR_TRANSPOSE(transpose_bytes2, uint16_t)
EMBER_SCALAR_TRANSPOSE(transpose_bytes4, uint32_t)
EMBER_SCALAR_TRANSPOSE(transpose_bytes8, uint64_t)

static ember_transpose_kernel scalar_transpose_kernel(size_t element_size) {
    switch (element_size) {
    case 1: return transpose_bytes1;
    case 2: return transpose_bytes2;
    case 4: return transpose_bytes4;
    case 8: return transpose_bytes8;
    default: return NULL;
    }
}

#if defined(__x86_64__)

#include <immintrin.h>

__attribute__((target("avx2"))) static void streaming_copy_avx2(void *destination, const void *source, size_t bytes) {
    char *to = destination;
    const char *from = source;
    // Up to the destination's first 32-byte boundary, as the aligned stores need.
    size_t head = (32 - ((size_t)to & 31)) & 31;
    if (head > bytes) head = bytes;
    memcpy(to, from, head);
    size_t index = head;
    for (; index + 128 <= bytes; index += 128) {
        for (int k = 0; k < 4; k++) {
            _mm256_stream_si256((__m256i *)(to + index + 32 * k), _mm256_loadu_si256((const __m256i *)(from + index + 32 * k)));
        }
    }
    _mm_sfence();
    memcpy(to + index, from + index, bytes - index);
}

ember_streaming_copy_kernel ember_streaming_copy_kernel_for(ember_cpu_level level) {
    return level == EMBER_CPU_BASELINE ? NULL : streaming_copy_avx2;
}

// Moves the 8x8 block of 4-byte elements at from (column j at from + j * stride) into eight
// rows of `to`, `row_length` apart: unpacks pair rows, shuffles pair pairs, and permutes halves.
__attribute__((target("avx2"))) static inline void transpose_block8x4(const float *from, size_t stride, float *to, size_t row_length) {
    __m256 r0 = _mm256_loadu_ps(from), r1 = _mm256_loadu_ps(from + stride);
    __m256 r2 = _mm256_loadu_ps(from + 2 * stride), r3 = _mm256_loadu_ps(from + 3 * stride);
    __m256 r4 = _mm256_loadu_ps(from + 4 * stride), r5 = _mm256_loadu_ps(from + 5 * stride);
    __m256 r6 = _mm256_loadu_ps(from + 6 * stride), r7 = _mm256_loadu_ps(from + 7 * stride);
    __m256 u0 = _mm256_unpacklo_ps(r0, r1), u1 = _mm256_unpackhi_ps(r0, r1);
    __m256 u2 = _mm256_unpacklo_ps(r2, r3), u3 = _mm256_unpackhi_ps(r2, r3);
    __m256 u4 = _mm256_unpacklo_ps(r4, r5), u5 = _mm256_unpackhi_ps(r4, r5);
    __m256 u6 = _mm256_unpacklo_ps(r6, r7), u7 = _mm256_unpackhi_ps(r6, r7);
    __m256 v0 = _mm256_shuffle_ps(u0, u2, 0x44), v1 = _mm256_shuffle_ps(u0, u2, 0xEE);
    __m256 v2 = _mm256_shuffle_ps(u1, u3, 0x44), v3 = _mm256_shuffle_ps(u1, u3, 0xEE);
    __m256 v4 = _mm256_shuffle_ps(u4, u6, 0x44), v5 = _mm256_shuffle_ps(u4, u6, 0xEE);
    __m256 v6 = _mm256_shuffle_ps(u5, u7, 0x44), v7 = _mm256_shuffle_ps(u5, u7, 0xEE);
    _mm256_storeu_ps(to, _mm256_permute2f128_ps(v0, v4, 0x20));
    _mm256_storeu_ps(to + row_length, _mm256_permute2f128_ps(v1, v5, 0x20));
    _mm256_storeu_ps(to + 2 * row_length, _mm256_permute2f128_ps(v2, v6, 0x20));
    _mm256_storeu_ps(to + 3 * row_length, _mm256_permute2f128_ps(v3, v7, 0x20));
    _mm256_storeu_ps(to + 4 * row_length, _mm256_permute2f128_ps(v0, v4, 0x31));
    _mm256_storeu_ps(to + 5 * row_length, _mm256_permute2f128_ps(v1, v5, 0x31));
    _mm256_storeu_ps(to + 6 * row_length, _mm256_permute2f128_ps(v2, v6, 0x31));
    _mm256_storeu_ps(to + 7 * row_length, _mm256_permute2f128_ps(v3, v7, 0x31));
}

// The 4x4 block of 8-byte elements, likewise.
__attribute__((target("avx2"))) static inline void transpose_block4x8(const double *from, size_t stride, double *to, size_t row_length) {
    __m256d r0 = _mm256_loadu_pd(from), r1 = _mm256_loadu_pd(from + stride);
    __m256d r2 = _mm256_loadu_pd(from + 2 * stride), r3 = _mm256_loadu_pd(from + 3 * stride);
    __m256d u0 = _mm256_unpacklo_pd(r0, r1), u1 = _mm256_unpackhi_pd(r0, r1);
    __m256d u2 = _mm256_unpacklo_pd(r2, r3), u3 = _mm256_unpackhi_pd(r2, r3);
    _mm256_storeu_pd(to, _mm256_permute2f128_pd(u0, u2, 0x20));
    _mm256_storeu_pd(to + row_length, _mm256_permute2f128_pd(u1, u3, 0x20));
    _mm256_storeu_pd(to + 2 * row_length, _mm256_permute2f128_pd(u0, u2, 0x31));
    _mm256_storeu_pd(to + 3 * row_length, _mm256_permute2f128_pd(u1, u3, 0x31));
}

// Whole blocks in tiles of 32x32 elements (a 4 KB tile of 4-byte ones stays in L1 whatever the
// strides), then the ragged last rows and columns by the portable loop. 32x32 tiles took 0.87-0.93
// ms for the 64 256x256 matrices above, bands of 8 rows across the whole width 0.99-1.12.
#define EMBER_VECTOR_TRANSPOSE(name, type, block, move_block, scalar)                                    \
    __attribute__((target("avx2"))) static void name(const void *source, size_t source_stride, void *target, \
                                                     size_t target_stride, size_t rows, size_t columns) { \
        const type *from = source;                                                                     \
        type *to = target;                                                                             \
        size_t whole_rows = rows / block * block, whole_columns = columns / block * block;             \
        for (size_t column_tile = 0; column_tile < whole_columns; column_tile += 32)                   \
            for (size_t row = 0; row < whole_rows; row += block)                                       \
                for (size_t column = column_tile; column < column_tile + 32 && column < whole_columns; column += block) \
                    move_block(from + row + column * source_stride, source_stride, to + row * target_stride + column, target_stride); \
        if (whole_columns < columns)                                                                   \
            scalar(from + whole_columns * source_stride, source_stride, to + whole_columns, target_stride, whole_rows, columns - whole_columns); \
        scalar(from + whole_rows, source_stride, to + whole_rows * target_stride, target_stride, rows - whole_rows, columns); \
    }

EMBER_VECTOR_TRANSPOSE(transpose_bytes4_avx2, float, 8, transpose_block8x4, transpose_bytes4)
EMBER_VECTOR_TRANSPOSE(transpose_bytes8_avx2, double, 4, transpose_block4x8, transpose_bytes8)

ember_transpose_kernel ember_transpose_kernel_for(ember_cpu_level level, size_t element_size) {
    if (level != EMBER_CPU_BASELINE && element_size == 4) return transpose_bytes4_avx2;
    if (level != EMBER_CPU_BASELINE && element_size == 8) return transpose_bytes8_avx2;
    return scalar_transpose_kernel(element_size);
}

#else

ember_streaming_copy_kernel ember_streaming_copy_kernel_for(ember_cpu_level level) {
    (void)level;
    return NULL;
}

ember_transpose_kernel ember_transpose_kernel_for(ember_cpu_level level, size_t element_size) {
    (void)level;
    return scalar_transpose_kernel(element_size);
}

#endif
