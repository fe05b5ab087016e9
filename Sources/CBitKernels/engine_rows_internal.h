// Internal: the per-ISA GSB attention row kernels shared by engine_rows.c (dispatch, portable
// and AVX-512 code) and engine_rows_avx2.c. Not part of the public API.
#ifndef BV_ENGINE_ROWS_INTERNAL_H
#define BV_ENGINE_ROWS_INTERNAL_H

#include "CBitKernels.h"
#include <stddef.h>
#include <stdint.h>

/// One row of `bv_gsb_attention_rows` (AVX2 + FMA + POPCNT): scores into `x`, softmax + bias,
/// the group-1 plane and the candidates (bound `ratio·fl(1/Σe + bias_min)`); returns max P'.
float bv_gsb_row_avx2(const uint64_t *q, const uint64_t *k, ptrdiff_t k_word_stride, int words, int n, float slope,
                      float offset, const float *b, float bias_min, float *x, float a1_bound, float ratio,
                      uint64_t *a1, uint64_t *cand, int32_t *a1_count);

/// One row of `bv_softmax_bias_max_rows` (AVX2 + FMA): y = fma(e, 1/Σe, bias); returns max(y).
float bv_softmax_bias_max_row_avx2(const float *x, float *y, const float *b, int n, float scale);

/// The two planes of one 64-element word of `bv_gsb_mask_planes_rows`, testing only the
/// candidate bits `s` (`n_left` elements of the row remain from `x` on).
void bv_gsb_mask_word_avx2(const float *x, uint64_t s, int n_left, float bound1, float bound2, uint64_t *b1, uint64_t *b2);

/// `bv_pack_gsb_value_panels` on AVX2.
void bv_pack_gsb_value_panels_avx2(const float *v, ptrdiff_t v_row_stride, const float *shift, int tokens, int features,
                                   const float *up, const float *down, uint32_t *panels, ptrdiff_t panel_dwords,
                                   ptrdiff_t plane_stride);

/// `bv_shift_minmax_rows` on AVX2.
void bv_shift_minmax_rows_avx2(const float *src, ptrdiff_t src_stride, const float *shift, ptrdiff_t rows, ptrdiff_t cols,
                               float *lo, float *hi);

/// One row of `bv_pack_interval_signs_rows` on AVX2; returns the row's nonzero count.
int bv_pack_interval_signs_row_avx2(const float *x, int k, float negative_from, float negative_through, float positive_from,
                                    uint64_t *bits, uint64_t *mask);

#endif
