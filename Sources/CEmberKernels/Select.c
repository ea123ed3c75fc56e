// Bool-mask selects (torch.where, masked_fill_) for each element width. Swift compiles these
// loops for the x86-64 baseline, which has no byte-to-lane widening load, and extracts the mask
// a byte at a time; under an AVX2 or AVX-512 target Clang vectorizes the same plain loop.

#include "EmberSelect.h"

#if defined(__x86_64__)

// In place, the output is read through `o` alone: Clang's runtime overlap check between `o`
// and an input that *is* `o` fails, and would send in-place fills to its scalar loop.
#define SELECT_LOOP(A, B, A_IS_OUTPUT, B_IS_OUTPUT)                                                                    \
    if (B_IS_OUTPUT) {                                                                                                 \
        for (ptrdiff_t i = 0; i < count; i++) o[i] = m[i] ? (A) : o[i];                                                \
    } else if (A_IS_OUTPUT) {                                                                                          \
        for (ptrdiff_t i = 0; i < count; i++) o[i] = m[i] ? o[i] : (B);                                                \
    } else {                                                                                                           \
        for (ptrdiff_t i = 0; i < count; i++) o[i] = m[i] ? (A) : (B);                                                 \
    }

#define SELECT_VARIANTS(TYPE, WIDTH, SUFFIX, TARGET)                                                                   \
    __attribute__((target(TARGET))) static void select_##WIDTH##_vv_##SUFFIX(                                          \
        ptrdiff_t count, const uint8_t *m, const void *a, const void *b, void *output) {                               \
        const TYPE *x = a, *y = b;                                                                                     \
        TYPE *o = output;                                                                                              \
        SELECT_LOOP(x[i], y[i], output == a, output == b)                                                              \
    }                                                                                                                  \
    __attribute__((target(TARGET))) static void select_##WIDTH##_vs_##SUFFIX(                                          \
        ptrdiff_t count, const uint8_t *m, const void *a, const void *b, void *output) {                               \
        const TYPE *x = a, y = *(const TYPE *)b;                                                                       \
        TYPE *o = output;                                                                                              \
        SELECT_LOOP(x[i], y, output == a, 0)                                                                           \
    }                                                                                                                  \
    __attribute__((target(TARGET))) static void select_##WIDTH##_sv_##SUFFIX(                                          \
        ptrdiff_t count, const uint8_t *m, const void *a, const void *b, void *output) {                               \
        const TYPE x = *(const TYPE *)a, *y = b;                                                                       \
        TYPE *o = output;                                                                                              \
        SELECT_LOOP(x, y[i], 0, output == b)                                                                           \
    }                                                                                                                  \
    __attribute__((target(TARGET))) static void select_##WIDTH##_ss_##SUFFIX(                                          \
        ptrdiff_t count, const uint8_t *m, const void *a, const void *b, void *output) {                               \
        const TYPE x = *(const TYPE *)a, y = *(const TYPE *)b;                                                         \
        TYPE *o = output;                                                                                              \
        SELECT_LOOP(x, y, 0, 0)                                                                                        \
    }

#define SELECT_WIDTHS(SUFFIX, TARGET)                                                                                  \
    SELECT_VARIANTS(uint8_t, 1, SUFFIX, TARGET)                                                                        \
    SELECT_VARIANTS(uint16_t, 2, SUFFIX, TARGET)                                                                       \
    SELECT_VARIANTS(uint32_t, 4, SUFFIX, TARGET)                                                                       \
    SELECT_VARIANTS(uint64_t, 8, SUFFIX, TARGET)

SELECT_WIDTHS(avx2, "avx2,fma")
SELECT_WIDTHS(avx512, "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")

#define SELECT_TABLE(SUFFIX)                                                                                           \
    {                                                                                                                  \
        {select_1_vv_##SUFFIX, select_1_vs_##SUFFIX, select_1_sv_##SUFFIX, select_1_ss_##SUFFIX},                      \
        {select_2_vv_##SUFFIX, select_2_vs_##SUFFIX, select_2_sv_##SUFFIX, select_2_ss_##SUFFIX},                      \
        {select_4_vv_##SUFFIX, select_4_vs_##SUFFIX, select_4_sv_##SUFFIX, select_4_ss_##SUFFIX},                      \
        {select_8_vv_##SUFFIX, select_8_vs_##SUFFIX, select_8_sv_##SUFFIX, select_8_ss_##SUFFIX},                      \
    }

static const ember_select_kernel select_avx2[4][4] = SELECT_TABLE(avx2);
static const ember_select_kernel select_avx512[4][4] = SELECT_TABLE(avx512);

ember_select_kernel ember_select_kernel_for(int element_size, int a_is_scalar, int b_is_scalar, ember_cpu_level level) {
    int width;
    switch (element_size) {
    case 1: width = 0; break;
    case 2: width = 1; break;
    case 4: width = 2; break;
    case 8: width = 3; break;
    default: return NULL;
    }
    int variant = (a_is_scalar ? 2 : 0) + (b_is_scalar ? 1 : 0);
    switch (level) {
    case EMBER_CPU_BASELINE: return NULL;
    case EMBER_CPU_AVX2_FMA: return select_avx2[width][variant];
    case EMBER_CPU_AVX512: return select_avx512[width][variant];
    }
    return NULL;
}

#else

ember_select_kernel ember_select_kernel_for(int element_size, int a_is_scalar, int b_is_scalar, ember_cpu_level level) {
    (void)element_size;
    (void)a_is_scalar;
    (void)b_is_scalar;
    (void)level;
    return NULL;
}

#endif
