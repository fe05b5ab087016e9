// AVX-512 VPOPCNTDQ binary microkernel.
//
// Register tile: MR rows × NV panels of 16 columns, one zmm of 16 dword accumulators per
// (row, panel). Per 32-bit step d of K: load NV panel vectors (16 columns' dword d each),
// broadcast each row's dword d, and issue op + vpopcntd + vpaddd per tile entry. Because the
// columns sit in the vector lanes, no horizontal reduction is needed and the output transform
// works on 16 finished dot products per vector (cvt + fma + store).
#include "bitkernels_internal.h"

#if defined(__x86_64__) && defined(__clang__)
#include "tile_epilogue_avx512.h"

#define BV_TARGET_512 __attribute__((target("avx512f,avx512vpopcntdq")))

// `op`, `mr` and `nv` are compile-time constants in every instantiation below, so the loops
// over rows and panels unroll and `acc` lives in registers.
static inline __attribute__((always_inline)) BV_TARGET_512
void btile(const bv_btile_in *in, const bv_tile_out *o, const int op, const int mr, const int nv) {
    __m512i acc[BV_AVX512_MR][BV_AVX512_NV];
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++) acc[r][v] = _mm512_setzero_si512();

    const ptrdiff_t as = in->a_row_stride, ps = in->b_panel_stride;
    for (int i = 0; i < in->a_planes; i++) {
        const bv_u32a *a = in->a + i * in->a_plane_stride;
        const bv_u32a *am = op == BV_OP_XOR_MASKED ? in->a_mask + i * in->a_plane_stride : a;
        for (int j = 0; j < in->b_planes; j++) {
            const uint32_t *b = in->b + j * in->b_plane_stride;
            for (int d = 0; d < in->k32; d++) {
                __m512i bv[BV_AVX512_NV];
                for (int v = 0; v < nv; v++) bv[v] = _mm512_load_si512(b + v * ps + d * BV_PANEL);
                for (int r = 0; r < mr; r++) {
                    __m512i av = _mm512_set1_epi32((int)a[r * as + d]);
                    __m512i mv = op == BV_OP_XOR_MASKED ? _mm512_set1_epi32((int)am[r * as + d]) : av;
                    for (int v = 0; v < nv; v++) {
                        __m512i x;
                        if (op == BV_OP_XOR) x = _mm512_xor_si512(av, bv[v]);
                        else if (op == BV_OP_AND) x = _mm512_and_si512(av, bv[v]);
                        else x = _mm512_ternarylogic_epi32(av, bv[v], mv, 0x28);  // (a ^ b) & m
                        acc[r][v] = _mm512_add_epi32(acc[r][v], _mm512_popcnt_epi32(x));
                    }
                }
            }
        }
    }

    bv_tile_epilogue_avx512(acc, mr, nv, o);
}

// One function per (op, mr) with the nv switch inside keeps the instantiation count at
// 3 ops × MR × NV while letting every body be fully specialized.
#define BV_NV_SWITCH(OP, MR)                       \
    switch (nv) {                                  \
    case 1: btile(in, o, OP, MR, 1); break;        \
    case 2: btile(in, o, OP, MR, 2); break;        \
    case 3: btile(in, o, OP, MR, 3); break;        \
    default: btile(in, o, OP, MR, 4); break;       \
    }

#define BV_MR_SWITCH(OP)                           \
    switch (mr) {                                  \
    case 1: BV_NV_SWITCH(OP, 1) break;             \
    case 2: BV_NV_SWITCH(OP, 2) break;             \
    case 3: BV_NV_SWITCH(OP, 3) break;             \
    case 4: BV_NV_SWITCH(OP, 4) break;             \
    case 5: BV_NV_SWITCH(OP, 5) break;             \
    default: BV_NV_SWITCH(OP, 6) break;            \
    }

_Static_assert(BV_AVX512_MR == 6 && BV_AVX512_NV == 4, "update the switches with the tile size");

BV_TARGET_512 static void btile_xor(const bv_btile_in *in, int mr, int nv, const bv_tile_out *o) { BV_MR_SWITCH(BV_OP_XOR) }
BV_TARGET_512 static void btile_and(const bv_btile_in *in, int mr, int nv, const bv_tile_out *o) { BV_MR_SWITCH(BV_OP_AND) }
BV_TARGET_512 static void btile_xor_masked(const bv_btile_in *in, int mr, int nv, const bv_tile_out *o) { BV_MR_SWITCH(BV_OP_XOR_MASKED) }

void bv_btile_avx512(const bv_btile_in *in, int mr, int nv, const bv_tile_out *o) {
    switch (in->op) {
    case BV_OP_XOR: btile_xor(in, mr, nv, o); break;
    case BV_OP_AND: btile_and(in, mr, nv, o); break;
    default: btile_xor_masked(in, mr, nv, o); break;
    }
}

#else
void bv_btile_avx512(const bv_btile_in *in, int mr, int nv, const bv_tile_out *o) {
    bv_btile_scalar(in, mr, nv, o);
}
#endif
