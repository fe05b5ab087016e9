// Fused kernels of the quantized training graph: the activation quantizers of GSB, BHViT, the
// W1A1 baselines and Q-ViT, forward and backward in one pass each, and the packing of 1-bit
// quantized activations into the bit planes of the binary GEMM (bv_bitkernels.h).
//
// Every kernel reproduces its Swift reference in BitViTQuant (ElasticQuantizer, SignQuantizer,
// LSQActivationQuantizer) element for element: the same float operations in the same order
// (x/c as a division, round half to even, no contraction into FMA), so quantized values,
// masks and input gradients are bit-identical; only the step-size and shift gradient sums
// are accumulated in another order (double accumulators of float partials).
//
// Paths: BV_KPATH_SCALAR (portable C) and BV_KPATH_AVX2 (8 lanes); BV_KPATH_AUTO picks the best
// the CPU runs, a request for a path the CPU lacks falls back to the best one below it. Both
// paths give identical results (lane-wise partial sums in the same order).
#ifndef BV_TRAIN_KERNELS_H
#define BV_TRAIN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The path `requested` (BV_KPATH_*) resolves to for the training kernels on this CPU.
int bv_train_resolve_path(int requested);

/// Per-thread settings of the Swift layer (`QuantizerKernels`): whether the calling thread runs
/// the reference implementations, and the path it forces (0 = best available).
int bv_train_reference_mode(void);
void bv_train_set_reference_mode(int on);
int bv_train_forced_path(void);
void bv_train_set_forced_path(int path);

/// The per-tensor 1-bit and low-bit activation quantizers, applied to v = x + shift[j]
/// (shift per column, NULL for none) with a positive step c:
enum {
    /// GSB's signed binarizer SB: y = c·sgn(v); r = v/c, I = [|r| ≤ 1];
    /// dx = g·I, step term g·(sgn(v) − I·r).
    BV_Q1_SIGN_STEP = 0,
    /// Elastic multi-level (and GSB's unsigned UB with qn 0, qp 1): r = v/c,
    /// q = round(clamp(r, qn, qp)), y = c·q; I = [qn ≤ r ≤ qp]; dx = g·I,
    /// step term g·(I ? q − r : q).
    BV_Q1_LEVELS = 1,
    /// sgn(v) with the clipped straight-through estimator: dx = g·[|v| ≤ 1] (c unused).
    BV_Q1_SIGN_CLIPPED = 2,
    /// sgn(v) with ApproxSign: dx = g·max(2 − 2|v|, 0) (c unused).
    BV_Q1_SIGN_APPROX = 3,
};

/// Forward of `kind` on `rows` rows of `k` contiguous values: y[r,j] (y may alias x).
void bv_quant1_forward(const float *x, int rows, int k, const float *shift, float c, float qn, float qp,
                       int kind, float *y, int path);

/// Backward of `kind` on rows of k values, given the output gradient g:
/// writes dx (may alias g); when `xhat` is non-NULL also the forward value y there; adds the
/// sum of the step terms to `*step_sum` (BV_Q1_SIGN_STEP and BV_Q1_LEVELS; may be NULL) and
/// the column sums of dx to `shift_grad[k]` (may be NULL). Accumulators are not cleared.
void bv_quant1_backward(const float *x, const float *g, int rows, int k, const float *shift, float c,
                        float qn, float qp, int kind, float *dx, float *xhat, double *step_sum,
                        double *shift_grad, int path);

/// {0,1} bits of GSB's unsigned binarizer UB for the binary GEMM: bit = (round(clamp(v/c, 0, 1))
/// == 1), i.e. v/c > 0.5, v = x + shift[j]. Row r of `rows` rows of k contiguous values goes to
/// `bits + r*row_stride` (words past k zeroed); row_counts[r] (optional) = its popcount.
void bv_pack_unsigned_binary(const float *x, int rows, int k, const float *shift, float c,
                             uint64_t *bits, ptrdiff_t row_stride, int32_t *row_counts, int path);

/// Q-ViT's asymmetric LSQ quantizer with a step a[ch] and a rounded zero point z[ch] per
/// channel, on a tensor viewed as [outer, channels, inner] (channel ch of element (o, ch, i)):
/// u = x/a + z, q = round(clamp(u, qn, qp)), y = (q − z)·a. Rows `o0 ..< o1` of the outer axis.
void bv_lsq_forward(const float *x, int o0, int o1, int channels, int inner, const float *a,
                    const float *z, float qn, float qp, float *y, int path);

/// Its backward over outer rows o0 ..< o1: I = [qn ≤ u ≤ qp]; dx = g·I (dx may alias g);
/// adds Σ g·(I ? (q − z) − x/a : q − z) per channel to step_sums[channels] and Σ (I ? 0 : −g·a)
/// to zero_sums[channels]. Accumulators are not cleared.
void bv_lsq_backward(const float *x, const float *g, int o0, int o1, int channels, int inner,
                     const float *a, const float *z, float qn, float qp, float *dx,
                     double *step_sums, double *zero_sums, int path);

// MARK: GSB's group superposition quantizers (docs/reference/gsb.md §4.4–4.5)
//
// `groups` = K scales c[0..K−1] (floored); element v is in mask group j ≥ 1 when
// v > upper[j−1] or v < lower[j−1] (strict). n elements, flat.

/// Largest and smallest of n values (NaN-free input).
void bv_extremes(const float *x, ptrdiff_t n, float *max, float *min, int path);

/// GSB_V forward: y = sgn(v)·(c[0] + Σ_{j≥1, v in group j} c[j]), the level summed in j order.
void bv_gsb_value_forward(const float *v, ptrdiff_t n, const float *c, const float *upper, const float *lower,
                          int groups, float *y, int path);

/// GSB_V backward: dv = g·(I_0 + Σ_{j≥1} (v in group j ? I_j : 1)) with I_j = [|v/c[j]| ≤ 1];
/// adds Σ g·(sgn(v) − I_j·v/c[j]) over group j's members (all elements for j = 0) to
/// sums[j] and the member counts |T_j| to counts[j] (j ≥ 1).
void bv_gsb_value_backward(const float *v, const float *g, ptrdiff_t n, const float *c, const float *upper,
                           const float *lower, int groups, float *dv, double *sums, double *counts, int path);

/// GSB_A forward: y = c[0]·clamp(round(a/c[0]), 0, 1) + Σ_{j≥1, a in group j} c[j] (lower unused).
void bv_gsb_attention_forward(const float *a, ptrdiff_t n, const float *c, const float *upper, int groups,
                              float *y, int path);

/// GSB_A backward: r = a/c[0], slope = [0 ≤ r ≤ 1] + Σ_{j≥1, a in group j} c[j], da = g·slope;
/// adds Σ g·([r > 1] + [0 ≤ r ≤ 1]·(round(r) − r)) to sums[0], Σ_{T_j} g to sums[j] and
/// |T_j| to counts[j].
void bv_gsb_attention_backward(const float *a, const float *g, ptrdiff_t n, const float *c, const float *upper,
                               int groups, float *da, double *sums, double *counts, int path);

#ifdef __cplusplus
}
#endif
#endif
