// Float GEMM on weights packed once at load (see include/bv_sgemm_packed.h).
#include "bv_sgemm_packed.h"
#include "bv_bitkernels.h"
#include <CBitViTPlatform.h>
#include <string.h>

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>
#define BV_HAVE_X86 1
#endif

enum { PANEL = 16, MR = 6, MC = 24 };

size_t bv_sgemm_packed_floats(int n, int k) {
    return (size_t)((n + PANEL - 1) / PANEL) * (size_t)k * PANEL;
}

void bv_sgemm_pack_weights(const float *w, int n, int k, float *packed) {
    const int panels = (n + PANEL - 1) / PANEL;
    for (int p = 0; p < panels; p++) {
        float *dst = packed + (size_t)p * k * PANEL;
        for (int kk = 0; kk < k; kk++) {
            for (int c = 0; c < PANEL; c++) {
                const int col = p * PANEL + c;
                dst[(size_t)kk * PANEL + c] = col < n ? w[(size_t)col * k + kk] : 0.0f;
            }
        }
    }
}

int bv_sgemm_packed_resolve_path(int requested) {
    if (requested == BV_KPATH_SCALAR || requested == BV_KPATH_NEON) return BV_KPATH_SCALAR;
#ifdef BV_HAVE_X86
    const uint32_t avx2 = BV_CPU_AVX2 | BV_CPU_FMA;
    if ((bv_cpu_features() & avx2) == avx2) return BV_KPATH_AVX2;
#endif
    return BV_KPATH_SCALAR;
}

int bv_sgemm_packed_preferred(void) {
    // With AVX-512 OpenBLAS's own kernels are twice as wide as this AVX2 one.
    return bv_sgemm_packed_resolve_path(BV_KPATH_AUTO) == BV_KPATH_AVX2 && !(bv_cpu_features() & BV_CPU_AVX512F);
}

/// The epilogue of one tile row: c[0..<cols] = (accumulate ? c : 0) + alpha·acc + bias.
static inline void store_row(float *c, const float *acc, int cols, float alpha, const float *bias, int accumulate) {
    for (int j = 0; j < cols; j++) {
        float v = alpha * acc[j] + (bias ? bias[j] : 0.0f);
        c[j] = accumulate ? c[j] + v : v;
    }
}

/// Portable tile: rows `a[0..<mr]`, one 16-column panel, the whole depth.
static void tile_scalar(int mr, int k, const float *a, ptrdiff_t lda, const float *b, float *c, ptrdiff_t ldc, int cols,
                        float alpha, const float *bias, int accumulate) {
    for (int r = 0; r < mr; r++) {
        float acc[PANEL] = {0};
        const float *row = a + r * lda;
        for (int kk = 0; kk < k; kk++) {
            const float x = row[kk];
            for (int j = 0; j < PANEL; j++) acc[j] += x * b[(size_t)kk * PANEL + j];
        }
        store_row(c + r * ldc, acc, cols, alpha, bias, accumulate);
    }
}

#ifdef BV_HAVE_X86
/// 6×16 tile in 12 accumulators: per k, two loads of the panel and six broadcasts of A.
/// Rows past `mr` read row 0 again and are not stored (no copy of the edge rows).
__attribute__((target("avx2,fma")))
static void tile_avx2(int mr, int k, const float *a, ptrdiff_t lda, const float *b, float *c, ptrdiff_t ldc, int cols,
                      float alpha, const float *bias, int accumulate) {
    const float *r0 = a, *r1 = mr > 1 ? a + lda : a, *r2 = mr > 2 ? a + 2 * lda : a;
    const float *r3 = mr > 3 ? a + 3 * lda : a, *r4 = mr > 4 ? a + 4 * lda : a, *r5 = mr > 5 ? a + 5 * lda : a;
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int kk = 0; kk < k; kk++, b += PANEL) {
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        __m256 x = _mm256_broadcast_ss(r0 + kk);
        c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(r1 + kk);
        c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(r2 + kk);
        c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(r3 + kk);
        c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31);
        x = _mm256_broadcast_ss(r4 + kk);
        c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41);
        x = _mm256_broadcast_ss(r5 + kk);
        c50 = _mm256_fmadd_ps(x, b0, c50); c51 = _mm256_fmadd_ps(x, b1, c51);
    }
    const __m256 acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    const __m256 va = _mm256_set1_ps(alpha);
    for (int r = 0; r < mr; r++) {
        float *row = c + r * ldc;
        if (cols == PANEL) {
            for (int h = 0; h < 2; h++) {
                __m256 v = _mm256_mul_ps(va, acc[r][h]);
                if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + 8 * h));
                if (accumulate) v = _mm256_add_ps(v, _mm256_loadu_ps(row + 8 * h));
                _mm256_storeu_ps(row + 8 * h, v);
            }
        } else {
            float tmp[PANEL];
            _mm256_storeu_ps(tmp, acc[r][0]);
            _mm256_storeu_ps(tmp + 8, acc[r][1]);
            store_row(row, tmp, cols, alpha, bias, accumulate);
        }
    }
}
#endif

void bv_sgemm_packed(int path, int m, int k, const float *a, ptrdiff_t lda, const float *packed, int n, int col_lo, int col_hi,
                     float alpha, const float *bias, int accumulate, float *c, ptrdiff_t ldc) {
    path = bv_sgemm_packed_resolve_path(path);
    if (col_hi > n) col_hi = n;
    const int p_lo = col_lo / PANEL, p_hi = (col_hi + PANEL - 1) / PANEL;
    for (int i0 = 0; i0 < m; i0 += MC) {
        const int i1 = i0 + MC < m ? i0 + MC : m;
        for (int p = p_lo; p < p_hi; p++) {
            const int c0 = p * PANEL, cols = (c0 + PANEL <= col_hi ? PANEL : col_hi - c0);
            const float *panel = packed + (size_t)p * k * PANEL, *pb = bias ? bias + c0 : NULL;
            for (int i = i0; i < i1; i += MR) {
                const int mr = i1 - i < MR ? i1 - i : MR;
#ifdef BV_HAVE_X86
                if (path == BV_KPATH_AVX2) {
                    tile_avx2(mr, k, a + i * lda, lda, panel, c + i * ldc + c0, ldc, cols, alpha, pb, accumulate);
                    continue;
                }
#endif
                tile_scalar(mr, k, a + i * lda, lda, panel, c + i * ldc + c0, ldc, cols, alpha, pb, accumulate);
            }
        }
    }
}
