#ifndef EMBER_VECTOR_MATH_H
#define EMBER_VECTOR_MATH_H

#include <stddef.h>

#include "EmberCPU.h"

#ifdef __cplusplus
extern "C" {
#endif

/// A float32 transcendental function with vectorized array kernels.
typedef enum {
    EMBER_VECTOR_EXP = 0,
    EMBER_VECTOR_LOG = 1,
    EMBER_VECTOR_TANH = 2,
    EMBER_VECTOR_SIGMOID = 3,
    EMBER_VECTOR_SIN = 4,
    EMBER_VECTOR_COS = 5,
    EMBER_VECTOR_SQRT = 6,
    EMBER_VECTOR_RSQRT = 7,
    EMBER_VECTOR_RECIPROCAL = 8,
} ember_vector_function;

/// `output[i] = f(input[i])` for `count` float32 elements; any alignment, and `output` may be
/// `input` (in place) but must not otherwise overlap it.
typedef void (*ember_float_array_kernel)(const float *input, float *output, ptrdiff_t count);

/// The kernel of `function` built for `level`, or NULL at the baseline level (and on non-x86
/// CPUs), where callers keep their libm loop.
///
/// Every kernel is within 1 ulp of the correctly rounded result over the whole float range and
/// returns libm's special values (±0, ±inf, NaN, subnormals); the AVX2 and AVX-512 kernels
/// compute the same operations in the same order, so they agree bit for bit.
///
///     ember_float_array_kernel exp = ember_vector_math_f32(EMBER_VECTOR_EXP, ember_cpu_detect());
///     if (exp) exp(x, y, n);
ember_float_array_kernel ember_vector_math_f32(ember_vector_function function, ember_cpu_level level);

// Softmax's row kernels: the row maximum, then exp of the row shifted by it.

/// `output[i] = exp(input[i] - shift)` for `count` float32 elements, with the difference rounded
/// to float first: the exp kernel's result on the shifted row, without a pass that stores it.
typedef void (*ember_float_shifted_exp_kernel)(const float *input, float *output, ptrdiff_t count, float shift);

/// The largest of `count` float32 elements, or NaN if any is NaN (torch.amax's answer).
typedef float (*ember_float_max_kernel)(const float *input, ptrdiff_t count);

/// The shifted exp kernel built for `level`, or NULL where `ember_vector_math_f32` gives NULL.
///
///     ember_float_shifted_exp_kernel exp = ember_shifted_exp_f32_kernel(ember_cpu_detect());
///     if (exp) exp(row, out, n, row_max);
ember_float_shifted_exp_kernel ember_shifted_exp_f32_kernel(ember_cpu_level level);

/// The row maximum kernel built for `level`, or NULL where `ember_vector_math_f32` gives NULL.
///
///     ember_float_max_kernel max = ember_max_f32_kernel(ember_cpu_detect());
///     float row_max = max ? max(row, n) : row[0];
ember_float_max_kernel ember_max_f32_kernel(ember_cpu_level level);

/// The row minimum kernel (NaN if any element is NaN, +inf for none), built for `level`, or NULL
/// where `ember_vector_math_f32` gives NULL.
ember_float_max_kernel ember_min_f32_kernel(ember_cpu_level level);

/// The first of `count` float32 elements equal to `value` (the first NaN, for a NaN `value`),
/// or `count` if none is: where a row's maximum came from.
typedef ptrdiff_t (*ember_float_first_index_kernel)(const float *input, ptrdiff_t count, float value);

/// The first-index kernel built for `level`, or NULL where `ember_vector_math_f32` gives NULL.
///
///     ember_float_first_index_kernel first = ember_first_index_f32_kernel(ember_cpu_detect());
///     ptrdiff_t argmax = first(row, n, max(row, n));
ember_float_first_index_kernel ember_first_index_f32_kernel(ember_cpu_level level);

#ifdef __cplusplus
}
#endif

#endif
