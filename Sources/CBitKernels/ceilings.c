// Register-resident instruction loops that measure the core's peak rates, so benchmarks can
// report how close the kernels get to the machine (bv_measure_ceilings in bv_bitkernels.h).
// Inline assembly keeps the compiler from hoisting or fusing the loop-invariant operations.
#include "bitkernels_internal.h"
#include "CBitKernels.h"
#include <CBitViTPlatform.h>
#include <time.h>

// Thread CPU time, not wall time: on a shared machine the loops measure the core while this
// thread runs on it, not the share of the core the scheduler gives it.
static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/// Runs `body(iterations)` with growing iteration counts until one run lasts `seconds`;
/// returns iterations per second of the last run.
static double rate(void (*body)(long), double seconds) {
    long n = 1000;
    for (;;) {
        const double t0 = now_seconds();
        body(n);
        const double dt = now_seconds() - t0;
        if (dt >= seconds || n > (1L << 40)) return (double)n / dt;
        n = dt > 1e-4 ? (long)((double)n * seconds / dt * 1.05) + 1 : n * 16;
    }
}

// Four dependent integer adds per iteration: one cycle each on any modern core.
static void add_chain(long n) {
    long x = 0;
    for (long i = 0; i < n; i++) __asm__ volatile("add $1,%0\n\tadd $1,%0\n\tadd $1,%0\n\tadd $1,%0" : "+r"(x));
}

#if defined(__x86_64__) && defined(__clang__)
#define FMA12(R, A, B)                                                                                   \
    "vfmadd231ps %%" A ",%%" B ",%%" R "0\n\tvfmadd231ps %%" A ",%%" B ",%%" R "1\n\t"                   \
    "vfmadd231ps %%" A ",%%" B ",%%" R "2\n\tvfmadd231ps %%" A ",%%" B ",%%" R "3\n\t"                   \
    "vfmadd231ps %%" A ",%%" B ",%%" R "4\n\tvfmadd231ps %%" A ",%%" B ",%%" R "5\n\t"                   \
    "vfmadd231ps %%" A ",%%" B ",%%" R "6\n\tvfmadd231ps %%" A ",%%" B ",%%" R "7\n\t"                   \
    "vfmadd231ps %%" A ",%%" B ",%%" R "8\n\tvfmadd231ps %%" A ",%%" B ",%%" R "9\n\t"                   \
    "vfmadd231ps %%" A ",%%" B ",%%" R "10\n\tvfmadd231ps %%" A ",%%" B ",%%" R "11\n\t"
#define CLOBBER12 "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11"

// 12 independent FMA chains cover latency × throughput (4 × 2) on current cores.
__attribute__((target("avx512f"))) static void fma512(long n) {
    for (long i = 0; i < n; i++) __asm__ volatile(FMA12("zmm", "zmm30", "zmm31") ::: CLOBBER12);
}
__attribute__((target("avx2,fma"))) static void fma256(long n) {
    for (long i = 0; i < n; i++) __asm__ volatile(FMA12("ymm", "ymm14", "ymm15") ::: CLOBBER12);
}

