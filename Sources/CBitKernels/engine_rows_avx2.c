// AVX2 + FMA versions of the GSB attention row kernels (see include/bv_engine_rows.h and
// engine_rows_internal.h): the same computations as the AVX-512 kernels of engine_rows.c with
// 8 lanes per vector, and POPCNT on 64-bit words for the scores (AVX2 has no vector popcount).
#include "engine_rows_internal.h"

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>

#define BV_TARGET_AVX2 __attribute__((target("avx2,fma,popcnt")))

typedef int32_t bv_i32a __attribute__((may_alias));

/// Lane mask (all ones in lanes j < live) for 0 ≤ live ≤ 8.
static inline __attribute__((always_inline)) BV_TARGET_AVX2
__m256i lanes_below(int live) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(live), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/// Lane mask of the set bits of an 8-bit mask (lane j set when bit j is).
static inline __attribute__((always_inline)) BV_TARGET_AVX2
__m256i lanes_of_bits(unsigned bits) {
    const __m256i select = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    return _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32((int)bits), select), select);
}

// exp(x) as vecmath.c's fast_expf and engine_rows.c's exp_avx512 (range reduction by ln 2,
// Cephes degree-6 polynomial, the same fused operations lane by lane), 8 lanes.
static inline __attribute__((always_inline)) BV_TARGET_AVX2
__m256 exp_avx2(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.7f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

static inline __attribute__((always_inline)) BV_TARGET_AVX2
float reduce_max(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

static inline __attribute__((always_inline)) BV_TARGET_AVX2
float reduce_min(__m256 v) {
    __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_min_ps(m, _mm_movehl_ps(m, m));
    m = _mm_min_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

static inline __attribute__((always_inline)) BV_TARGET_AVX2
float reduce_add(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

BV_TARGET_AVX2
float bv_gsb_row_avx2(const uint64_t *q, const uint64_t *k, ptrdiff_t k_word_stride, int words, int n, float slope,
                      float offset, const float *b, float bias_min, float *x, float a1_bound, float ratio,
                      uint64_t *a1, uint64_t *cand, int32_t *a1_count) {
    // Scores: popcounts into x (as integers), then converted in place with the max.
    bv_i32a *counts = (bv_i32a *)x;
    if (words == 1) {
        const uint64_t q0 = q[0];
        for (int j = 0; j < n; j++) counts[j] = __builtin_popcountll(q0 ^ k[j]);
    } else {
        for (int j = 0; j < n; j++) {
            int c = 0;
            for (int w = 0; w < words; w++) c += __builtin_popcountll(q[w] ^ k[w * k_word_stride + j]);
            counts[j] = c;
        }
    }
    const __m256 p = _mm256_set1_ps(slope), o = _mm256_set1_ps(offset), minus_inf = _mm256_set1_ps(-__builtin_inff());
    __m256 m = minus_inf;
    int j = 0;
    for (; j + 8 <= n; j += 8) {
        const __m256 v = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(x + j))), p, o);
        _mm256_storeu_ps(x + j, v);
        m = _mm256_max_ps(m, v);
    }
    const int rest = n - j;
    const __m256i tail = lanes_below(rest);
    if (rest) {
        const __m256 v = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_maskload_epi32((const int *)(x + j), tail)), p, o);
        _mm256_maskstore_ps(x + j, tail, v);
        m = _mm256_max_ps(m, _mm256_blendv_ps(minus_inf, v, _mm256_castsi256_ps(tail)));
    }
    // e = exp(x − max), their sum.
    const __m256 mx = _mm256_set1_ps(reduce_max(m));
    __m256 sum = _mm256_setzero_ps();
    for (j = 0; j + 8 <= n; j += 8) {
        const __m256 e = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + j), mx));
        _mm256_storeu_ps(x + j, e);
        sum = _mm256_add_ps(sum, e);
    }
    if (rest) {
        const __m256 e = exp_avx2(_mm256_sub_ps(_mm256_maskload_ps(x + j, tail), mx));
        _mm256_maskstore_ps(x + j, tail, e);
        sum = _mm256_add_ps(sum, _mm256_and_ps(e, _mm256_castsi256_ps(tail)));
    }
    // P' = e·inv + bias (one rounding), its max, the group-1 plane and the candidates.
    const float inv1 = 1.0f / reduce_add(sum);
    const __m256 inv = _mm256_set1_ps(inv1);
    const __m256 t1 = _mm256_set1_ps(a1_bound), t2 = _mm256_set1_ps(ratio * __builtin_fmaf(1.0f, inv1, bias_min));
    __m256 top = minus_inf;
    int count = 0;
    for (int w = 0; w < (n + 63) / 64; w++) {
        uint64_t s1 = 0, s2 = 0;
        for (int c = 64 * w; c < 64 * w + 64 && c < n; c += 8) {
            const int live = n - c >= 8 ? 8 : n - c;
            __m256 v;
            if (live == 8) {
                v = _mm256_fmadd_ps(_mm256_loadu_ps(x + c), inv, b ? _mm256_loadu_ps(b + c) : _mm256_setzero_ps());
                _mm256_storeu_ps(x + c, v);
                top = _mm256_max_ps(top, v);
            } else {
                v = _mm256_fmadd_ps(_mm256_maskload_ps(x + c, tail), inv, b ? _mm256_maskload_ps(b + c, tail) : _mm256_setzero_ps());
                _mm256_maskstore_ps(x + c, tail, v);
                top = _mm256_max_ps(top, _mm256_blendv_ps(minus_inf, v, _mm256_castsi256_ps(tail)));
            }
            const unsigned keep = (1u << live) - 1;
            s1 |= (uint64_t)((unsigned)_mm256_movemask_ps(_mm256_cmp_ps(v, t1, _CMP_GT_OQ)) & keep) << (c - 64 * w);
            s2 |= (uint64_t)((unsigned)_mm256_movemask_ps(_mm256_cmp_ps(v, t2, _CMP_GT_OQ)) & keep) << (c - 64 * w);
        }
        a1[w] = s1;
        cand[w] = s2;
        count += __builtin_popcountll(s1);
    }
    *a1_count = count;
    return reduce_max(top);
}

