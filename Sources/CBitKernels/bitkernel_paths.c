// Run-time choice of the instruction-set path of the bit kernels (from bv_cpu_features()).
#include "bitkernels_internal.h"
#include "CBitKernels.h"
#include <CBitViTPlatform.h>

static uint32_t cached_features(void) {
    // bv_cpu_features() is cheap but not free; every thread computes the same value, so the
    // benign race on this cache is harmless.
    static volatile int64_t cache = -1;
    int64_t f = cache;
    if (f < 0) { f = (int64_t)bv_cpu_features(); cache = f; }
    return (uint32_t)f;
}

static int bgemm_supported(int path, uint32_t f) {
    switch (path) {
    case BV_KPATH_SCALAR: return 1;
    case BV_KPATH_AVX2: return (f & BV_CPU_AVX2) != 0;
    case BV_KPATH_AVX512:
        return (f & (BV_CPU_AVX512F | BV_CPU_AVX512VPOPCNTDQ)) == (BV_CPU_AVX512F | BV_CPU_AVX512VPOPCNTDQ);
    case BV_KPATH_NEON: return (f & BV_CPU_NEON) != 0;
    default: return 0;
    }
}

static int igemm_supported(int path, uint32_t f) {
    const uint32_t vnni = BV_CPU_AVX512F | BV_CPU_AVX512BW | BV_CPU_AVX512VNNI;
    switch (path) {
    case BV_KPATH_SCALAR: return 1;
    case BV_KPATH_AVX2: return (f & BV_CPU_AVX2) != 0;
    case BV_KPATH_AVX512: return (f & vnni) == vnni;
    default: return 0;  // no NEON int8 kernel: ARM uses the scalar one
    }
}

// AUTO → the best supported path; a forced path the CPU lacks → the best supported one below
// it in the order SCALAR < AVX2 < AVX512 (NEON only ever resolves to itself or SCALAR).
static int resolve(int requested, int (*supported)(int, uint32_t)) {
    const uint32_t f = cached_features();
    if (requested == BV_KPATH_AUTO) {
        if (supported(BV_KPATH_NEON, f)) return BV_KPATH_NEON;
        requested = BV_KPATH_AVX512;
    }
    if (requested == BV_KPATH_NEON) return supported(BV_KPATH_NEON, f) ? BV_KPATH_NEON : BV_KPATH_SCALAR;
    for (int p = requested; p > BV_KPATH_SCALAR; p--)
        if (supported(p, f)) return p;
    return BV_KPATH_SCALAR;
}

int bv_bgemm_resolve_path(int requested) { return resolve(requested, bgemm_supported); }
int bv_igemm_resolve_path(int requested) { return resolve(requested, igemm_supported); }
