// Internal: one-row bit packers, header-only so that a later fused producer (LayerNorm or
// BatchNorm followed by sign) can pack a row it has just computed, while it is in L1, by
// calling these on its output row. Conventions as in bv_bitkernels.h.
#ifndef BV_BITPACK_ROW_H
#define BV_BITPACK_ROW_H

#include "bitkernels_internal.h"

/// Signs of one row of k values v_j = x[j*xs] (+ shift[j]) into `words` 64-bit words
/// (bit = v < 0; words past k zero). With `mask`: bit = v != 0, and the returned value is the
/// number of nonzero entries (else 0).
static inline int bv_pack_row_signs_scalar(const float *x, ptrdiff_t xs, int k, const float *shift,
                                           uint64_t *bits, int words, uint64_t *mask) {
    int nnz = 0;
    for (int w = 0; w < words; w++) {
        uint64_t s = 0, m = 0;
        const int j0 = 64 * w, j1 = bv_min(k, j0 + 64);
        for (int j = j0; j < j1; j++) {
            const float v = x[(ptrdiff_t)j * xs] + (shift ? shift[j] : 0.0f);
            s |= (uint64_t)(v < 0.0f) << (j - j0);
            m |= (uint64_t)(v != 0.0f) << (j - j0);
        }
        bits[w] = s;
        if (mask) { mask[w] = m; nnz += __builtin_popcountll(m); }
    }
    return nnz;
}

/// One {0,1} plane of a row: bit = (x[j*xs] (+ shift[j]) > threshold). Returns the popcount.
static inline int bv_pack_row_threshold_scalar(const float *x, ptrdiff_t xs, int k, const float *shift,
                                               float threshold, uint64_t *bits, int words) {
    int count = 0;
    for (int w = 0; w < words; w++) {
        uint64_t s = 0;
        const int j0 = 64 * w, j1 = bv_min(k, j0 + 64);
        for (int j = j0; j < j1; j++) {
            const float v = x[(ptrdiff_t)j * xs] + (shift ? shift[j] : 0.0f);
            s |= (uint64_t)(v > threshold) << (j - j0);
        }
        bits[w] = s;
        count += __builtin_popcountll(s);
    }
    return count;
}

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>

/// AVX-512 version of bv_pack_row_signs_scalar for a contiguous row (xs = 1): one compare
/// into a mask register yields 16 packed bits.
static inline __attribute__((always_inline, target("avx512f")))
int bv_pack_row_signs_avx512(const float *x, int k, const float *shift,
                             uint64_t *bits, int words, uint64_t *mask) {
    const __m512 zero = _mm512_setzero_ps();
    int nnz = 0;
    for (int w = 0; w < words; w++) {
        uint64_t s = 0, m = 0;
        for (int q = 0; q < 4; q++) {
            const int j = 64 * w + 16 * q;
            if (j >= k) break;
            const __mmask16 live = (__mmask16)(k - j >= 16 ? 0xFFFF : (1u << (k - j)) - 1);
            __m512 v = _mm512_maskz_loadu_ps(live, x + j);
            if (shift) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(live, shift + j));
            s |= (uint64_t)_mm512_mask_cmp_ps_mask(live, v, zero, _CMP_LT_OQ) << (16 * q);
            m |= (uint64_t)_mm512_mask_cmp_ps_mask(live, v, zero, _CMP_NEQ_OQ) << (16 * q);
        }
        bits[w] = s;
        if (mask) { mask[w] = m; nnz += __builtin_popcountll(m); }
    }
    return nnz;
}

/// AVX-512 version of bv_pack_row_threshold_scalar for a contiguous row.
static inline __attribute__((always_inline, target("avx512f")))
int bv_pack_row_threshold_avx512(const float *x, int k, const float *shift, float threshold,
                                 uint64_t *bits, int words) {
    const __m512 t = _mm512_set1_ps(threshold);
    int count = 0;
    for (int w = 0; w < words; w++) {
        uint64_t s = 0;
        for (int q = 0; q < 4; q++) {
            const int j = 64 * w + 16 * q;
            if (j >= k) break;
            const __mmask16 live = (__mmask16)(k - j >= 16 ? 0xFFFF : (1u << (k - j)) - 1);
            __m512 v = _mm512_maskz_loadu_ps(live, x + j);
            if (shift) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(live, shift + j));
            s |= (uint64_t)_mm512_mask_cmp_ps_mask(live, v, t, _CMP_GT_OQ) << (16 * q);
        }
        bits[w] = s;
        count += __builtin_popcountll(s);
    }
    return count;
}
#endif

#endif
