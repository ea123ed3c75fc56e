#ifndef EMBER_RANDOM_H
#define EMBER_RANDOM_H

#include <stddef.h>

#include "EmberCPU.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Turns `blocks` consecutive blocks of 16 float32 uniforms in [0, 1) into normals with `mean`
/// and `std`, in place, exactly as PyTorch's AVX2 `normal_fill_16_AVX2` does: lane j of a block
/// takes its radius from element j and its angle from element j + 8 (Box–Muller, with
/// avx_mathfun's Cephes-style log and sincos), and writes the cosine output to j and the sine
/// output to j + 8.
typedef void (*ember_normal_blocks_f32_kernel)(float *blocks, ptrdiff_t count, float mean, float std);

/// The kernel built for `level`; NULL at the baseline level and on non-x86 CPUs, where callers
/// keep their loop.
ember_normal_blocks_f32_kernel ember_normal_blocks_f32_kernel_for(ember_cpu_level level);

#ifdef __cplusplus
}
#endif

#endif
