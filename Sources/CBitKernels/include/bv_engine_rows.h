// Row kernels of the inference engine's fused producers (BitViTDeploy/Engine): the float
// passes around GSB's attention and the packing of thresholds folded through GELU. Every
// function picks AVX-512 at run time when the CPU has it, else portable C.
#ifndef BV_ENGINE_ROWS_H
#define BV_ENGINE_ROWS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// `y = softmax(scale·x) + bias` over `rows` contiguous rows of `cols` values (`y` may alias
/// `x`; `bias` has rows·cols values, or is NULL for none). Returns the largest value written.
/// exp is vecmath.c's polynomial; on AVX-512 every pass over a row is explicitly vectorized.
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

#ifdef __cplusplus
}
#endif
#endif
