#include "EmberCPU.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

/// The register-state bits the OS saves on context switch (XCR0), so wide registers survive.
static unsigned long long ember_xcr0(void) {
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

ember_cpu_level ember_cpu_detect(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return EMBER_CPU_BASELINE;
    int fma = (ecx >> 12) & 1, osxsave = (ecx >> 27) & 1, avx = (ecx >> 28) & 1;
    if (!(fma && osxsave && avx)) return EMBER_CPU_BASELINE;
    unsigned long long xcr0 = ember_xcr0();
    if ((xcr0 & 0x6) != 0x6) return EMBER_CPU_BASELINE;  // XMM and YMM state
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return EMBER_CPU_BASELINE;
    int avx2 = (ebx >> 5) & 1;
    if (!avx2) return EMBER_CPU_BASELINE;
    int avx512 = ((ebx >> 16) & 1) && ((ebx >> 17) & 1) && ((ebx >> 30) & 1) && ((ebx >> 31) & 1);
    if (avx512 && (xcr0 & 0xE6) == 0xE6) return EMBER_CPU_AVX512;  // plus opmask and ZMM state
    return EMBER_CPU_AVX2_FMA;
}

int ember_cpu_avx512_is_full_width(void) {
    if (ember_cpu_detect() != EMBER_CPU_AVX512) return 0;
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return 0;
    int intel = ebx == 0x756e6547 && edx == 0x49656e69 && ecx == 0x6c65746e;  // "GenuineIntel"
    int amd = ebx == 0x68747541 && edx == 0x69746e65 && ecx == 0x444d4163;    // "AuthenticAMD"
    if (intel) return 1;
    if (!amd || !__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    unsigned int family = (eax >> 8) & 0xF;
    if (family == 0xF) family += (eax >> 20) & 0xFF;
    return family >= 0x1A;
}
#else
ember_cpu_level ember_cpu_detect(void) { return EMBER_CPU_BASELINE; }
int ember_cpu_avx512_is_full_width(void) { return 0; }
#endif
