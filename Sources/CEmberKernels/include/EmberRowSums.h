#ifndef EMBER_ROW_SUMS_H
#define EMBER_ROW_SUMS_H

#include <stddef.h>

#include "EmberCPU.h"

#ifdef __cplusplus
extern "C" {
#endif

/// The sum of `count` floats in double, in Ember's order: blocks of 256 added eight lanes wide
/// in four float accumulators, added together, their lanes added as a tree ((0+4)+(2+6)) +
/// ((1+5)+(3+7)) and the block total added in double; after the blocks (when there was one),
/// the remaining groups of 32 in four accumulators and of eight into the first, totalled the
/// same way; then single floats in double. Bit for bit the Swift loop it stands in for.
typedef double (*ember_row_sum_f32_kernel)(const float *values, ptrdiff_t count);

/// The kernel built for `level`; NULL at the baseline level and on non-x86 CPUs, where callers
/// keep their Swift loop.
ember_row_sum_f32_kernel ember_row_sum_f32_kernel_for(ember_cpu_level level);

/// The product of `count` floats in double, in Ember's order: with 32 or more, lane i of 32
/// multiplies elements i, i + 32, i + 64, … of the whole groups of 32, the lanes are multiplied
/// as a tree (i · (i + 16), then i · (i + 8), (i + 4), (i + 2), (i + 1)), and the remaining
/// elements multiply that in turn; fewer than 32 multiply one after another from 1. Bit for
/// bit the Swift loop it stands in for.
typedef double (*ember_row_product_f32_kernel)(const float *values, ptrdiff_t count);

/// The kernel built for `level`; NULL at the baseline level and on non-x86 CPUs.
ember_row_product_f32_kernel ember_row_product_f32_kernel_for(ember_cpu_level level);

#ifdef __cplusplus
}
#endif

#endif
