// Internal: the AVX2 output transform of a register tile (MR rows × one 16-column panel), shared
// by the binary and int8 microkernels (see bv_tile_out for the formula), and the binary
// kernels' inner operation.
#ifndef BV_TILE_EPILOGUE_AVX2_H
#define BV_TILE_EPILOGUE_AVX2_H

#include "bitkernels_internal.h"
#include <immintrin.h>

#define BV_TARGET_AVX2 __attribute__((target("avx2,fma")))

/// A binary tile's inner operation (BV_OP_*, a constant after inlining) on 256 bits: a ^ b,
/// a & b, or (a ^ b) & mask (`mask` used only by BV_OP_XOR_MASKED).
static inline __attribute__((always_inline)) BV_TARGET_AVX2
__m256i binary_op(const int op, __m256i a, __m256i b, __m256i mask) {
    if (op == BV_OP_XOR) return _mm256_xor_si256(a, b);
    if (op == BV_OP_AND) return _mm256_and_si256(a, b);
    return _mm256_and_si256(_mm256_xor_si256(a, b), mask);
}

/// Lane mask of lanes j < live (0 ≤ live ≤ 8).
static inline __attribute__((always_inline)) BV_TARGET_AVX2
__m256i lanes_below(int live) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(live), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/// Packed output of 8 outputs `t`: bit j = t_j > above_j ∨ t_j < below_j (strict).
static inline __attribute__((always_inline)) BV_TARGET_AVX2
unsigned threshold_bits8(__m256 t, __m256 above, __m256 below) {
    return (unsigned)_mm256_movemask_ps(_mm256_or_ps(_mm256_cmp_ps(t, above, _CMP_GT_OQ), _mm256_cmp_ps(t, below, _CMP_LT_OQ)));
}

/// Writes `bits` at bit `at` of a packed output row: the chunk that starts a 64-bit word
/// assigns it, the later ones are or-ed in (chunks come in column order).
static inline __attribute__((always_inline))
void store_packed_bits(uint64_t *row, int at, uint64_t bits) {
    uint64_t *word = row + at / 64;
    const uint64_t s = bits << (at % 64);
    *word = at % 64 == 0 ? s : (*word | s);
}

/// The output transform of one 16-column panel (columns `col` … of the tile's group; see
/// bv_tile_out) on dword accumulators `acc[r][half]`.
static inline __attribute__((always_inline)) BV_TARGET_AVX2
void panel_epilogue(__m256i acc[][2], const int mr, const bv_tile_out *o, int col) {
    const int left = o->ncols - col;
    const int live0 = left >= 8 ? 8 : left, live1 = left >= 16 ? 8 : (left > 8 ? left - 8 : 0);
    const __m256i m0 = lanes_below(live0), m1 = lanes_below(live1);
    const ptrdiff_t ldc = o->ldc;
    if (o->c32) {
        for (int r = 0; r < mr; r++) {
            int32_t *c = o->c32 + r * ldc + col;
            _mm256_maskstore_epi32(c, m0, acc[r][0]);
            if (live1) _mm256_maskstore_epi32(c + 8, m1, acc[r][1]);
        }
        return;
    }
    const float *P = o->P + col, *Q = o->Q + col, *S = o->S + col, *B = o->B + col;
    const __m256 p0 = _mm256_load_ps(P), p1 = _mm256_load_ps(P + 8), q0 = _mm256_load_ps(Q), q1 = _mm256_load_ps(Q + 8);
    const float *U = o->U, *R = o->R;
    for (int r = 0; r < mr; r++) {
        __m256 t0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[r][0]), p0, q0);
        __m256 t1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[r][1]), p1, q1);
        if (U) {
            const __m256 u = _mm256_set1_ps(U[r]);
            t0 = _mm256_fmadd_ps(_mm256_load_ps(S), u, t0);
            t1 = _mm256_fmadd_ps(_mm256_load_ps(S + 8), u, t1);
        }
        if (R) {
            const __m256 rs = _mm256_set1_ps(R[r]);
            t0 = _mm256_fmadd_ps(t0, rs, _mm256_load_ps(B));
            t1 = _mm256_fmadd_ps(t1, rs, _mm256_load_ps(B + 8));
        }
        if (o->bits) {
            // Packed output: bit j of the row's word = t > above[j] || t < below[j].
            const float *hi = o->above + col, *lo = o->below + col;
            const unsigned b0 = threshold_bits8(t0, _mm256_loadu_ps(hi), _mm256_loadu_ps(lo));
            const unsigned b1 = threshold_bits8(t1, _mm256_loadu_ps(hi + 8), _mm256_loadu_ps(lo + 8));
            store_packed_bits(o->bits + (ptrdiff_t)r * o->bits_stride, o->bit0 + col,
                              (uint64_t)((b0 | b1 << 8) & ((1u << (live0 + live1)) - 1)));
            continue;
        }
        float *c = o->c + r * ldc + col;
        if (live1 == 8) {
            if (o->accumulate) {
                t0 = _mm256_add_ps(t0, _mm256_loadu_ps(c));
                t1 = _mm256_add_ps(t1, _mm256_loadu_ps(c + 8));
            }
            _mm256_storeu_ps(c, t0);
            _mm256_storeu_ps(c + 8, t1);
        } else {
            if (o->accumulate) {
                t0 = _mm256_add_ps(t0, _mm256_maskload_ps(c, m0));
                t1 = _mm256_add_ps(t1, _mm256_maskload_ps(c + 8, m1));
            }
            _mm256_maskstore_ps(c, m0, t0);
            _mm256_maskstore_ps(c + 8, m1, t1);
        }
    }
}

#endif