// 8 independent xor → popcount → add chains (one binary-GEMM tile entry each).
#define XPA(A, T, ACC) "vpxorq %%zmm31," A "," T "\n\tvpopcntq " T "," T "\n\tvpaddq " T "," ACC "," ACC "\n\t"
__attribute__((target("avx512f,avx512vpopcntdq"))) static void popcnt512(long n) {
    for (long i = 0; i < n; i++)
        __asm__ volatile(XPA("%%zmm16", "%%zmm8", "%%zmm0") XPA("%%zmm17", "%%zmm9", "%%zmm1")
                         XPA("%%zmm18", "%%zmm10", "%%zmm2") XPA("%%zmm19", "%%zmm11", "%%zmm3")
                         XPA("%%zmm20", "%%zmm12", "%%zmm4") XPA("%%zmm21", "%%zmm13", "%%zmm5")
                         XPA("%%zmm22", "%%zmm14", "%%zmm6") XPA("%%zmm23", "%%zmm15", "%%zmm7")
                         ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
                             "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

// 4 independent chains of xor, nibble split, two vpshufb lookups, and byte adds (what the
// AVX2 binary kernel does per 256 bits). ymm13 = table, ymm14 = 0x0F bytes, ymm15 = B.
#define NIB(A, T, U, ACC)                                                                         \
    "vpxor %%ymm15," A "," T "\n\tvpsrlw $4," T "," U "\n\tvpand %%ymm14," T "," T "\n\t"            \
    "vpand %%ymm14," U "," U "\n\tvpshufb " T ",%%ymm13," T "\n\tvpshufb " U ",%%ymm13," U "\n\t"  \
    "vpaddb " T "," ACC "," ACC "\n\tvpaddb " U "," ACC "," ACC "\n\t"
__attribute__((target("avx2"))) static void popcnt_avx2(long n) {
    for (long i = 0; i < n; i++)
        __asm__ volatile(NIB("%%ymm8", "%%ymm4", "%%ymm5", "%%ymm0") NIB("%%ymm9", "%%ymm6", "%%ymm7", "%%ymm1")
                         NIB("%%ymm10", "%%ymm11", "%%ymm12", "%%ymm2")
                         ::: "xmm0", "xmm1", "xmm2", "xmm4", "xmm5", "xmm6", "xmm7", "xmm11", "xmm12");
}

#define DP12                                                                                              \
    "vpdpbusd %%zmm30,%%zmm31,%%zmm0\n\tvpdpbusd %%zmm30,%%zmm31,%%zmm1\n\tvpdpbusd %%zmm30,%%zmm31,%%zmm2\n\t" \
    "vpdpbusd %%zmm30,%%zmm31,%%zmm3\n\tvpdpbusd %%zmm30,%%zmm31,%%zmm4\n\tvpdpbusd %%zmm30,%%zmm31,%%zmm5\n\t" \
    "vpdpbusd %%zmm30,%%zmm31,%%zmm6\n\tvpdpbusd %%zmm30,%%zmm31,%%zmm7\n\tvpdpbusd %%zmm30,%%zmm31,%%zmm8\n\t" \
    "vpdpbusd %%zmm30,%%zmm31,%%zmm9\n\tvpdpbusd %%zmm30,%%zmm31,%%zmm10\n\tvpdpbusd %%zmm30,%%zmm31,%%zmm11\n\t"
__attribute__((target("avx512f,avx512vnni"))) static void vnni512(long n) {
    for (long i = 0; i < n; i++) __asm__ volatile(DP12 ::: CLOBBER12);
}
#endif

void bv_measure_ceilings(double seconds, bv_ceilings *out) {
    *out = (bv_ceilings){0};
    out->clock_hz = 4.0 * rate(add_chain, seconds);
#if defined(__x86_64__) && defined(__clang__)
    const uint32_t f = bv_cpu_features();
    if (f & BV_CPU_AVX512F) out->fma512_mac_per_s = 12.0 * 16 * rate(fma512, seconds);
    if ((f & BV_CPU_AVX2) && (f & BV_CPU_FMA)) out->fma256_mac_per_s = 12.0 * 8 * rate(fma256, seconds);
    if ((f & BV_CPU_AVX512F) && (f & BV_CPU_AVX512VPOPCNTDQ))
        out->popcnt512_bmac_per_s = 8.0 * 512 * rate(popcnt512, seconds);
    if (f & BV_CPU_AVX2) out->popcnt_avx2_bmac_per_s = 3.0 * 256 * rate(popcnt_avx2, seconds);
    if ((f & BV_CPU_AVX512F) && (f & BV_CPU_AVX512VNNI)) out->vnni512_mac_per_s = 12.0 * 64 * rate(vnni512, seconds);
#endif
}
