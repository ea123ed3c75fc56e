#ifndef EMBER_COLUMN_SUMS_H
#define EMBER_COLUMN_SUMS_H

#include <stddef.h>

#include "EmberCPU.h"

#ifdef __cplusplus
extern "C" {
#endif

/// `totals[j] += rows[r * columns + j]` for every row r < `row_count` and column j < `columns`,
/// in double, row after row: each column's additions happen in the same order as a scalar
/// loop's, so the totals are bit for bit the scalar loop's whatever the vector width.
typedef void (*ember_column_sums_f32_kernel)(const float *rows, ptrdiff_t row_count, ptrdiff_t columns, double *totals);

/// The kernel built for `level`; NULL at the baseline level and on non-x86 CPUs, where callers
/// keep their Swift loop (which the x86-64 baseline converts two floats at a time).
///
///     ember_column_sums_f32_kernel sums = ember_column_sums_f32_kernel_for(ember_cpu_detect());
///     if (sums) sums(matrix, rows, columns, totals);
ember_column_sums_f32_kernel ember_column_sums_f32_kernel_for(ember_cpu_level level);

#ifdef __cplusplus
}
#endif

#endif
