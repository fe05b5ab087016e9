// Float row passes of BHViT's engine blocks (the MLP's RPReLU and GroupMean residuals, the
// shift branches). Plain C compiled per instruction set (BV_CLONES), so the loops run 8 (AVX2)
// or 16 (AVX-512) lanes wide where Swift's SIMD types run SSE. Each value is computed with
// the same float operations, in the same order and without contraction into FMAs, as the
// training graph (BitViTModels/BHViT), so the engine's float and bit paths stay comparable
// to it operation by operation.
#include "bv_engine_rows.h"
#include "dispatch.h"

#pragma clang fp contract(off)

typedef float bv_f8 __attribute__((ext_vector_type(8)));

// Loads through memcpy (unaligned, no aliasing assumptions); a macro, not a function, so no
// 32-byte vector crosses a call boundary in the baseline clone.
#define BV_LOAD8(P) ({ bv_f8 v_; __builtin_memcpy(&v_, (P), sizeof v_); v_; })

/// 8 means of 4 from 32 values: a transpose of the 4×4 blocks within each 128-bit half (the
/// unpack shuffles every SIMD target has), three adds in the order of j, one lane permutation.
static inline __attribute__((always_inline)) void group_means4_x8(const float *x, float *out, float inverse) {
    const bv_f8 v0 = BV_LOAD8(x), v1 = BV_LOAD8(x + 8), v2 = BV_LOAD8(x + 16), v3 = BV_LOAD8(x + 24);
    const bv_f8 t0 = __builtin_shufflevector(v0, v1, 0, 8, 1, 9, 4, 12, 5, 13);
    const bv_f8 t1 = __builtin_shufflevector(v0, v1, 2, 10, 3, 11, 6, 14, 7, 15);
    const bv_f8 t2 = __builtin_shufflevector(v2, v3, 0, 8, 1, 9, 4, 12, 5, 13);
    const bv_f8 t3 = __builtin_shufflevector(v2, v3, 2, 10, 3, 11, 6, 14, 7, 15);
    const bv_f8 e0 = __builtin_shufflevector(t0, t2, 0, 1, 8, 9, 4, 5, 12, 13);
    const bv_f8 e1 = __builtin_shufflevector(t0, t2, 2, 3, 10, 11, 6, 7, 14, 15);
    const bv_f8 e2 = __builtin_shufflevector(t1, t3, 0, 1, 8, 9, 4, 5, 12, 13);
    const bv_f8 e3 = __builtin_shufflevector(t1, t3, 2, 3, 10, 11, 6, 7, 14, 15);
    // Lanes hold the means of groups 0, 2, 4, 6 | 1, 3, 5, 7.
    const bv_f8 s = (((e0 + e1) + e2) + e3) * inverse;
    const bv_f8 m = __builtin_shufflevector(s, s, 0, 4, 1, 5, 2, 6, 3, 7);
    __builtin_memcpy(out, &m, sizeof m);
}

/// BHViT's RPReLU of one value: (max(u − move1, 0) + slope·min(u − move1, 0)) + move2, the
/// maxima written as selects so −0 and NaN pass through as in the training graph.
static inline __attribute__((always_inline)) float rprelu(float u, float move1, float slope, float move2) {
    const float v = u - move1;
    const float positive = v < 0 ? 0.0f : v, negative = v > 0 ? 0.0f : v;
    return (positive + slope * negative) + move2;
}

#define BV_GROUP_MEANS_ROW(RATIO)                                       \
    for (; k < c; k++) {                                                \
        float s = xr[k * (RATIO)];                                      \
        for (int j = 1; j < (RATIO); j++) s += xr[k * (RATIO) + j];     \
        orow[k] = s * inverse;                                          \
    }

/// GroupMean of one row of c·ratio values into c means, each summed in order of j.
static inline __attribute__((always_inline)) void group_means_row(const float *xr, int c, int ratio, float *orow) {
    const float inverse = 1.0f / (float)ratio;
    int k = 0;
    switch (ratio) {
    case 4:
        for (; k + 8 <= c; k += 8) group_means4_x8(xr + 4 * k, orow + k, inverse);
        BV_GROUP_MEANS_ROW(4) break;
    case 8: BV_GROUP_MEANS_ROW(8) break;
    default: BV_GROUP_MEANS_ROW(ratio) break;
    }
}
#undef BV_GROUP_MEANS_ROW

