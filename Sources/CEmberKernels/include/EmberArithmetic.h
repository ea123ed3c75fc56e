#ifndef EMBER_ARITHMETIC_H
#define EMBER_ARITHMETIC_H

#include <stddef.h>

#include "EmberCPU.h"

#ifdef __cplusplus
extern "C" {
#endif

/// The float32 elementwise ops of two operands with a C kernel.
typedef enum {
    EMBER_ARITHMETIC_ADD = 0,
    EMBER_ARITHMETIC_SUBTRACT = 1,
    EMBER_ARITHMETIC_MULTIPLY = 2,
    EMBER_ARITHMETIC_DIVIDE = 3,
    /// a·(1 − b²), 1 − b² rounded once: tanh's gradient `a` from its output `b`.
    EMBER_ARITHMETIC_TANH_BACKWARD = 4,
    /// a·(1 − b)·b, in that order: sigmoid's gradient `a` from its output `b`.
    EMBER_ARITHMETIC_SIGMOID_BACKWARD = 5,
} ember_arithmetic_op;

/// `output[i] = op(a[i], b[i])` for `count` floats, where `a` or `b` is read as one number
/// (`a[0]`, `b[0]`) by the kernels for a number operand. Each element takes the Swift op's IEEE
/// operations in its order, so the results are the Swift loop's bit for bit (NaN payloads
/// aside). `output` may be `a` or `b`.
typedef void (*ember_arithmetic_f32_kernel)(const float *a, const float *b, float *output, size_t count);

/// One op's kernels for each operand layout.
typedef struct {
    /// Both operands dense.
    ember_arithmetic_f32_kernel dense;
    /// `a` dense, `b` one number (`grad * 1e-6`).
    ember_arithmetic_f32_kernel number_second;
    /// `a` one number, `b` dense (`1e-6 * grad`, `1 - p`).
    ember_arithmetic_f32_kernel number_first;
} ember_arithmetic_f32_kernels;

/// The kernels of `op` built for `level`; all NULL at the baseline level, where the Swift loop runs.
ember_arithmetic_f32_kernels ember_arithmetic_f32_kernels_for(ember_cpu_level level, ember_arithmetic_op op);

/// `output[i] = fma(b[i], alpha, a[i])` for `count` floats: `a + alpha·b` rounded once, as
/// PyTorch's add and sub with `alpha` compute it. `output` may be `a` or `b`.
typedef void (*ember_scaled_add_f32_kernel)(const float *a, const float *b, float alpha, float *output, size_t count);

/// The scaled-add kernel built for `level`; NULL at the baseline level, which has no fused
/// multiply-add instruction.
ember_scaled_add_f32_kernel ember_scaled_add_f32_kernel_for(ember_cpu_level level);

#ifdef __cplusplus
}
#endif

#endif
