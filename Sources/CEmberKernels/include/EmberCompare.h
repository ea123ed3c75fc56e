#ifndef EMBER_COMPARE_H
#define EMBER_COMPARE_H

#include <stddef.h>
#include <stdint.h>

#include "EmberCPU.h"

#ifdef __cplusplus
extern "C" {
#endif

/// The six float32 comparisons with a C kernel.
typedef enum {
    EMBER_COMPARE_LESS = 0,
    EMBER_COMPARE_LESS_EQUAL = 1,
    EMBER_COMPARE_GREATER = 2,
    EMBER_COMPARE_GREATER_EQUAL = 3,
    EMBER_COMPARE_EQUAL = 4,
    EMBER_COMPARE_NOT_EQUAL = 5,
} ember_compare_op;

/// `output[i] = a[i] op b[i]` as a bool (one byte, 1 or 0) for `count` floats, with `b[0]`
/// standing for every element in the kernel for a number operand. IEEE comparisons: NaN
/// compares unequal to everything.
typedef void (*ember_compare_f32_kernel)(const float *a, const float *b, uint8_t *output, size_t count);

/// One comparison's kernels for each operand layout.
typedef struct {
    /// Both operands dense.
    ember_compare_f32_kernel dense;
    /// `a` dense, `b` one number (`h < 0`).
    ember_compare_f32_kernel number_second;
} ember_compare_f32_kernels;

/// The kernels of `op` built for `level`; both NULL at the baseline level, where the Swift loop runs.
ember_compare_f32_kernels ember_compare_f32_kernels_for(ember_cpu_level level, ember_compare_op op);

#ifdef __cplusplus
}
#endif

#endif
