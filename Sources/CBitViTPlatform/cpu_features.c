#include "CBitViTPlatform.h"

#if defined(__x86_64__) || defined(__i386__)
uint32_t bv_cpu_features(void) {
    __builtin_cpu_init();
    uint32_t f = 0;
    if (__builtin_cpu_supports("popcnt")) f |= BV_CPU_POPCNT;
    if (__builtin_cpu_supports("avx2")) f |= BV_CPU_AVX2;
    if (__builtin_cpu_supports("fma")) f |= BV_CPU_FMA;
    if (__builtin_cpu_supports("avx512f")) f |= BV_CPU_AVX512F;
    if (__builtin_cpu_supports("avx512bw")) f |= BV_CPU_AVX512BW;
    if (__builtin_cpu_supports("avx512dq")) f |= BV_CPU_AVX512DQ;
    if (__builtin_cpu_supports("avx512vl")) f |= BV_CPU_AVX512VL;
    if (__builtin_cpu_supports("avx512vpopcntdq")) f |= BV_CPU_AVX512VPOPCNTDQ;
    if (__builtin_cpu_supports("avx512vnni")) f |= BV_CPU_AVX512VNNI;
#if defined(__clang__) && __clang_major__ >= 16
    if (__builtin_cpu_supports("avxvnni")) f |= BV_CPU_AVXVNNI;
#endif
    return f;
}
#elif defined(__aarch64__)
uint32_t bv_cpu_features(void) { return BV_CPU_NEON | BV_CPU_POPCNT; }
#else
uint32_t bv_cpu_features(void) { return 0; }
#endif
