// The vector-math kernels for one instruction set; VectorMath.c includes this file once per
// set, with VM_SUFFIX (the name suffix), VM_TARGET (the target attribute) and VM_WIDTH (floats
// per vector) defined. Not a public header: it defines functions.
//
// Accuracy strategy. exp, the hot one (softmax), computes in float with FMA and stays within
// 0.67 ulp (0.77 for subnormal results, which round twice). log, tanh and sigmoid widen to
// double, where their range reductions lose nothing that float would notice, so each result is
// rounded to float once from a value accurate to about 2^-34 relative: within 0.51 ulp. Their
// cost is two double vectors per float vector.

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define VM_PASTE(name, suffix) name##_##suffix
#define VM_NAME(name, suffix) VM_PASTE(name, suffix)
#define VM(name) VM_NAME(name, VM_SUFFIX)

#pragma clang attribute push(__attribute__((target(VM_TARGET), always_inline)), apply_to = function)
// The AVX2 build passes 8-double vectors between these helpers, which would have no agreed
// calling convention without AVX-512; every helper is inlined, so no call ever crosses one.
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wpsabi"

typedef float VM(vfloat) __attribute__((vector_size(VM_WIDTH * 4)));
typedef int32_t VM(vint) __attribute__((vector_size(VM_WIDTH * 4)));
typedef double VM(vdouble) __attribute__((vector_size(VM_WIDTH * 8)));
typedef int64_t VM(vlong) __attribute__((vector_size(VM_WIDTH * 8)));
#define vfloat VM(vfloat)
#define vint VM(vint)
#define vdouble VM(vdouble)
#define vlong VM(vlong)

/// `mask ? a : b` per lane, with `mask` from a float comparison (all ones or zero).
static inline vfloat VM(select_float)(vint mask, vfloat a, vfloat b) {
    return (vfloat)((mask & (vint)a) | (~mask & (vint)b));
}

static inline vdouble VM(select_double)(vlong mask, vdouble a, vdouble b) {
    return (vdouble)((mask & (vlong)a) | (~mask & (vlong)b));
}

/// p·2^n, rounded once, where the `tiny` lanes have n ≤ -126 (p in [0.7, 1.42], n an integer
/// ≥ -150 whose bits `shifted` holds as exp_float's does): exp_float's branch for results that
/// may be subnormal, in which no floating-point value leaves the normal range.
static inline vfloat VM(scale_below_normal)(vfloat p, vint tiny, vfloat shifted) {
    vint exponent = (vint)shifted - (vint)((vfloat){} + 0x1.8p23f);
    vfloat scaled = p * (vfloat)((exponent + (149 + 127)) << 23);
    vfloat subnormal = (vfloat)__builtin_convertvector(__builtin_elementwise_roundeven(scaled), vint);
    // The other lanes as exp_float scales them; these are only kept normal.
    exponent = (tiny & -125) | (~tiny & exponent);
    vint low = exponent >> 1, high = exponent - low;
    vfloat normal = p * (vfloat)((low + 127) << 23) * (vfloat)((high + 127) << 23);
    return VM(select_float)(tiny, subnormal, normal);
}

