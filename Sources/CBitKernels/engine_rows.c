// Row kernels of the inference engine's fused producers (see include/bv_engine_rows.h).
#include "engine_rows_internal.h"
#include <CBitViTPlatform.h>
#include "dispatch.h"
#include <stdint.h>

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>
#define BV_HAVE_X86 1
#endif

static int use_avx512(void) {
    static int cached = -1;
    if (cached < 0) cached = (bv_cpu_features() & BV_CPU_AVX512F) != 0;
    return cached;
}

/// The path of the GSB row kernels for `requested` (BV_KPATH_*): AVX-512 needs F, DQ and
/// VPOPCNTDQ, AVX2 needs AVX2, FMA and POPCNT; AUTO takes the best, a forced path the CPU
/// lacks the best one below it (NEON and SCALAR run the portable code).
static int row_path(int requested) {
    static int64_t cached = -1;
    if (cached < 0) cached = bv_cpu_features();
    const uint32_t f = (uint32_t)cached;
    const uint32_t avx512 = BV_CPU_AVX512F | BV_CPU_AVX512DQ | BV_CPU_AVX512VPOPCNTDQ;
    const uint32_t avx2 = BV_CPU_AVX2 | BV_CPU_FMA | BV_CPU_POPCNT;
    if (requested == BV_KPATH_NEON) return BV_KPATH_SCALAR;
    if (requested == BV_KPATH_AUTO) requested = BV_KPATH_AVX512;
#ifdef BV_HAVE_X86
    if (requested >= BV_KPATH_AVX512 && (f & avx512) == avx512) return BV_KPATH_AVX512;
    if (requested >= BV_KPATH_AVX2 && (f & avx2) == avx2) return BV_KPATH_AVX2;
#else
    (void)f; (void)avx512; (void)avx2;
#endif
    return BV_KPATH_SCALAR;
}

#ifdef BV_HAVE_X86
// exp(x) as vecmath.c's fast_expf (range reduction by ln 2, Cephes degree-6 polynomial), 16 lanes.
__attribute__((target("avx512f")))
static inline __m512 exp_avx512(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.7f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

/// One row: y = softmax(scale·x) + bias; returns max(y).
__attribute__((target("avx512f")))
static float softmax_bias_max_row_avx512(const float *x, float *y, const float *b, ptrdiff_t n, float scale) {
    __m512 m = _mm512_set1_ps(-__builtin_inff());
    ptrdiff_t i = 0;
    for (; i + 16 <= n; i += 16) m = _mm512_max_ps(m, _mm512_loadu_ps(x + i));
    const __mmask16 tail = (__mmask16)((1u << (n - i)) - 1);
    if (i < n) m = _mm512_mask_max_ps(m, tail, m, _mm512_maskz_loadu_ps(tail, x + i));
    const __m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(m)), sc = _mm512_set1_ps(scale);
    __m512 sum = _mm512_setzero_ps();
    for (i = 0; i + 16 <= n; i += 16) {
        const __m512 e = exp_avx512(_mm512_mul_ps(sc, _mm512_sub_ps(_mm512_loadu_ps(x + i), mx)));
        _mm512_storeu_ps(y + i, e);
        sum = _mm512_add_ps(sum, e);
    }
    if (i < n) {
        const __m512 e = exp_avx512(_mm512_mul_ps(sc, _mm512_sub_ps(_mm512_maskz_loadu_ps(tail, x + i), mx)));
        _mm512_mask_storeu_ps(y + i, tail, e);
        sum = _mm512_mask_add_ps(sum, tail, sum, e);
    }
    const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
    __m512 top = _mm512_set1_ps(-__builtin_inff());
    for (i = 0; i + 16 <= n; i += 16) {
        const __m512 v = _mm512_fmadd_ps(_mm512_loadu_ps(y + i), inv, b ? _mm512_loadu_ps(b + i) : _mm512_setzero_ps());
        _mm512_storeu_ps(y + i, v);
        top = _mm512_max_ps(top, v);
    }
    if (i < n) {
        const __m512 v = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, y + i), inv, b ? _mm512_maskz_loadu_ps(tail, b + i) : _mm512_setzero_ps());
        _mm512_mask_storeu_ps(y + i, tail, v);
        top = _mm512_mask_max_ps(top, tail, top, v);
    }
    return _mm512_reduce_max_ps(top);
}

__attribute__((target("avx512f")))
static void add_shift_minmax_avx512(const float *src, const float *shift, float *dst, ptrdiff_t n, __m512 *lo, __m512 *hi) {
    ptrdiff_t j = 0;
    for (; j + 16 <= n; j += 16) {
        const __m512 v = _mm512_add_ps(_mm512_loadu_ps(src + j), _mm512_loadu_ps(shift + j));
        _mm512_storeu_ps(dst + j, v);
        *lo = _mm512_min_ps(*lo, v);
        *hi = _mm512_max_ps(*hi, v);
    }
    if (j < n) {
        const __mmask16 live = (__mmask16)((1u << (n - j)) - 1);
        const __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(live, src + j), _mm512_maskz_loadu_ps(live, shift + j));
        _mm512_mask_storeu_ps(dst + j, live, v);
        *lo = _mm512_mask_min_ps(*lo, live, *lo, v);
        *hi = _mm512_mask_max_ps(*hi, live, *hi, v);
    }
}

