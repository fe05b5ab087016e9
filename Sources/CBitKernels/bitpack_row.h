// Internal: one-row bit packers, header-only so that a later fused producer (LayerNorm or
// BatchNorm followed by sign) can pack a row it has just computed, while it is in L1, by
// calling these on its output row. Conventions as in bv_bitkernels.h.
#ifndef BV_BITPACK_ROW_H
#define BV_BITPACK_ROW_H

#include "bitkernels_internal.h"

/// Signs of one row of k values v_j = x[j*xs] (+ shift[j]) into `words` 64-bit words
/// (bit = v < 0; words past k zero). With `mask`: bit = v < 0 or v > 0 (a NaN packs as 0, as on
/// the SIMD paths' ordered compares), and the returned value is the number of such entries (else 0).
static inline int bv_pack_row_signs_scalar(const float *x, ptrdiff_t xs, int k, const float *shift,
                                           uint64_t *bits, int words, uint64_t *mask) {
    int nnz = 0;
    for (int w = 0; w < words; w++) {
        uint64_t s = 0, m = 0;
        const int j0 = 64 * w, j1 = bv_min(k, j0 + 64);
        for (int j = j0; j < j1; j++) {
            const float v = x[(ptrdiff_t)j * xs] + (shift ? shift[j] : 0.0f);
            s |= (uint64_t)(v < 0.0f) << (j - j0);
            m |= (uint64_t)(v < 0.0f || v > 0.0f) << (j - j0);
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

// The SIMD row packers compare 16 (AVX-512, into a mask register) or 8 (AVX2, movemask)
// floats at a time; full 64-bit words take no masking, only the last partial word does.
// `cmp` is _CMP_LT_OQ (sign: value < 0) or _CMP_GT_OQ (value > threshold); `with_mask` also
// records value != 0. All flags are compile-time constants after inlining.

static inline __attribute__((always_inline, target("avx512f")))
uint64_t bv_word_avx512(const float *x, const float *shift, int n, __m512 t, const int cmp,
                        const int with_mask, uint64_t *nonzero) {
    uint64_t s = 0, m = 0;
    for (int q = 0; q < 4; q++) {
        const int j = 16 * q;
        if (j >= n) break;
        const __mmask16 live = (__mmask16)(n - j >= 16 ? 0xFFFF : (1u << (n - j)) - 1);
        __m512 v = n >= 64 ? _mm512_loadu_ps(x + j) : _mm512_maskz_loadu_ps(live, x + j);
        if (shift) v = _mm512_add_ps(v, n >= 64 ? _mm512_loadu_ps(shift + j) : _mm512_maskz_loadu_ps(live, shift + j));
        const __mmask16 bits = cmp == _CMP_LT_OQ ? _mm512_mask_cmp_ps_mask(live, v, t, _CMP_LT_OQ)
                                                 : _mm512_mask_cmp_ps_mask(live, v, t, _CMP_GT_OQ);
        s |= (uint64_t)bits << j;
        if (with_mask) m |= (uint64_t)_mm512_mask_cmp_ps_mask(live, v, _mm512_setzero_ps(), _CMP_NEQ_OQ) << j;
    }
    if (with_mask) *nonzero = m;
    return s;
}

static inline __attribute__((always_inline, target("avx2")))
uint64_t bv_word_avx2(const float *x, const float *shift, int n, __m256 t, const int cmp,
                      const int with_mask, uint64_t *nonzero) {
    uint64_t s = 0, m = 0;
    if (n >= 64) {
        for (int q = 0; q < 8; q++) {
            __m256 v = _mm256_loadu_ps(x + 8 * q);
            if (shift) v = _mm256_add_ps(v, _mm256_loadu_ps(shift + 8 * q));
            const __m256 c = cmp == _CMP_LT_OQ ? _mm256_cmp_ps(v, t, _CMP_LT_OQ) : _mm256_cmp_ps(v, t, _CMP_GT_OQ);
            s |= (uint64_t)(uint32_t)_mm256_movemask_ps(c) << (8 * q);
            if (with_mask)
                m |= (uint64_t)(uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_NEQ_OQ)) << (8 * q);
        }
    } else {
        for (int j = 0; j < n; j++) {  // the last partial word, element by element
            const float v = x[j] + (shift ? shift[j] : 0.0f);
            const float tv = _mm256_cvtss_f32(t);
            s |= (uint64_t)(cmp == _CMP_LT_OQ ? v < tv : v > tv) << j;
            m |= (uint64_t)(v < 0.0f || v > 0.0f) << j;
        }
    }
    if (with_mask) *nonzero = m;
    return s;
}

/// Packs one contiguous row with AVX-512: signs (bit = value < 0, plus the nonzero `mask`
/// when given) when `is_sign`, else one threshold plane (bit = value > threshold). Returns the
/// popcount of the mask (signs with mask), of the bits (thresholds), or 0.
static inline __attribute__((always_inline, target("avx512f")))
int bv_pack_row_avx512(const float *x, int k, const float *shift, float threshold, const int is_sign,
                       uint64_t *bits, int words, uint64_t *mask) {
    const __m512 t = _mm512_set1_ps(is_sign ? 0.0f : threshold);
    int count = 0;
    for (int w = 0; w < words; w++) {
        const int n = bv_min(64, k - 64 * w);
        const float *sh = shift ? shift + 64 * w : NULL;
        uint64_t m = 0, s;
        if (!is_sign) s = bv_word_avx512(x + 64 * w, sh, n, t, _CMP_GT_OQ, 0, &m);
        else if (mask) s = bv_word_avx512(x + 64 * w, sh, n, t, _CMP_LT_OQ, 1, &m);
        else s = bv_word_avx512(x + 64 * w, sh, n, t, _CMP_LT_OQ, 0, &m);
        bits[w] = s;
        if (mask) { mask[w] = m; count += __builtin_popcountll(m); }
        else if (!is_sign) count += __builtin_popcountll(s);
    }
    return count;
}

/// AVX2 version of bv_pack_row_avx512.
static inline __attribute__((always_inline, target("avx2")))
int bv_pack_row_avx2(const float *x, int k, const float *shift, float threshold, const int is_sign,
                     uint64_t *bits, int words, uint64_t *mask) {
    const __m256 t = _mm256_set1_ps(is_sign ? 0.0f : threshold);
    int count = 0;
    for (int w = 0; w < words; w++) {
        const int n = bv_min(64, k - 64 * w);
        const float *sh = shift ? shift + 64 * w : NULL;
        uint64_t m = 0, s;
        if (!is_sign) s = bv_word_avx2(x + 64 * w, sh, n, t, _CMP_GT_OQ, 0, &m);
        else if (mask) s = bv_word_avx2(x + 64 * w, sh, n, t, _CMP_LT_OQ, 1, &m);
        else s = bv_word_avx2(x + 64 * w, sh, n, t, _CMP_LT_OQ, 0, &m);
        bits[w] = s;
        if (mask) { mask[w] = m; count += __builtin_popcountll(m); }
        else if (!is_sign) count += __builtin_popcountll(s);
    }
    return count;
}
#endif

#endif
