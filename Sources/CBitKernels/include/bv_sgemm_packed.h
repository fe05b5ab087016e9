// Float GEMM against weights packed once at load: `C = α·A·Wᵀ + bias` (or `C +=`), the
// product of the engine's float linear layers. OpenBLAS packs W again on every call and has no
// interface for keeping it packed; at the engine's shapes (a few hundred token rows) that
// repacking and its generic blocking cost 10–25 % on an AVX2 core (docs/performance.md).
#ifndef BV_SGEMM_PACKED_H
#define BV_SGEMM_PACKED_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Floats of the packed form of a weight `[n, k]`: panels of 16 output columns (the last one
/// zero-padded), each `k` rows of 16 floats.
size_t bv_sgemm_packed_floats(int n, int k);

/// Packs `w` (`[n, k]` row-major, one output feature per row) into `packed`
/// (`bv_sgemm_packed_floats(n, k)` floats).
void bv_sgemm_pack_weights(const float *w, int n, int k, float *packed);

/// The path `bv_sgemm_packed` runs for `requested` (BV_KPATH_*): AVX2 (with FMA) or SCALAR.
int bv_sgemm_packed_resolve_path(int requested);

/// 1 where the packed GEMM beats OpenBLAS: an AVX2 + FMA CPU without AVX-512.
int bv_sgemm_packed_preferred(void);

/// Columns `[col_lo, col_hi)` of `C[m, n]` (row stride `ldc`): `α·A·Wᵀ + bias`, added to `C`
/// when `accumulate`. `A` is `[m, k]` with row stride `lda`, `W` given packed, `bias` `[n]` or
/// NULL; `col_lo` a multiple of 16. Column ranges of one call never overlap another's, so
/// threads may split the columns.
void bv_sgemm_packed(int path, int m, int k, const float *a, ptrdiff_t lda, const float *packed, int n, int col_lo, int col_hi,
                     float alpha, const float *bias, int accumulate, float *c, ptrdiff_t ldc);

#ifdef __cplusplus
}
#endif

#endif