__attribute__((target("avx512f")))
static void add_shift_minmax_rows_avx512(const float *src, ptrdiff_t ss, const float *shift, float *dst, ptrdiff_t ds,
                                         ptrdiff_t rows, ptrdiff_t cols, float *lo, float *hi) {
    __m512 l = _mm512_set1_ps(*lo), h = _mm512_set1_ps(*hi);
    for (ptrdiff_t r = 0; r < rows; r++) add_shift_minmax_avx512(src + r * ss, shift, dst + r * ds, cols, &l, &h);
    *lo = _mm512_reduce_min_ps(l);
    *hi = _mm512_reduce_max_ps(h);
}

__attribute__((target("avx512f")))
static uint64_t outside_word_avx512(const float *x, const float *above, const float *below, int n) {
    uint64_t s = 0;
    for (int j = 0; j < n; j += 16) {
        const __mmask16 live = (__mmask16)(n - j >= 16 ? 0xFFFF : (1u << (n - j)) - 1);
        const __m512 v = _mm512_maskz_loadu_ps(live, x + j);
        const __mmask16 gt = _mm512_mask_cmp_ps_mask(live, v, _mm512_maskz_loadu_ps(live, above + j), _CMP_GT_OQ);
        const __mmask16 lt = _mm512_mask_cmp_ps_mask(live, v, _mm512_maskz_loadu_ps(live, below + j), _CMP_LT_OQ);
        s |= (uint64_t)(uint16_t)(gt | lt) << j;
    }
    return s;
}
#endif

float bv_softmax_bias_max_rows(const float *x, float *y, const float *bias, ptrdiff_t rows, ptrdiff_t cols, float scale) {
#ifdef BV_HAVE_X86
    if (use_avx512()) {
        float m = -__builtin_inff();
        for (ptrdiff_t r = 0; r < rows; r++) {
            const float v = softmax_bias_max_row_avx512(x + r * cols, y + r * cols, bias ? bias + r * cols : NULL, cols, scale);
            m = v > m ? v : m;
        }
        return m;
    }
    if (cols <= 1 << 24 && row_path(BV_KPATH_AUTO) == BV_KPATH_AVX2) {
        float m = -__builtin_inff();
        for (ptrdiff_t r = 0; r < rows; r++) {
            const float v = bv_softmax_bias_max_row_avx2(x + r * cols, y + r * cols, bias ? bias + r * cols : NULL, (int)cols, scale);
            m = v > m ? v : m;
        }
        return m;
    }
#endif
    bv_softmax_rows_f32(x, y, rows, cols, scale);
    const ptrdiff_t n = rows * cols;
    float m = -__builtin_inff();
    for (ptrdiff_t i = 0; i < n; i++) {
        if (bias) y[i] += bias[i];
        m = y[i] > m ? y[i] : m;
    }
    return m;
}

void bv_add_shift_minmax_rows(const float *src, ptrdiff_t src_stride, const float *shift, float *dst,
                              ptrdiff_t dst_stride, ptrdiff_t rows, ptrdiff_t cols, float *lo, float *hi) {
#ifdef BV_HAVE_X86
    if (use_avx512()) { add_shift_minmax_rows_avx512(src, src_stride, shift, dst, dst_stride, rows, cols, lo, hi); return; }
#endif
    float l = *lo, h = *hi;
    for (ptrdiff_t r = 0; r < rows; r++)
        for (ptrdiff_t j = 0; j < cols; j++) {
            const float v = src[r * src_stride + j] + shift[j];
            dst[r * dst_stride + j] = v;
            l = v < l ? v : l;
            h = v > h ? v : h;
        }
    *lo = l;
    *hi = h;
}

#ifdef BV_HAVE_X86
__attribute__((target("avx512f")))
static void pack_outside_rows_avx512(const float *x, ptrdiff_t x_row_stride, int rows, int k, const float *above,
                                     const float *below, uint64_t *bits, ptrdiff_t row_stride, int32_t *row_counts) {
    const int words = (k + 63) / 64;
    for (int r = 0; r < rows; r++) {
        int count = 0;
        for (int w = 0; w < words; w++) {
            const int j0 = 64 * w, n = k - j0 < 64 ? k - j0 : 64;
            const uint64_t s = outside_word_avx512(x + r * x_row_stride + j0, above + j0, below + j0, n);
            bits[r * row_stride + w] = s;
            count += __builtin_popcountll(s);
        }
        if (row_counts) row_counts[r] = count;
    }
}

