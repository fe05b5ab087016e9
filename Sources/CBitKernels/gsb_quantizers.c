// GSB's group superposition quantizers, forward and backward in one pass each
// (include/bv_train_kernels.h). Same structure as train_quantizers.c: blocks of LANES elements
// loaded into locals, a scalar and an AVX2 instantiation of one always-inline body, no FMA,
// sums in 8 float lanes flushed to double every CHUNK blocks, so both paths agree bit for bit.
#include "bv_train_kernels.h"
#include "bv_bitkernels.h"
#include <math.h>

#pragma clang fp contract(off)

#define LANES 8
#define CHUNK 64
#define MAX_GROUPS 16

static inline __attribute__((always_inline)) float sgn(float v) {
    return (float)(v > 0.0f) - (float)(v < 0.0f);
}

static inline __attribute__((always_inline)) float round_code(float x) {
    return (x + 12582912.0f) - 12582912.0f;
}

/// Round half to even for any finite float (the attention ratio a/c is not bounded).
static inline __attribute__((always_inline)) float round_even(float x) {
    return fabsf(x) < 8388608.0f ? copysignf(round_code(fabsf(x)), x) : x;
}

static inline __attribute__((always_inline))
void extremes_body(const float *x, ptrdiff_t n, float *max, float *min) {
    float hi[LANES], lo[LANES];
    for (int l = 0; l < LANES; l++) { hi[l] = -INFINITY; lo[l] = INFINITY; }
    const ptrdiff_t blocks = n / LANES * LANES;
    for (ptrdiff_t i = 0; i < blocks; i += LANES)
        for (int l = 0; l < LANES; l++) {
            const float v = x[i + l];
            hi[l] = v > hi[l] ? v : hi[l];
            lo[l] = v < lo[l] ? v : lo[l];
        }
    for (ptrdiff_t i = blocks; i < n; i++) {
        hi[0] = x[i] > hi[0] ? x[i] : hi[0];
        lo[0] = x[i] < lo[0] ? x[i] : lo[0];
    }
    float h = hi[0], m = lo[0];
    for (int l = 1; l < LANES; l++) { h = hi[l] > h ? hi[l] : h; m = lo[l] < m ? lo[l] : m; }
    *max = h;
    *min = m;
}

static inline __attribute__((always_inline))
float value_level(float v, const float *c, const float *upper, const float *lower, int groups) {
    float level = c[0];
    for (int j = 1; j < groups; j++) level += (v > upper[j - 1] || v < lower[j - 1]) ? c[j] : 0.0f;
    return sgn(v) * level;
}

static inline __attribute__((always_inline))
void value_forward_body(const float *v, ptrdiff_t n, const float *c, const float *upper, const float *lower,
                        int groups, float *y) {
    const ptrdiff_t blocks = n / LANES * LANES;
    for (ptrdiff_t i = 0; i < blocks; i += LANES) {
        float x[LANES], out[LANES];
        for (int l = 0; l < LANES; l++) x[l] = v[i + l];
        for (int l = 0; l < LANES; l++) out[l] = value_level(x[l], c, upper, lower, groups);
        for (int l = 0; l < LANES; l++) y[i + l] = out[l];
    }
    for (ptrdiff_t i = blocks; i < n; i++) y[i] = value_level(v[i], c, upper, lower, groups);
}

/// One element of GSB_V's backward: returns the slope multiplier, adds the step terms and
/// member counts into the lane accumulators of every group.
static inline __attribute__((always_inline))
float value_backward_element(float x, float gi, const float *c, const float *upper, const float *lower, int groups,
                             float *sums, int32_t *counts) {
    const float s = sgn(x);
    const float r0 = x / c[0];
    const int inside0 = fabsf(r0) <= 1.0f;
    float passes = inside0 ? 1.0f : 0.0f;
    sums[0] += gi * (s - (inside0 ? r0 : 0.0f));
    for (int j = 1; j < groups; j++) {
        const int member = x > upper[j - 1] || x < lower[j - 1];
        const float r = x / c[j];
        const int inside = fabsf(r) <= 1.0f;
        passes += member ? (inside ? 1.0f : 0.0f) : 1.0f;      // outside T_j its window passes (docs/reference/gsb.md §4.4)
        sums[j * LANES] += member ? gi * (s - (inside ? r : 0.0f)) : 0.0f;
        counts[j * LANES] += member;
    }
    return passes;
}

