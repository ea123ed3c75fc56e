// The vector-math kernels for one instruction set; VectorMath.c includes this file once per
// set, with VM_SUFFIX (the name suffix), VM_TARGET (the target attribute) and VM_WIDTH (floats
// per vector) defined. Not a public header: it defines functions.
//
// Accuracy strategy. Each kernel computes in float with FMA and carries the one or two sums
// whose rounding would cost most as a rounded value and its exact error (Fast2Sum, or an FMA for
// a product), so that only its last addition rounds at full size: exp within 0.67 ulp (0.77 for
// subnormal results, which round twice), log 0.82, tanh 0.77 and sigmoid 0.77 (its subnormal
// results, exp's), each correctly rounded for all but 0.04-0.09% of floats, and sin and cos
// within 0.57 ulp, all but 0.02% (checked over all 2^32 inputs). log, tanh and sigmoid once
// widened to double, within 0.51 ulp but 2-3 times slower than PyTorch's float kernels: double
// division was most of their time.

#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define VM_PASTE(name, suffix) name##_##suffix
#define VM_NAME(name, suffix) VM_PASTE(name, suffix)
#define VM(name) VM_NAME(name, VM_SUFFIX)

#pragma clang attribute push(__attribute__((target(VM_TARGET), always_inline)), apply_to = function)
typedef float VM(vfloat) __attribute__((vector_size(VM_WIDTH * 4)));
typedef int32_t VM(vint) __attribute__((vector_size(VM_WIDTH * 4)));
#define vfloat VM(vfloat)
#define vint VM(vint)

/// `mask ? a : b` per lane, with `mask` from a float comparison (all ones or zero).
static inline vfloat VM(select_float)(vint mask, vfloat a, vfloat b) {
    return (vfloat)((mask & (vint)a) | (~mask & (vint)b));
}

/// `x` limited to [low, high]; NaN stays NaN (a comparison with NaN is false).
static inline vfloat VM(clamp_float)(vfloat x, float low, float high) {
    x = VM(select_float)(x > high, (vfloat){} + high, x);
    return VM(select_float)(x < low, (vfloat){} + low, x);
}

/// c[0] + c[1]·x + … + c[n-1]·xⁿ⁻¹ by Horner's rule, one FMA a coefficient.
static inline vfloat VM(polynomial)(vfloat x, const float *c, int n) {
    vfloat p = (vfloat){} + c[n - 1];
    for (int i = n - 2; i >= 0; i--) p = __builtin_elementwise_fma(p, x, (vfloat){} + c[i]);
    return p;
}

/// e + e_lo + c (c > 0, e ≥ 0 or NaN) as a rounded sum and *low its error: the larger of e and
/// c first, so that the error is exact (Fast2Sum), plus e_lo. tanh's and sigmoid's divisors.
static inline vfloat VM(add_constant_exactly)(vfloat e, vfloat e_lo, float c, vfloat *low) {
    vint larger = e > c;
    vfloat big = VM(select_float)(larger, e, (vfloat){} + c), small = VM(select_float)(larger, (vfloat){} + c, e);
    vfloat sum = big + small;
    *low = ((big - sum) + small) + e_lo;
    return sum;
}

/// The 1.5·2^23 shifter that exp_reduce rounds x·log2(e) with: the sum's low mantissa bits
/// then hold the rounded value n.
#define VM_SHIFTER ((vfloat){} + 0x1.8p23f)

/// n as an integer, from the bits of `shifted` (exp_reduce's).
static inline vint VM(exp_exponent)(vfloat shifted) {
    return (vint)shifted - (vint)VM_SHIFTER;
}

/// p·2^n, rounded once, where the `tiny` lanes have n ≤ -126 (p in [0.7, 1.42], n an integer
/// in [-150, 129] whose bits `shifted` holds as exp_reduce's does): exp_rarely's scaling, in
/// which no floating-point value leaves the normal range but an overflowing result.
static inline vfloat VM(scale_rarely)(vfloat p, vint tiny, vfloat shifted) {
    vint exponent = VM(exp_exponent)(shifted);
    vfloat scaled = p * (vfloat)((exponent + (149 + 127)) << 23);
    vfloat subnormal = (vfloat)__builtin_convertvector(__builtin_elementwise_roundeven(scaled), vint);
    // The other lanes' factors are kept normal.
    exponent = (tiny & -125) | (~tiny & exponent);
    vint low = exponent >> 1, high = exponent - low;
    vfloat normal = p * (vfloat)((low + 127) << 23) * (vfloat)((high + 127) << 23);
    return VM(select_float)(tiny, subnormal, normal);
}

