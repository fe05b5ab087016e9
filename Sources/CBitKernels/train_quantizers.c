// Fused activation-quantizer kernels of the training graph (include/bv_train_kernels.h).
//
// Each kernel body is written once as an always-inline function over a compile-time `kind`
// and instantiated per path: the default target (SSE2 on x86-64) and `target("avx2")`, which
// clang auto-vectorizes 8 lanes wide. No FMA is enabled and contraction is off, so both paths
// perform the same IEEE operations; sums that cross elements use 8 fixed lanes (element j of a
// row goes to lane j mod 8) folded in a fixed order, so the paths agree bit for bit.
#include "bv_train_kernels.h"
#include "bv_bitkernels.h"
#include <CBitViTPlatform.h>
#include <math.h>
#include <string.h>

#pragma clang fp contract(off)

#define LANES 8

/// Round half to even for |x| < 2^22 (PyTorch `torch.round` on clamped codes).
static inline __attribute__((always_inline)) float round_code(float x) {
    return (x + 12582912.0f) - 12582912.0f;
}

static inline __attribute__((always_inline)) float sgn(float v) {
    return (float)(v > 0.0f) - (float)(v < 0.0f);
}

// MARK: Per-tensor 1-bit and low-bit quantizers

/// One element of `kind`: returns dx, writes the forward value and the step term.
static inline __attribute__((always_inline))
float q1_element(const int kind, float v, float gi, float c, float qn, float qp, float *y, float *term) {
    switch (kind) {
    case BV_Q1_SIGN_STEP: {
        const float s = sgn(v), r = v / c;
        const int inside = fabsf(r) <= 1.0f;
        *y = c * s;
        *term = gi * (s - (inside ? r : 0.0f));
        return inside ? gi : 0.0f;
    }
    case BV_Q1_LEVELS: {
        const float r = v / c;
        const int inside = r >= qn && r <= qp;
        const float lo = r > qn ? r : qn;
        const float q = round_code(lo < qp ? lo : qp);
        *y = c * q;
        *term = gi * (inside ? q - r : q);
        return inside ? gi : 0.0f;
    }
    case BV_Q1_SIGN_CLIPPED:
        *y = sgn(v);
        *term = 0.0f;
        return fabsf(v) <= 1.0f ? gi : 0.0f;
    default: {   // BV_Q1_SIGN_APPROX
        *y = sgn(v);
        *term = 0.0f;
        const float w = 2.0f - 2.0f * fabsf(v);
        return gi * (w > 0.0f ? w : 0.0f);
    }
    }
}

// The row loops work in blocks of LANES elements: every operand of a block is loaded into
// locals before anything is stored, so the block vectorizes even when the output aliases an
// input (in-place use) — a loop vectorizer would need alias checks that fail exactly then.

static inline __attribute__((always_inline))
void q1_forward_rows(const int kind, const int has_shift, const float *x, int rows, int k, const float *shift,
                     float c, float qn, float qp, float *y) {
    const int blocks = k / LANES * LANES;
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (ptrdiff_t)r * k;
        float *yr = y + (ptrdiff_t)r * k;
        for (int j = 0; j < blocks; j += LANES) {
            float v[LANES], out[LANES], term[LANES];
            for (int l = 0; l < LANES; l++) v[l] = has_shift ? xr[j + l] + shift[j + l] : xr[j + l];
            for (int l = 0; l < LANES; l++) (void)q1_element(kind, v[l], 0.0f, c, qn, qp, &out[l], &term[l]);
            for (int l = 0; l < LANES; l++) yr[j + l] = out[l];
        }
        for (int j = blocks; j < k; j++) {
            const float v = has_shift ? xr[j] + shift[j] : xr[j];
            float out, term;
            (void)q1_element(kind, v, 0.0f, c, qn, qp, &out, &term);
            yr[j] = out;
        }
    }
}

