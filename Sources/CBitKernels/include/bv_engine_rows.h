// Row kernels of the inference engine's fused producers (BitViTRuntime/Engine): the float
// passes around GSB's attention and the packing of thresholds folded through GELU. Every
// function picks AVX-512 at run time when the CPU has it, else portable C; the GSB attention
// kernels that take a `path` (BV_KPATH_*, see bv_bitkernels.h) also have AVX2 + FMA code
// (engine_rows_avx2.c), and AUTO picks the best path the CPU runs (a forced path the CPU
// lacks falls back to the best one below it, as for the GEMMs).
#ifndef BV_ENGINE_ROWS_H
#define BV_ENGINE_ROWS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// `y = softmax(scale·x) + bias` over `rows` contiguous rows of `cols` values (`y` may alias
/// `x`; `bias` has rows·cols values, or is NULL for none). Returns the largest value written.
/// exp is vecmath.c's polynomial; on AVX-512 and AVX2 every pass over a row is explicitly vectorized
/// (`y = fma(e, 1/Σe, bias)`, one rounding; the portable path adds the bias after the division).
float bv_softmax_bias_max_rows(const float *x, float *y, const float *bias, ptrdiff_t rows, ptrdiff_t cols, float scale);

/// `dst[r·dst_stride + j] = src[r·src_stride + j] + shift[j]` for `rows` × `cols`, and lowers
/// `*lo` / raises `*hi` to the smallest / largest value written.
void bv_add_shift_minmax_rows(const float *src, ptrdiff_t src_stride, const float *shift, float *dst,
                              ptrdiff_t dst_stride, ptrdiff_t rows, ptrdiff_t cols, float *lo, float *hi);

/// One {0,1} plane per row: bit j = (x[j] > above[j]) || (x[j] < below[j]) (strict), packed as
/// `bv_pack_thresholds` packs (row r at `bits + r·row_stride` words, bits past `k` zero);
/// `row_counts` (optional) receives each row's popcount.
void bv_pack_outside_rows(const float *x, ptrdiff_t x_row_stride, int rows, int k, const float *above,
                          const float *below, uint64_t *bits, ptrdiff_t row_stride, int32_t *row_counts);

/// The ternary signs of `g(x)` for a function g that is negative exactly on
/// [`negative_from`, `negative_through`], positive exactly from `positive_from` on and zero
/// elsewhere (the W1A1 MLP's `sgn(GELU(h))`, GELU evaluated by nobody): bit j = g(x[j]) < 0 and
/// mask bit j = g(x[j]) ≠ 0 (a NaN packs as 0, as `bv_pack_signs` packs g(NaN) = NaN), packed as
/// `bv_pack_signs` packs them (row r at `bits + r·row_stride` and `mask + r·row_stride` words, bits past `k` zero);
/// `row_counts` (optional) receives each row's nonzero count. `path` as for the row kernels.
void bv_pack_interval_signs_rows(const float *x, ptrdiff_t x_row_stride, int rows, int k, float negative_from,
                                 float negative_through, float positive_from, uint64_t *bits, uint64_t *mask,
                                 ptrdiff_t row_stride, int32_t *row_counts, int path);

/// `dst[j·rows + r] = src[r·src_stride + j] + shift[j]` (the transpose, `cols` × `rows`), and
/// lowers `*lo` / raises `*hi` to the smallest / largest value written.
void bv_transpose_add_shift_minmax(const float *src, ptrdiff_t src_stride, const float *shift, float *dst,
                                   ptrdiff_t rows, ptrdiff_t cols, float *lo, float *hi);

/// `bv_pack_gsb_signed_planes` for contiguous rows (`up` = {t1_pos, t2_pos}, `down` =
/// {t1_neg, t2_neg}), explicitly vectorized on AVX-512.
void bv_pack_gsb_planes_rows(const float *x, ptrdiff_t x_row_stride, int rows, int k, const float *up, const float *down,
                             uint64_t *bits, ptrdiff_t row_stride, ptrdiff_t plane_stride);

/// Three {0,1} planes of contiguous rows in one pass: plane p bit = (x > thresholds[p]),
/// plane p of row r at `bits + p·plane_stride + r·row_stride`; `row_counts` [3][rows] receives
/// each plane row's popcount (GSB_A's planes of the attention matrix).
void bv_pack_three_thresholds_rows(const float *x, ptrdiff_t x_row_stride, int rows, int k, const float *thresholds,
                                   uint64_t *bits, ptrdiff_t row_stride, ptrdiff_t plane_stride, int32_t *row_counts);

