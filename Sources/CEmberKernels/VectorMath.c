// Vectorized float32 exp, log, tanh, sigmoid, sin, cos and sqrt, and softmax's row kernels (max,
// shifted exp). The kernels are written once, in VectorMathBody.h, with Clang vector types, and
// compiled here once per instruction set under __attribute__((target(...))): SwiftPM forbids
// -m flags, and the same source for both widths keeps the AVX2 and AVX-512 results
// bit-identical.

#include "EmberVectorMath.h"

#if defined(__x86_64__)

#define VM_SUFFIX avx2
#define VM_TARGET "avx2,fma"
#define VM_WIDTH 8
#include "VectorMathBody.h"
#undef VM_SUFFIX
#undef VM_TARGET
#undef VM_WIDTH

#define VM_SUFFIX avx512
#define VM_TARGET "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma"
#define VM_WIDTH 16
#include "VectorMathBody.h"
#undef VM_SUFFIX
#undef VM_TARGET
#undef VM_WIDTH

ember_float_array_kernel ember_vector_math_f32(ember_vector_function function, ember_cpu_level level) {
    switch (level) {
    case EMBER_CPU_BASELINE: return NULL;
    case EMBER_CPU_AVX2_FMA:
        switch (function) {
        case EMBER_VECTOR_EXP: return ember_exp_f32_avx2;
        case EMBER_VECTOR_LOG: return ember_log_f32_avx2;
        case EMBER_VECTOR_TANH: return ember_tanh_f32_avx2;
        case EMBER_VECTOR_SIGMOID: return ember_sigmoid_f32_avx2;
        case EMBER_VECTOR_SIN: return ember_sin_f32_avx2;
        case EMBER_VECTOR_COS: return ember_cos_f32_avx2;
        case EMBER_VECTOR_SQRT: return ember_sqrt_f32_avx2;
        case EMBER_VECTOR_RSQRT: return ember_rsqrt_f32_avx2;
        case EMBER_VECTOR_RECIPROCAL: return ember_reciprocal_f32_avx2;
        }
        break;
    case EMBER_CPU_AVX512:
        switch (function) {
        case EMBER_VECTOR_EXP: return ember_exp_f32_avx512;
        case EMBER_VECTOR_LOG: return ember_log_f32_avx512;
        case EMBER_VECTOR_TANH: return ember_tanh_f32_avx512;
        case EMBER_VECTOR_SIGMOID: return ember_sigmoid_f32_avx512;
        case EMBER_VECTOR_SIN: return ember_sin_f32_avx512;
        case EMBER_VECTOR_COS: return ember_cos_f32_avx512;
        case EMBER_VECTOR_SQRT: return ember_sqrt_f32_avx512;
        case EMBER_VECTOR_RSQRT: return ember_rsqrt_f32_avx512;
        case EMBER_VECTOR_RECIPROCAL: return ember_reciprocal_f32_avx512;
        }
        break;
    }
    return NULL;
}

ember_float_shifted_exp_kernel ember_shifted_exp_f32_kernel(ember_cpu_level level) {
    switch (level) {
    case EMBER_CPU_BASELINE: return NULL;
    case EMBER_CPU_AVX2_FMA: return ember_shifted_exp_f32_avx2;
    case EMBER_CPU_AVX512: return ember_shifted_exp_f32_avx512;
    }
    return NULL;
}

ember_float_max_kernel ember_max_f32_kernel(ember_cpu_level level) {
    switch (level) {
    case EMBER_CPU_BASELINE: return NULL;
    case EMBER_CPU_AVX2_FMA: return ember_max_f32_avx2;
    case EMBER_CPU_AVX512: return ember_max_f32_avx512;
    }
    return NULL;
}

ember_float_max_kernel ember_min_f32_kernel(ember_cpu_level level) {
    switch (level) {
    case EMBER_CPU_BASELINE: return NULL;
    case EMBER_CPU_AVX2_FMA: return ember_min_f32_avx2;
    case EMBER_CPU_AVX512: return ember_min_f32_avx512;
    }
    return NULL;
}

ember_float_first_index_kernel ember_first_index_f32_kernel(ember_cpu_level level) {
    switch (level) {
    case EMBER_CPU_BASELINE: return NULL;
    case EMBER_CPU_AVX2_FMA: return ember_first_index_f32_avx2;
    case EMBER_CPU_AVX512: return ember_first_index_f32_avx512;
    }
    return NULL;
}

#else

ember_float_array_kernel ember_vector_math_f32(ember_vector_function function, ember_cpu_level level) {
    (void)function;
    (void)level;
    return NULL;
}

ember_float_shifted_exp_kernel ember_shifted_exp_f32_kernel(ember_cpu_level level) {
    (void)level;
    return NULL;
}

ember_float_max_kernel ember_max_f32_kernel(ember_cpu_level level) {
    (void)level;
    return NULL;
}

ember_float_max_kernel ember_min_f32_kernel(ember_cpu_level level) {
    (void)level;
    return NULL;
}

ember_float_first_index_kernel ember_first_index_f32_kernel(ember_cpu_level level) {
    (void)level;
    return NULL;
}

#endif