static inline __attribute__((always_inline))
void q1_backward_rows(const int kind, const int has_shift, const int has_xhat, const int has_shift_grad,
                      const float *x, const float *g, int rows, int k, const float *shift, float c,
                      float qn, float qp, float *dx, float *xhat, double *step_sum, double *shift_grad) {
    double total = 0.0;
    const int blocks = k / LANES * LANES;
    for (int r = 0; r < rows; r++) {
        const ptrdiff_t base = (ptrdiff_t)r * k;
        const float *xr = x + base, *gr = g + base;
        float *dr = dx + base, *hr = has_xhat ? xhat + base : NULL;
        float part[LANES] = {0};
        for (int j = 0; j < blocks; j += LANES) {
            float v[LANES], gv[LANES], d[LANES], out[LANES], term[LANES];
            for (int l = 0; l < LANES; l++) v[l] = has_shift ? xr[j + l] + shift[j + l] : xr[j + l];
            for (int l = 0; l < LANES; l++) gv[l] = gr[j + l];
            for (int l = 0; l < LANES; l++) d[l] = q1_element(kind, v[l], gv[l], c, qn, qp, &out[l], &term[l]);
            for (int l = 0; l < LANES; l++) part[l] += term[l];
            for (int l = 0; l < LANES; l++) dr[j + l] = d[l];
            if (has_xhat) for (int l = 0; l < LANES; l++) hr[j + l] = out[l];
            if (has_shift_grad) for (int l = 0; l < LANES; l++) shift_grad[j + l] += (double)d[l];
        }
        for (int j = blocks; j < k; j++) {
            const float v = has_shift ? xr[j] + shift[j] : xr[j];
            float out, term;
            const float d = q1_element(kind, v, gr[j], c, qn, qp, &out, &term);
            part[j - blocks] += term;
            dr[j] = d;
            if (has_xhat) hr[j] = out;
            if (has_shift_grad) shift_grad[j] += (double)d;
        }
        for (int l = 0; l < LANES; l++) total += (double)part[l];
    }
    if (step_sum) *step_sum += total;
}

// Instantiations: one function per (path, kind, flags) combination reachable from the
// dispatchers below. The macro keeps the flag combinations compile-time constants.
#define Q1_FORWARD_VARIANTS(SUFFIX, ATTR)                                                              \
    ATTR static void q1_forward_##SUFFIX(int kind, const float *x, int rows, int k, const float *shift,  \
                                         float c, float qn, float qp, float *y) {                       \
        switch (kind * 2 + (shift != NULL)) {                                                           \
        case 0: q1_forward_rows(0, 0, x, rows, k, shift, c, qn, qp, y); break;                          \
        case 1: q1_forward_rows(0, 1, x, rows, k, shift, c, qn, qp, y); break;                          \
        case 2: q1_forward_rows(1, 0, x, rows, k, shift, c, qn, qp, y); break;                          \
        case 3: q1_forward_rows(1, 1, x, rows, k, shift, c, qn, qp, y); break;                          \
        case 4: q1_forward_rows(2, 0, x, rows, k, shift, c, qn, qp, y); break;                          \
        case 5: q1_forward_rows(2, 1, x, rows, k, shift, c, qn, qp, y); break;                          \
        case 6: q1_forward_rows(3, 0, x, rows, k, shift, c, qn, qp, y); break;                          \
        default: q1_forward_rows(3, 1, x, rows, k, shift, c, qn, qp, y); break;                         \
        }                                                                                               \
    }

