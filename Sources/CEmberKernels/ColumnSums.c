// Column totals of a float32 matrix in double (a bias gradient: `sum(dim: 0)` over a batch).
// Swift's loop for the x86-64 baseline converts two floats per instruction; under AVX2 or
// AVX-512 Clang converts and adds eight or sixteen. float and double never alias, so the plain
// loop vectorizes without overlap checks. Eight rows at a time keep each total in a register
// across them (the same additions in the same order): loading and storing the totals for every
// row made 4096×1000 ~10–25% slower.

#include "EmberColumnSums.h"

#if defined(__x86_64__)

#define COLUMN_SUMS(SUFFIX, TARGET)                                                                              \
    __attribute__((target(TARGET))) static void column_sums_f32_##SUFFIX(                                        \
        const float *rows, ptrdiff_t row_count, ptrdiff_t columns, double *totals) {                             \
        ptrdiff_t row = 0;                                                                                       \
        for (; row + 8 <= row_count; row += 8) {                                                                 \
            const float *r = rows + row * columns;                                                               \
            const ptrdiff_t c = columns;                                                                         \
            for (ptrdiff_t j = 0; j < columns; j++)                                                              \
                totals[j] = ((((((((totals[j] + (double)r[j]) + (double)r[c + j]) + (double)r[2 * c + j])        \
                    + (double)r[3 * c + j]) + (double)r[4 * c + j]) + (double)r[5 * c + j])                      \
                    + (double)r[6 * c + j]) + (double)r[7 * c + j]);                                             \
        }                                                                                                        \
        for (; row < row_count; row++) {                                                                         \
            const float *values = rows + row * columns;                                                          \
            for (ptrdiff_t column = 0; column < columns; column++) totals[column] += (double)values[column];     \
        }                                                                                                        \
    }

COLUMN_SUMS(avx2, "avx2,fma")
COLUMN_SUMS(avx512, "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")

ember_column_sums_f32_kernel ember_column_sums_f32_kernel_for(ember_cpu_level level) {
    switch (level) {
    case EMBER_CPU_BASELINE: return NULL;
    case EMBER_CPU_AVX2_FMA: return column_sums_f32_avx2;
    case EMBER_CPU_AVX512: return column_sums_f32_avx512;
    }
    return NULL;
}

#else

ember_column_sums_f32_kernel ember_column_sums_f32_kernel_for(ember_cpu_level level) {
    (void)level;
    return NULL;
}

#endif