/// GSB's V̂ planes (as `bv_pack_gsb_signed_planes`: plane 0 bit = x < 0, plane p bit = (x < 0)
/// xor not beyond t_p, with x = v + shift) of one head's values `v` [tokens, features] (row
/// stride `v_row_stride`, shift per feature), written straight into the binary GEMM's
/// right-operand panel layout with features as its rows and tokens as K: feature f's dword d
/// (tokens 32d…32d+31, bit t − 32d) at `panels + p·plane_stride + ((f/16)·panel_dwords + d)·16 + f%16`.
/// Every dword of the ceil(features/16) panels × `panel_dwords` is written (bits past `tokens`
/// or `features` zero), so the float values are never transposed.
void bv_pack_gsb_value_panels(const float *v, ptrdiff_t v_row_stride, const float *shift, int tokens, int features,
                              const float *up, const float *down, uint32_t *panels, ptrdiff_t panel_dwords,
                              ptrdiff_t plane_stride, int path);

/// Lowers `*lo` / raises `*hi` to the smallest / largest `src[r·src_stride + j] + shift[j]`.
void bv_shift_minmax_rows(const float *src, ptrdiff_t src_stride, const float *shift, ptrdiff_t rows, ptrdiff_t cols,
                          float *lo, float *hi, int path);

/// GSB attention, pass 1 for `rows` query rows of one (image, head), one row at a time while
/// it is in L1:
///
/// - scores `x_j = scale·(d − 2·popcount(q_r ^ k_j))` (sign bits: q row r at `q + r·q_row_stride`,
///   `words` = ceil(d/64) words; word w of key j at `k[w·k_word_stride + j]`), evaluated as
///   `fma(popcount, −2·scale, scale·d)` like the binary GEMM's output transform;
/// - `P'_r = softmax(x) + bias_r` into `p + r·n` (`bv_softmax_bias_max_rows`; bias [rows, n] or NULL);
/// - GSB_A's group-1 plane `P' > a1_bound` into `a1_bits` (+ `a1_counts[r]`), and the candidates
///   of the groups 2 and 3, `P' > ratio·L_r`, into `candidates` (row stride `bits_row_stride`
///   words, bits past n zero), where L_r ≤ max(P'_r) is a lower bound: max(P'_r) itself on the
///   portable path, `fl(1/Σe + bias_row_min[r])` on AVX2 and AVX-512 (the scores' arg-max has e = 1, so
///   the row maximum is at least that; `bias_row_min` [rows] holds min_j bias_rj).
///   The vector paths compute `P' = fma(e, 1/Σe, bias)` (one rounding), the portable one
///   `fl(fl(e·(1/Σe)) + bias)`, as the training graph's softmax followed by the addition.
///
/// Returns the largest P' written. With the batch-global maximum M ≥ 0, M ≥ max(P'_r) and
/// 0 ≤ ratio ≤ t, every element with `P' > t·M` is a candidate (float products are monotone).
float bv_gsb_attention_rows(const uint64_t *q, ptrdiff_t q_row_stride, const uint64_t *k, ptrdiff_t k_word_stride, int words,
                            int rows, int n, int d, float scale, const float *bias, const float *bias_row_min, float *p,
                            float a1_bound, float ratio, uint64_t *a1_bits, uint64_t *candidates, ptrdiff_t bits_row_stride,
                            int32_t *a1_counts, int path);

/// GSB attention, pass 2: the planes `P' > bound1` and `P' > bound2` of `rows` rows of `p`
/// ([rows, n]), testing only the `candidates` bits (a superset of both planes, from
/// `bv_gsb_attention_rows`); bits, row stride and counts as there.
void bv_gsb_mask_planes_rows(const float *p, int rows, int n, const uint64_t *candidates, ptrdiff_t bits_row_stride,
                             float bound1, float bound2, uint64_t *t1_bits, uint64_t *t2_bits, int32_t *t1_counts,
                             int32_t *t2_counts, int path);