#define Q1_BACKWARD_KIND(KIND, SUFFIX, ATTR)                                                            \
    ATTR static void q1_backward_##SUFFIX##_##KIND(const float *x, const float *g, int rows, int k,      \
                                                   const float *shift, float c, float qn, float qp,      \
                                                   float *dx, float *xhat, double *step_sum,             \
                                                   double *shift_grad) {                                 \
        const int flags = (shift != NULL) | (xhat != NULL) << 1 | (shift_grad != NULL) << 2;              \
        switch (flags) {                                                                                  \
        case 0: q1_backward_rows(KIND, 0, 0, 0, x, g, rows, k, shift, c, qn, qp, dx, xhat, step_sum, shift_grad); break; \
        case 1: q1_backward_rows(KIND, 1, 0, 0, x, g, rows, k, shift, c, qn, qp, dx, xhat, step_sum, shift_grad); break; \
        case 2: q1_backward_rows(KIND, 0, 1, 0, x, g, rows, k, shift, c, qn, qp, dx, xhat, step_sum, shift_grad); break; \
        case 3: q1_backward_rows(KIND, 1, 1, 0, x, g, rows, k, shift, c, qn, qp, dx, xhat, step_sum, shift_grad); break; \
        case 4: q1_backward_rows(KIND, 0, 0, 1, x, g, rows, k, shift, c, qn, qp, dx, xhat, step_sum, shift_grad); break; \
        case 5: q1_backward_rows(KIND, 1, 0, 1, x, g, rows, k, shift, c, qn, qp, dx, xhat, step_sum, shift_grad); break; \
        case 6: q1_backward_rows(KIND, 0, 1, 1, x, g, rows, k, shift, c, qn, qp, dx, xhat, step_sum, shift_grad); break; \
        default: q1_backward_rows(KIND, 1, 1, 1, x, g, rows, k, shift, c, qn, qp, dx, xhat, step_sum, shift_grad); break; \
        }                                                                                                 \
    }

#define Q1_BACKWARD_VARIANTS(SUFFIX, ATTR)                                                               \
    Q1_BACKWARD_KIND(0, SUFFIX, ATTR)                                                                    \
    Q1_BACKWARD_KIND(1, SUFFIX, ATTR)                                                                    \
    Q1_BACKWARD_KIND(2, SUFFIX, ATTR)                                                                    \
    Q1_BACKWARD_KIND(3, SUFFIX, ATTR)                                                                    \
    static void q1_backward_##SUFFIX(int kind, const float *x, const float *g, int rows, int k,           \
                                     const float *shift, float c, float qn, float qp, float *dx,         \
                                     float *xhat, double *step_sum, double *shift_grad) {                 \
        switch (kind) {                                                                                   \
        case 0: q1_backward_##SUFFIX##_0(x, g, rows, k, shift, c, qn, qp, dx, xhat, step_sum, shift_grad); break; \
        case 1: q1_backward_##SUFFIX##_1(x, g, rows, k, shift, c, qn, qp, dx, xhat, step_sum, shift_grad); break; \
        case 2: q1_backward_##SUFFIX##_2(x, g, rows, k, shift, c, qn, qp, dx, xhat, step_sum, shift_grad); break; \
        default: q1_backward_##SUFFIX##_3(x, g, rows, k, shift, c, qn, qp, dx, xhat, step_sum, shift_grad); break; \
        }                                                                                                 \
    }

// MARK: Q-ViT's LSQ activation quantizer

static inline __attribute__((always_inline))
float lsq_value(float xi, float ai, float zi, float qn, float qp) {
    const float u = xi / ai + zi;
    const float lo = u > qn ? u : qn;
    return (round_code(lo < qp ? lo : qp) - zi) * ai;
}