/// GSB's V̂ planes of contiguous rows: plane 0 bit = v < 0, plane p bit = (v < 0) xor not beyond t_p.
__attribute__((target("avx512f")))
static void pack_gsb_rows_avx512(const float *x, ptrdiff_t x_row_stride, int rows, int k, const float *up, const float *down,
                                 uint64_t *bits, ptrdiff_t row_stride, ptrdiff_t plane_stride) {
    const int words = (k + 63) / 64;
    const __m512 zero = _mm512_setzero_ps();
    const __m512 u1 = _mm512_set1_ps(up[0]), d1 = _mm512_set1_ps(down[0]), u2 = _mm512_set1_ps(up[1]), d2 = _mm512_set1_ps(down[1]);
    for (int r = 0; r < rows; r++) {
        const float *row = x + r * x_row_stride;
        for (int w = 0; w < words; w++) {
            uint64_t p0 = 0, p1 = 0, p2 = 0;
            for (int j = 64 * w; j < 64 * w + 64 && j < k; j += 16) {
                const __mmask16 live = (__mmask16)(k - j >= 16 ? 0xFFFF : (1u << (k - j)) - 1);
                const __m512 v = _mm512_maskz_loadu_ps(live, row + j);
                const __mmask16 neg = _mm512_mask_cmp_ps_mask(live, v, zero, _CMP_LT_OQ);
                const __mmask16 t1 = _mm512_cmp_ps_mask(v, u1, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, d1, _CMP_LT_OQ);
                const __mmask16 t2 = _mm512_cmp_ps_mask(v, u2, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, d2, _CMP_LT_OQ);
                const int shift = j - 64 * w;
                p0 |= (uint64_t)neg << shift;
                p1 |= (uint64_t)(uint16_t)((neg ^ (__mmask16)~t1) & live) << shift;
                p2 |= (uint64_t)(uint16_t)((neg ^ (__mmask16)~t2) & live) << shift;
            }
            bits[r * row_stride + w] = p0;
            bits[plane_stride + r * row_stride + w] = p1;
            bits[2 * plane_stride + r * row_stride + w] = p2;
        }
    }
}
#endif

void bv_pack_outside_rows(const float *x, ptrdiff_t x_row_stride, int rows, int k, const float *above,
                          const float *below, uint64_t *bits, ptrdiff_t row_stride, int32_t *row_counts) {
#ifdef BV_HAVE_X86
    if (use_avx512()) { pack_outside_rows_avx512(x, x_row_stride, rows, k, above, below, bits, row_stride, row_counts); return; }
#endif
    const int words = (k + 63) / 64;
    for (int r = 0; r < rows; r++) {
        const float *row = x + r * x_row_stride;
        int count = 0;
        for (int w = 0; w < words; w++) {
            const int j0 = 64 * w, n = k - j0 < 64 ? k - j0 : 64;
            uint64_t s = 0;
            for (int j = 0; j < n; j++) s |= (uint64_t)(row[j0 + j] > above[j0 + j] || row[j0 + j] < below[j0 + j]) << j;
            bits[r * row_stride + w] = s;
            count += __builtin_popcountll(s);
        }
        if (row_counts) row_counts[r] = count;
    }
}

#ifdef BV_HAVE_X86
__attribute__((target("avx512f")))
static void transpose_add_shift_minmax_avx512(const float *src, ptrdiff_t src_stride, const float *shift, float *dst,
                                              ptrdiff_t rows, ptrdiff_t cols, float *lo, float *hi) {
    __m512 l = _mm512_set1_ps(*lo), h = _mm512_set1_ps(*hi);
    const __m512i column = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                              _mm512_set1_epi32((int)rows));
    for (ptrdiff_t r = 0; r < rows; r++) {
        for (ptrdiff_t j = 0; j < cols; j += 16) {
            const __mmask16 live = (__mmask16)(cols - j >= 16 ? 0xFFFF : (1u << (cols - j)) - 1);
            const __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(live, src + r * src_stride + j), _mm512_maskz_loadu_ps(live, shift + j));
            _mm512_mask_i32scatter_ps(dst + j * rows + r, live, column, v, 4);
            l = _mm512_mask_min_ps(l, live, l, v);
            h = _mm512_mask_max_ps(h, live, h, v);
        }
    }
    *lo = _mm512_reduce_min_ps(l);
    *hi = _mm512_reduce_max_ps(h);
}

