#ifndef EMBER_CPU_H
#define EMBER_CPU_H

#ifdef __cplusplus
extern "C" {
#endif

/// The widest vector instruction set this CPU and its operating system both support.
typedef enum {
    /// x86-64 baseline (SSE2) or a non-x86 CPU: no C kernel beats the Swift one.
    EMBER_CPU_BASELINE = 0,
    /// AVX2 with FMA (Haswell, Zen and later).
    EMBER_CPU_AVX2_FMA = 1,
    /// AVX-512 F/VL/DQ/BW on top of AVX2 and FMA (Skylake-X, Ice Lake, Zen 4 and later).
    EMBER_CPU_AVX512 = 2,
} ember_cpu_level;

/// Reads CPUID and XGETBV once; cheap to call again.
ember_cpu_level ember_cpu_detect(void);

/// Whether the CPU executes 512-bit multiply-adds at twice the rate of 256-bit ones: AMD from
/// Zen 5 (family 1Ah), and Intel's AVX-512 cores, taken as such (its server cores have two
/// 512-bit FMA units; a client core with one runs AVX-512 and AVX2 kernels alike). Zen 4 runs
/// each 512-bit operation as two 256-bit halves, so there AVX2 kernels keep up with AVX-512
/// ones. 0 without AVX-512.
int ember_cpu_avx512_is_full_width(void);

/// Tells the core that this thread is spin-waiting (x86 `pause`, ARM `yield`), which saves
/// power and lets a sibling hyperthread run.
static inline void ember_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

#ifdef __cplusplus
}
#endif

#endif
