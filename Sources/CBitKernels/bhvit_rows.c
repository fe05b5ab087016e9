// Float row passes of BHViT's engine blocks (the MLP's RPReLU and GroupMean residuals, the
// shift branches). Plain C compiled per instruction set (BV_CLONES), so the loops run 8 (AVX2)
// or 16 (AVX-512) lanes wide where Swift's SIMD types run SSE. Each value is computed with
// the same float operations, in the same order and without contraction into FMAs, as the
// training graph (BitViTModels/BHViT), so the engine's float and bit paths stay comparable
// to it operation by operation.
#include "bv_engine_rows.h"
#include "dispatch.h"

#pragma clang fp contract(off)

#define BV_GROUP_MEANS_ROW(RATIO)                                       \
    for (int k = 0; k < c; k++) {                                       \
        float s = xr[k * (RATIO)];                                      \
        for (int j = 1; j < (RATIO); j++) s += xr[k * (RATIO) + j];     \
        orow[k] = s * inverse;                                          \
    }

/// GroupMean of one row of c·ratio values into c means.
static inline __attribute__((always_inline)) void group_means_row(const float *xr, int c, int ratio, float *orow) {
    const float inverse = 1.0f / (float)ratio;
    switch (ratio) {
    case 4: BV_GROUP_MEANS_ROW(4) break;
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
            for (int k = 0; k < n; k++) {
                const float u = (yb[k] + sr[k]) - m1[k];
                const float positive = u < 0 ? 0.0f : u, negative = u > 0 ? 0.0f : u;
                ob[k] = (positive + a[k] * negative) + m2[k];
            }
        }
        // The row is still in L1.
        if (means) group_means_row(orow, c / ratio, ratio, means + (ptrdiff_t)r * (c / ratio));
    }
}

/// `i + d` wrapped into [0, side) (|d| ≤ 2: a few compares instead of two divisions).
static inline int wrap(int i, int d, int side) {
    int v = i + d;
    while (v < 0) v += side;
    while (v >= side) v -= side;
    return v;
}

/// Pixel (i, j) of a side×side grid shifted circularly by (di, dj): its channels.
static inline const float *grid_at(const float *image, int side, int c, int i, int j, int di, int dj) {
    return image + ((ptrdiff_t)wrap(i, di, side) * side + wrap(j, dj, side)) * c;
}

BV_CLONES
void bv_bhvit_block_residual_rows(float *x, const float *y, const float *u2, int side, int c, const float *ls,
                                  const float *lm, const float *shift_scale, const float *shift_move, ptrdiff_t row0,
                                  ptrdiff_t row1) {
    const float third = 1.0f / 3.0f, fifth = 1.0f / 5.0f;
    const ptrdiff_t pixels = (ptrdiff_t)side * side;
    const int quarter = c / 4;
    for (ptrdiff_t row = row0; row < row1; row++) {
        float *restrict xr = x + row * c;
        const float *restrict yr = y + row * c;
        if (!shift_scale) {
#pragma clang loop vectorize(assume_safety)
            for (int k = 0; k < c; k++) xr[k] = xr[k] + (yr[k] * ls[k] + lm[k]);
            continue;
        }
        const ptrdiff_t p = row % pixels;
        const int i = (int)(p / side), j = (int)(p % side);
        const float *image = u2 + (row - p) * c;
        const float *restrict center = grid_at(image, side, c, i, j, 0, 0);
        const float *restrict up1 = grid_at(image, side, c, i, j, -1, 0), *restrict down1 = grid_at(image, side, c, i, j, 1, 0);
        const float *restrict left1 = grid_at(image, side, c, i, j, 0, -1), *restrict right1 = grid_at(image, side, c, i, j, 0, 1);
        const float *restrict up2 = grid_at(image, side, c, i, j, -2, 0), *restrict down2 = grid_at(image, side, c, i, j, 2, 0);
        const float *restrict left2 = grid_at(image, side, c, i, j, 0, -2), *restrict right2 = grid_at(image, side, c, i, j, 0, 2);
        const float *s = shift_scale, *m = shift_move;
        // Channel quarter q of ch3/ch5 reads the pixel above, below, left, right.
        for (int q = 0; q < 4; q++) {
            const float *restrict n1 = q == 0 ? up1 : q == 1 ? down1 : q == 2 ? left1 : right1;
            const float *restrict n2 = q == 0 ? up2 : q == 1 ? down2 : q == 2 ? left2 : right2;
            const int end = q == 3 ? c : (q + 1) * quarter;
            // x is written only at k and aliases none of the inputs: no run-time overlap checks
            // (a quarter is only 16 channels at 64).
#pragma clang loop vectorize(assume_safety)
            for (int k = q * quarter; k < end; k++) {
                const float u = center[k];
                const float h3 = ((u + up1[k]) + down1[k]) * third;
                const float w3 = ((u + left1[k]) + right1[k]) * third;
                const float h5 = ((((u + up1[k]) + down1[k]) + up2[k]) + down2[k]) * fifth;
                const float w5 = ((((u + left1[k]) + right1[k]) + left2[k]) + right2[k]) * fifth;
                float total = h3 * s[k] + m[k];
                total = total + (w3 * s[c + k] + m[c + k]);
                total = total + (n1[k] * s[2 * c + k] + m[2 * c + k]);
                total = total + (h5 * s[3 * c + k] + m[3 * c + k]);
                total = total + (w5 * s[4 * c + k] + m[4 * c + k]);
                total = total + (n2[k] * s[5 * c + k] + m[5 * c + k]);
                xr[k] = (xr[k] + (yr[k] * ls[k] + lm[k])) + total;
            }
        }
    }
}