/// Three {0,1} planes of contiguous rows in one pass: plane p bit = x > t[p].
__attribute__((target("avx512f")))
static void pack_three_thresholds_avx512(const float *x, ptrdiff_t x_row_stride, int rows, int k, const float *t,
                                         uint64_t *bits, ptrdiff_t row_stride, ptrdiff_t plane_stride, int32_t *counts) {
    const int words = (k + 63) / 64;
    const __m512 t0 = _mm512_set1_ps(t[0]), t1 = _mm512_set1_ps(t[1]), t2 = _mm512_set1_ps(t[2]);
    for (int r = 0; r < rows; r++) {
        const float *row = x + r * x_row_stride;
        int c0 = 0, c1 = 0, c2 = 0;
        for (int w = 0; w < words; w++) {
            uint64_t p0 = 0, p1 = 0, p2 = 0;
            for (int j = 64 * w; j < 64 * w + 64 && j < k; j += 16) {
                const __mmask16 live = (__mmask16)(k - j >= 16 ? 0xFFFF : (1u << (k - j)) - 1);
                const __m512 v = _mm512_maskz_loadu_ps(live, row + j);
                const int shift = j - 64 * w;
                p0 |= (uint64_t)_mm512_mask_cmp_ps_mask(live, v, t0, _CMP_GT_OQ) << shift;
                p1 |= (uint64_t)_mm512_mask_cmp_ps_mask(live, v, t1, _CMP_GT_OQ) << shift;
                p2 |= (uint64_t)_mm512_mask_cmp_ps_mask(live, v, t2, _CMP_GT_OQ) << shift;
            }
            bits[r * row_stride + w] = p0;
            bits[plane_stride + r * row_stride + w] = p1;
            bits[2 * plane_stride + r * row_stride + w] = p2;
            c0 += __builtin_popcountll(p0); c1 += __builtin_popcountll(p1); c2 += __builtin_popcountll(p2);
        }
        counts[r] = c0;
        counts[rows + r] = c1;
        counts[2 * rows + r] = c2;
    }
}
#endif

void bv_pack_three_thresholds_rows(const float *x, ptrdiff_t x_row_stride, int rows, int k, const float *thresholds,
                                   uint64_t *bits, ptrdiff_t row_stride, ptrdiff_t plane_stride, int32_t *row_counts) {
#ifdef BV_HAVE_X86
    if (use_avx512()) {
        pack_three_thresholds_avx512(x, x_row_stride, rows, k, thresholds, bits, row_stride, plane_stride, row_counts);
        return;
    }
#endif
    bv_pack_thresholds(x, x_row_stride, 1, rows, k, NULL, thresholds, 3, bits, row_stride, plane_stride, row_counts,
                       BV_KPATH_AUTO);
}

void bv_transpose_add_shift_minmax(const float *src, ptrdiff_t src_stride, const float *shift, float *dst,
                                   ptrdiff_t rows, ptrdiff_t cols, float *lo, float *hi) {
#ifdef BV_HAVE_X86
    if (use_avx512()) { transpose_add_shift_minmax_avx512(src, src_stride, shift, dst, rows, cols, lo, hi); return; }
#endif
    float l = *lo, h = *hi;
    for (ptrdiff_t r = 0; r < rows; r++)
        for (ptrdiff_t j = 0; j < cols; j++) {
            const float v = src[r * src_stride + j] + shift[j];
            dst[j * rows + r] = v;
            l = v < l ? v : l;
            h = v > h ? v : h;
        }
    *lo = l;
    *hi = h;
}

void bv_pack_gsb_planes_rows(const float *x, ptrdiff_t x_row_stride, int rows, int k, const float *up, const float *down,
                             uint64_t *bits, ptrdiff_t row_stride, ptrdiff_t plane_stride) {
#ifdef BV_HAVE_X86
    if (use_avx512()) { pack_gsb_rows_avx512(x, x_row_stride, rows, k, up, down, bits, row_stride, plane_stride); return; }
#endif
    bv_pack_gsb_signed_planes(x, x_row_stride, 1, rows, k, up[0], down[0], up[1], down[1], bits, row_stride, plane_stride);
}

// MARK: GSB V̂ straight into the GEMM's panel layout

#ifdef BV_HAVE_X86
__attribute__((target("avx512f")))
static void pack_gsb_value_panels_avx512(const float *v, ptrdiff_t v_row_stride, const float *shift, int tokens, int features,
                                         const float *up, const float *down, uint32_t *panels, ptrdiff_t panel_dwords,
                                         ptrdiff_t plane_stride) {
    const __m512 zero = _mm512_setzero_ps();
    const __m512 u1 = _mm512_set1_ps(up[0]), d1 = _mm512_set1_ps(down[0]), u2 = _mm512_set1_ps(up[1]), d2 = _mm512_set1_ps(down[1]);
    const int dwords = (tokens + 31) / 32;
    for (int f = 0; f < features; f += 16) {
        const __mmask16 live = (__mmask16)(features - f >= 16 ? 0xFFFF : (1u << (features - f)) - 1);
        const __m512 s = _mm512_maskz_loadu_ps(live, shift + f);
        uint32_t *panel = panels + (ptrdiff_t)(f / 16) * 16 * panel_dwords;
        for (int d = 0; d < panel_dwords; d++) {
            __m512i p0 = _mm512_setzero_si512(), p1 = p0, p2 = p0;
            if (d < dwords) {
                const int t0 = 32 * d, t1 = t0 + 32 < tokens ? t0 + 32 : tokens;
                __m512i bit = _mm512_set1_epi32(1);
                for (int t = t0; t < t1; t++) {
                    const __m512 x = _mm512_add_ps(_mm512_maskz_loadu_ps(live, v + t * v_row_stride + f), s);
                    const __mmask16 neg = _mm512_mask_cmp_ps_mask(live, x, zero, _CMP_LT_OQ);
                    const __mmask16 g1 = _mm512_cmp_ps_mask(x, u1, _CMP_GT_OQ) | _mm512_cmp_ps_mask(x, d1, _CMP_LT_OQ);
                    const __mmask16 g2 = _mm512_cmp_ps_mask(x, u2, _CMP_GT_OQ) | _mm512_cmp_ps_mask(x, d2, _CMP_LT_OQ);
                    p0 = _mm512_mask_or_epi32(p0, neg, p0, bit);
                    p1 = _mm512_mask_or_epi32(p1, (__mmask16)((neg ^ (__mmask16)~g1) & live), p1, bit);
                    p2 = _mm512_mask_or_epi32(p2, (__mmask16)((neg ^ (__mmask16)~g2) & live), p2, bit);
                    bit = _mm512_slli_epi32(bit, 1);
                }
            }
            _mm512_store_si512(panel + d * 16, p0);
            _mm512_store_si512(panel + plane_stride + d * 16, p1);
            _mm512_store_si512(panel + 2 * plane_stride + d * 16, p2);
        }
    }
}
#endif