static inline __attribute__((always_inline))
void lsq_forward_rows(const int channels_last, const float *x, int o0, int o1, int channels, int inner,
                      const float *a, const float *z, float qn, float qp, float *y) {
    const int n = channels_last ? channels : inner, blocks = n / LANES * LANES;
    for (int o = o0; o < o1; o++) {
        for (int ch = 0; ch < (channels_last ? 1 : channels); ch++) {
            const ptrdiff_t base = ((ptrdiff_t)o * channels + ch) * inner;
            for (int i = 0; i < blocks; i += LANES) {
                float v[LANES], out[LANES];
                for (int l = 0; l < LANES; l++) v[l] = x[base + i + l];
                for (int l = 0; l < LANES; l++)
                    out[l] = lsq_value(v[l], channels_last ? a[i + l] : a[ch], channels_last ? z[i + l] : z[ch], qn, qp);
                for (int l = 0; l < LANES; l++) y[base + i + l] = out[l];
            }
            for (int i = blocks; i < n; i++)
                y[base + i] = lsq_value(x[base + i], channels_last ? a[i] : a[ch], channels_last ? z[i] : z[ch], qn, qp);
        }
    }
}

/// One element of the LSQ backward: writes dx, adds the step and zero-point terms.
static inline __attribute__((always_inline))
void lsq_backward_element(float xi, float gi, float ai, float zi, float qn, float qp, float *dx,
                          float *step, float *zero) {
    const float r = xi / ai, u = r + zi;
    const int inside = u >= qn && u <= qp;
    const float lo = u > qn ? u : qn;
    const float q = round_code(lo < qp ? lo : qp);
    *dx = inside ? gi : 0.0f;
    *step += gi * (inside ? (q - zi) - r : q - zi);
    *zero += inside ? 0.0f : -gi * ai;
}

static inline __attribute__((always_inline))
void lsq_backward_rows(const int channels_last, const float *x, const float *g, int o0, int o1, int channels,
                       int inner, const float *a, const float *z, float qn, float qp, float *dx,
                       double *step_sums, double *zero_sums) {
    const int n = channels_last ? channels : inner, blocks = n / LANES * LANES;
    for (int o = o0; o < o1; o++) {
        for (int ch = 0; ch < (channels_last ? 1 : channels); ch++) {
            const ptrdiff_t base = ((ptrdiff_t)o * channels + ch) * inner;
            float sp[LANES] = {0}, zp[LANES] = {0};
            for (int i = 0; i < blocks; i += LANES) {
                float xv[LANES], gv[LANES], d[LANES], st[LANES] = {0}, zt[LANES] = {0};
                for (int l = 0; l < LANES; l++) xv[l] = x[base + i + l];
                for (int l = 0; l < LANES; l++) gv[l] = g[base + i + l];
                for (int l = 0; l < LANES; l++)
                    lsq_backward_element(xv[l], gv[l], channels_last ? a[i + l] : a[ch], channels_last ? z[i + l] : z[ch],
                                         qn, qp, &d[l], &st[l], &zt[l]);
                for (int l = 0; l < LANES; l++) dx[base + i + l] = d[l];
                if (channels_last) {
                    for (int l = 0; l < LANES; l++) step_sums[i + l] += (double)st[l];
                    for (int l = 0; l < LANES; l++) zero_sums[i + l] += (double)zt[l];
                } else {
                    for (int l = 0; l < LANES; l++) sp[l] += st[l];
                    for (int l = 0; l < LANES; l++) zp[l] += zt[l];
                }
            }
            for (int i = blocks; i < n; i++) {
                float d, st = 0.0f, zt = 0.0f;
                lsq_backward_element(x[base + i], g[base + i], channels_last ? a[i] : a[ch], channels_last ? z[i] : z[ch],
                                     qn, qp, &d, &st, &zt);
                dx[base + i] = d;
                if (channels_last) {
                    step_sums[i] += (double)st;
                    zero_sums[i] += (double)zt;
                } else {
                    sp[i - blocks] += st;
                    zp[i - blocks] += zt;
                }
            }
            if (!channels_last) {
                double s = 0.0, t = 0.0;
                for (int l = 0; l < LANES; l++) { s += (double)sp[l]; t += (double)zp[l]; }
                step_sums[ch] += s;
                zero_sums[ch] += t;
            }
        }
    }
}

