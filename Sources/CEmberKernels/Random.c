// PyTorch's AVX2 normal fill for float32 (`randn`, `normal_`), instruction for instruction: the
// Swift port of it, compiled for the x86-64 baseline, has no fused multiply-add and evaluated
// each in double, 10-11 ms for a million normals against PyTorch's 5 (most of it the uniforms'
// generator, which stays in Swift).

#include "EmberRandom.h"

#if defined(__x86_64__)

#include <immintrin.h>

#define F(bits) _mm256_castsi256_ps(_mm256_set1_epi32((int)(bits)))

__attribute__((target("avx2,fma"))) static void normal_blocks_avx2(float *blocks, ptrdiff_t count, float mean, float std) {
    const __m256 one = _mm256_set1_ps(1.0f), negativeZero = _mm256_set1_ps(-0.0f);  // xor negates, as Swift's prefix minus
    for (ptrdiff_t block = 0; block < count; block++) {
        float *values = blocks + 16 * block;
        __m256 radiusUniform = _mm256_sub_ps(one, _mm256_loadu_ps(values));
        __m256 angleUniform = _mm256_loadu_ps(values + 8);

        // log(radiusUniform): exponent and a mantissa in [0.5, 1), then a polynomial.
        __m256i bits = _mm256_castps_si256(radiusUniform);
        __m256 mantissa = _mm256_castsi256_ps(
            _mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32((int)0x807FFFFF)), _mm256_set1_epi32(0x3F000000)));
        __m256i biased = _mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(127));
        __m256 exponent = _mm256_add_ps(_mm256_cvtepi32_ps(biased), one);
        __m256 belowSqrtHalf = _mm256_cmp_ps(mantissa, F(0x3F3504F3), _CMP_LT_OS);
        __m256 x = _mm256_sub_ps(mantissa, one);
        exponent = _mm256_sub_ps(exponent, _mm256_and_ps(one, belowSqrtHalf));
        x = _mm256_add_ps(x, _mm256_and_ps(mantissa, belowSqrtHalf));
        __m256 z = _mm256_mul_ps(x, x);
        __m256 y = _mm256_fmadd_ps(F(0x3D9021BB), x, F(0xBDEBD1B8));
        y = _mm256_fmadd_ps(y, x, F(0x3DEF251A));
        y = _mm256_fmadd_ps(y, x, F(0xBDFE5D4F));
        y = _mm256_fmadd_ps(y, x, F(0x3E11E9BF));
        y = _mm256_fmadd_ps(y, x, F(0xBE2AAE50));
        y = _mm256_fmadd_ps(y, x, F(0x3E4CCEAC));
        y = _mm256_fmadd_ps(y, x, F(0xBE7FFFFC));
        y = _mm256_fmadd_ps(y, x, F(0x3EAAAAAA));
        y = _mm256_mul_ps(y, x);
        y = _mm256_fmadd_ps(y, z, _mm256_mul_ps(exponent, F(0xB95E8083)));
        y = _mm256_fmadd_ps(_mm256_xor_ps(z, negativeZero), _mm256_set1_ps(0.5f), y);
        __m256 logarithm = _mm256_fmadd_ps(exponent, F(0x3F318000), _mm256_add_ps(x, y));
        __m256 radius = _mm256_sqrt_ps(_mm256_mul_ps(_mm256_set1_ps(-2.0f), logarithm));

        // sincos(theta) for theta in [0, 2π): reduce by multiples of π/4, then pick the polynomials.
        __m256 theta = _mm256_mul_ps(F(0x40C90FDB), angleUniform);
        __m256i octant = _mm256_cvttps_epi32(_mm256_mul_ps(theta, F(0x3FA2F983)));
        octant = _mm256_and_si256(_mm256_add_epi32(octant, _mm256_set1_epi32(1)), _mm256_set1_epi32(~1));
        __m256 octantFloat = _mm256_cvtepi32_ps(octant);
        __m256 reduced = _mm256_fmadd_ps(octantFloat, F(0xBF490000), theta);
        reduced = _mm256_fmadd_ps(octantFloat, F(0xB97DA000), reduced);
        reduced = _mm256_fmadd_ps(octantFloat, F(0xB3222169), reduced);
        __m256 reducedSquared = _mm256_mul_ps(reduced, reduced);

        __m256 cosine = _mm256_fmadd_ps(F(0x37CCF5CE), reducedSquared, F(0xBAB6061A));
        cosine = _mm256_fmadd_ps(cosine, reducedSquared, F(0x3D2AAAA5));
        cosine = _mm256_mul_ps(cosine, reducedSquared);
        cosine = _mm256_fmadd_ps(cosine, reducedSquared, _mm256_xor_ps(_mm256_mul_ps(reducedSquared, _mm256_set1_ps(0.5f)), negativeZero));
        cosine = _mm256_add_ps(cosine, one);

        __m256 sine = _mm256_fmadd_ps(F(0xB94CA1F9), reducedSquared, F(0x3C08839E));
        sine = _mm256_fmadd_ps(sine, reducedSquared, F(0xBE2AAAA3));
        sine = _mm256_mul_ps(sine, reducedSquared);
        sine = _mm256_fmadd_ps(sine, reduced, reduced);

        // Bit 1 of the octant picks the polynomials (selected by masks and added, as PyTorch
        // does, which can turn -0 into +0); bit 2, moved to the sign bit, negates.
        __m256 swaps = _mm256_castsi256_ps(_mm256_srai_epi32(_mm256_slli_epi32(octant, 30), 31));
        __m256 sineFromSine = _mm256_andnot_ps(swaps, sine);
        __m256 sineFromCosine = _mm256_and_ps(cosine, swaps);
        __m256 sineMagnitude = _mm256_add_ps(sineFromCosine, sineFromSine);
        __m256 cosineMagnitude = _mm256_add_ps(_mm256_sub_ps(cosine, sineFromCosine), _mm256_sub_ps(sine, sineFromSine));
        __m256 sineSign = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_and_si256(octant, _mm256_set1_epi32(4)), 29));
        __m256 cosineSign = _mm256_castsi256_ps(_mm256_slli_epi32(
            _mm256_andnot_si256(_mm256_sub_epi32(octant, _mm256_set1_epi32(2)), _mm256_set1_epi32(4)), 29));
        __m256 sinTheta = _mm256_xor_ps(sineMagnitude, sineSign);
        __m256 cosTheta = _mm256_xor_ps(cosineMagnitude, cosineSign);

        __m256 scale = _mm256_set1_ps(std), shift = _mm256_set1_ps(mean);
        _mm256_storeu_ps(values, _mm256_fmadd_ps(_mm256_mul_ps(radius, cosTheta), scale, shift));
        _mm256_storeu_ps(values + 8, _mm256_fmadd_ps(_mm256_mul_ps(radius, sinTheta), scale, shift));
    }
}

ember_normal_blocks_f32_kernel ember_normal_blocks_f32_kernel_for(ember_cpu_level level) {
    return level == EMBER_CPU_BASELINE ? NULL : normal_blocks_avx2;
}

#else

ember_normal_blocks_f32_kernel ember_normal_blocks_f32_kernel_for(ember_cpu_level level) {
    (void)level;
    return NULL;
}

#endif