BV_TARGET_AVX2
float bv_softmax_bias_max_row_avx2(const float *x, float *y, const float *b, int n, float scale) {
    const __m256 minus_inf = _mm256_set1_ps(-__builtin_inff());
    const int rest = n & 7;
    const __m256i tail = lanes_below(rest);
    const int full = n - rest;
    __m256 m = minus_inf;
    for (int j = 0; j < full; j += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + j));
    if (rest) m = _mm256_max_ps(m, _mm256_blendv_ps(minus_inf, _mm256_maskload_ps(x + full, tail), _mm256_castsi256_ps(tail)));
    const __m256 mx = _mm256_set1_ps(reduce_max(m)), sc = _mm256_set1_ps(scale);
    __m256 sum = _mm256_setzero_ps();
    for (int j = 0; j < full; j += 8) {
        const __m256 e = exp_avx2(_mm256_mul_ps(sc, _mm256_sub_ps(_mm256_loadu_ps(x + j), mx)));
        _mm256_storeu_ps(y + j, e);
        sum = _mm256_add_ps(sum, e);
    }
    if (rest) {
        const __m256 e = exp_avx2(_mm256_mul_ps(sc, _mm256_sub_ps(_mm256_maskload_ps(x + full, tail), mx)));
        _mm256_maskstore_ps(y + full, tail, e);
        sum = _mm256_add_ps(sum, _mm256_and_ps(e, _mm256_castsi256_ps(tail)));
    }
    const __m256 inv = _mm256_set1_ps(1.0f / reduce_add(sum));
    __m256 top = minus_inf;
    for (int j = 0; j < full; j += 8) {
        const __m256 v = _mm256_fmadd_ps(_mm256_loadu_ps(y + j), inv, b ? _mm256_loadu_ps(b + j) : _mm256_setzero_ps());
        _mm256_storeu_ps(y + j, v);
        top = _mm256_max_ps(top, v);
    }
    if (rest) {
        const __m256 v = _mm256_fmadd_ps(_mm256_maskload_ps(y + full, tail), inv, b ? _mm256_maskload_ps(b + full, tail) : _mm256_setzero_ps());
        _mm256_maskstore_ps(y + full, tail, v);
        top = _mm256_max_ps(top, _mm256_blendv_ps(minus_inf, v, _mm256_castsi256_ps(tail)));
    }
    return reduce_max(top);
}

