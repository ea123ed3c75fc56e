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

#ifdef __cplusplus
}
#endif

#endif