void bv_pack_gsb_value_panels(const float *v, ptrdiff_t v_row_stride, const float *shift, int tokens, int features,
                              const float *up, const float *down, uint32_t *panels, ptrdiff_t panel_dwords,
                              ptrdiff_t plane_stride, int path) {
#ifdef BV_HAVE_X86
    switch (row_path(path)) {
    case BV_KPATH_AVX512:
        pack_gsb_value_panels_avx512(v, v_row_stride, shift, tokens, features, up, down, panels, panel_dwords, plane_stride);
        return;
    case BV_KPATH_AVX2:
        bv_pack_gsb_value_panels_avx2(v, v_row_stride, shift, tokens, features, up, down, panels, panel_dwords, plane_stride);
        return;
    }
#endif
    const int npanels = (features + 15) / 16;
    for (int p = 0; p < npanels; p++)
        for (int d = 0; d < panel_dwords; d++)
            for (int c = 0; c < 16; c++) {
                const int f = 16 * p + c;
                uint32_t b0 = 0, b1 = 0, b2 = 0;
                for (int t = 32 * d; f < features && t < 32 * d + 32 && t < tokens; t++) {
                    const float x = v[t * v_row_stride + f] + shift[f];
                    const uint32_t neg = x < 0, g1 = x > up[0] || x < down[0], g2 = x > up[1] || x < down[1];
                    b0 |= neg << (t - 32 * d);
                    b1 |= (neg ^ !g1) << (t - 32 * d);
                    b2 |= (neg ^ !g2) << (t - 32 * d);
                }
                uint32_t *at = panels + ((ptrdiff_t)p * panel_dwords + d) * 16 + c;
                at[0] = b0;
                at[plane_stride] = b1;
                at[2 * plane_stride] = b2;
            }
}

#ifdef BV_HAVE_X86
__attribute__((target("avx512f")))
static void shift_minmax_rows_avx512(const float *src, ptrdiff_t src_stride, const float *shift, ptrdiff_t rows, ptrdiff_t cols,
                                     float *lo, float *hi) {
    __m512 l = _mm512_set1_ps(*lo), h = _mm512_set1_ps(*hi);
    for (ptrdiff_t r = 0; r < rows; r++)
        for (ptrdiff_t j = 0; j < cols; j += 16) {
            const __mmask16 live = (__mmask16)(cols - j >= 16 ? 0xFFFF : (1u << (cols - j)) - 1);
            const __m512 x = _mm512_add_ps(_mm512_maskz_loadu_ps(live, src + r * src_stride + j), _mm512_maskz_loadu_ps(live, shift + j));
            l = _mm512_mask_min_ps(l, live, l, x);
            h = _mm512_mask_max_ps(h, live, h, x);
        }
    *lo = _mm512_reduce_min_ps(l);
    *hi = _mm512_reduce_max_ps(h);
}
#endif

void bv_shift_minmax_rows(const float *src, ptrdiff_t src_stride, const float *shift, ptrdiff_t rows, ptrdiff_t cols,
                          float *lo, float *hi, int path) {
#ifdef BV_HAVE_X86
    switch (row_path(path)) {
    case BV_KPATH_AVX512: shift_minmax_rows_avx512(src, src_stride, shift, rows, cols, lo, hi); return;
    case BV_KPATH_AVX2: bv_shift_minmax_rows_avx2(src, src_stride, shift, rows, cols, lo, hi); return;
    }
#endif
    float l = *lo, h = *hi;
    for (ptrdiff_t r = 0; r < rows; r++)
        for (ptrdiff_t j = 0; j < cols; j++) {
            const float x = src[r * src_stride + j] + shift[j];
            l = x < l ? x : l;
            h = x > h ? x : h;
        }
    *lo = l;
    *hi = h;
}

