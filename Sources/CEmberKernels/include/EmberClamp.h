#ifndef EMBER_CLAMP_H
#define EMBER_CLAMP_H

#include <stddef.h>

#include "EmberCPU.h"

#ifdef __cplusplus
extern "C" {
#endif

/// `output[i] = (high < y) ? high : y` where `y = (input[i] < low) ? low : input[i]`, for
/// `count` floats (clamp, and relu with low 0 and high +inf): bit for bit the Swift loop, NaN and
/// -0.0 passing through. `output` may be `input`.
typedef void (*ember_clamp_f32_kernel)(const float *input, float *output, size_t count, float low, float high);

/// The kernel built for `level`; NULL at the baseline level, where the Swift loop runs.
ember_clamp_f32_kernel ember_clamp_f32_kernel_for(ember_cpu_level level);

#ifdef __cplusplus
}
#endif

#endif