/// Cody–Waite reduction of x (clamped to [-104, 89], or NaN) for exp: returns r, with
/// x = n·ln2 + r + *r_lo, |r| ≤ ln2/2, and n's bits in the low mantissa bits of `*shifted`.
///
/// n comes from rounding x·log2(e) with VM_SHIFTER; x - n·ln2_hi is exact because
/// ln2_hi has 9 significant bits and |n| ≤ 150, and the rounding error of r is kept in r_lo.
static inline vfloat VM(exp_reduce)(vfloat x, vfloat *r_lo, vfloat *shifted) {
    const vfloat shifter = VM_SHIFTER;
    const vfloat ln2_lo = (vfloat){} + 0x1.bd0104p-13f;  // ln2_hi - ln2, rounded
    *shifted = __builtin_elementwise_fma(x, (vfloat){} + 0x1.715476p+0f, shifter);
    vfloat n = *shifted - shifter;
    vfloat r_exact_hi = __builtin_elementwise_fma(n, (vfloat){} - 0x1.63p-1f, x);
    vfloat r = __builtin_elementwise_fma(n, ln2_lo, r_exact_hi);
    *r_lo = __builtin_elementwise_fma(n, ln2_lo, r_exact_hi - r);
    return r;
}

/// 2ⁿ for the n whose bits `shifted` holds (exp_reduce's), when -126 ≤ n ≤ 127.
static inline vfloat VM(exp_scale)(vfloat shifted) {
    return (vfloat)((VM(exp_exponent)(shifted) + 127) << 23);
}

/// eˣ = (head + tail)·2ⁿ for x clamped as exp_reduce wants it, with head + tail in [0.7, 1.42]
/// accurate to about 2^-27 relative before it is rounded, and n's bits in `*shifted`.
///
/// e^r = 1 + r + r²·q(r), q of degree 4 fitted by least squares at 2000 Chebyshev nodes for
/// relative error of e^r (our fit, max 3.8e-9 = 0.06 ulp). The sum is formed as (1 + r) plus a
/// small tail, with 1 + r split exactly (Fast2Sum), so only the last addition rounds at full
/// size: a plain Horner evaluation reaches 1.003 ulp near |r| = ln2/2, this stays under 0.67.
static inline vfloat VM(exp_parts)(vfloat x, vfloat *tail, vfloat *shifted) {
    vfloat r_lo, r = VM(exp_reduce)(x, &r_lo, shifted);
    static const float coefficients[] = {0x1.fffff8p-2f, 0x1.55548ep-3f, 0x1.555b58p-5f, 0x1.123b8ep-7f, 0x1.687c22p-10f};
    vfloat q = VM(polynomial)(r, coefficients, 5);
    vfloat head = 1.0f + r;
    vfloat small = __builtin_elementwise_fma(r * r, q, (1.0f - head) + r);
    // e^(r + r_lo) ≈ e^r·(1 + r_lo), and e^r ≈ head to the accuracy r_lo needs.
    *tail = __builtin_elementwise_fma(r_lo, head, small);
    return head;
}

/// eˣ as e + *low, e rounded and *low its error to about 2^-27 relative, for x in [-80, 20]
/// (or NaN): exp_parts's sum split exactly (Fast2Sum; its head is the larger), times 2ⁿ.
static inline vfloat VM(exp_pair)(vfloat x, vfloat *low) {
    vfloat tail, shifted;
    vfloat head = VM(exp_parts)(x, &tail, &shifted);
    vfloat scale = VM(exp_scale)(shifted);
    vfloat sum = head + tail;
    *low = ((head - sum) + tail) * scale;
    return sum * scale;
}

/// eʸ - 1 as e + *low, e rounded and *low its error to about 2^-27 relative, for y in [0, 20]
/// (or NaN): 2ⁿ·(e^r - 1) + (2ⁿ - 1) after exp_reduce, with e^r - 1 = r + r²·q(r) kept apart
/// from 1, so that a small y loses nothing to cancellation; q of degree 5 is fitted for the
/// relative error of e^r - 1 (1.1e-8 for q, whose term is at most a sixth of it), where exp's
/// q, fitted for e^r, would be 0.25 ulp off at y = 0.12. 2ⁿ - 1 ≥ 2ⁿ·|r| from n = 1 up, and is
/// 0 at n = 0, so the first sum splits exactly (Fast2Sum), and so does the renormalizing one.
static inline vfloat VM(expm1_pair)(vfloat y, vfloat *low) {
    vfloat shifted, r_lo, r = VM(exp_reduce)(y, &r_lo, &shifted);
    static const float coefficients[] = {0.5f, 0x1.555556p-3f, 0x1.5554eap-5f, 0x1.111166p-7f, 0x1.6d42dap-10f, 0x1.a04652p-13f};
    vfloat q = VM(polynomial)(r, coefficients, 6);
    // e^(r + r_lo) - 1 ≈ e^r - 1 + r_lo·(1 + r), to the accuracy r_lo needs.
    vfloat tail = __builtin_elementwise_fma(r * r, q, __builtin_elementwise_fma(r_lo, r, r_lo));
    vfloat scale = VM(exp_scale)(shifted);
    vfloat one_less = scale - 1.0f, scaled = r * scale;
    vfloat head = one_less + scaled;
    vfloat head_lo = __builtin_elementwise_fma(tail, scale, (one_less - head) + scaled);
    vfloat sum = head + head_lo;
    *low = (head - sum) + head_lo;
    return sum;
}

