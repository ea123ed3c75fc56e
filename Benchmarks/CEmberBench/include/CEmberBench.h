#ifndef CEMBER_BENCH_H
#define CEMBER_BENCH_H

/// The width in bits of the vectors ember_bench_multiply_adds uses: the widest with a fused
/// multiply-add on this CPU (512, 256, or 128 on ARM), or 0 where there is none.
int ember_bench_vector_bits(void);

/// Runs independent chains of vector multiply-adds, the instruction GEMM spends its time on,
/// on `threads` threads at once for about `seconds`, and stores the floating-point operations
/// they did together in `*flops` and the longest thread's time in `*elapsed` (both 0 where
/// ember_bench_vector_bits() is 0).
void ember_bench_multiply_adds(int threads, double seconds, double *flops, double *elapsed);

#endif
