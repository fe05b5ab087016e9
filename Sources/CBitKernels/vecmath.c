// Vectorized float math: exp, erf-GELU, softmax, LayerNorm, reductions and AdamW.
// Plain C loops, auto-vectorized per target by BV_CLONES; no libm calls in hot loops.
#include "CBitKernels.h"
#include "dispatch.h"
#include <math.h>
#include <string.h>

static inline float bits_to_float(int32_t i) { float f; memcpy(&f, &i, 4); return f; }

// exp(x) by range reduction x = n·ln2 + r and a degree-6 polynomial on |r| ≤ ln2/2 (Cephes
// coefficients). Inputs are clamped to [-87.3, 88.7] so the exponent bits never overflow.
static inline float fast_expf(float x) {
    x = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x);
    float n = __builtin_rintf(x * 1.44269504088896341f);
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    return p * bits_to_float(((int32_t)n + 127) << 23);
}

// erf(x) by Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7).
static inline float fast_erff(float x) {
    float ax = x < 0 ? -x : x;
    float t = 1.0f / (1.0f + 0.3275911f * ax);
    float poly = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t
                  + 0.254829592f) * t;
    float y = 1.0f - poly * fast_expf(-ax * ax);
    return x < 0 ? -y : y;
}

BV_CLONES
void bv_exp_f32(const float *x, float *y, ptrdiff_t n) {
    BV_ELEMENTWISE
    for (ptrdiff_t i = 0; i < n; i++) y[i] = fast_expf(x[i]);
}

BV_CLONES
void bv_gelu_forward_f32(const float *x, float *y, ptrdiff_t n) {
    BV_ELEMENTWISE
    for (ptrdiff_t i = 0; i < n; i++) {
        float v = x[i];
        y[i] = 0.5f * v * (1.0f + fast_erff(v * 0.70710678118654752f));
    }
}

BV_CLONES
void bv_gelu_backward_f32(const float *x, const float *dy, float *dx, ptrdiff_t n) {
    BV_ELEMENTWISE
    for (ptrdiff_t i = 0; i < n; i++) {
        float v = x[i];
        float cdf = 0.5f * (1.0f + fast_erff(v * 0.70710678118654752f));
        float pdf = 0.39894228040143268f * fast_expf(-0.5f * v * v);
        dx[i] = dy[i] * (cdf + v * pdf);
    }
}

BV_CLONES
void bv_softmax_rows_f32(const float *x, float *y, ptrdiff_t rows, ptrdiff_t cols, float scale) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float m = -INFINITY;
        for (ptrdiff_t c = 0; c < cols; c++) m = xr[c] > m ? xr[c] : m;
        float sum = 0;
        {
            BV_REASSOCIATE
            BV_ELEMENTWISE
            for (ptrdiff_t c = 0; c < cols; c++) {
                float e = fast_expf(scale * (xr[c] - m));
                yr[c] = e;
                sum += e;
            }
        }
        float inv = 1.0f / sum;
        for (ptrdiff_t c = 0; c < cols; c++) yr[c] *= inv;
    }
}

BV_CLONES
void bv_log_softmax_rows_f32(const float *x, float *y, ptrdiff_t rows, ptrdiff_t cols) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float m = -INFINITY;
        for (ptrdiff_t c = 0; c < cols; c++) m = xr[c] > m ? xr[c] : m;
        float sum = 0;
        {
            BV_REASSOCIATE
            for (ptrdiff_t c = 0; c < cols; c++) sum += fast_expf(xr[c] - m);
        }
        float lse = m + logf(sum);
        BV_ELEMENTWISE
        for (ptrdiff_t c = 0; c < cols; c++) yr[c] = xr[c] - lse;
    }
}

BV_CLONES
void bv_softmax_backward_rows_f32(const float *y, const float *dy, float *dx,
                                  ptrdiff_t rows, ptrdiff_t cols, float scale) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *yr = y + r * cols, *gr = dy + r * cols;
        float *dr = dx + r * cols;
        float dot = 0;
        {
            BV_REASSOCIATE
            for (ptrdiff_t c = 0; c < cols; c++) dot += yr[c] * gr[c];
        }
        BV_ELEMENTWISE
        for (ptrdiff_t c = 0; c < cols; c++) dr[c] = scale * yr[c] * (gr[c] - dot);
    }
}