/// eˣ in float for x already clamped to [-104, 89] (or NaN).
///
/// Cody–Waite reduction x = n·ln2 + r, |r| ≤ ln2/2: n comes from rounding x·log2(e) with the
/// 1.5·2^23 shifter (whose low mantissa bits then hold n); x - n·ln2_hi is exact because ln2_hi
/// has 9 significant bits and |n| ≤ 150, and the rounding error of r is kept in r_lo.
/// e^r = 1 + r + r²·q(r), q of degree 4 fitted by least squares at 2000 Chebyshev nodes for
/// relative error (our fit, max 3.8e-9 = 0.06 ulp). The sum is formed as (1 + r) plus a small
/// tail, with 1 + r split exactly (Fast2Sum), so only the last addition rounds at full size:
/// a plain Horner evaluation reaches 1.003 ulp near |r| = ln2/2, this stays under 0.67.
/// 2^n is applied as 2^⌊n/2⌋·2^(n-⌊n/2⌋), two normal factors, so that nothing overflows or
/// flushes to zero early: results overflow at libm's threshold and underflow gradually (a
/// subnormal result rounds a second time, hence its 0.77 ulp). AVX-512's vscalefps computes the
/// same p·2^n, rounded once, in one instruction instead of nine.
///
/// A result below the normal range is built as an integer instead: p·2^(n+149) rounded to an
/// integer is that result's bit pattern, the same rounding of p·2^n. Computed in floating point,
/// such a result costs the CPU a microcode assist per vector (on the Emerald Rapids host a
/// million exp(-inf), or the -inf of a masked softmax, took 3.4 ms against 0.2 for ordinary
/// inputs), so vectors that have one take a branch where no floating-point value leaves the
/// normal range.
static inline vfloat VM(exp_float)(vfloat x) {
    const vfloat shifter = (vfloat){} + 0x1.8p23f;
    const vfloat ln2_lo = (vfloat){} + 0x1.bd0104p-13f;  // ln2_hi - ln2, rounded
    vfloat shifted = __builtin_elementwise_fma(x, (vfloat){} + 0x1.715476p+0f, shifter);
    vfloat n = shifted - shifter;
    vfloat r_exact_hi = __builtin_elementwise_fma(n, (vfloat){} - 0x1.63p-1f, x);
    vfloat r = __builtin_elementwise_fma(n, ln2_lo, r_exact_hi);
    vfloat r_lo = __builtin_elementwise_fma(n, ln2_lo, r_exact_hi - r);
    vfloat q = (vfloat){} + 0x1.687c22p-10f;
    q = __builtin_elementwise_fma(q, r, (vfloat){} + 0x1.123b8ep-7f);
    q = __builtin_elementwise_fma(q, r, (vfloat){} + 0x1.555b58p-5f);
    q = __builtin_elementwise_fma(q, r, (vfloat){} + 0x1.55548ep-3f);
    q = __builtin_elementwise_fma(q, r, (vfloat){} + 0x1.fffff8p-2f);
    vfloat head = 1.0f + r;
    vfloat tail = __builtin_elementwise_fma(r * r, q, (1.0f - head) + r);
    // e^(r + r_lo) ≈ e^r·(1 + r_lo), and e^r ≈ head to the accuracy r_lo needs.
    tail = __builtin_elementwise_fma(r_lo, head, tail);
    vfloat p = head + tail;
    vint tiny = n < -125.0f;  // as p < 2, from n = -126 down the result may be subnormal
    if (__builtin_expect(__builtin_reduce_or(tiny), 0)) return VM(scale_below_normal)(p, tiny, shifted);
#if VM_WIDTH == 16
    return (vfloat)_mm512_scalef_ps((__m512)p, (__m512)n);
#else
    vint exponent = (vint)shifted - (vint)shifter;
    vint low = exponent >> 1, high = exponent - low;
    return p * (vfloat)((low + 127) << 23) * (vfloat)((high + 127) << 23);
#endif
}

/// eʸ in double, for |y| ≤ 120 (or NaN), accurate to about 2^-46 relative: the same
/// Cody–Waite reduction as exp_float with fdlibm's split of ln2 (ln2_hi has 32 significant
/// bits), then e^r by its Taylor series to r¹¹ (truncation under |r|¹²/12! < 7e-15).
static inline vdouble VM(exp_double)(vdouble y) {
    const vdouble shifter = (vdouble){} + 0x1.8p52;
    vdouble shifted = __builtin_elementwise_fma(y, (vdouble){} + 0x1.71547652b82fep+0, shifter);
    vdouble n = shifted - shifter;
    vlong exponent = (vlong)shifted - (vlong)shifter;
    vdouble r = __builtin_elementwise_fma(n, (vdouble){} - 0x1.62e42feep-1, y);
    r = __builtin_elementwise_fma(n, (vdouble){} - 0x1.a39ef35793c76p-33, r);
    vdouble p = (vdouble){} + 1.0 / 39916800;
    p = __builtin_elementwise_fma(p, r, (vdouble){} + 1.0 / 3628800);
    p = __builtin_elementwise_fma(p, r, (vdouble){} + 1.0 / 362880);
    p = __builtin_elementwise_fma(p, r, (vdouble){} + 1.0 / 40320);
    p = __builtin_elementwise_fma(p, r, (vdouble){} + 1.0 / 5040);
    p = __builtin_elementwise_fma(p, r, (vdouble){} + 1.0 / 720);
    p = __builtin_elementwise_fma(p, r, (vdouble){} + 1.0 / 120);
    p = __builtin_elementwise_fma(p, r, (vdouble){} + 1.0 / 24);
    p = __builtin_elementwise_fma(p, r, (vdouble){} + 1.0 / 6);
    p = __builtin_elementwise_fma(p, r, (vdouble){} + 0.5);
    p = __builtin_elementwise_fma(p, r, (vdouble){} + 1.0);
    p = __builtin_elementwise_fma(p, r, (vdouble){} + 1.0);
    return p * (vdouble)((exponent + 1023) << 52);
}

