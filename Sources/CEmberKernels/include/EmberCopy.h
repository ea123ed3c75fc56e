#ifndef EMBER_COPY_H
#define EMBER_COPY_H

#include <stddef.h>

#include "EmberCPU.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Copies `bytes` bytes from `source` to `destination` (which do not overlap) with
/// non-temporal stores, which bypass the caches: for copies too large for the cache to keep
/// anyway, so that no line of the destination is read before it is overwritten.
typedef void (*ember_streaming_copy_kernel)(void *destination, const void *source, size_t bytes);

/// The kernel built for `level`; NULL at the baseline level and on non-x86 CPUs, where callers
/// keep memcpy.
ember_streaming_copy_kernel ember_streaming_copy_kernel_for(ember_cpu_level level);

/// Copies the `rows` x `columns` matrix whose element (i, j) is `source[i + j * source_stride]`
/// (a matrix stored by columns) into `target[i * target_stride + j]` (by rows); strides count
/// elements.
typedef void (*ember_transpose_kernel)(const void *source, size_t source_stride, void *target, size_t target_stride,
                                       size_t rows, size_t columns);

/// The kernel for elements of `element_size` bytes (1, 2, 4 or 8; NULL for other sizes): 8x8
/// blocks through AVX2 registers for 4- and 8-byte elements from `EMBER_CPU_AVX2_FMA` on,
/// otherwise a portable loop.
ember_transpose_kernel ember_transpose_kernel_for(ember_cpu_level level, size_t element_size);

#ifdef __cplusplus
}
#endif

#endif