static inline __attribute__((always_inline))
void value_backward_body(const float *v, const float *g, ptrdiff_t n, const float *c, const float *upper,
                         const float *lower, int groups, float *dv, double *sums, double *counts) {
    float lanes[MAX_GROUPS * LANES];
    int32_t members[MAX_GROUPS * LANES];
    for (int t = 0; t < groups * LANES; t++) { lanes[t] = 0.0f; members[t] = 0; }
    const ptrdiff_t blocks = n / LANES * LANES;
    ptrdiff_t i = 0;
    while (i < blocks) {
        const ptrdiff_t end = i + (ptrdiff_t)CHUNK * LANES < blocks ? i + (ptrdiff_t)CHUNK * LANES : blocks;
        for (; i < end; i += LANES) {
            float x[LANES], gv[LANES], d[LANES];
            for (int l = 0; l < LANES; l++) { x[l] = v[i + l]; gv[l] = g[i + l]; }
            for (int l = 0; l < LANES; l++)
                d[l] = gv[l] * value_backward_element(x[l], gv[l], c, upper, lower, groups, lanes + l, members + l);
            for (int l = 0; l < LANES; l++) dv[i + l] = d[l];
        }
        for (int j = 0; j < groups; j++)
            for (int l = 0; l < LANES; l++) {
                sums[j] += (double)lanes[j * LANES + l];
                lanes[j * LANES + l] = 0.0f;
            }
    }
    for (; i < n; i++) dv[i] = g[i] * value_backward_element(v[i], g[i], c, upper, lower, groups, lanes, members);
    for (int j = 0; j < groups; j++)
        for (int l = 0; l < LANES; l++) {
            sums[j] += (double)lanes[j * LANES + l];
            if (j > 0) counts[j] += (double)members[j * LANES + l];
        }
}

static inline __attribute__((always_inline))
float attention_value(float a, const float *c, const float *upper, int groups) {
    const float q = round_even(a / c[0]);
    float value = c[0] * (q > 0.0f ? (q < 1.0f ? q : 1.0f) : 0.0f);
    for (int j = 1; j < groups; j++) value += a > upper[j - 1] ? c[j] : 0.0f;
    return value;
}

static inline __attribute__((always_inline))
void attention_forward_body(const float *a, ptrdiff_t n, const float *c, const float *upper, int groups, float *y) {
    const ptrdiff_t blocks = n / LANES * LANES;
    for (ptrdiff_t i = 0; i < blocks; i += LANES) {
        float x[LANES], out[LANES];
        for (int l = 0; l < LANES; l++) x[l] = a[i + l];
        for (int l = 0; l < LANES; l++) out[l] = attention_value(x[l], c, upper, groups);
        for (int l = 0; l < LANES; l++) y[i + l] = out[l];
    }
    for (ptrdiff_t i = blocks; i < n; i++) y[i] = attention_value(a[i], c, upper, groups);
}

static inline __attribute__((always_inline))
float attention_backward_element(float x, float gi, const float *c, const float *upper, int groups,
                                 float *sums, int32_t *counts) {
    const float r = x / c[0];
    const int inside = r >= 0.0f && r <= 1.0f;
    float slope = inside ? 1.0f : 0.0f;
    sums[0] += gi * (r > 1.0f ? 1.0f : (r >= 0.0f ? round_even(r) - r : 0.0f));
    for (int j = 1; j < groups; j++) {
        const int member = x > upper[j - 1];
        slope += member ? c[j] : 0.0f;
        sums[j * LANES] += member ? gi : 0.0f;
        counts[j * LANES] += member;
    }
    return slope;
}

static inline __attribute__((always_inline))
void attention_backward_body(const float *a, const float *g, ptrdiff_t n, const float *c, const float *upper,
                             int groups, float *da, double *sums, double *counts) {
    float lanes[MAX_GROUPS * LANES];
    int32_t members[MAX_GROUPS * LANES];
    for (int t = 0; t < groups * LANES; t++) { lanes[t] = 0.0f; members[t] = 0; }
    const ptrdiff_t blocks = n / LANES * LANES;
    ptrdiff_t i = 0;
    while (i < blocks) {
        const ptrdiff_t end = i + (ptrdiff_t)CHUNK * LANES < blocks ? i + (ptrdiff_t)CHUNK * LANES : blocks;
        for (; i < end; i += LANES) {
            float x[LANES], gv[LANES], d[LANES];
            for (int l = 0; l < LANES; l++) { x[l] = a[i + l]; gv[l] = g[i + l]; }
            for (int l = 0; l < LANES; l++)
                d[l] = gv[l] * attention_backward_element(x[l], gv[l], c, upper, groups, lanes + l, members + l);
            for (int l = 0; l < LANES; l++) da[i + l] = d[l];
        }
        for (int j = 0; j < groups; j++)
            for (int l = 0; l < LANES; l++) {
                sums[j] += (double)lanes[j * LANES + l];
                lanes[j * LANES + l] = 0.0f;
            }
    }
    for (; i < n; i++) da[i] = g[i] * attention_backward_element(a[i], g[i], c, upper, groups, lanes, members);
    for (int j = 0; j < groups; j++)
        for (int l = 0; l < LANES; l++) {
            sums[j] += (double)lanes[j * LANES + l];
            if (j > 0) counts[j] += (double)members[j * LANES + l];
        }
}