/// eˣ for the vectors exp_vector leaves to it (a result that may be subnormal or overflow, an
/// infinity or NaN): x is clamped to [-104, 89], past which the result rounds to +0 or +inf,
/// and exp_parts's head + tail, rounded, is scaled by 2ⁿ.
///
/// A result below the normal range is built as an integer (underflowing gradually; a
/// subnormal result rounds a second time, hence its 0.77 ulp): p·2^(n+149) rounded to an
/// integer is that result's bit pattern, the same rounding of p·2ⁿ. Computed in floating point,
/// such a result costs the CPU a microcode assist per vector (on the Emerald Rapids host a
/// million exp(-inf), or the -inf of a masked softmax, took 3.4 ms against 0.2 for ordinary
/// inputs), so no floating-point value here leaves the normal range but an overflowing result.
static inline vfloat VM(exp_rarely)(vfloat x) {
    vfloat tail, shifted;
    vfloat head = VM(exp_parts)(VM(clamp_float)(x, -104.0f, 89.0f), &tail, &shifted);
    vint tiny = shifted - VM_SHIFTER < -125.0f;  // as p < 2, from n = -126 down the result may be subnormal
    return VM(scale_rarely)(head + tail, tiny, shifted);
}

/// eˣ: exp_parts's head + tail, rounded, times 2ⁿ, for vectors whose every n is in
/// [-125, 127], where the result is normal and finite; other vectors (with infinities, NaN or
/// inputs out of range) go to exp_rarely. Checking the range instead of clamping every vector
/// made exp 8% faster on AVX-512 and 17% on AVX2 (64K floats on one thread, alternating in one
/// process).
///
/// AVX-512's vscalefps computes p·2ⁿ, rounded once, in one instruction, and one unsigned
/// comparison of the bits of `shifted` finds the lanes out of range. On AVX2, p·2ⁿ is exact in
/// range: one multiply. (Applying 2ⁿ as two normal factors, as exp_rarely does so that results
/// overflow at libm's threshold, took 9 instructions instead of 3 in every vector.)
static inline vfloat VM(exp_vector)(vfloat x) {
    vfloat tail, shifted;
    vfloat head = VM(exp_parts)(x, &tail, &shifted);
    vfloat n = shifted - VM_SHIFTER;
    vfloat p = head + tail;
#if VM_WIDTH == 16
    typedef uint32_t vuint __attribute__((vector_size(VM_WIDTH * 4)));
    vint outside = (vint)((vuint)((vint)shifted - ((vint)VM_SHIFTER - 125)) > 252u);
    if (__builtin_expect(__builtin_reduce_or(outside), 0)) return VM(exp_rarely)(x);
    return (vfloat)_mm512_scalef_ps((__m512)p, (__m512)n);
#else
    if (__builtin_expect(__builtin_reduce_or((n < -125.0f) | (n > 127.0f)), 0)) return VM(exp_rarely)(x);
    return p * VM(exp_scale)(shifted);
#endif
}

/// ln x for a positive normal x, or for a subnormal one whose lanes in `subnormal` hold x·2^149.
///
/// x = 2^k·m with m in [√½, √2) taken from the bits, f = m - 1 exact, and
/// ln x = k·ln2 + f + f²·P(f), P of degree 9 fitted by least squares at 4000 Chebyshev nodes
/// for relative error (our fit, 1.9e-8; f²·P(f) is at most a quarter of the result). k·ln2_hi
/// is exact (ln2_hi has 15 significant bits and |k| ≤ 149), and its sum with f is split exactly
/// (Fast2Sum, |k·ln2_hi| ≥ ln2 > |f| unless k = 0), so only the last addition rounds at full
/// size: within 0.82 ulp.
static inline vfloat VM(log_normal)(vfloat x, vint subnormal) {
    vint offset = (vint)x - 0x3f3504f3;  // the bits of √½, so m lands in [√½, √2)
    vfloat k = __builtin_convertvector((offset >> 23) + (subnormal & -149), vfloat);
    vfloat f = (vfloat)((offset & 0x7fffff) + 0x3f3504f3) - 1.0f;
    static const float coefficients[] = {0x1.55554ep-2f,  -0x1.00000ep-2f, 0x1.99a126p-3f, -0x1.55577ap-3f, 0x1.23794p-3f,
                                         -0x1.fd1624p-4f, 0x1.e43762p-4f,  -0x1.d78efap-4f, 0x1.122878p-4f};
    vfloat p = VM(polynomial)(f, coefficients, 9);  // P(f) = -½ + f·p(f)
    // f²·P(f) = f²·(f·p) - f²/2, with f² split exactly so that its rounding is not scaled by ½.
    vfloat square = f * f;
    vfloat square_lo = __builtin_elementwise_fma(f, f, -square);
    vfloat tail = __builtin_elementwise_fma(square, f * p, square * -0.5f);
    vfloat head = k * 0x1.62e4p-1f;  // ln2_hi
    vfloat sum = head + f;
    vfloat sum_lo = __builtin_elementwise_fma(k, (vfloat){} + 0x1.7f7d1cp-20f, (head - sum) + f);  // + k·(ln2 - ln2_hi)
    sum_lo = __builtin_elementwise_fma(square_lo, (vfloat){} - 0.5f, sum_lo);
    return sum + (tail + sum_lo);
}