void bv_pack_interval_signs_rows(const float *x, ptrdiff_t x_row_stride, int rows, int k, float negative_from,
                                 float negative_through, float positive_from, uint64_t *bits, uint64_t *mask,
                                 ptrdiff_t row_stride, int32_t *row_counts, int path) {
    const int words = (k + 63) / 64;
    for (int r = 0; r < rows; r++) {
        const float *row = x + r * x_row_stride;
        uint64_t *b = bits + r * row_stride, *m = mask + r * row_stride;
        int count = 0;
#ifdef BV_HAVE_X86
        if (row_path(path) != BV_KPATH_SCALAR) {
            count = bv_pack_interval_signs_row_avx2(row, k, negative_from, negative_through, positive_from, b, m);
            if (row_counts) row_counts[r] = count;
            continue;
        }
#endif
        for (int w = 0; w < words; w++) {
            const int j0 = 64 * w, n = k - j0 < 64 ? k - j0 : 64;
            uint64_t sb = 0, sm = 0;
            for (int j = 0; j < n; j++) {
                const float v = row[j0 + j];
                const int negative = v >= negative_from && v <= negative_through;
                sb |= (uint64_t)negative << j;
                sm |= (uint64_t)(negative || v >= positive_from) << j;
            }
            b[w] = sb;
            m[w] = sm;
            count += __builtin_popcountll(sm);
        }
        if (row_counts) row_counts[r] = count;
    }
}

// MARK: GSB attention rows: scores + softmax + B_att + GSB_A planes in one pass per row

/// Bits of one row: plane bit j = x[j] > t (strict), bits past n zero; returns the popcount.
static int threshold_bits_row(const float *x, int n, float t, uint64_t *bits) {
    int count = 0;
    for (int w = 0; w < (n + 63) / 64; w++) {
        uint64_t s = 0;
        for (int j = 64 * w; j < 64 * w + 64 && j < n; j++) s |= (uint64_t)(x[j] > t) << (j - 64 * w);
        bits[w] = s;
        count += __builtin_popcountll(s);
    }
    return count;
}

#ifdef BV_HAVE_X86
/// One GSB attention row in three passes over the row in L1 (scores + max; exp + sum; P' +
/// planes), computing the XNOR-popcount scores and then exactly what
/// `softmax_bias_max_row_avx512` (scale 1) computes. The candidate bound uses the lower bound
/// `fl(inv + min(bias))` of max(P') (the arg-max of the scores has e = 1 exactly), so no
/// fourth pass waits for max(P'). Returns max(P'); `*a1_count` gets the group-1 popcount.
__attribute__((target("avx512f,avx512dq,avx512vpopcntdq")))
static float gsb_row_avx512(const uint64_t *q, const uint64_t *k, ptrdiff_t k_word_stride, int words, int n, float slope,
                            float offset, const float *b, float bias_min, float *x, float a1_bound, float ratio,
                            uint64_t *a1, uint64_t *cand, int32_t *a1_count) {
    const __m512 p = _mm512_set1_ps(slope), o = _mm512_set1_ps(offset);
    __m512 m = _mm512_set1_ps(-__builtin_inff());
    for (int j = 0; j < n; j += 16) {
        const int live = n - j >= 16 ? 16 : n - j;
        const __mmask8 lo = (__mmask8)(live >= 8 ? 0xFF : (1u << live) - 1);
        const __mmask8 hi = (__mmask8)(live >= 16 ? 0xFF : live > 8 ? (1u << (live - 8)) - 1 : 0);
        const __mmask16 mask = (__mmask16)(live >= 16 ? 0xFFFF : (1u << live) - 1);
        __m512i c0 = _mm512_setzero_si512(), c1 = _mm512_setzero_si512();
        for (int w = 0; w < words; w++) {
            const __m512i qw = _mm512_set1_epi64((long long)q[w]);
            const uint64_t *kw = k + w * k_word_stride + j;
            c0 = _mm512_add_epi64(c0, _mm512_popcnt_epi64(_mm512_xor_si512(qw, _mm512_maskz_loadu_epi64(lo, kw))));
            c1 = _mm512_add_epi64(c1, _mm512_popcnt_epi64(_mm512_xor_si512(qw, _mm512_maskz_loadu_epi64(hi, kw + 8))));
        }
        const __m512 c = _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtepi64_ps(c0)), _mm512_cvtepi64_ps(c1), 1);
        const __m512 v = _mm512_fmadd_ps(c, p, o);
        _mm512_mask_storeu_ps(x + j, mask, v);
        m = _mm512_mask_max_ps(m, mask, m, v);
    }
    const __m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(m)), sc = _mm512_set1_ps(1.0f);
    __m512 sum = _mm512_setzero_ps();
    int i = 0;
    const __mmask16 tail = (__mmask16)((1u << (n & 15)) - 1);
    for (; i + 16 <= n; i += 16) {
        const __m512 e = exp_avx512(_mm512_mul_ps(sc, _mm512_sub_ps(_mm512_loadu_ps(x + i), mx)));
        _mm512_storeu_ps(x + i, e);
        sum = _mm512_add_ps(sum, e);
    }
    if (i < n) {
        const __m512 e = exp_avx512(_mm512_mul_ps(sc, _mm512_sub_ps(_mm512_maskz_loadu_ps(tail, x + i), mx)));
        _mm512_mask_storeu_ps(x + i, tail, e);
        sum = _mm512_mask_add_ps(sum, tail, sum, e);
    }
    const float inv1 = 1.0f / _mm512_reduce_add_ps(sum);
    const __m512 inv = _mm512_set1_ps(inv1);
    const __m512 t1 = _mm512_set1_ps(a1_bound), t2 = _mm512_set1_ps(ratio * __builtin_fmaf(1.0f, inv1, bias_min));
    __m512 top = _mm512_set1_ps(-__builtin_inff());
    int count = 0;
    for (int w = 0; w < (n + 63) / 64; w++) {
        uint64_t s1 = 0, s2 = 0;
        for (int j = 64 * w; j < 64 * w + 64 && j < n; j += 16) {
            const __mmask16 live = (__mmask16)(n - j >= 16 ? 0xFFFF : (1u << (n - j)) - 1);
            const __m512 v = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(live, x + j), inv, b ? _mm512_maskz_loadu_ps(live, b + j) : _mm512_setzero_ps());
            _mm512_mask_storeu_ps(x + j, live, v);
            top = _mm512_mask_max_ps(top, live, top, v);
            s1 |= (uint64_t)_mm512_mask_cmp_ps_mask(live, v, t1, _CMP_GT_OQ) << (j - 64 * w);
            s2 |= (uint64_t)_mm512_mask_cmp_ps_mask(live, v, t2, _CMP_GT_OQ) << (j - 64 * w);
        }
        a1[w] = s1;
        cand[w] = s2;
        count += __builtin_popcountll(s1);
    }
    *a1_count = count;
    return _mm512_reduce_max_ps(top);
}
#endif

