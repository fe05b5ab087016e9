// Binary GEMM driver: walks the output in (column group × row tile) order, builds the
// per-column output transform once per column group, and calls the path's microkernel.
//
// Loop order, for the calling thread's rows [m0, m1) and columns [n0, n1):
//   for each column group of NV panels (its B panels, whole K, stay in L1 or L2)
//     for each row tile of MR rows
//       for each plane-pair group (fused planes are summed inside the microkernel)
//         microkernel → output transform into C (accumulating after the first group)
// so every plane of the tile's operands comes from L1 after its first use.
#include "bitkernels_internal.h"
#include <string.h>

typedef void (*btile_fn)(const bv_btile_in *, int, int, const bv_tile_out *);

/// Pair groups held on the stack at once; more plane pairs run in several passes.
enum { BV_MAX_PAIRS = 16 };

static int all_equal(const float *s, int n) {
    if (!s) return 1;
    for (int i = 1; i < n; i++) if (s[i] != s[0]) return 0;
    return 1;
}

/// The per-column output transform (see bv_tile_out) of columns [ng, ng + ncols) for the pair
/// group of A planes [ia, ia + pa) and B planes [jb, jb + pb): branch-free loops over the live
/// columns (they vectorize), zeros up to `width`. `first` pair group: it adds the bias.
static void column_transform(const bv_bgemm_args *g, int ia, int pa, int jb, int pb, int first, int w,
                             int col_base_counts, int ng, int ncols, int width, float *restrict Pp,
                             float *restrict Qp, float *restrict Sp, float *restrict Bp) {
    const float base = g->product == BV_PROD_PM1_PM1 ? (float)pa * pb * g->k : 0.0f;
    const float gp = g->scale * (g->a_scales ? g->a_scales[ia] : 1.0f) * (g->b_scales ? g->b_scales[jb] : 1.0f);
    const float *cs = g->col_scale ? g->col_scale + ng : NULL;
    const float *bias = first && g->bias ? g->bias + ng : NULL;
    for (int j = 0; j < ncols; j++) Sp[j] = cs ? gp * cs[j] : gp;
    for (int j = 0; j < ncols; j++) Bp[j] = bias ? bias[j] : 0.0f;
    // With R the bias is added after it (B). Q stays one expression a·b + c (a target with
    // baseline FMA contracts it into one rounding).
    const int bias_in_q = !g->row_scale;
    if (col_base_counts)
        for (int j = 0; j < ncols; j++) {
            int64_t cnt = 0;
            for (int q = 0; q < pb; q++) cnt += g->b_counts[(jb + q) * g->b_counts_plane_stride + ng + j];
            Qp[j] = Sp[j] * (float)(pa * cnt) + (bias_in_q ? Bp[j] : 0.0f);
        }
    else
        for (int j = 0; j < ncols; j++) Qp[j] = Sp[j] * base + (bias_in_q ? Bp[j] : 0.0f);
    for (int j = 0; j < ncols; j++) Pp[j] = (float)w * Sp[j];
    for (int j = ncols; j < width; j++) Pp[j] = Qp[j] = Sp[j] = Bp[j] = 0;
}

/// Row values U[r] of the output transform for products whose dot has a per-row constant part:
/// pb × the popcount of the row over A planes [ia, ia + pa). Returns their sum.
static int64_t row_bases(const bv_bgemm_args *g, int ia, int pa, int pb, int m, int mr, float *U) {
    int64_t nonzero = 0;
    for (int r = 0; r < mr; r++) {
        int64_t cnt = 0;
        for (int q = 0; q < pa; q++) cnt += g->a_counts[(ia + q) * g->a_counts_plane_stride + m + r];
        U[r] = (float)(pb * cnt);
        nonzero += cnt;
    }
    return nonzero;
}

