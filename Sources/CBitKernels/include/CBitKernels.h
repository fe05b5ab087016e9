// CBitKernels: the few kernels that need instruction-set-specific code.
//
// Every public function here is safe to call on any x86-64 or ARM64 CPU: the best
// implementation for the running CPU is chosen at run time (GCC/Clang `target_clones`
// multiversioning, or explicit dispatch on `bv_cpu_features()`), so the package needs no
// `-m` flags and stays usable as a dependency.
//
// Conventions: all arrays are contiguous, row-major float32; lengths are element counts.
#ifndef CBITKERNELS_H
#define CBITKERNELS_H

#include <stddef.h>
#include <stdint.h>
#include "bv_bitkernels.h"
#include "bv_engine_rows.h"
#include "bv_train_kernels.h"
#include "bv_sgemm_packed.h"

#ifdef __cplusplus
extern "C" {
#endif

// MARK: Vectorized float math

/// y[i] = exp(x[i]); relative error below 2e-7 on [-87, 88]. `y` may be `x` (in place).
void bv_exp_f32(const float *x, float *y, ptrdiff_t n);

/// Exact-form GELU, y = x/2 · (1 + erf(x/√2)); erf absolute error below 2e-7. `y` may be `x`.
void bv_gelu_forward_f32(const float *x, float *y, ptrdiff_t n);

/// dx = dy · GELU'(x); `dx` may be `dy` or `x`.
void bv_gelu_backward_f32(const float *x, const float *dy, float *dx, ptrdiff_t n);

/// Row softmax of `scale · x`: `rows` rows of `cols` contiguous values, `y` may alias `x`.
void bv_softmax_rows_f32(const float *x, float *y, ptrdiff_t rows, ptrdiff_t cols, float scale);

/// Row log-softmax of x (no scale); `y` may alias `x`.
void bv_log_softmax_rows_f32(const float *x, float *y, ptrdiff_t rows, ptrdiff_t cols);

/// Softmax backward: dx = scale · y ⊙ (dy − Σ dy⊙y) per row; `dx` may alias `dy`.
void bv_softmax_backward_rows_f32(const float *y, const float *dy, float *dx,
                                  ptrdiff_t rows, ptrdiff_t cols, float scale);

/// LayerNorm forward over the last axis (`y` may be `x`). `gamma`/`beta` may be NULL (identity affine).
/// Writes the per-row mean and reciprocal standard deviation when `mean`/`rstd` are non-NULL.
void bv_layernorm_forward_f32(const float *x, const float *gamma, const float *beta,
                              float *y, float *mean, float *rstd,
                              ptrdiff_t rows, ptrdiff_t cols, float eps);

/// LayerNorm backward. Writes dx; *adds* the row sums into dgamma/dbeta when non-NULL.
void bv_layernorm_backward_f32(const float *x, const float *gamma, const float *mean,
                               const float *rstd, const float *dy, float *dx,
                               float *dgamma, float *dbeta, ptrdiff_t rows, ptrdiff_t cols);

/// Sum of n values (pairwise-blocked, vectorized).
double bv_sum_f32(const float *x, ptrdiff_t n);

/// Σ x[i]·y[i] in double precision accumulation of float blocks.
double bv_dot_f32(const float *x, const float *y, ptrdiff_t n);

/// One AdamW step on n parameters (decoupled weight decay; bias corrections passed in).
/// p -= lr · (m̂ / (√v̂ + eps) + wd · p), with m, v updated in place from g·gradScale.
void bv_adamw_step_f32(float *p, const float *g, float *m, float *v, ptrdiff_t n,
                       float lr, float beta1, float beta2, float eps, float weightDecay,
                       float biasCorrection1, float biasCorrection2, float gradScale);

#ifdef __cplusplus
}
#endif
#endif