/// ln x: log_normal, for whose lanes a subnormal x is first scaled, and libm's special values.
/// Vectors of normal positive numbers, the usual ones, skip both.
static inline vfloat VM(log_vector)(vfloat x) {
    if (__builtin_expect(__builtin_reduce_and((x >= 0x1p-126f) & (x < __builtin_inff())), 1)) return VM(log_normal)(x, (vint){});
    vint subnormal = x < 0x1p-126f;
    // A subnormal's bits, as an integer converted to float, are x·2^149, exactly: multiplying
    // it instead would cost a microcode assist (a million log(1e-40) took 3.1 ms against 0.8).
    vfloat rounded = VM(log_normal)(VM(select_float)(subnormal, __builtin_convertvector((vint)x, vfloat), x), subnormal);
    // ln 0 = -inf, ln(negative) = NaN, ln(+inf) = +inf, NaN stays NaN: libm's answers.
    vint ordinary = (x > 0.0f) & (x < __builtin_inff());
    vfloat special = VM(select_float)(x == 0.0f, (vfloat){} - __builtin_inff(),
                                      VM(select_float)(x < 0.0f, (vfloat){} + __builtin_nanf(""), x));
    return VM(select_float)(ordinary, rounded, special);
}

/// tanh x, odd, within 0.77 ulp: E/(E + 2) with E = e^2|x| - 1 from expm1_pair, which loses
/// nothing to cancellation near 0, E + 2 split exactly (Fast2Sum, the larger first) and the
/// quotient corrected by its residual, so that only its last operation rounds at full size.
/// |x| is clamped to 10, where tanh is 1 in float. Below 2^-12 tanh x rounds to x, which is
/// returned as it is: the kernel runs with subnormals flushed. The sign is copied back, so
/// tanh(-0) = -0. (A series below |x| = 0.55 and 1 - 2/(e^2|x| + 1) above took a fifth longer:
/// every vector computed both.)
static inline vfloat VM(tanh_vector)(vfloat x) {
    vfloat magnitude = (vfloat)((vint)x & 0x7fffffff);
    vfloat limited = VM(select_float)(magnitude > 10.0f, (vfloat){} + 10.0f, magnitude);  // NaN stays NaN
    vfloat e_lo, e = VM(expm1_pair)(limited * 2.0f, &e_lo);
    vfloat divisor_lo, divisor = VM(add_constant_exactly)(e, e_lo, 2.0f, &divisor_lo);
    vfloat reciprocal = 1.0f / divisor;
    vfloat quotient = e * reciprocal;
    vfloat residual = __builtin_elementwise_fma(-quotient, divisor, e) + __builtin_elementwise_fma(-quotient, divisor_lo, e_lo);
    vfloat result = __builtin_elementwise_fma(residual, reciprocal, quotient);
    result = VM(select_float)(magnitude < 0x1p-12f, magnitude, result);
    return (vfloat)((vint)result | ((vint)x & (int32_t)0x80000000));
}

