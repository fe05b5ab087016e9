// Internal: the AVX-512 output transform of a register tile, shared by the binary and int8
// microkernels (see bv_tile_out for the formula).
#ifndef BV_TILE_EPILOGUE_AVX512_H
#define BV_TILE_EPILOGUE_AVX512_H

#include "bitkernels_internal.h"
#include <immintrin.h>

// `mr` and `nv` are compile-time constants at every call site, so `acc` stays in registers.
static inline __attribute__((always_inline, target("avx512f")))
void bv_tile_epilogue_avx512(__m512i acc[][BV_AVX512_NV], const int mr, const int nv,
                             const bv_tile_out *o) {
    // The last panel of the group may be partial: masked load/store there.
    const int tail = o->ncols - (nv - 1) * BV_PANEL;
    const __mmask16 tail_mask = (__mmask16)(tail >= 16 ? 0xFFFF : (1u << tail) - 1);
    for (int r = 0; r < mr; r++) {
        if (o->c32) {
            int32_t *cr = o->c32 + r * o->ldc;
            for (int v = 0; v < nv; v++)
                _mm512_mask_storeu_epi32(cr + v * BV_PANEL, v == nv - 1 ? tail_mask : 0xFFFF, acc[r][v]);
            continue;
        }
        float *cr = o->c + r * o->ldc;
        const __m512 u = _mm512_set1_ps(o->U ? o->U[r] : 0.0f);
        const __m512 rs = _mm512_set1_ps(o->R ? o->R[r] : 1.0f);
        for (int v = 0; v < nv; v++) {
            __m512 t = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[r][v]),
                                       _mm512_load_ps(o->P + v * BV_PANEL),
                                       _mm512_load_ps(o->Q + v * BV_PANEL));
            if (o->U) t = _mm512_fmadd_ps(_mm512_load_ps(o->S + v * BV_PANEL), u, t);
            if (o->R) t = _mm512_fmadd_ps(t, rs, _mm512_load_ps(o->B + v * BV_PANEL));
            if (v < nv - 1 || tail >= 16) {
                if (o->accumulate) t = _mm512_add_ps(t, _mm512_loadu_ps(cr + v * BV_PANEL));
                _mm512_storeu_ps(cr + v * BV_PANEL, t);
            } else {
                if (o->accumulate) t = _mm512_add_ps(t, _mm512_maskz_loadu_ps(tail_mask, cr + v * BV_PANEL));
                _mm512_mask_storeu_ps(cr + v * BV_PANEL, tail_mask, t);
            }
        }
    }
}

#endif
