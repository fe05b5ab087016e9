// Internal: the AVX-512 output transform of a register tile, shared by the binary and int8
// microkernels (see bv_tile_out for the formula).
#ifndef BV_TILE_EPILOGUE_AVX512_H
#define BV_TILE_EPILOGUE_AVX512_H

#include "bitkernels_internal.h"
#include <immintrin.h>

// `mr` and `nv` are compile-time constants at every call site; the loops are fully unrolled so
// `acc` stays in registers. The fields of `o` are read into locals first: C stores could
// otherwise alias them and force a reload after every store.
static inline __attribute__((always_inline, target("avx512f")))
void bv_tile_epilogue_avx512(__m512i acc[][BV_AVX512_NV], const int mr, const int nv,
                             const bv_tile_out *o) {
    const float *restrict P = o->P, *restrict Q = o->Q, *restrict S = o->S, *restrict B = o->B;
    const float *restrict U = o->U, *restrict R = o->R;
    const int accumulate = o->accumulate;
    const ptrdiff_t ldc = o->ldc;
    // The last panel of the group may be partial: masked load/store there.
    const int tail = o->ncols - (nv - 1) * BV_PANEL;
    const __mmask16 last_mask = (__mmask16)(tail >= 16 ? 0xFFFF : (1u << tail) - 1);

    if (o->c32) {
        int32_t *restrict c32 = o->c32;
        _Pragma("clang loop unroll(full)")
        for (int r = 0; r < mr; r++)
            _Pragma("clang loop unroll(full)")
            for (int v = 0; v < nv; v++)
                _mm512_mask_storeu_epi32(c32 + r * ldc + v * BV_PANEL, v == nv - 1 ? last_mask : 0xFFFF, acc[r][v]);
        return;
    }
    float *restrict c = o->c;
    __m512 p[BV_AVX512_NV], q[BV_AVX512_NV];
    _Pragma("clang loop unroll(full)")
    for (int v = 0; v < nv; v++) { p[v] = _mm512_load_ps(P + v * BV_PANEL); q[v] = _mm512_load_ps(Q + v * BV_PANEL); }

    if (o->bits) {
        // Packed output (a 64-column group is one word per row; bit0 is 0 on this path).
        __m512 hi[BV_AVX512_NV], lo[BV_AVX512_NV];
        _Pragma("clang loop unroll(full)")
        for (int v = 0; v < nv; v++) { hi[v] = _mm512_loadu_ps(o->above + v * BV_PANEL); lo[v] = _mm512_loadu_ps(o->below + v * BV_PANEL); }
        _Pragma("clang loop unroll(full)")
        for (int r = 0; r < mr; r++) {
            const __m512 u = _mm512_set1_ps(U ? U[r] : 0.0f);
            const __m512 rs = _mm512_set1_ps(R ? R[r] : 1.0f);
            uint64_t s = 0;
            _Pragma("clang loop unroll(full)")
            for (int v = 0; v < nv; v++) {
                const __mmask16 k = v < nv - 1 ? 0xFFFF : last_mask;
                __m512 t = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[r][v]), p[v], q[v]);
                if (U) t = _mm512_fmadd_ps(_mm512_load_ps(S + v * BV_PANEL), u, t);
                if (R) t = _mm512_fmadd_ps(t, rs, _mm512_load_ps(B + v * BV_PANEL));
                const __mmask16 bit = _mm512_mask_cmp_ps_mask(k, t, hi[v], _CMP_GT_OQ) | _mm512_mask_cmp_ps_mask(k, t, lo[v], _CMP_LT_OQ);
                s |= (uint64_t)bit << (16 * v);
            }
            o->bits[(ptrdiff_t)r * o->bits_stride] = s;
        }
        return;
    }

    if (!U && !R && !accumulate) {
        // The common case (plain linear layer: scales and bias folded into P and Q).
        _Pragma("clang loop unroll(full)")
        for (int r = 0; r < mr; r++)
            _Pragma("clang loop unroll(full)")
            for (int v = 0; v < nv; v++) {
                const __m512 t = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[r][v]), p[v], q[v]);
                if (v < nv - 1) _mm512_storeu_ps(c + r * ldc + v * BV_PANEL, t);
                else _mm512_mask_storeu_ps(c + r * ldc + v * BV_PANEL, last_mask, t);
            }
        return;
    }
    _Pragma("clang loop unroll(full)")
    for (int r = 0; r < mr; r++) {
        const __m512 u = _mm512_set1_ps(U ? U[r] : 0.0f);
        const __m512 rs = _mm512_set1_ps(R ? R[r] : 1.0f);
        _Pragma("clang loop unroll(full)")
        for (int v = 0; v < nv; v++) {
            const __mmask16 k = v < nv - 1 ? 0xFFFF : last_mask;
            __m512 t = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[r][v]), p[v], q[v]);
            if (U) t = _mm512_fmadd_ps(_mm512_load_ps(S + v * BV_PANEL), u, t);
            if (R) t = _mm512_fmadd_ps(t, rs, _mm512_load_ps(B + v * BV_PANEL));
            if (accumulate) t = _mm512_add_ps(t, _mm512_maskz_loadu_ps(k, c + r * ldc + v * BV_PANEL));
            _mm512_mask_storeu_ps(c + r * ldc + v * BV_PANEL, k, t);
        }
    }
}

#endif