/// 1/(1 + e⁻ˣ), within 0.77 ulp: e = e⁻ˣ (x clamped to [-80, 80]) as exp_pair's sum and error,
/// 1 + e split exactly (Fast2Sum, the larger first) and the reciprocal corrected by its
/// residual, so that only its last operation rounds at full size. Below -80, sigmoid x = eˣ in
/// float (they differ by a factor 1 - eˣ), exp_vector's result, subnormal from -87.3 down: built
/// as integers, so they survive the kernel's flushing of subnormals. (Computing sigmoid(-|x|) as
/// the product of e^-|x| and sigmoid |x|, carried exactly, took 12% longer on AVX-512 and 25% on
/// AVX2.)
static inline vfloat VM(sigmoid_vector)(vfloat x) {
    vfloat e_lo, e = VM(exp_pair)(-VM(clamp_float)(x, -80.0f, 80.0f), &e_lo);
    vfloat divisor_lo, divisor = VM(add_constant_exactly)(e, e_lo, 1.0f, &divisor_lo);
    vfloat quotient = 1.0f / divisor;
    vfloat residual = __builtin_elementwise_fma(-quotient, divisor, (vfloat){} + 1.0f) - quotient * divisor_lo;
    vfloat result = __builtin_elementwise_fma(quotient, residual, quotient);
    vint far = x < -80.0f;
    if (__builtin_expect(__builtin_reduce_or(far), 0)) result = VM(select_float)(far, VM(exp_vector)(x), result);
    return result;
}

/// Cody–Waite reduction of x by π/2 for sin and cos: returns r, with x = n·π/2 + r + *r_lo,
/// |r| ≤ 0.83 and |*r_lo| ≤ 2^-24, and n's bits in the low mantissa bits of `*shifted`, for
/// |x| ≤ 2^20 (other lanes get values that trig_vector replaces).
///
/// n rounds x·2/π with 2/π in float, so where x·2/π is within 0.027 of a half it may be the
/// other neighbour, and |r| exceeds π/4. π/2 is P1 + P2 + P3, three floats, to 1.1e-23: x - n·P1
/// is exact (an FMA; a multiple of 2^-24 below 1), and r is its difference with n·P2 rounded, a
/// Fast2Sum (x - n·P1 is a multiple of the ulp of n·P2, which is below 1), whose error an FMA
/// completes with the rest of n·P2, so r + r_lo is within 2^-49 of x - n·π/2, and within 2^-33
/// relative of it at the floats nearest a multiple of π/2 (checked at every float up to 2^20;
/// 2^-27 at 2^22). With r itself an FMA, as in exp_reduce, x - n·P1 - r is not always a float:
/// where r is tiny and exact, r_lo came out as large as 2^-33.
static inline vfloat VM(trig_reduce)(vfloat x, vfloat *r_lo, vfloat *shifted) {
    const vfloat shifter = VM_SHIFTER;
    const vfloat pi_2 = (vfloat){} - 0x1.777a5cp-25f;  // P2 = π/2 - P1, rounded
    *shifted = __builtin_elementwise_fma(x, (vfloat){} + 0x1.45f306p-1f, shifter);
    vfloat n = *shifted - shifter;
    vfloat r_exact = __builtin_elementwise_fma(n, (vfloat){} - 0x1.921fb6p+0f, x);  // P1 = π/2, rounded
    vfloat product = n * pi_2;  // apart, or Clang would contract the difference into an FMA
    vfloat r = r_exact - product;
    vfloat error = __builtin_elementwise_fma(n, -pi_2, r_exact - r);  // r_exact - r is exact
    *r_lo = __builtin_elementwise_fma(n, (vfloat){} + 0x1.ee59dap-50f, error);  // - n·P3
    return r;
}

