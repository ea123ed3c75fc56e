#ifndef EMBER_SELECT_H
#define EMBER_SELECT_H

#include <stddef.h>
#include <stdint.h>

#include "EmberCPU.h"

#ifdef __cplusplus
extern "C" {
#endif

/// `output[i] = mask[i] ? a[i] : b[i]` for `count` elements of one width, where `mask` holds
/// bools (one byte, 0 or 1). Either operand may be a single element broadcast to every
/// position, as the kernel was chosen for; `output` may be `a` or `b` (in place).
typedef void (*ember_select_kernel)(ptrdiff_t count, const uint8_t *mask, const void *a, const void *b, void *output);

/// The select kernel for elements of `element_size` bytes (1, 2, 4 or 8; selecting copies bits,
/// so one kernel serves every dtype of that width), with `a` and/or `b` a single broadcast
/// element, built for `level`; NULL at the baseline level, on non-x86 CPUs and for other widths.
///
///     ember_select_kernel select = ember_select_kernel_for(4, false, true, ember_cpu_detect());
///     float zero = 0;
///     if (select) select(n, mask, gradient, &zero, output);   // where(mask, gradient, 0)
ember_select_kernel ember_select_kernel_for(int element_size, int a_is_scalar, int b_is_scalar, ember_cpu_level level);

#ifdef __cplusplus
}
#endif

#endif