/// One plane pair by table lookup (bgemm_avx2_lut.c): column groups of BV_LUT_GROUP, each
/// row's tables built once per group, the output transform shared with the panel kernel.
__attribute__((noinline)) static void bgemm_lut(const bv_bgemm_args *g, int m0, int m1, int n0, int n1, int op, int w, int row_base,
                      int col_base_counts) {
    __attribute__((aligned(64))) float P[BV_LUT_GROUP], Q[BV_LUT_GROUP], S[BV_LUT_GROUP], B[BV_LUT_GROUP];
    float U[BV_LUT_MAX_ROWS];
    const int slots = bv_lut_slots(g->k);
    _Alignas(32) uint8_t tables[BV_LUT_TABLE_BYTES];
    const int tile = bv_min(BV_LUT_MAX_ROWS, BV_LUT_TABLE_BYTES / (slots * 16));
    const ptrdiff_t block_stride = (ptrdiff_t)slots * BV_LUT_BLOCK;
    for (int ng = n0; ng < n1; ng += BV_LUT_GROUP) {
        const int ncols = bv_min(BV_LUT_GROUP, n1 - ng);
        column_transform(g, 0, 1, 0, 1, 1, w, col_base_counts, ng, ncols, (ncols + 15) / 16 * 16, P, Q, S, B);
        bv_tile_out out = {
            .P = P, .Q = Q, .S = S, .B = B,
            .U = row_base ? U : NULL,
            .accumulate = g->accumulate,
            .ldc = g->ldc,
            .ncols = ncols,
            .bits_stride = g->out_bits_stride,
            .bit0 = ng % 64,
            .above = g->out_bits ? g->out_above + ng : NULL,
            .below = g->out_bits ? g->out_below + ng : NULL,
        };
        bv_lut_rows rows = {
            .op = op,
            .a_row_stride = 2 * g->a_row_stride,
            .w = g->b_lut + (ptrdiff_t)(ng / BV_LUT_BLOCK) * block_stride,
            .block_stride = block_stride,
            .slots = slots,
            .ncols = ncols,
            .tables = tables,
        };
        for (int m = m0; m < m1; m += tile) {
            const int mr = bv_min(tile, m1 - m);
            if (row_base) row_bases(g, 0, 1, 1, m, mr, U);
            rows.rows = mr;
            rows.a = (const bv_u32a *)(g->a + (ptrdiff_t)m * g->a_row_stride);
            rows.a_mask = g->a_mask ? (const bv_u32a *)(g->a_mask + (ptrdiff_t)m * g->a_row_stride) : NULL;
            out.R = g->row_scale ? g->row_scale + m : NULL;
            out.c = g->c + (ptrdiff_t)m * g->ldc + ng;
            out.bits = g->out_bits ? g->out_bits + (ptrdiff_t)m * g->out_bits_stride + ng / 64 : NULL;
            bv_lut_rows_avx2(&rows, &out);
        }
    }
}

int bv_bgemm_takes_lut(const bv_bgemm_args *g, int path) {
    return path == BV_KPATH_AVX2 && g->b_lut && g->a_planes == 1 && g->b_planes == 1
        && g->k <= BV_LUT_MAX_K && g->n >= BV_LUT_MIN_COLUMNS;
}