/// sin and cos of r + r_lo (trig_reduce's) as *sine and *cosine, each within 0.07 ulp before
/// its last addition rounds.
///
/// sin r = r + c3·r³ + r⁵·S(r²) and cos r = 1 - r²/2 + r⁴·C(r²), S and C of degree 2 and 3
/// fitted by least squares at 3000 Chebyshev nodes on [0, 0.83] for relative error, each
/// coefficient rounded to float and the later ones refitted (our fit; within 1.3e-11). The
/// large terms are carried with their errors: r² and r³ as rounded products and their errors
/// (FMAs), c3 ≈ -1/6 as two floats (the low one leads S's coefficients), r + c3·r³ rounded once
/// by an FMA and its error by a second, and 1 - r²/2 split exactly (Fast2Sum), so only the last
/// addition rounds at full size. With c3·r³ the rounded product of rounded r³ and c3 (half an
/// ulp of it is 6% of one of sin near π/4), 1% of the floats from 1 to 2^20 had sin not
/// correctly rounded, against 0.2%, and sin came within 0.71 ulp.
static inline void VM(sincos_reduced)(vfloat r, vfloat r_lo, vfloat *sine, vfloat *cosine) {
    // c3's low part first: S's polynomial then gives c3_lo + r²·S(r²), times r³.
    static const float s_coefficients[] = {0x1.6f35d6p-28f, 0x1.111106p-7f, -0x1.a00daap-13f, 0x1.6c6472p-19f};
    static const float c_coefficients[] = {0x1.555556p-5f, -0x1.6c1742p-10f, 0x1.a05508p-16f, -0x1.2ef2dep-22f};
    const vfloat c3 = (vfloat){} - 0x1.555556p-3f;
    vfloat square = r * r;
    vfloat square_lo = __builtin_elementwise_fma(r, r, -square);
    // cos: 1 - r²/2 rounded and its error, exact (r²/2 is exact, so the FMAs compute
    // Fast2Sum's sum and error; 1 is the larger), then r²'s error and the polynomial.
    const vfloat minus_half = (vfloat){} - 0.5f;
    vfloat c_head = __builtin_elementwise_fma(square, minus_half, (vfloat){} + 1.0f);
    vfloat c_tail = __builtin_elementwise_fma(square, minus_half, 1.0f - c_head);
    c_tail = __builtin_elementwise_fma(square_lo, minus_half, c_tail);
    vfloat c_poly = VM(polynomial)(square, c_coefficients, 4);
    c_tail = __builtin_elementwise_fma(square * square, c_poly, c_tail);
    // sin: r + c3·r³ rounded once and its rounding error (r - s_head is exact, s_head being
    // within a factor 2 of r), then r³'s error, and c3's with the polynomial.
    vfloat cube = square * r;
    vfloat cube_lo = __builtin_elementwise_fma(square_lo, r, __builtin_elementwise_fma(square, r, -cube));
    vfloat s_head = __builtin_elementwise_fma(cube, c3, r);
    vfloat s_tail = __builtin_elementwise_fma(cube, c3, r - s_head);
    s_tail = __builtin_elementwise_fma(cube_lo, c3, s_tail);
    s_tail = __builtin_elementwise_fma(cube, VM(polynomial)(square, s_coefficients, 4), s_tail);
    // sin(r + r_lo) ≈ sin r + r_lo·cos r, cos(r + r_lo) ≈ cos r - r_lo·sin r: r_lo is below
    // 2^-24 and each head within 3% of its function, so each product is off by under 2^-29.
    s_tail = __builtin_elementwise_fma(r_lo, c_head, s_tail);
    c_tail = __builtin_elementwise_fma(-r_lo, s_head, c_tail);
    *sine = s_head + s_tail;
    *cosine = c_head + c_tail;
}

/// sin x (`cosine` 0) or cos x (`cosine` 1), within 0.57 ulp and correctly rounded for all but
/// 0.02% of floats: sin or cos of trig_reduce's r by n's quadrant, cos x being sin(x + π/2).
///
/// Below 2^-12 sin x rounds to x, which is returned as it is: the kernel runs with subnormals
/// flushed (cos reads them as 0, whose cos, 1, is theirs). Vectors with a lane beyond 2^20,
/// infinite or NaN take libm's double sin or cos for those lanes, rounded to float: further
/// out the reduction loses accuracy (2^-27 relative at 2^22) and, from 2^22·π/2, n leaves the
/// shifter. glibc's sinf and cosf, within 0.56 ulp, round 1.3% of the floats beyond 2^20 the
/// other way, which alone would leave 0.55% of all floats not correctly rounded.
static inline vfloat VM(trig_vector)(vfloat x, int cosine) {
    vfloat r_lo, shifted, r = VM(trig_reduce)(x, &r_lo, &shifted);
    vfloat sine, cosine_r;
    VM(sincos_reduced)(r, r_lo, &sine, &cosine_r);
    vint quadrant = (vint)shifted + cosine;  // n + cosine, in its two low bits
    vfloat result = VM(select_float)((quadrant << 31) >> 31, cosine_r, sine);
    result = (vfloat)((vint)result ^ ((quadrant << 30) & (int32_t)0x80000000));
    vfloat magnitude = (vfloat)((vint)x & 0x7fffffff);
    if (!cosine) result = VM(select_float)(magnitude < 0x1p-12f, x, result);
    vint far = ~(magnitude <= 0x1p20f);  // NaN too
    if (__builtin_expect(__builtin_reduce_or(far), 0)) {
        for (int lane = 0; lane < VM_WIDTH; lane++) {
            if (far[lane]) result[lane] = (float)(cosine ? cos((double)x[lane]) : sin((double)x[lane]));
        }
    }
    return result;
}

/// √x, correctly rounded (the instruction's, as libm's sqrtf): the Swift loop ran a scalar
/// square root an element, 1.0 ms for a million floats on two threads against PyTorch's 0.35.
static inline vfloat VM(sqrt_vector)(vfloat x) {
    return __builtin_elementwise_sqrt(x);
}

/// 1/√x, the quotient and the root each correctly rounded, as PyTorch's vectorized rsqrt and
/// Swift's `1 / x.squareRoot()` compute it: the Swift loop ran a scalar root and division an
/// element, 4 times PyTorch's time on a million floats.
static inline vfloat VM(rsqrt_vector)(vfloat x) {
    return 1.0f / __builtin_elementwise_sqrt(x);
}

