#ifndef EMBER_HALF_H
#define EMBER_HALF_H

#include <stddef.h>
#include <stdint.h>

#include "EmberCPU.h"

#ifdef __cplusplus
extern "C" {
#endif

/// `output[i]` = `input[i]` rounded to IEEE half precision, ties to even, as `Half(_: Float)`
/// does bit for bit: a NaN becomes the quiet NaN 0x7E00 with its sign.
typedef void (*ember_float_to_half_kernel)(const float *input, uint16_t *output, ptrdiff_t count);

/// `output[i]` = the exact float value of the half `input[i]`, as `Half.floatValue` gives it bit
/// for bit: a NaN keeps its sign and payload, and a signaling NaN stays signaling.
typedef void (*ember_half_to_float_kernel)(const uint16_t *input, float *output, ptrdiff_t count);

/// The kernels built for `level` with the CPU's F16C conversions; NULL at the baseline level,
/// without F16C, and on non-x86 CPUs, where callers keep their loop.
ember_float_to_half_kernel ember_float_to_half_kernel_for(ember_cpu_level level);
ember_half_to_float_kernel ember_half_to_float_kernel_for(ember_cpu_level level);

#ifdef __cplusplus
}
#endif

#endif