BV_TARGET_AVX2
void bv_gsb_mask_word_avx2(const float *x, uint64_t s, int n_left, float bound1, float bound2, uint64_t *b1, uint64_t *b2) {
    const __m256 t1 = _mm256_set1_ps(bound1), t2 = _mm256_set1_ps(bound2);
    uint64_t r1 = 0, r2 = 0;
    for (int c = 0; c < 8 && 8 * c < n_left; c++) {
        const unsigned live = (unsigned)(s >> (8 * c)) & 0xFF;
        if (!live) continue;
        const __m256 v = _mm256_maskload_ps(x + 8 * c, lanes_of_bits(live));
        r1 |= (uint64_t)((unsigned)_mm256_movemask_ps(_mm256_cmp_ps(v, t1, _CMP_GT_OQ)) & live) << (8 * c);
        r2 |= (uint64_t)((unsigned)_mm256_movemask_ps(_mm256_cmp_ps(v, t2, _CMP_GT_OQ)) & live) << (8 * c);
    }
    *b1 = r1;
    *b2 = r2;
}

BV_TARGET_AVX2
void bv_pack_gsb_value_panels_avx2(const float *v, ptrdiff_t v_row_stride, const float *shift, int tokens, int features,
                                   const float *up, const float *down, uint32_t *panels, ptrdiff_t panel_dwords,
                                   ptrdiff_t plane_stride) {
    const __m256 zero = _mm256_setzero_ps();
    const __m256 u1 = _mm256_set1_ps(up[0]), d1 = _mm256_set1_ps(down[0]), u2 = _mm256_set1_ps(up[1]), d2 = _mm256_set1_ps(down[1]);
    const int dwords = (tokens + 31) / 32;
    // Eight features (half a panel) at a time: lane c holds feature f + c's dword.
    for (int f = 0; f < (features + 15) / 16 * 16; f += 8) {
        const __m256i live = lanes_below(features - f >= 8 ? 8 : (features > f ? features - f : 0));
        const __m256 s = _mm256_maskload_ps(shift + (f < features ? f : 0), live);
        uint32_t *panel = panels + (ptrdiff_t)(f / 16) * 16 * panel_dwords + f % 16;
        for (int d = 0; d < panel_dwords; d++) {
            __m256i p0 = _mm256_setzero_si256(), p1 = p0, p2 = p0;
            if (d < dwords && f < features) {
                const int t0 = 32 * d, t1 = t0 + 32 < tokens ? t0 + 32 : tokens;
                __m256i bit = _mm256_set1_epi32(1);
                for (int t = t0; t < t1; t++) {
                    const __m256 x = _mm256_add_ps(_mm256_maskload_ps(v + t * v_row_stride + f, live), s);
                    const __m256i neg = _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(x, zero, _CMP_LT_OQ)), live);
                    const __m256i g1 = _mm256_castps_si256(_mm256_or_ps(_mm256_cmp_ps(x, u1, _CMP_GT_OQ), _mm256_cmp_ps(x, d1, _CMP_LT_OQ)));
                    const __m256i g2 = _mm256_castps_si256(_mm256_or_ps(_mm256_cmp_ps(x, u2, _CMP_GT_OQ), _mm256_cmp_ps(x, d2, _CMP_LT_OQ)));
                    // Plane p (p ≥ 1) bit: live and not (negative xor beyond t_p).
                    p0 = _mm256_or_si256(p0, _mm256_and_si256(neg, bit));
                    p1 = _mm256_or_si256(p1, _mm256_and_si256(_mm256_andnot_si256(_mm256_xor_si256(neg, g1), live), bit));
                    p2 = _mm256_or_si256(p2, _mm256_and_si256(_mm256_andnot_si256(_mm256_xor_si256(neg, g2), live), bit));
                    bit = _mm256_slli_epi32(bit, 1);
                }
            }
            _mm256_storeu_si256((__m256i *)(panel + d * 16), p0);
            _mm256_storeu_si256((__m256i *)(panel + plane_stride + d * 16), p1);
            _mm256_storeu_si256((__m256i *)(panel + 2 * plane_stride + d * 16), p2);
        }
    }
}