/// 1/x, correctly rounded (the division instruction's, as PyTorch's and the Swift loop's): the
/// Swift loop divided 4 floats an instruction, 1.5 times PyTorch's time on a million floats.
static inline vfloat VM(reciprocal_vector)(vfloat x) {
    return 1.0f / x;
}

/// sin x: trig_vector's.
static inline vfloat VM(sin_vector)(vfloat x) {
    return VM(trig_vector)(x, 0);
}

/// cos x: trig_vector's.
static inline vfloat VM(cos_vector)(vfloat x) {
    return VM(trig_vector)(x, 1);
}

#pragma clang attribute pop

#ifndef VM_FLUSH_DENORMALS
/// Sets MXCSR's denormals-are-zero and flush-to-zero bits and returns the previous MXCSR, for
/// exp, tanh, sigmoid, sin and cos: a subnormal input or intermediate value would cost a
/// microcode assist at each arithmetic instruction it meets (a million exp(1e-40) took 9 ms
/// against 0.2 for ordinary inputs on the Emerald Rapids host). None of them needs one: a
/// subnormal input's exp rounds to 1 as zero's does, its sigmoid to ½, its cos to 1, its tanh
/// and sin are the input itself, selected by bits;
/// subnormal results are built as integers; and the intermediate values that flush are tails
/// far below an ulp of the result.
static inline unsigned ember_flush_denormals(void) {
    unsigned previous = _mm_getcsr();
    _mm_setcsr(previous | 0x8040);
    return previous;
}
#define VM_FLUSH_DENORMALS
#endif

/// Unrolls a loop over vectors to two a step: each result is a long chain of dependent
/// instructions, and two in the loop body let the CPU overlap more of them (AVX-512 exp, 64K
/// floats in L2 on one thread, alternating in one process: 18.6 µs against 19.8; log, tanh and
/// sigmoid 1-4% faster).
#define VM_UNROLLED _Pragma("clang loop unroll_count(2)")

/// How many floats ahead the array kernels ask for their input and output (4 KB, the next
/// page). The hardware's prefetchers stop at page boundaries, and a loop this busy with
/// arithmetic leaves memory idle between pages: on a 16M-float exp_, out of DRAM on one
/// thread, prefetching cut 4.2-6.1 ms to 2.7-3.1 (a C harness, alternating); in cache it costs
/// nothing (1M and 64K floats, within 2%).
#define VM_PREFETCH_DISTANCE 1024

