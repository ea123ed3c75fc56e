// Matrix–vector products: y = alpha·A·x + beta·y with A's rows contiguous, as dot products
// along those rows. The GEMM kernels run such a product as tiles of one column (or one row)
// whose other lanes are padding, a fifteenth of their arithmetic used: `mv` of 4096×1024 floats
// took three times PyTorch's time. Here every lane is used, and four rows (two for AVX2, whose
// registers are fewer) share each load of x.

#include <string.h>

#include "EmberGEMM.h"

#if defined(__x86_64__)

typedef float ember_gemv_v16f __attribute__((vector_size(64)));
typedef double ember_gemv_v8d __attribute__((vector_size(64)));

// NAME, the scalar and its 64-byte vector of WIDTH lanes, the scalar fused multiply-add, rows
// per block, and the target.
#define GEMV(NAME, SCALAR, VECTOR, WIDTH, FMA, ROWS, TARGET)                                                       \
    /* The 2·WIDTH lanes' total: lane i + lane i + WIDTH, then halves added as a tree. */                         \
    __attribute__((target(TARGET), always_inline)) static inline SCALAR NAME##_total(const VECTOR pair[2]) {     \
        VECTOR folded = pair[0] + pair[1];                                                                         \
        SCALAR lanes[WIDTH];                                                                                       \
        memcpy(lanes, &folded, sizeof folded);                                                                     \
        for (int half = WIDTH / 2; half > 0; half /= 2)                                                            \
            for (int i = 0; i < half; i++) lanes[i] += lanes[i + half];                                            \
        return lanes[0];                                                                                           \
    }                                                                                                              \
    __attribute__((target(TARGET), always_inline)) static inline void NAME##_rows(                                \
        int rows, ptrdiff_t k, SCALAR alpha, const SCALAR *a, ptrdiff_t a_row, const SCALAR *x, SCALAR beta,      \
        SCALAR *y, ptrdiff_t y_stride) {                                                                           \
        VECTOR sums[ROWS][2];                                                                                      \
        for (int r = 0; r < rows; r++) sums[r][0] = sums[r][1] = (VECTOR){0};                                      \
        ptrdiff_t p = 0;                                                                                           \
        for (; p + 2 * WIDTH <= k; p += 2 * WIDTH) {                                                               \
            VECTOR x0, x1;                                                                                         \
            memcpy(&x0, x + p, sizeof x0);                                                                         \
            memcpy(&x1, x + p + WIDTH, sizeof x1);                                                                 \
            for (int r = 0; r < rows; r++) {                                                                       \
                VECTOR a0, a1;                                                                                     \
                memcpy(&a0, a + r * a_row + p, sizeof a0);                                                         \
                memcpy(&a1, a + r * a_row + p + WIDTH, sizeof a1);                                                 \
                sums[r][0] = __builtin_elementwise_fma(a0, x0, sums[r][0]);                                        \
                sums[r][1] = __builtin_elementwise_fma(a1, x1, sums[r][1]);                                        \
            }                                                                                                      \
        }                                                                                                          \
        for (int r = 0; r < rows; r++) {                                                                           \
            SCALAR total = NAME##_total(sums[r]);                                                                   \
            for (ptrdiff_t q = p; q < k; q++) total = FMA(a[r * a_row + q], x[q], total);                          \
            SCALAR value = alpha == 1 ? total : alpha * total;                                                     \
            if (beta != 0) value = FMA(beta, y[r * y_stride], value);                                              \
            y[r * y_stride] = value;                                                                               \
        }                                                                                                          \
    }                                                                                                              \
    __attribute__((target(TARGET))) void NAME(                                                                     \
        ptrdiff_t m, ptrdiff_t k, SCALAR alpha, const SCALAR *a, ptrdiff_t a_row, const SCALAR *x, SCALAR beta,   \
        SCALAR *y, ptrdiff_t y_stride) {                                                                           \
        ptrdiff_t i = 0;                                                                                           \
        for (; i + ROWS <= m; i += ROWS)                                                                           \
            NAME##_rows(ROWS, k, alpha, a + i * a_row, a_row, x, beta, y + i * y_stride, y_stride);                \
        for (; i < m; i++) NAME##_rows(1, k, alpha, a + i * a_row, a_row, x, beta, y + i * y_stride, y_stride);   \
    }

GEMV(ember_sgemv_avx2, float, ember_gemv_v16f, 16, __builtin_fmaf, 2, "avx2,fma")
GEMV(ember_sgemv_avx512, float, ember_gemv_v16f, 16, __builtin_fmaf, 4, "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")
GEMV(ember_dgemv_avx2, double, ember_gemv_v8d, 8, __builtin_fma, 2, "avx2,fma")
GEMV(ember_dgemv_avx512, double, ember_gemv_v8d, 8, __builtin_fma, 4, "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")

#endif