#define GSB_VARIANTS(SUFFIX, ATTR)                                                                        \
    ATTR static void extremes_##SUFFIX(const float *x, ptrdiff_t n, float *max, float *min) {            \
        extremes_body(x, n, max, min);                                                                    \
    }                                                                                                     \
    ATTR static void value_forward_##SUFFIX(const float *v, ptrdiff_t n, const float *c, const float *u,  \
                                            const float *lo, int k, float *y) {                           \
        if (k == 3) value_forward_body(v, n, c, u, lo, 3, y); else value_forward_body(v, n, c, u, lo, k, y); \
    }                                                                                                     \
    ATTR static void value_backward_##SUFFIX(const float *v, const float *g, ptrdiff_t n, const float *c,  \
                                             const float *u, const float *lo, int k, float *dv,           \
                                             double *sums, double *counts) {                              \
        if (k == 3) value_backward_body(v, g, n, c, u, lo, 3, dv, sums, counts);                          \
        else value_backward_body(v, g, n, c, u, lo, k, dv, sums, counts);                                 \
    }                                                                                                     \
    ATTR static void attention_forward_##SUFFIX(const float *a, ptrdiff_t n, const float *c, const float *u, \
                                                int k, float *y) {                                        \
        if (k == 3) attention_forward_body(a, n, c, u, 3, y); else attention_forward_body(a, n, c, u, k, y); \
    }                                                                                                     \
    ATTR static void attention_backward_##SUFFIX(const float *a, const float *g, ptrdiff_t n, const float *c, \
                                                 const float *u, int k, float *da, double *sums,          \
                                                 double *counts) {                                        \
        if (k == 3) attention_backward_body(a, g, n, c, u, 3, da, sums, counts);                          \
        else attention_backward_body(a, g, n, c, u, k, da, sums, counts);                                 \
    }

GSB_VARIANTS(scalar, )
#if defined(__x86_64__) && defined(__clang__)
GSB_VARIANTS(avx2, __attribute__((target("avx2"))))
#define USE_AVX2(path) (bv_train_resolve_path(path) == BV_KPATH_AVX2)
#else
#define USE_AVX2(path) ((void)(path), 0)
#define extremes_avx2 extremes_scalar
#define value_forward_avx2 value_forward_scalar
#define value_backward_avx2 value_backward_scalar
#define attention_forward_avx2 attention_forward_scalar
#define attention_backward_avx2 attention_backward_scalar
#endif

void bv_extremes(const float *x, ptrdiff_t n, float *max, float *min, int path) {
    if (USE_AVX2(path)) extremes_avx2(x, n, max, min); else extremes_scalar(x, n, max, min);
}

void bv_gsb_value_forward(const float *v, ptrdiff_t n, const float *c, const float *upper, const float *lower,
                          int groups, float *y, int path) {
    if (groups < 1 || groups > MAX_GROUPS) return;
    if (USE_AVX2(path)) value_forward_avx2(v, n, c, upper, lower, groups, y);
    else value_forward_scalar(v, n, c, upper, lower, groups, y);
}

void bv_gsb_value_backward(const float *v, const float *g, ptrdiff_t n, const float *c, const float *upper,
                           const float *lower, int groups, float *dv, double *sums, double *counts, int path) {
    if (groups < 1 || groups > MAX_GROUPS) return;
    if (USE_AVX2(path)) value_backward_avx2(v, g, n, c, upper, lower, groups, dv, sums, counts);
    else value_backward_scalar(v, g, n, c, upper, lower, groups, dv, sums, counts);
}

void bv_gsb_attention_forward(const float *a, ptrdiff_t n, const float *c, const float *upper, int groups,
                              float *y, int path) {
    if (groups < 1 || groups > MAX_GROUPS) return;
    if (USE_AVX2(path)) attention_forward_avx2(a, n, c, upper, groups, y);
    else attention_forward_scalar(a, n, c, upper, groups, y);
}

void bv_gsb_attention_backward(const float *a, const float *g, ptrdiff_t n, const float *c, const float *upper,
                               int groups, float *da, double *sums, double *counts, int path) {
    if (groups < 1 || groups > MAX_GROUPS) return;
    if (USE_AVX2(path)) attention_backward_avx2(a, g, n, c, upper, groups, da, sums, counts);
    else attention_backward_scalar(a, g, n, c, upper, groups, da, sums, counts);
}