BV_CLONES
void bv_bhvit_tile_rprelu_rows(const float *y, int rows, int c, const float *source, int sc, const float *move1,
                               const float *slope, const float *move2, float *out, int ratio, float *means) {
    for (int r = 0; r < rows; r++) {
        const float *yr = y + (ptrdiff_t)r * c, *sr = source + (ptrdiff_t)r * sc;
        float *orow = out + (ptrdiff_t)r * c;
        for (int base = 0; base < c; base += sc) {
            const int n = c - base < sc ? c - base : sc;
            const float *yb = yr + base, *m1 = move1 + base, *a = slope + base, *m2 = move2 + base;
            float *ob = orow + base;
            // `out` may be `y`: element k is read before it is written, so lanes are independent.
#pragma clang loop vectorize(assume_safety)
            for (int k = 0; k < n; k++) ob[k] = rprelu(yb[k] + sr[k], m1[k], a[k], m2[k]);
        }
        // The row is still in L1.
        if (means) group_means_row(orow, c / ratio, ratio, means + (ptrdiff_t)r * (c / ratio));
    }
}

/// `i + d` wrapped into [0, side) for |d| ≤ 2 (one compare on grids of 3 or more).
static inline int wrap(int i, int d, int side) {
    const int v = i + d;
    if (side > 2) return v < 0 ? v + side : (v >= side ? v - side : v);
    const int m = v % side;
    return m < 0 ? m + side : m;
}

/// The new value of x at channel k: `(x + (y·ls + lm)) + Σ_b (S_b·s_b + m_b)`, with the six
/// branches' parameters at `p[(2 + 2b)·8]` (scale) and `p[(3 + 2b)·8]` (move), LayerScale at
/// p[0], p[8] (the interleaved block layout of bv_bhvit_block_residual_rows, lane offset applied).
static inline __attribute__((always_inline)) float residual_with_branches(
    int k, const float *p, float xk, float yk, const float *center, const float *up1, const float *down1,
    const float *left1, const float *right1, const float *up2, const float *down2, const float *left2,
    const float *right2, const float *n1, const float *n2) {
    const float third = 1.0f / 3.0f, fifth = 1.0f / 5.0f;
    const float u = center[k];
    const float h3 = ((u + up1[k]) + down1[k]) * third;
    const float w3 = ((u + left1[k]) + right1[k]) * third;
    const float h5 = ((((u + up1[k]) + down1[k]) + up2[k]) + down2[k]) * fifth;
    const float w5 = ((((u + left1[k]) + right1[k]) + left2[k]) + right2[k]) * fifth;
    float total = h3 * p[16] + p[24];
    total = total + (w3 * p[32] + p[40]);
    total = total + (n1[k] * p[48] + p[56]);
    total = total + (h5 * p[64] + p[72]);
    total = total + (w5 * p[80] + p[88]);
    total = total + (n2[k] * p[96] + p[104]);
    return (xk + (yk * p[0] + p[8])) + total;
}

