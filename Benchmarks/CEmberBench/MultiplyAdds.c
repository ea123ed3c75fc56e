#include "CEmberBench.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/// Defines `name`, which runs `CHAINS` multiply-add chains of `BITS`-bit vectors for `seconds`
/// and returns the floating-point operations done (each multiply-add counts two). The chains
/// converge to 1 (x·(1 - 2^-24) + 2^-24), so no value leaves the normal range.
#define MULTIPLY_ADD_LOOP(name, target, BITS, CHAINS)                                               \
    target static double name(double seconds, double *elapsed) {                                    \
        typedef float vector __attribute__((vector_size(BITS / 8)));                                \
        /* Read through a volatile, so that the compiler cannot fold chains it can follow. */    \
        volatile float opaque_one = 1.0f;                                                           \
        float one = opaque_one;                                                                     \
        vector chain[CHAINS];                                                                       \
        for (int i = 0; i < CHAINS; i++) chain[i] = (vector){} + one * (float)i;                    \
        const vector factor = (vector){} + (one - 0x1p-24f), term = (vector){} + one * 0x1p-24f;    \
        long rounds = 0;                                                                            \
        double start = now(), end;                                                                  \
        do {                                                                                        \
            for (int step = 0; step < 4096; step++)                                                 \
                for (int i = 0; i < CHAINS; i++) chain[i] = __builtin_elementwise_fma(chain[i], factor, term); \
            rounds++;                                                                               \
        } while ((end = now()) - start < seconds);                                                  \
        float sum = 0;                                                                              \
        for (int i = 0; i < CHAINS; i++) sum += chain[i][0];                                        \
        __asm__ volatile("" : : "r"(sum));                                                          \
        *elapsed = end - start;                                                                     \
        return (double)rounds * 4096 * CHAINS * (BITS / 32) * 2;                                    \
    }

#if defined(__x86_64__)
// Two FMA units of four cycles' latency need eight chains in flight; twelve leave room.
MULTIPLY_ADD_LOOP(multiply_adds_512, __attribute__((target("avx512f"))), 512, 12)
MULTIPLY_ADD_LOOP(multiply_adds_256, __attribute__((target("avx2,fma"))), 256, 12)

int ember_bench_vector_bits(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return 512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 256;
    return 0;
}
#elif defined(__aarch64__)
// Apple's cores have four FMA pipes of four cycles' latency: sixteen chains.
MULTIPLY_ADD_LOOP(multiply_adds_128, , 128, 16)

int ember_bench_vector_bits(void) { return 128; }
#else
int ember_bench_vector_bits(void) { return 0; }
#endif

struct job {
    int bits;
    double seconds, flops, elapsed;
    atomic_int *ready;
    int threads;
};

static void run(struct job *job) {
    // Every thread starts once all of them exist, so that they run at the same time.
    atomic_fetch_add(job->ready, 1);
    while (atomic_load(job->ready) < job->threads) {}
#if defined(__x86_64__)
    job->flops = job->bits == 512 ? multiply_adds_512(job->seconds, &job->elapsed) : multiply_adds_256(job->seconds, &job->elapsed);
#elif defined(__aarch64__)
    job->flops = multiply_adds_128(job->seconds, &job->elapsed);
#endif
}

static void *run_thread(void *job) {
    run(job);
    return NULL;
}

void ember_bench_multiply_adds(int threads, double seconds, double *flops, double *elapsed) {
    int bits = ember_bench_vector_bits();
    *flops = 0;
    *elapsed = 0;
    if (bits == 0 || threads < 1 || threads > 1024) return;  // Ember's most threads
    atomic_int ready = 0;
    struct job jobs[1024];
    pthread_t others[1024];
    int started = 1;
    for (int i = 0; i < threads; i++) jobs[i] = (struct job){bits, seconds, 0, 0, &ready, threads};
    for (; started < threads; started++) {
        if (pthread_create(&others[started], NULL, run_thread, &jobs[started]) != 0) break;
    }
    if (started < threads) atomic_fetch_add(&ready, threads - started);  // run with the threads there are
    run(&jobs[0]);
    for (int i = 1; i < started; i++) pthread_join(others[i], NULL);
    for (int i = 0; i < started; i++) {
        *flops += jobs[i].flops;
        if (jobs[i].elapsed > *elapsed) *elapsed = jobs[i].elapsed;
    }
}