/// `x` limited to [low, high]; NaN stays NaN (a comparison with NaN is false).
static inline vfloat VM(clamp_float)(vfloat x, float low, float high) {
    x = VM(select_float)(x > high, (vfloat){} + high, x);
    return VM(select_float)(x < low, (vfloat){} + low, x);
}

/// eˣ: below -104 the result rounds to +0, above 89 to +inf, so clamping there is exact.
static inline vfloat VM(exp_vector)(vfloat x) {
    return VM(exp_float)(VM(clamp_float)(x, -104.0f, 89.0f));
}

/// ln x: x = 2^e·m with m in [√½, √2) taken from the bits (subnormals scaled by 2^149 first),
/// f = m - 1 exact; then, in double, ln(1+f) = 2·atanh(s) with s = f/(2+f), |s| < 0.172, by
/// the atanh series to s¹¹ (truncation under s¹²/13 < 5e-11 relative).
static inline vfloat VM(log_vector)(vfloat x) {
    vint subnormal = x < 0x1p-126f;
    // A subnormal's bits, as an integer converted to float, are x·2^149, exactly: multiplying
    // it instead would cost a microcode assist (a million log(1e-40) took 3.1 ms against 0.8).
    vfloat scaled = VM(select_float)(subnormal, __builtin_convertvector((vint)x, vfloat), x);
    vint offset = (vint)scaled - 0x3f3504f3;  // the bits of √½, so m lands in [√½, √2)
    vint exponent = (offset >> 23) + (subnormal & -149);
    vfloat f = (vfloat)((offset & 0x7fffff) + 0x3f3504f3) - 1.0f;
    vdouble fd = __builtin_convertvector(f, vdouble);
    vdouble s = fd / (fd + 2.0);
    vdouble s2 = s * s;
    vdouble series = (vdouble){} + 2.0 / 11;
    series = __builtin_elementwise_fma(series, s2, (vdouble){} + 2.0 / 9);
    series = __builtin_elementwise_fma(series, s2, (vdouble){} + 2.0 / 7);
    series = __builtin_elementwise_fma(series, s2, (vdouble){} + 2.0 / 5);
    series = __builtin_elementwise_fma(series, s2, (vdouble){} + 2.0 / 3);
    vdouble log1p = __builtin_elementwise_fma(series * s2, s, s + s);
    vdouble result = __builtin_elementwise_fma(__builtin_convertvector(exponent, vdouble),
                                               (vdouble){} + 0x1.62e42fefa39efp-1, log1p);
    vfloat rounded = __builtin_convertvector(result, vfloat);
    // ln 0 = -inf, ln(negative) = NaN, ln(+inf) = +inf, NaN stays NaN: libm's answers.
    vint ordinary = (x > 0.0f) & (x < __builtin_inff());
    vfloat special = VM(select_float)(x == 0.0f, (vfloat){} - __builtin_inff(),
                                      VM(select_float)(x < 0.0f, (vfloat){} + __builtin_nanf(""), x));
    return VM(select_float)(ordinary, rounded, special);
}

