// int8 GEMM driver (u8 × s8 → s32 → float transform); same loop order as the binary driver.
#include "bitkernels_internal.h"

typedef void (*itile_fn)(const bv_itile_in *, int, int, const bv_tile_out *);

int bv_igemm(const bv_igemm_args *g, int m0, int m1, int n0, int n1, int path) {
    path = bv_igemm_resolve_path(path);
    itile_fn tile;
    int MR, NV;
    switch (path) {
    case BV_KPATH_AVX512: tile = bv_itile_avx512; MR = BV_AVX512_MR; NV = BV_AVX512_NV; break;
    case BV_KPATH_AVX2: tile = bv_itile_avx2; MR = BV_AVX2_MR; NV = BV_AVX2_NV; break;
    default: tile = bv_itile_scalar; MR = BV_SCALAR_MR; NV = BV_SCALAR_NV; break;
    }
    if (m0 >= m1 || n0 >= n1) return path;

    const int k4 = (g->k + 3) / 4;
    // A vpmaddubsw pair sum is at most 2·a_max·w_max; as many steps as keep 16-bit sums exact.
    const long pair = 2L * g->a_max * g->w_max;
    const int s16_steps = g->a_max > 0 && g->w_max > 0 && g->a_max <= 255 && g->w_max <= 128 && pair <= 32767
        ? (int)(32767 / pair) : 0;
    const ptrdiff_t panel_stride = (ptrdiff_t)64 * k4;  // bytes
    // Column groups of NV panels over the whole K, even when the group outgrows L1: narrowing
    // it to stay L1-resident was measured slower (316 vs 452 GMAC/s at K = 1536), because the
    // extra activation broadcasts per vpdpbusd cost more than streaming panels from L2.
    const int gw = NV * BV_PANEL;

    __attribute__((aligned(64))) float P[BV_GROUP_MAX], Q[BV_GROUP_MAX], S[BV_GROUP_MAX], B[BV_GROUP_MAX];
    for (int ng = n0; ng < n1; ng += gw) {
        const int ncols = bv_min(gw, n1 - ng), nv = (ncols + BV_PANEL - 1) / BV_PANEL;
        // y = g·rs·cs·(acc − z[m]·colsum[n]) + bias  →  P = g·cs, S = −g·cs·colsum, U = z[m].
        for (int j = 0; j < nv * BV_PANEL; j++) {
            if (j >= ncols) { P[j] = Q[j] = S[j] = B[j] = 0; continue; }
            const int n = ng + j;
            const float gs = g->scale * (g->col_scale ? g->col_scale[n] : 1.0f);
            const float bias = g->bias ? g->bias[n] : 0.0f;
            P[j] = gs;
            Q[j] = g->row_scale ? 0.0f : bias;
            S[j] = g->a_zero ? -gs * (float)g->col_sums[n] : 0.0f;
            B[j] = bias;
        }
        for (int m = m0; m < m1; m += MR) {
            const int mr = bv_min(MR, m1 - m);
            float U[BV_MR_MAX];
            if (g->a_zero)
                for (int r = 0; r < mr; r++) U[r] = (float)g->a_zero[m + r];
            bv_itile_in in = {
                .a = g->a + (ptrdiff_t)m * g->lda, .lda = g->lda,
                .w = g->w + (ptrdiff_t)(ng / BV_PANEL) * panel_stride, .w_panel_stride = panel_stride,
                .k4 = k4,
                .s16_steps = s16_steps,
            };
            bv_tile_out out = {
                .P = P, .Q = Q, .S = S, .B = B,
                .U = g->a_zero ? U : NULL,
                .R = g->row_scale ? g->row_scale + m : NULL,
                .accumulate = g->accumulate,
                .c = g->c ? g->c + (ptrdiff_t)m * g->ldc + ng : NULL,
                .c32 = g->c32 ? g->c32 + (ptrdiff_t)m * g->ldc + ng : NULL,
                .ldc = g->ldc, .ncols = ncols,
            };
            tile(&in, mr, nv, &out);
        }
    }
    return path;
}