int bv_bgemm(const bv_bgemm_args *g, int m0, int m1, int n0, int n1, int path) {
    path = bv_bgemm_resolve_path(path);
    btile_fn tile;
    int MR, NV;
    switch (path) {
    case BV_KPATH_AVX512: tile = bv_btile_avx512; MR = BV_AVX512_MR; NV = BV_AVX512_NV; break;
    case BV_KPATH_AVX2: tile = bv_btile_avx2; MR = BV_AVX2_MR; NV = BV_AVX2_BNV; break;
    case BV_KPATH_NEON: tile = bv_btile_neon; MR = BV_NEON_MR; NV = BV_NEON_NV; break;
    default: tile = bv_btile_scalar; MR = BV_SCALAR_MR; NV = BV_SCALAR_NV; break;
    }
    if (m0 >= m1 || n0 >= n1) return path;

    // Product kind → inner op, popcount weight w, and where the constant part of dot lives.
    int op, w = -2, row_base = 0, col_base_counts = 0;
    switch (g->product) {
    case BV_PROD_PM1_PM1: op = BV_OP_XOR; break;
    case BV_PROD_TERNARY_PM1: op = BV_OP_XOR_MASKED; row_base = 1; break;
    case BV_PROD_01_PM1: op = BV_OP_AND; row_base = 1; break;
    case BV_PROD_PM1_01: op = BV_OP_AND; col_base_counts = 1; break;
    default: op = BV_OP_AND; w = 1; break;  // BV_PROD_01_01
    }

    // Planes with equal scales are summed in registers (one "group"); otherwise one group each.
    const int fuse_a = all_equal(g->a_scales, g->a_planes), fuse_b = all_equal(g->b_scales, g->b_planes);
    const int pa = fuse_a ? g->a_planes : 1, pb = fuse_b ? g->b_planes : 1;
    const int nga = g->a_planes / pa, ngb = g->b_planes / pb, npairs = nga * ngb;

    const int k32 = (g->k + 31) / 32;
    const ptrdiff_t panel_stride = (ptrdiff_t)BV_PANEL * g->b_panel_dwords;

    // Column groups of NV panels over the whole K. K is not blocked: a 64-column group is
    // 8·K bytes (12 KiB at K = 1536) and stays in L1 across the row tiles for ViT sizes; when
    // it does not, L2 streams it fast enough (measured: 96% of the popcount peak at K = 16384
    // with 128 KiB groups, no gain from narrower L1-sized groups).
    const int gw = NV * BV_PANEL;

    __attribute__((aligned(64))) float P[BV_MAX_PAIRS][BV_GROUP_MAX],
        Q[BV_MAX_PAIRS][BV_GROUP_MAX], S[BV_MAX_PAIRS][BV_GROUP_MAX], B[BV_MAX_PAIRS][BV_GROUP_MAX];
    // Packed output: per-column bounds of the group (inactive columns never fire).
    __attribute__((aligned(64))) float above[BV_GROUP_MAX], below[BV_GROUP_MAX];
    if (g->out_bits && npairs != 1) return -1;
    if (bv_bgemm_takes_lut(g, path) && n0 % BV_LUT_BLOCK == 0 && n1 - n0 >= BV_LUT_MIN_COLUMNS) {
        bgemm_lut(g, m0, m1, n0, n1, op, w, row_base, col_base_counts);
        return path;
    }

    for (int p0 = 0; p0 < npairs; p0 += BV_MAX_PAIRS) {
        const int pn = bv_min(BV_MAX_PAIRS, npairs - p0);
        for (int ng = n0; ng < n1; ng += gw) {
            const int ncols = bv_min(gw, n1 - ng), nv = (ncols + BV_PANEL - 1) / BV_PANEL;

            for (int p = 0; p < pn; p++) {
                const int ia = (p0 + p) / ngb * pa, jb = (p0 + p) % ngb * pb;
                column_transform(g, ia, pa, jb, pb, p0 + p == 0, w, col_base_counts, ng, ncols, nv * BV_PANEL,
                                 P[p], Q[p], S[p], B[p]);
            }

            if (g->out_bits)
                for (int j = 0; j < BV_GROUP_MAX; j++) {
                    above[j] = j < ncols ? g->out_above[ng + j] : __builtin_inff();
                    below[j] = j < ncols ? g->out_below[ng + j] : -__builtin_inff();
                }

            // One input and output description per pair group; a row tile only moves their
            // row pointers.
            bv_btile_in in[BV_MAX_PAIRS];
            bv_tile_out out[BV_MAX_PAIRS];
            float U[BV_MR_MAX];
            for (int p = 0; p < pn; p++) {
                const int ia = (p0 + p) / ngb * pa, jb = (p0 + p) % ngb * pb;
                in[p] = (bv_btile_in){
                    .op = op,
                    .a = (const bv_u32a *)(g->a + ia * g->a_plane_stride),
                    .a_row_stride = 2 * g->a_row_stride,
                    .a_plane_stride = 2 * g->a_plane_stride,
                    .a_planes = pa,
                    .a_mask = g->a_mask ? (const bv_u32a *)(g->a_mask + ia * g->a_plane_stride) : NULL,
                    .b = g->b + jb * g->b_plane_stride + (ptrdiff_t)(ng / BV_PANEL) * panel_stride,
                    .b_panel_stride = panel_stride,
                    .b_plane_stride = g->b_plane_stride,
                    .b_planes = pb,
                    .k32 = k32,
                };
                out[p] = (bv_tile_out){
                    .P = P[p], .Q = Q[p], .S = S[p], .B = B[p],
                    .U = row_base ? U : NULL,
                    .accumulate = p0 + p == 0 ? g->accumulate : 1,
                    .ldc = g->ldc,
                    .ncols = ncols,
                    .bits_stride = g->out_bits_stride,
                    .bit0 = ng % 64,
                    .above = above, .below = below,
                };
            }
            const bv_u32a *a0[BV_MAX_PAIRS], *am0[BV_MAX_PAIRS];
            for (int p = 0; p < pn; p++) { a0[p] = in[p].a; am0[p] = in[p].a_mask; }

            for (int m = m0; m < m1; m += MR) {
                const int mr = bv_min(MR, m1 - m);
                const ptrdiff_t a_off = 2 * (ptrdiff_t)m * g->a_row_stride;
                for (int p = 0; p < pn; p++) {
                    // Rows of A with no nonzero entry ({0,1} planes, or masked ±1) give dot = 0 for
                    // every column: after the first pair (which writes C and the bias) they add
                    // exactly 0, so the pair is skipped (GSB's sparse T1/T2 attention planes).
                    if (row_base && row_bases(g, (p0 + p) / ngb * pa, pa, pb, m, mr, U) == 0 && p0 + p > 0) continue;
                    in[p].a = a0[p] + a_off;
                    if (am0[p]) in[p].a_mask = am0[p] + a_off;
                    out[p].R = g->row_scale ? g->row_scale + m : NULL;
                    out[p].c = g->c + (ptrdiff_t)m * g->ldc + ng;
                    out[p].bits = g->out_bits ? g->out_bits + (ptrdiff_t)m * g->out_bits_stride + ng / 64 : NULL;
                    tile(&in[p], mr, nv, &out[p]);
                }
            }
        }
    }
    return path;
}