#define LSQ_VARIANTS(SUFFIX, ATTR)                                                                       \
    ATTR static void lsq_forward_##SUFFIX(const float *x, int o0, int o1, int channels, int inner,        \
                                          const float *a, const float *z, float qn, float qp, float *y) { \
        if (inner == 1) lsq_forward_rows(1, x, o0, o1, channels, 1, a, z, qn, qp, y);                   \
        else lsq_forward_rows(0, x, o0, o1, channels, inner, a, z, qn, qp, y);                          \
    }                                                                                                    \
    ATTR static void lsq_backward_##SUFFIX(const float *x, const float *g, int o0, int o1, int channels,  \
                                           int inner, const float *a, const float *z, float qn, float qp, \
                                           float *dx, double *step_sums, double *zero_sums) {             \
        if (inner == 1) lsq_backward_rows(1, x, g, o0, o1, channels, 1, a, z, qn, qp, dx, step_sums, zero_sums); \
        else lsq_backward_rows(0, x, g, o0, o1, channels, inner, a, z, qn, qp, dx, step_sums, zero_sums); \
    }

// MARK: UB packing

static inline __attribute__((always_inline))
void pack_unsigned_row_scalar(const float *x, int k, const float *shift, float c, uint64_t *bits, int words,
                              int32_t *count) {
    int total = 0;
    for (int w = 0; w < words; w++) {
        uint64_t s = 0;
        const int j0 = 64 * w, j1 = k < j0 + 64 ? k : j0 + 64;
        for (int j = j0; j < j1; j++) {
            const float v = shift ? x[j] + shift[j] : x[j];
            s |= (uint64_t)(v / c > 0.5f) << (j - j0);
        }
        bits[w] = s;
        total += __builtin_popcountll(s);
    }
    if (count) *count = total;
}

static void pack_unsigned_scalar(const float *x, int rows, int k, const float *shift, float c, uint64_t *bits,
                                 ptrdiff_t row_stride, int32_t *row_counts) {
    const int words = (k + 63) / 64;
    for (int r = 0; r < rows; r++)
        pack_unsigned_row_scalar(x + (ptrdiff_t)r * k, k, shift, c, bits + r * row_stride, words,
                                 row_counts ? row_counts + r : NULL);
}

Q1_FORWARD_VARIANTS(scalar, )
Q1_BACKWARD_VARIANTS(scalar, )
LSQ_VARIANTS(scalar, )

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>
#define AVX2 __attribute__((target("avx2")))
Q1_FORWARD_VARIANTS(avx2, AVX2)
Q1_BACKWARD_VARIANTS(avx2, AVX2)
LSQ_VARIANTS(avx2, AVX2)

AVX2 static void pack_unsigned_avx2(const float *x, int rows, int k, const float *shift, float c, uint64_t *bits,
                                    ptrdiff_t row_stride, int32_t *row_counts) {
    const int words = (k + 63) / 64, full = k / 64;
    const __m256 cv = _mm256_set1_ps(c), half = _mm256_set1_ps(0.5f);
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (ptrdiff_t)r * k;
        uint64_t *br = bits + r * row_stride;
        int total = 0;
        for (int w = 0; w < full; w++) {
            uint64_t s = 0;
            for (int q = 0; q < 8; q++) {
                const int j = 64 * w + 8 * q;
                __m256 v = _mm256_loadu_ps(xr + j);
                if (shift) v = _mm256_add_ps(v, _mm256_loadu_ps(shift + j));
                const __m256 m = _mm256_cmp_ps(_mm256_div_ps(v, cv), half, _CMP_GT_OQ);
                s |= (uint64_t)(uint32_t)_mm256_movemask_ps(m) << (8 * q);
            }
            br[w] = s;
            total += __builtin_popcountll(s);
        }
        if (full < words) {
            int32_t tail;
            pack_unsigned_row_scalar(xr + 64 * full, k - 64 * full, shift ? shift + 64 * full : NULL, c,
                                     br + full, words - full, &tail);
            total += tail;
        }
        if (row_counts) row_counts[r] = total;
    }
}
#endif