/// Defines the array kernel `ember_<name>_f32_<suffix>`, which runs `name`_vector over whole
/// vectors and then once over the tail, copied through a zero-padded vector; with `flush`, with
/// subnormals flushed (`ember_flush_denormals`).
#define VM_ARRAY_KERNEL(name, flush)                                                   \
    __attribute__((target(VM_TARGET))) static void VM(ember_##name##_f32)(             \
        const float *input, float *output, ptrdiff_t count) {                          \
        unsigned csr = flush ? ember_flush_denormals() : 0;                            \
        ptrdiff_t index = 0;                                                           \
        VM_UNROLLED                                                                    \
        for (; index + VM_WIDTH <= count; index += VM_WIDTH) {                         \
            if (index + VM_PREFETCH_DISTANCE < count) {                                \
                __builtin_prefetch(input + index + VM_PREFETCH_DISTANCE);              \
                __builtin_prefetch(output + index + VM_PREFETCH_DISTANCE, 1);          \
            }                                                                          \
            vfloat x;                                                                  \
            memcpy(&x, input + index, sizeof x);                                       \
            vfloat y = VM(name##_vector)(x);                                           \
            memcpy(output + index, &y, sizeof y);                                      \
        }                                                                              \
        if (index < count) {                                                           \
            vfloat x = {};                                                             \
            memcpy(&x, input + index, (size_t)(count - index) * sizeof(float));        \
            vfloat y = VM(name##_vector)(x);                                           \
            memcpy(output + index, &y, (size_t)(count - index) * sizeof(float));       \
        }                                                                              \
        if (flush) _mm_setcsr(csr);                                                    \
    }

VM_ARRAY_KERNEL(exp, 1)
VM_ARRAY_KERNEL(log, 0)  // reads a subnormal input's bits
VM_ARRAY_KERNEL(tanh, 1)
VM_ARRAY_KERNEL(sigmoid, 1)
VM_ARRAY_KERNEL(sin, 1)
VM_ARRAY_KERNEL(cos, 1)
VM_ARRAY_KERNEL(sqrt, 0)  // a subnormal input has a normal root
VM_ARRAY_KERNEL(rsqrt, 0)
VM_ARRAY_KERNEL(reciprocal, 0)  // a subnormal input has a (large) normal reciprocal

/// exp(input[i] - shift), for softmax rows: the difference is rounded to float before exp, so
/// the result is the array kernel's on the subtracted row, without a pass that writes it.
__attribute__((target(VM_TARGET))) static void VM(ember_shifted_exp_f32)(
    const float *input, float *output, ptrdiff_t count, float shift) {
    unsigned csr = ember_flush_denormals();  // x - shift rounds to -shift, or is tiny: exp is 1
    ptrdiff_t index = 0;
    VM_UNROLLED
    for (; index + VM_WIDTH <= count; index += VM_WIDTH) {
        vfloat x;
        memcpy(&x, input + index, sizeof x);
        vfloat y = VM(exp_vector)(x - shift);
        memcpy(output + index, &y, sizeof y);
    }
    if (index < count) {
        vfloat x = {};
        memcpy(&x, input + index, (size_t)(count - index) * sizeof(float));
        vfloat y = VM(exp_vector)(x - shift);
        memcpy(output + index, &y, (size_t)(count - index) * sizeof(float));
    }
    _mm_setcsr(csr);
}

/// The largest (or, with `largest` false, the smallest) of `count` floats, or NaN if any is
/// NaN (torch.amax's answer); -inf (+inf) for none. Four accumulators, so that the compares
/// overlap instead of waiting on each other's latency; the last vector is read again where the
/// row ends inside it (an extremum does not mind duplicates), and the lanes are combined in
/// vectors: a row's bookkeeping costs as much as its compares otherwise.
__attribute__((target(VM_TARGET), always_inline)) static inline float VM(extremum_f32)(
    const float *input, ptrdiff_t count, int largest) {
    const float none = largest ? -__builtin_inff() : __builtin_inff();
    vfloat best[4];
    for (int k = 0; k < 4; k++) best[k] = (vfloat){} + none;
    vint sawNaN = {};
    ptrdiff_t index = 0;
    for (; index + 4 * VM_WIDTH <= count; index += 4 * VM_WIDTH) {
        for (int k = 0; k < 4; k++) {
            vfloat x;
            memcpy(&x, input + index + k * VM_WIDTH, sizeof x);
            best[k] = VM(select_float)(largest ? x > best[k] : x < best[k], x, best[k]);
            sawNaN |= x != x;
        }
    }
    if (count < VM_WIDTH) {
        vfloat x = (vfloat){} + none;
        memcpy(&x, input, (size_t)count * sizeof(float));
        best[0] = VM(select_float)(largest ? x > best[0] : x < best[0], x, best[0]);
        sawNaN |= x != x;
    } else {
        for (; index < count; index += VM_WIDTH) {
            vfloat x;
            memcpy(&x, input + (index + VM_WIDTH <= count ? index : count - VM_WIDTH), sizeof x);
            best[0] = VM(select_float)(largest ? x > best[0] : x < best[0], x, best[0]);
            sawNaN |= x != x;
        }
    }
    if (__builtin_reduce_or(sawNaN)) return __builtin_nanf("");
    for (int k = 1; k < 4; k++) best[0] = VM(select_float)(largest ? best[k] > best[0] : best[k] < best[0], best[k], best[0]);
    float result = best[0][0];
    for (int lane = 1; lane < VM_WIDTH; lane++) {
        if (largest ? best[0][lane] > result : best[0][lane] < result) result = best[0][lane];
    }
    return result;
}

/// The first position among `count` floats that holds `value` (a NaN, when `value` is NaN), or
/// `count` if none does.
__attribute__((target(VM_TARGET))) static ptrdiff_t VM(ember_first_index_f32)(
    const float *input, ptrdiff_t count, float value) {
    const int findNaN = value != value;
    ptrdiff_t index = 0;
    for (; index + VM_WIDTH <= count; index += VM_WIDTH) {
        vfloat x;
        memcpy(&x, input + index, sizeof x);
        if (__builtin_reduce_or(findNaN ? x != x : x == value)) break;
    }
    for (; index < count; index++) {
        if (findNaN ? input[index] != input[index] : input[index] == value) return index;
    }
    return count;
}

/// The largest of `count` floats, or NaN if any is NaN; -inf for none.
__attribute__((target(VM_TARGET))) static float VM(ember_max_f32)(const float *input, ptrdiff_t count) {
    return VM(extremum_f32)(input, count, 1);
}

/// The smallest of `count` floats, or NaN if any is NaN; +inf for none.
__attribute__((target(VM_TARGET))) static float VM(ember_min_f32)(const float *input, ptrdiff_t count) {
    return VM(extremum_f32)(input, count, 0);
}

#undef VM_ARRAY_KERNEL
#undef VM_UNROLLED
#undef VM_PREFETCH_DISTANCE
#undef VM_SHIFTER
#undef vfloat
#undef vint
#undef VM
#undef VM_NAME
#undef VM_PASTE
