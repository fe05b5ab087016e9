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

#ifdef __cplusplus
extern "C" {
#endif

// MARK: CPU features

/// Bit set of CPU features relevant to BitViT's kernels.
enum {
    BV_CPU_AVX2 = 1 << 0,
    BV_CPU_FMA = 1 << 1,
    BV_CPU_AVX512F = 1 << 2,
    BV_CPU_AVX512BW = 1 << 3,
    BV_CPU_AVX512DQ = 1 << 4,
    BV_CPU_AVX512VL = 1 << 5,
    BV_CPU_AVX512VPOPCNTDQ = 1 << 6,
    BV_CPU_AVX512VNNI = 1 << 7,
    BV_CPU_AVXVNNI = 1 << 8,
    BV_CPU_POPCNT = 1 << 9,
    BV_CPU_NEON = 1 << 10,
};

/// Features of the running CPU (an OR of `BV_CPU_*`).
uint32_t bv_cpu_features(void);

// MARK: Thread-local state (parallel regions, autograd recording)

/// Marks the calling thread as running inside a parallel region; returns the previous mark.
int bv_parallel_region_enter(void);
/// Restores the mark returned by `bv_parallel_region_enter`.
void bv_parallel_region_leave(int previous);
/// Non-zero while the calling thread runs inside a parallel region.
int bv_in_parallel_region(void);

/// Whether the calling thread records the autograd graph (thread-local, default on).
int bv_grad_mode_enabled(void);
/// Sets the calling thread's autograd recording switch.
void bv_grad_mode_set(int enabled);

// MARK: Spinning worker pool (the inference engine's fork/join)

/// Runs `fn(ctx, part)` for every part in 0..<parts on the calling thread and up to
/// `threads − 1` persistent pool workers (parts are claimed dynamically, so the caller takes
/// over the parts of a worker that is slow to start), and returns when all have finished.
/// Runs serially when `threads ≤ 1`, `parts == 1` or the caller is inside a parallel region;
/// every part runs marked as inside one. Workers spin for a while after each job (see
/// `bv_pool_set_spin_ns`) and then sleep. One job runs at a time; concurrent callers queue.
void bv_pool_run(int parts, int threads, void (*fn)(void *ctx, int part), void *ctx);
/// How long idle workers spin before sleeping (default 200 µs).
void bv_pool_set_spin_ns(long nanoseconds);
/// Routes the calling thread's parallel regions (`Parallel` in Swift) to the pool; returns
/// the previous setting for `bv_pool_mode_leave`.
int bv_pool_mode_enter(void);
/// Restores the setting returned by `bv_pool_mode_enter`.
void bv_pool_mode_leave(int previous);
/// Non-zero while the calling thread's parallel regions use the pool.
int bv_pool_mode(void);

// MARK: Vectorized float math

/// y[i] = exp(x[i]); relative error below 2e-7 on [-87, 88].
void bv_exp_f32(const float *x, float *y, ptrdiff_t n);

/// Exact-form GELU, y = x/2 · (1 + erf(x/√2)); erf absolute error below 2e-7.
void bv_gelu_forward_f32(const float *x, float *y, ptrdiff_t n);

/// dx = dy · GELU'(x).
void bv_gelu_backward_f32(const float *x, const float *dy, float *dx, ptrdiff_t n);

/// Row softmax of `scale · x`: `rows` rows of `cols` contiguous values, `y` may alias `x`.
void bv_softmax_rows_f32(const float *x, float *y, ptrdiff_t rows, ptrdiff_t cols, float scale);

/// Row log-softmax of x (no scale); `y` may alias `x`.
void bv_log_softmax_rows_f32(const float *x, float *y, ptrdiff_t rows, ptrdiff_t cols);

/// Softmax backward: dx = scale · y ⊙ (dy − Σ dy⊙y) per row; `dx` may alias `dy`.
void bv_softmax_backward_rows_f32(const float *y, const float *dy, float *dx,
                                  ptrdiff_t rows, ptrdiff_t cols, float scale);

/// LayerNorm forward over the last axis. `gamma`/`beta` may be NULL (identity affine).
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