BV_CLONES
void bv_bhvit_block_residual_rows(float *x, const float *y, const float *u2, int side, int c, const float *params,
                                  int shift_branches, ptrdiff_t row0, ptrdiff_t row1) {
    const ptrdiff_t pixels = (ptrdiff_t)side * side;
    const int quarter = c / 4, block = (shift_branches ? 14 : 2) * BV_RESIDUAL_LANES;
    for (ptrdiff_t row = row0; row < row1; row++) {
        float *restrict xr = x + row * c;
        const float *restrict yr = y + row * c;
        if (!shift_branches) {
            for (int k0 = 0; k0 < c; k0 += BV_RESIDUAL_LANES) {
                const float *restrict p = params + (ptrdiff_t)(k0 / BV_RESIDUAL_LANES) * block;
                const int n = c - k0 < BV_RESIDUAL_LANES ? c - k0 : BV_RESIDUAL_LANES;
                for (int l = 0; l < n; l++) xr[k0 + l] = xr[k0 + l] + (yr[k0 + l] * p[l] + p[8 + l]);
            }
            continue;
        }
        const ptrdiff_t pix = row % pixels;
        const int i = (int)(pix / side), j = (int)(pix % side);
        const float *image = u2 + (row - pix) * c;
        const int up1i = wrap(i, -1, side), down1i = wrap(i, 1, side), up2i = wrap(i, -2, side), down2i = wrap(i, 2, side);
        const int left1j = wrap(j, -1, side), right1j = wrap(j, 1, side), left2j = wrap(j, -2, side), right2j = wrap(j, 2, side);
#define BV_AT(I, J) (image + ((ptrdiff_t)(I) * side + (J)) * c)
        const float *restrict center = BV_AT(i, j);
        const float *restrict up1 = BV_AT(up1i, j), *restrict down1 = BV_AT(down1i, j);
        const float *restrict left1 = BV_AT(i, left1j), *restrict right1 = BV_AT(i, right1j);
        const float *restrict up2 = BV_AT(up2i, j), *restrict down2 = BV_AT(down2i, j);
        const float *restrict left2 = BV_AT(i, left2j), *restrict right2 = BV_AT(i, right2j);
#undef BV_AT
        // Channel quarter q of ch3/ch5 reads the pixel above, below, left, right (the last
        // quarter takes the channels past 4·quarter).
        for (int q = 0; q < 4; q++) {
            const float *restrict n1 = q == 0 ? up1 : q == 1 ? down1 : q == 2 ? left1 : right1;
            const float *restrict n2 = q == 0 ? up2 : q == 1 ? down2 : q == 2 ? left2 : right2;
            const int start = q * quarter, end = q == 3 ? c : (q + 1) * quarter;
            int k = start;
            // Channels before the quarter's first whole block, its whole blocks (8 lanes, one vector
            // per operation, the parameters at constant offsets from one pointer: every block when
            // c is a multiple of 32), and the rest.
#define BV_ONE_CHANNEL(K)                                                                                            \
    xr[K] = residual_with_branches(K, params + (ptrdiff_t)((K) / BV_RESIDUAL_LANES) * block + (K) % BV_RESIDUAL_LANES, \
                                   xr[K], yr[K], center, up1, down1, left1, right1, up2, down2, left2, right2, n1, n2)
            for (; k < end && k % BV_RESIDUAL_LANES; k++) BV_ONE_CHANNEL(k);
            for (; k + BV_RESIDUAL_LANES <= end; k += BV_RESIDUAL_LANES) {
                const float *restrict p = params + (ptrdiff_t)(k / BV_RESIDUAL_LANES) * block;
#pragma clang loop vectorize(assume_safety)
                for (int l = 0; l < BV_RESIDUAL_LANES; l++)
                    xr[k + l] = residual_with_branches(k + l, p + l, xr[k + l], yr[k + l], center, up1, down1, left1, right1,
                                                       up2, down2, left2, right2, n1, n2);
            }
            for (; k < end; k++) BV_ONE_CHANNEL(k);
#undef BV_ONE_CHANNEL
        }
    }
}

BV_CLONES
void bv_bhvit_affine_rows(const float *x, int rows, int c, const float *scale, const float *shift, float *y) {
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (ptrdiff_t)r * c;
        float *yr = y + (ptrdiff_t)r * c;
#pragma clang loop vectorize(assume_safety)
        for (int k = 0; k < c; k++) yr[k] = xr[k] * scale[k] + shift[k];
    }
}

/// RPReLU of channel k with the parameters `p` = {move1, slope, move2}.
static inline __attribute__((always_inline)) float rprelu_at(float u, const float *const p[3], int k) {
    return rprelu(u, p[0][k], p[1][k], p[2][k]);
}

BV_CLONES
void bv_bhvit_msgdc_residual_rows(float *x, const float *y1, const float *y2, const float *y3, int rows, int c,
                                  const float *const acts[9], const float *scale, const float *shift) {
    for (int r = 0; r < rows; r++) {
        const ptrdiff_t o = (ptrdiff_t)r * c;
        float *restrict xr = x + o;
        const float *restrict r1 = y1 + o, *restrict r2 = y2 + o, *restrict r3 = y3 + o;
#pragma clang loop vectorize(assume_safety)
        for (int k = 0; k < c; k++) {
            const float sum = (rprelu_at(r1[k], acts, k) + rprelu_at(r2[k], acts + 3, k)) + rprelu_at(r3[k], acts + 6, k);
            xr[k] = xr[k] + (sum * scale[k] + shift[k]);
        }
    }
}