float bv_gsb_attention_rows(const uint64_t *q, ptrdiff_t q_row_stride, const uint64_t *k, ptrdiff_t k_word_stride, int words,
                            int rows, int n, int d, float scale, const float *bias, const float *bias_row_min, float *p,
                            float a1_bound, float ratio, uint64_t *a1_bits, uint64_t *candidates, ptrdiff_t bits_row_stride,
                            int32_t *a1_counts, int path) {
    // x_j = scale·(d − 2·popcount(q ^ k_j)), evaluated as the binary GEMM's output transform does.
    const float slope = -2.0f * scale, offset = scale * (float)d;
    float top = -__builtin_inff();
#ifdef BV_HAVE_X86
    const int vector = n <= 1 << 24 ? row_path(path) : BV_KPATH_SCALAR;
    if (vector != BV_KPATH_SCALAR) {
        for (int r = 0; r < rows; r++) {
            // B_att (12 × 6 × 198 × 198 floats in DeiT-S) streams from memory once per image:
            // fetch two rows ahead, non-temporal so that it does not evict P' from L2.
            if (bias && r + 2 < rows)
                for (int c = 0; c < n; c += 16) _mm_prefetch((const char *)(bias + (ptrdiff_t)(r + 2) * n + c), _MM_HINT_NTA);
            const float *b = bias ? bias + (ptrdiff_t)r * n : NULL;
            const float bmin = bias ? bias_row_min[r] : 0.0f;
            float *x = p + (ptrdiff_t)r * n;
            uint64_t *a1 = a1_bits + r * bits_row_stride, *cand = candidates + r * bits_row_stride;
            const float m = vector == BV_KPATH_AVX512
                ? gsb_row_avx512(q + r * q_row_stride, k, k_word_stride, words, n, slope, offset, b, bmin, x, a1_bound, ratio,
                                 a1, cand, a1_counts + r)
                : bv_gsb_row_avx2(q + r * q_row_stride, k, k_word_stride, words, n, slope, offset, b, bmin, x, a1_bound, ratio,
                                  a1, cand, a1_counts + r);
            top = m > top ? m : top;
        }
        return top;
    }
#else
    (void)path;
#endif
    for (int r = 0; r < rows; r++) {
        float *x = p + (ptrdiff_t)r * n;
        const uint64_t *qr = q + r * q_row_stride;
        for (int j = 0; j < n; j++) {
            int c = 0;
            for (int w = 0; w < words; w++) c += __builtin_popcountll(qr[w] ^ k[w * k_word_stride + j]);
            x[j] = __builtin_fmaf((float)c, slope, offset);
        }
        bv_softmax_rows_f32(x, x, 1, n, 1.0f);
        float m = -__builtin_inff();
        for (int j = 0; j < n; j++) {
            if (bias) x[j] += bias[(ptrdiff_t)r * n + j];
            m = x[j] > m ? x[j] : m;
        }
        top = m > top ? m : top;
        uint64_t *a1 = a1_bits + r * bits_row_stride, *cand = candidates + r * bits_row_stride;
        a1_counts[r] = threshold_bits_row(x, n, a1_bound, a1);
        threshold_bits_row(x, n, ratio * m, cand);
    }
    return top;
}