// MARK: Dispatch

static _Thread_local int reference_mode = 0;
static _Thread_local int forced_path = 0;

int bv_train_reference_mode(void) { return reference_mode; }
void bv_train_set_reference_mode(int on) { reference_mode = on != 0; }
int bv_train_forced_path(void) { return forced_path; }
void bv_train_set_forced_path(int path) { forced_path = path; }

int bv_train_resolve_path(int requested) {
#if defined(__x86_64__) && defined(__clang__)
    const int avx2 = (bv_cpu_features() & BV_CPU_AVX2) != 0;
    if (requested == BV_KPATH_AUTO || requested >= BV_KPATH_AVX2) return avx2 ? BV_KPATH_AVX2 : BV_KPATH_SCALAR;
#else
    (void)requested;
#endif
    return BV_KPATH_SCALAR;
}

void bv_quant1_forward(const float *x, int rows, int k, const float *shift, float c, float qn, float qp,
                       int kind, float *y, int path) {
#if defined(__x86_64__) && defined(__clang__)
    if (bv_train_resolve_path(path) == BV_KPATH_AVX2) { q1_forward_avx2(kind, x, rows, k, shift, c, qn, qp, y); return; }
#endif
    (void)path;
    q1_forward_scalar(kind, x, rows, k, shift, c, qn, qp, y);
}

void bv_quant1_backward(const float *x, const float *g, int rows, int k, const float *shift, float c,
                        float qn, float qp, int kind, float *dx, float *xhat, double *step_sum,
                        double *shift_grad, int path) {
#if defined(__x86_64__) && defined(__clang__)
    if (bv_train_resolve_path(path) == BV_KPATH_AVX2) {
        q1_backward_avx2(kind, x, g, rows, k, shift, c, qn, qp, dx, xhat, step_sum, shift_grad);
        return;
    }
#endif
    (void)path;
    q1_backward_scalar(kind, x, g, rows, k, shift, c, qn, qp, dx, xhat, step_sum, shift_grad);
}

void bv_pack_unsigned_binary(const float *x, int rows, int k, const float *shift, float c,
                             uint64_t *bits, ptrdiff_t row_stride, int32_t *row_counts, int path) {
#if defined(__x86_64__) && defined(__clang__)
    if (bv_train_resolve_path(path) == BV_KPATH_AVX2) {
        pack_unsigned_avx2(x, rows, k, shift, c, bits, row_stride, row_counts);
        return;
    }
#endif
    (void)path;
    pack_unsigned_scalar(x, rows, k, shift, c, bits, row_stride, row_counts);
}

void bv_lsq_forward(const float *x, int o0, int o1, int channels, int inner, const float *a,
                    const float *z, float qn, float qp, float *y, int path) {
#if defined(__x86_64__) && defined(__clang__)
    if (bv_train_resolve_path(path) == BV_KPATH_AVX2) { lsq_forward_avx2(x, o0, o1, channels, inner, a, z, qn, qp, y); return; }
#endif
    (void)path;
    lsq_forward_scalar(x, o0, o1, channels, inner, a, z, qn, qp, y);
}

void bv_lsq_backward(const float *x, const float *g, int o0, int o1, int channels, int inner,
                     const float *a, const float *z, float qn, float qp, float *dx,
                     double *step_sums, double *zero_sums, int path) {
#if defined(__x86_64__) && defined(__clang__)
    if (bv_train_resolve_path(path) == BV_KPATH_AVX2) {
        lsq_backward_avx2(x, g, o0, o1, channels, inner, a, z, qn, qp, dx, step_sums, zero_sums);
        return;
    }
#endif
    (void)path;
    lsq_backward_scalar(x, g, o0, o1, channels, inner, a, z, qn, qp, dx, step_sums, zero_sums);
}