/// Q-ViT's activation quantizer over `rows` rows of `k` values (row stride `x_row_stride`):
/// `q = rint(clamp(x/step_j + zero_j, qn, qp))` — division and round half to even, as the
/// training graph computes it — with `step` and `zero` per column (`per_channel`) or one value
/// for all. Writes the u8 codes `q − qn` to `codes` (row stride `code_row_stride` bytes) and/or
/// the represented values `(q − zero)·step` to `values` (row stride `value_row_stride`); either
/// may be NULL.
void bv_quantize_levels_rows(const float *x, ptrdiff_t x_row_stride, int rows, int k, const float *step, const float *zero,
                             int per_channel, float qn, float qp, uint8_t *codes, ptrdiff_t code_row_stride,
                             float *values, ptrdiff_t value_row_stride);

/// BHViT's RPReLU with a tiled residual, `out = RPReLU(y + Tile(source))` over `rows` rows of `c`
/// values: output channel k reads channel `k % sc` of the row's `sc` source values;
/// RPReLU(u) = (max(u − move1, 0) + slope·min(u − move1, 0)) + move2 per channel (`out` may be `y`).
/// With `means` (else NULL), also BHViT's GroupMean of each output row, taken while the row is
/// in L1: `means[r·(c/ratio) + k]` = the mean of out[r·c + k·ratio + j], j < ratio, summed in
/// order of j.
void bv_bhvit_tile_rprelu_rows(const float *y, int rows, int c, const float *source, int sc, const float *move1,
                               const float *slope, const float *move2, float *out, int ratio, float *means);

/// BHViT's MLP hidden layer H1 = RPReLU(y + Tile(source)) over `rows` rows of `c` fc1 outputs
/// `y` (as `bv_bhvit_tile_rprelu_rows`), made for fc2's binary GEMM without being stored: its
/// GroupMean into `means` (as there; not NULL) and the signs of H1 + `shift` (`shift` [c], not
/// NULL) packed as `bv_pack_signs` packs them (bit = value < 0) into `bits`, row r at
/// `bits + r·bits_stride`, ceil(c/64) words, bits past c zero. Rows of whole 64-channel words
/// with ratio 4 or 8 and `sc` a multiple of 8 stay in registers; other shapes go through one
/// scratch row, and the call returns −1 (nothing written) when it cannot be allocated, else 0.
int bv_bhvit_mlp_hidden_rows(const float *y, int rows, int c, const float *source, int sc, const float *move1,
                             const float *slope, const float *move2, int ratio, float *means, const float *shift,
                             uint64_t *bits, ptrdiff_t bits_stride);

/// `y = x·scale + shift` per channel over `rows` rows of `c` values (`y` may be `x`); BHViT's
/// folded BatchNorms.
void bv_bhvit_affine_rows(const float *x, int rows, int c, const float *scale, const float *shift, float *y);

/// The end of BHViT's MSGDC on `rows` rows of `c` values: `x += (Σ_b RPReLU_b(y_b))·scale + shift`
/// over its three branch outputs y1…y3, summed in branch order; `acts[3b…3b+2]` = move1, slope,
/// move2 of branch b (RPReLU as in `bv_bhvit_tile_rprelu_rows`).
void bv_bhvit_msgdc_residual_rows(float *x, const float *y1, const float *y2, const float *y3, int rows, int c,
                                  const float *const acts[9], const float *scale, const float *shift);

/// Channels per block of bv_bhvit_block_residual_rows's interleaved parameters.
#define BV_RESIDUAL_LANES 8

/// The end of a BHViT block on rows [row0, row1) of the residual stream `x` `[B·side², c]`:
/// `x = (x + (y·ls + lm)) + Σ_b (S_b(u2)·s_b + m_b)` over the six circular shift branches of `u2`
/// on each image's side×side grid (h3, w3, ch3, h5, w5, ch5; ch3/ch5 read the pixel 1/2 above,
/// below, left, right in channel quarters 0–3), or without the branches when `shift_branches`
/// is 0. `params` holds the LayerScale (ls, lm) and branch parameters (s_b, m_b) interleaved in
/// blocks of BV_RESIDUAL_LANES channels: block kb, vector v, lane l at
/// `params[(kb·V + v)·BV_RESIDUAL_LANES + l]` for channel kb·BV_RESIDUAL_LANES + l, with vectors
/// v = ls, lm (V = 2), then s_b, m_b for b = 0…5 (V = 14) with the branches; lanes past c are 0.
void bv_bhvit_block_residual_rows(float *x, const float *y, const float *u2, int side, int c, const float *params,
                                  int shift_branches, ptrdiff_t row0, ptrdiff_t row1);

#ifdef __cplusplus
}
#endif
#endif
