// AVX-512 VNNI int8 microkernel (u8 activations × s8 weights → s32).
//
// Same register tile as the binary kernel: MR rows × NV panels of 16 columns. A panel dword
// holds 4 consecutive K values of one column, so one vpdpbusd adds 4 products into each of
// the 16 column lanes: per step of 4 K values, NV panel loads, MR broadcasts of 4 activation
// bytes, MR·NV vpdpbusd.
#include "bitkernels_internal.h"

#if defined(__x86_64__) && defined(__clang__)
#include "tile_epilogue_avx512.h"

#define BV_TARGET_VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))

static inline __attribute__((always_inline)) BV_TARGET_VNNI
void itile(const bv_itile_in *in, const bv_tile_out *o, const int mr, const int nv) {
    __m512i acc[BV_AVX512_MR][BV_AVX512_NV];
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++) acc[r][v] = _mm512_setzero_si512();
    for (int d = 0; d < in->k4; d++) {
        __m512i wv[BV_AVX512_NV];
        for (int v = 0; v < nv; v++) wv[v] = _mm512_load_si512(in->w + v * in->w_panel_stride + d * 64);
        for (int r = 0; r < mr; r++) {
            const __m512i av = _mm512_set1_epi32((int)*(const bv_u32a *)(in->a + r * in->lda + 4 * d));
            for (int v = 0; v < nv; v++) acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], av, wv[v]);
        }
    }
    bv_tile_epilogue_avx512(acc, mr, nv, o);
}

#define BV_INV_SWITCH(MR)                          \
    switch (nv) {                                  \
    case 1: itile(in, o, MR, 1); break;            \
    case 2: itile(in, o, MR, 2); break;            \
    case 3: itile(in, o, MR, 3); break;            \
    default: itile(in, o, MR, 4); break;           \
    }
_Static_assert(BV_AVX512_MR == 6 && BV_AVX512_NV == 4, "update the switches with the tile size");

BV_TARGET_VNNI void bv_itile_avx512(const bv_itile_in *in, int mr, int nv, const bv_tile_out *o) {
    switch (mr) {
    case 1: BV_INV_SWITCH(1) break;
    case 2: BV_INV_SWITCH(2) break;
    case 3: BV_INV_SWITCH(3) break;
    case 4: BV_INV_SWITCH(4) break;
    case 5: BV_INV_SWITCH(5) break;
    default: BV_INV_SWITCH(6) break;
    }
}

#else
void bv_itile_avx512(const bv_itile_in *in, int mr, int nv, const bv_tile_out *o) {
    bv_itile_scalar(in, mr, nv, o);
}
#endif
