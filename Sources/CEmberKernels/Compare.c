// Float32 comparisons into bools, over dense operands or against one number (`h .< 0`). The
// Swift loop for the x86-64 baseline compares and stores a byte at a time; these compare a
// vector of floats and narrow the lane masks to bytes.

#include "EmberCompare.h"

#if defined(__x86_64__)

#define COMPARE(NAME, OPERATOR, SUFFIX, TARGET)                                                                  \
    __attribute__((target(TARGET))) static void NAME##_dense_##SUFFIX(                                           \
        const float *a, const float *b, uint8_t *output, size_t count) {                                         \
        for (size_t i = 0; i < count; i++) output[i] = a[i] OPERATOR b[i];                                       \
    }                                                                                                            \
    __attribute__((target(TARGET))) static void NAME##_number_second_##SUFFIX(                                   \
        const float *a, const float *b, uint8_t *output, size_t count) {                                         \
        const float number = *b;                                                                                 \
        for (size_t i = 0; i < count; i++) output[i] = a[i] OPERATOR number;                                     \
    }

#define COMPARE_LEVEL(SUFFIX, TARGET)                                                                            \
    COMPARE(less, <, SUFFIX, TARGET)                                                                             \
    COMPARE(less_equal, <=, SUFFIX, TARGET)                                                                      \
    COMPARE(greater, >, SUFFIX, TARGET)                                                                          \
    COMPARE(greater_equal, >=, SUFFIX, TARGET)                                                                   \
    COMPARE(equal, ==, SUFFIX, TARGET)                                                                           \
    COMPARE(not_equal, !=, SUFFIX, TARGET)

COMPARE_LEVEL(avx2, "avx2,fma")
COMPARE_LEVEL(avx512, "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")

#define KERNELS(NAME, SUFFIX) {NAME##_dense_##SUFFIX, NAME##_number_second_##SUFFIX}

ember_compare_f32_kernels ember_compare_f32_kernels_for(ember_cpu_level level, ember_compare_op op) {
    static const ember_compare_f32_kernels avx2[] = {
        KERNELS(less, avx2), KERNELS(less_equal, avx2), KERNELS(greater, avx2),
        KERNELS(greater_equal, avx2), KERNELS(equal, avx2), KERNELS(not_equal, avx2)};
    static const ember_compare_f32_kernels avx512[] = {
        KERNELS(less, avx512), KERNELS(less_equal, avx512), KERNELS(greater, avx512),
        KERNELS(greater_equal, avx512), KERNELS(equal, avx512), KERNELS(not_equal, avx512)};
    ember_compare_f32_kernels none = {NULL, NULL};
    if (op < EMBER_COMPARE_LESS || op > EMBER_COMPARE_NOT_EQUAL) return none;
    switch (level) {
    case EMBER_CPU_BASELINE: return none;
    case EMBER_CPU_AVX2_FMA: return avx2[op];
    case EMBER_CPU_AVX512: return avx512[op];
    }
    return none;
}

#else

ember_compare_f32_kernels ember_compare_f32_kernels_for(ember_cpu_level level, ember_compare_op op) {
    (void)level;
    (void)op;
    ember_compare_f32_kernels none = {0, 0};
    return none;
}

#endif
