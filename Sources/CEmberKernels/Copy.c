// Large contiguous copies (`copy_`, `clone()`, `contiguous()` of a dense view): on this machine
// glibc's memcpy took 10 ms for 64 MB on one core, a loop of 32-byte non-temporal stores
// 5.5-6.5 ms. Within the cache memcpy is as fast as any loop and streaming stores twice as
// slow, so callers stream only copies larger than the cache.

#include <string.h>

#include "EmberCopy.h"

#if defined(__x86_64__)

#include <immintrin.h>

__attribute__((target("avx2"))) static void streaming_copy_avx2(void *destination, const void *source, size_t bytes) {
    char *to = destination;
    const char *from = source;
    // Up to the destination's first 32-byte boundary, as the aligned stores need.
    size_t head = (32 - ((size_t)to & 31)) & 31;
    if (head > bytes) head = bytes;
    memcpy(to, from, head);
    size_t index = head;
    for (; index + 128 <= bytes; index += 128) {
        for (int k = 0; k < 4; k++) {
            _mm256_stream_si256((__m256i *)(to + index + 32 * k), _mm256_loadu_si256((const __m256i *)(from + index + 32 * k)));
        }
    }
    _mm_sfence();
    memcpy(to + index, from + index, bytes - index);
}

ember_streaming_copy_kernel ember_streaming_copy_kernel_for(ember_cpu_level level) {
    return level == EMBER_CPU_BASELINE ? NULL : streaming_copy_avx2;
}

#else

ember_streaming_copy_kernel ember_streaming_copy_kernel_for(ember_cpu_level level) {
    (void)level;
    return NULL;
}

#endif