BV_CLONES
void bv_layernorm_forward_f32(const float *x, const float *gamma, const float *beta,
                              float *y, float *mean, float *rstd,
                              ptrdiff_t rows, ptrdiff_t cols, float eps) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float s = 0;
        {
            BV_REASSOCIATE
            for (ptrdiff_t c = 0; c < cols; c++) s += xr[c];
        }
        float mu = s / (float)cols;
        float v = 0;
        {
            BV_REASSOCIATE
            for (ptrdiff_t c = 0; c < cols; c++) { float d = xr[c] - mu; v += d * d; }
        }
        float rs = 1.0f / sqrtf(v / (float)cols + eps);
        if (gamma && beta) {
            BV_ELEMENTWISE
            for (ptrdiff_t c = 0; c < cols; c++) yr[c] = (xr[c] - mu) * rs * gamma[c] + beta[c];
        } else {
            BV_ELEMENTWISE
            for (ptrdiff_t c = 0; c < cols; c++) yr[c] = (xr[c] - mu) * rs;
        }
        if (mean) mean[r] = mu;
        if (rstd) rstd[r] = rs;
    }
}

BV_CLONES
void bv_layernorm_backward_f32(const float *x, const float *gamma, const float *mean,
                               const float *rstd, const float *dy, float *dx,
                               float *dgamma, float *dbeta, ptrdiff_t rows, ptrdiff_t cols) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols, *gr = dy + r * cols;
        float *dr = dx + r * cols;
        const float mu = mean[r], rs = rstd[r];
        // With x̂ = (x−μ)·rstd and ĝ = dy⊙γ: dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ⊙x̂)).
        // dx holds ĝ temporarily so every loop is branch-free and vectorizes.
        if (gamma) {
            for (ptrdiff_t c = 0; c < cols; c++) dr[c] = gr[c] * gamma[c];
        } else {
            for (ptrdiff_t c = 0; c < cols; c++) dr[c] = gr[c];
        }
        float sg = 0, sgx = 0;
        {
            BV_REASSOCIATE
            for (ptrdiff_t c = 0; c < cols; c++) {
                sg += dr[c];
                sgx += dr[c] * (xr[c] - mu);
            }
        }
        sg /= (float)cols;
        sgx = sgx * rs / (float)cols;
        for (ptrdiff_t c = 0; c < cols; c++) dr[c] = rs * (dr[c] - sg - (xr[c] - mu) * rs * sgx);
        if (dgamma) {
            for (ptrdiff_t c = 0; c < cols; c++) dgamma[c] += gr[c] * (xr[c] - mu) * rs;
        }
        if (dbeta) {
            for (ptrdiff_t c = 0; c < cols; c++) dbeta[c] += gr[c];
        }
    }
}

BV_CLONES
double bv_sum_f32(const float *x, ptrdiff_t n) {
    double total = 0;
    for (ptrdiff_t start = 0; start < n; start += 4096) {
        ptrdiff_t end = start + 4096 < n ? start + 4096 : n;
        float s = 0;
        {
            BV_REASSOCIATE
            for (ptrdiff_t i = start; i < end; i++) s += x[i];
        }
        total += s;
    }
    return total;
}

BV_CLONES
double bv_dot_f32(const float *x, const float *y, ptrdiff_t n) {
    double total = 0;
    for (ptrdiff_t start = 0; start < n; start += 4096) {
        ptrdiff_t end = start + 4096 < n ? start + 4096 : n;
        float s = 0;
        {
            BV_REASSOCIATE
            for (ptrdiff_t i = start; i < end; i++) s += x[i] * y[i];
        }
        total += s;
    }
    return total;
}

BV_CLONES
void bv_adamw_step_f32(float *p, const float *g, float *m, float *v, ptrdiff_t n,
                       float lr, float beta1, float beta2, float eps, float weightDecay,
                       float biasCorrection1, float biasCorrection2, float gradScale) {
    float c1 = 1.0f / biasCorrection1, c2 = 1.0f / biasCorrection2;
    for (ptrdiff_t i = 0; i < n; i++) {
        float gi = g[i] * gradScale;
        float mi = beta1 * m[i] + (1.0f - beta1) * gi;
        float vi = beta2 * v[i] + (1.0f - beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi * c2) + eps;
        p[i] = p[i] - lr * (mi * c1 / denom + weightDecay * p[i]);
    }
}