BV_TARGET_AVX2
void bv_shift_minmax_rows_avx2(const float *src, ptrdiff_t src_stride, const float *shift, ptrdiff_t rows, ptrdiff_t cols,
                               float *lo, float *hi) {
    __m256 l = _mm256_set1_ps(*lo), h = _mm256_set1_ps(*hi);
    for (ptrdiff_t r = 0; r < rows; r++)
        for (ptrdiff_t j = 0; j < cols; j += 8) {
            const int live = cols - j >= 8 ? 8 : (int)(cols - j);
            const __m256i lanes = lanes_below(live);
            const __m256 x = _mm256_add_ps(_mm256_maskload_ps(src + r * src_stride + j, lanes), _mm256_maskload_ps(shift + j, lanes));
            l = _mm256_blendv_ps(l, _mm256_min_ps(l, x), _mm256_castsi256_ps(lanes));
            h = _mm256_blendv_ps(h, _mm256_max_ps(h, x), _mm256_castsi256_ps(lanes));
        }
    *lo = reduce_min(l);
    *hi = reduce_max(h);
}

/// Bit j of each 8-bit result: lane j of `v` is in [lo, hi] (`negative`), or in it or at least
/// `pos` (`nonzero`; a NaN is neither).
static inline __attribute__((always_inline)) BV_TARGET_AVX2
void interval_sign_bytes(__m256 v, __m256 lo, __m256 hi, __m256 pos, unsigned *negative, unsigned *nonzero) {
    const __m256 n = _mm256_and_ps(_mm256_cmp_ps(v, lo, _CMP_GE_OQ), _mm256_cmp_ps(v, hi, _CMP_LE_OQ));
    *negative = (unsigned)_mm256_movemask_ps(n);
    *nonzero = (unsigned)_mm256_movemask_ps(_mm256_or_ps(n, _mm256_cmp_ps(v, pos, _CMP_GE_OQ)));
}

BV_TARGET_AVX2
int bv_pack_interval_signs_row_avx2(const float *x, int k, float negative_from, float negative_through, float positive_from,
                                    uint64_t *bits, uint64_t *mask) {
    const __m256 lo = _mm256_set1_ps(negative_from), hi = _mm256_set1_ps(negative_through), pos = _mm256_set1_ps(positive_from);
    int count = 0;
    for (int j0 = 0; j0 < k; j0 += 64) {
        uint64_t b = 0, m = 0;
        unsigned nb, mb;
        if (k - j0 >= 64) {
            // Whole words: plain loads (a masked load costs several times more on some cores).
            for (int c = 0; c < 8; c++) {
                interval_sign_bytes(_mm256_loadu_ps(x + j0 + 8 * c), lo, hi, pos, &nb, &mb);
                b |= (uint64_t)nb << (8 * c);
                m |= (uint64_t)mb << (8 * c);
            }
        } else {
            for (int j = j0; j < k; j += 8) {
                const int live = k - j >= 8 ? 8 : k - j;
                interval_sign_bytes(_mm256_maskload_ps(x + j, lanes_below(live)), lo, hi, pos, &nb, &mb);
                const unsigned live_bits = (1u << live) - 1;
                b |= (uint64_t)(nb & live_bits) << (j - j0);
                m |= (uint64_t)(mb & live_bits) << (j - j0);
            }
        }
        bits[j0 / 64] = b;
        mask[j0 / 64] = m;
        count += __builtin_popcountll(m);
    }
    return count;
}

#endif
