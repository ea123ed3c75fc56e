// Row sums of float32 in double (`sum(dim: -1)`, `sum()`): Swift's loop for the x86-64
// baseline runs its eight-lane accumulators as pairs of SSE registers; under AVX2 each is one
// register, so a row takes half the instructions. The arithmetic is the same, lane for lane.
// A row of a thousand floats is bound by the latency of its dependent additions more than by
// loads: hence four accumulators wherever there are 32 floats, and tree-shaped lane totals.
// A row under 256 floats adds them in double, as one chain had, but sixteen lanes wide: one
// chain took 8× PyTorch's time over rows of 128 (`sum(dim: 2)` of 64×128×128, 373 µs).
// Row products (`prod(dim: -1)`), in double, run 32 lanes wide for the same reason: one chain
// of dependent multiplications a row had taken ten times PyTorch's time. They read 4 KB
// ahead, where the hardware prefetcher stops at each page (4096 rows of 1000 on two threads:
// 0.23–0.27 ms without, 0.14–0.18 with; PyTorch 0.19–0.25).

#include <string.h>

#include "EmberRowSums.h"

#if defined(__x86_64__)

typedef float ember_v8f __attribute__((vector_size(32)));
typedef double ember_v8d __attribute__((vector_size(64)));

#define ROW_SUM(SUFFIX, TARGET)                                                                                  \
    __attribute__((target(TARGET))) static inline float lane_sum_##SUFFIX(ember_v8f lanes) {                    \
        return ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7])); \
    }                                                                                                            \
    __attribute__((target(TARGET))) static inline void add_32_##SUFFIX(ember_v8f lanes[4], const float *values) { \
        for (int k = 0; k < 4; k++) {                                                                            \
            ember_v8f x;                                                                                         \
            memcpy(&x, values + 8 * k, sizeof x);                                                                \
            lanes[k] += x;                                                                                       \
        }                                                                                                        \
    }                                                                                                            \
    __attribute__((target(TARGET))) static double row_sum_f32_##SUFFIX(const float *values, ptrdiff_t count) {  \
        double total = 0;                                                                                        \
        ptrdiff_t index = 0;                                                                                     \
        if (count < 256) {                                                                                       \
            ember_v8d lanes[2] = {{0}, {0}};                                                                     \
            for (; index + 16 <= count; index += 16)                                                             \
                for (int k = 0; k < 2; k++) {                                                                    \
                    ember_v8f x;                                                                                 \
                    memcpy(&x, values + index + 8 * k, sizeof x);                                                \
                    lanes[k] += __builtin_convertvector(x, ember_v8d);                                           \
                }                                                                                                \
            for (; index + 8 <= count; index += 8) {                                                             \
                ember_v8f x;                                                                                     \
                memcpy(&x, values + index, sizeof x);                                                            \
                lanes[0] += __builtin_convertvector(x, ember_v8d);                                               \
            }                                                                                                    \
            ember_v8d sums = lanes[0] + lanes[1];                                                                \
            total = ((sums[0] + sums[4]) + (sums[2] + sums[6])) + ((sums[1] + sums[5]) + (sums[3] + sums[7]));  \
        }                                                                                                        \
        for (; index + 256 <= count; index += 256) {                                                             \
            ember_v8f lanes[4] = {{0}, {0}, {0}, {0}};                                                           \
            for (ptrdiff_t group = index; group < index + 256; group += 32) add_32_##SUFFIX(lanes, values + group); \
            total += (double)lane_sum_##SUFFIX((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]));                   \
        }                                                                                                        \
        if (index > 0 && index + 8 <= count) {                                                                   \
            ember_v8f lanes[4] = {{0}, {0}, {0}, {0}};                                                           \
            for (; index + 32 <= count; index += 32) add_32_##SUFFIX(lanes, values + index);                    \
            for (; index + 8 <= count; index += 8) {                                                             \
                ember_v8f x;                                                                                     \
                memcpy(&x, values + index, sizeof x);                                                            \
                lanes[0] += x;                                                                                   \
            }                                                                                                    \
            total += (double)lane_sum_##SUFFIX((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]));                   \
        }                                                                                                        \
        for (; index < count; index++) total += (double)values[index];                                           \
        return total;                                                                                            \
    }

#define ROW_PRODUCT(SUFFIX, TARGET)                                                                              \
    __attribute__((target(TARGET))) static double row_product_f32_##SUFFIX(const float *values, ptrdiff_t count) { \
        double total = 1;                                                                                        \
        ptrdiff_t index = 0;                                                                                     \
        if (count >= 32) {                                                                                       \
            ember_v8d lanes[4] = {{1, 1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1, 1, 1},                            \
                                  {1, 1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1, 1, 1}};                           \
            for (; index + 32 <= count; index += 32) {                                                           \
                __builtin_prefetch(values + index + 1024);                                                       \
                __builtin_prefetch(values + index + 1040);                                                       \
                for (int k = 0; k < 4; k++) {                                                                    \
                    ember_v8f x;                                                                                 \
                    memcpy(&x, values + index + 8 * k, sizeof x);                                                \
                    lanes[k] *= __builtin_convertvector(x, ember_v8d);                                           \
                }                                                                                                \
            }                                                                                                    \
            ember_v8d eight = (lanes[0] * lanes[2]) * (lanes[1] * lanes[3]);                                     \
            double four[4], two[2];                                                                              \
            for (int i = 0; i < 4; i++) four[i] = eight[i] * eight[i + 4];                                       \
            for (int i = 0; i < 2; i++) two[i] = four[i] * four[i + 2];                                          \
            total = two[0] * two[1];                                                                             \
        }                                                                                                        \
        for (; index < count; index++) total *= (double)values[index];                                           \
        return total;                                                                                            \
    }

ROW_SUM(avx2, "avx2,fma")
ROW_SUM(avx512, "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")
ROW_PRODUCT(avx2, "avx2,fma")
ROW_PRODUCT(avx512, "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")

ember_row_sum_f32_kernel ember_row_sum_f32_kernel_for(ember_cpu_level level) {
    switch (level) {
    case EMBER_CPU_BASELINE: return NULL;
    case EMBER_CPU_AVX2_FMA: return row_sum_f32_avx2;
    case EMBER_CPU_AVX512: return row_sum_f32_avx512;
    }
    return NULL;
}

ember_row_product_f32_kernel ember_row_product_f32_kernel_for(ember_cpu_level level) {
    switch (level) {
    case EMBER_CPU_BASELINE: return NULL;
    case EMBER_CPU_AVX2_FMA: return row_product_f32_avx2;
    case EMBER_CPU_AVX512: return row_product_f32_avx512;
    }
    return NULL;
}

#else

ember_row_sum_f32_kernel ember_row_sum_f32_kernel_for(ember_cpu_level level) {
    (void)level;
    return NULL;
}

ember_row_product_f32_kernel ember_row_product_f32_kernel_for(ember_cpu_level level) {
    (void)level;
    return NULL;
}

#endif