#ifdef BV_HAVE_X86
/// The two planes of one 64-element word, testing only the candidate bits `s`.
__attribute__((target("avx512f")))
static void mask_planes_word_avx512(const float *x, uint64_t s, float bound1, float bound2, uint64_t *b1, uint64_t *b2) {
    const __m512 t1 = _mm512_set1_ps(bound1), t2 = _mm512_set1_ps(bound2);
    uint64_t r1 = 0, r2 = 0;
    for (int c = 0; c < 4; c++) {
        const __mmask16 live = (__mmask16)(s >> (16 * c));
        if (!live) continue;
        const __m512 v = _mm512_maskz_loadu_ps(live, x + 16 * c);
        r1 |= (uint64_t)_mm512_mask_cmp_ps_mask(live, v, t1, _CMP_GT_OQ) << (16 * c);
        r2 |= (uint64_t)_mm512_mask_cmp_ps_mask(live, v, t2, _CMP_GT_OQ) << (16 * c);
    }
    *b1 = r1;
    *b2 = r2;
}
#endif

void bv_gsb_mask_planes_rows(const float *p, int rows, int n, const uint64_t *candidates, ptrdiff_t bits_row_stride,
                             float bound1, float bound2, uint64_t *t1_bits, uint64_t *t2_bits, int32_t *t1_counts,
                             int32_t *t2_counts, int path) {
    const int words = (n + 63) / 64;
#ifdef BV_HAVE_X86
    const int vector = row_path(path);
#else
    (void)path;
#endif
    for (int r = 0; r < rows; r++) {
        const float *x = p + (ptrdiff_t)r * n;
        int c1 = 0, c2 = 0;
        for (int w = 0; w < words; w++) {
            uint64_t s = candidates[r * bits_row_stride + w], b1 = 0, b2 = 0;
#ifdef BV_HAVE_X86
            if (vector == BV_KPATH_AVX512 && s) mask_planes_word_avx512(x + 64 * w, s, bound1, bound2, &b1, &b2);
            else if (vector == BV_KPATH_AVX2 && s) bv_gsb_mask_word_avx2(x + 64 * w, s, n - 64 * w, bound1, bound2, &b1, &b2);
            else
#endif
                while (s) {
                    const int i = __builtin_ctzll(s);
                    s &= s - 1;
                    const float v = x[64 * w + i];
                    b1 |= (uint64_t)(v > bound1) << i;
                    b2 |= (uint64_t)(v > bound2) << i;
                }
            t1_bits[r * bits_row_stride + w] = b1;
            t2_bits[r * bits_row_stride + w] = b2;
            c1 += __builtin_popcountll(b1);
            c2 += __builtin_popcountll(b2);
        }
        t1_counts[r] = c1;
        t2_counts[r] = c2;
    }
}

// MARK: Quantizer rows (Q-ViT's ActQ: one step and zero point per channel or per head)

// `PC` (1 per channel, 0 one for all) is a compile-time constant in both instantiations, so
// the loops vectorize (division, clamp, vroundps) for each BV_CLONES target.
#define BV_QUANTIZE_ROWS(PC)                                                                      \
    for (int r = 0; r < rows; r++) {                                                            \
        const float *xr = x + r * x_row_stride;                                                 \
        if (codes) {                                                                            \
            uint8_t *cr = codes + r * code_row_stride;                                          \
            for (int j = 0; j < k; j++) {                                                       \
                float u = xr[j] / step[PC * j] + zero[PC * j];                                  \
                u = u < qn ? qn : u;                                                            \
                u = u > qp ? qp : u;                                                            \
                cr[j] = (uint8_t)(int)(__builtin_rintf(u) - qn);                                \
            }                                                                                   \
        }                                                                                       \
        if (values) {                                                                           \
            float *vr = values + r * value_row_stride;                                          \
            for (int j = 0; j < k; j++) {                                                       \
                float u = xr[j] / step[PC * j] + zero[PC * j];                                  \
                u = u < qn ? qn : u;                                                            \
                u = u > qp ? qp : u;                                                            \
                vr[j] = (__builtin_rintf(u) - zero[PC * j]) * step[PC * j];                     \
            }                                                                                   \
        }                                                                                       \
    }

BV_CLONES
void bv_quantize_levels_rows(const float *x, ptrdiff_t x_row_stride, int rows, int k, const float *step, const float *zero,
                             int per_channel, float qn, float qp, uint8_t *codes, ptrdiff_t code_row_stride,
                             float *values, ptrdiff_t value_row_stride) {
    if (per_channel) { BV_QUANTIZE_ROWS(1) } else { BV_QUANTIZE_ROWS(0) }
}
#undef BV_QUANTIZE_ROWS