/// tanh x, odd: for |x| < 2^-6 the Taylor series x - x³/3 + 2x⁵/15 (truncation under
/// 17x⁶/315 < 1e-12 relative), above it (e^2|x| - 1)/(e^2|x| + 1) in double, whose
/// cancellation costs at most a factor 1/(2|x|) ≤ 32 of exp_double's error. |x| is clamped to
/// 20, where tanh is 1 in double already. The sign is copied back, so tanh(-0) = -0.
static inline vfloat VM(tanh_vector)(vfloat x) {
    vfloat magnitude = (vfloat)((vint)x & 0x7fffffff);
    vdouble a = __builtin_convertvector(VM(clamp_float)(magnitude, 0.0f, 20.0f), vdouble);
    vdouble e = VM(exp_double)(a + a);
    vdouble ratio = (e - 1.0) / (e + 1.0);
    vdouble a2 = a * a;
    vdouble cubic = __builtin_elementwise_fma(a2, (vdouble){} + 2.0 / 15, (vdouble){} - 1.0 / 3);
    vdouble series = __builtin_elementwise_fma(a2 * a, cubic, a);
    vdouble result = VM(select_double)(a < 0x1p-6, series, ratio);
    vfloat rounded = __builtin_convertvector(result, vfloat);
    return (vfloat)((vint)rounded | ((vint)x & (int32_t)0x80000000));
}

/// 1/(1 + e⁻ˣ) in double. -x is clamped to [-120, 120]: beyond it the result is 0 or 1 in
/// float already, and e^±120 is normal in double.
static inline vfloat VM(sigmoid_vector)(vfloat x) {
    vdouble e = VM(exp_double)(__builtin_convertvector(VM(clamp_float)(-x, -120.0f, 120.0f), vdouble));
    return __builtin_convertvector(1.0 / (1.0 + e), vfloat);
}

#pragma clang diagnostic pop
#pragma clang attribute pop

#ifndef VM_FLUSH_DENORMAL_INPUTS
/// Sets MXCSR's denormals-are-zero bit and returns the previous MXCSR, for exp: a subnormal
/// input (whose exp rounds to 1, as zero's does) would cost a microcode assist at each
/// arithmetic instruction it meets (a million exp(1e-40) took 9 ms against 0.2 for ordinary
/// inputs on the Emerald Rapids host), and no value that exp_float computes from a normal input
/// is subnormal where it matters: results below the normal range are built as integers.
static inline unsigned ember_flush_denormal_inputs(void) {
    unsigned previous = _mm_getcsr();
    _mm_setcsr(previous | 0x0040);
    return previous;
}
#define VM_FLUSH_DENORMAL_INPUTS
#endif

/// Defines the array kernel `ember_<name>_f32_<suffix>`, which runs `name`_vector over whole
/// vectors and then once over the tail, copied through a zero-padded vector; with
/// `flush_inputs`, under denormals-are-zero.
#define VM_ARRAY_KERNEL(name, flush_inputs)                                            \
    __attribute__((target(VM_TARGET))) static void VM(ember_##name##_f32)(             \
        const float *input, float *output, ptrdiff_t count) {                          \
        unsigned csr = flush_inputs ? ember_flush_denormal_inputs() : 0;               \
        ptrdiff_t index = 0;                                                           \
        for (; index + VM_WIDTH <= count; index += VM_WIDTH) {                         \
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
        if (flush_inputs) _mm_setcsr(csr);                                             \
    }

VM_ARRAY_KERNEL(exp, 1)
VM_ARRAY_KERNEL(log, 0)
VM_ARRAY_KERNEL(tanh, 0)
VM_ARRAY_KERNEL(sigmoid, 0)

/// exp(input[i] - shift), for softmax rows: the difference is rounded to float before exp, so
/// the result is the array kernel's on the subtracted row, without a pass that writes it.
__attribute__((target(VM_TARGET))) static void VM(ember_shifted_exp_f32)(
    const float *input, float *output, ptrdiff_t count, float shift) {
    unsigned csr = ember_flush_denormal_inputs();  // x - shift rounds to -shift, or is tiny: exp is 1
    ptrdiff_t index = 0;
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
#undef vfloat
#undef vint
#undef vdouble
#undef vlong
#undef VM
#undef VM_NAME
#undef VM_PASTE
