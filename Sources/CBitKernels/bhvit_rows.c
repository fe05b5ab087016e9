// Float row passes of BHViT's engine blocks (the MLP's RPReLU and GroupMean residuals, the
// shift branches). Plain C compiled per instruction set (BV_CLONES), so the loops run 8 (AVX2)
// or 16 (AVX-512) lanes wide where Swift's SIMD types run SSE. Each value is computed with
// the same float operations, in the same order and without contraction into FMAs, as the
// training graph (BitViTModels/BHViT), so the engine's float and bit paths stay comparable
// to it operation by operation.
#include "bv_engine_rows.h"
#include "dispatch.h"
#include "bitpack_row.h"
#include <stdlib.h>

#pragma clang fp contract(off)

typedef float bv_f8 __attribute__((ext_vector_type(8)));
typedef _Bool bv_b8 __attribute__((ext_vector_type(8)));

// Loads through memcpy (unaligned, no aliasing assumptions); a macro, not a function, so no
// 32-byte vector crosses a call boundary in the baseline clone.
#define BV_LOAD8(P) ({ bv_f8 v_; __builtin_memcpy(&v_, (P), sizeof v_); v_; })

/// 8 means of 4 from the 32 values v[0…3] (8 consecutive each): a transpose of the 4×4 blocks
/// within each 128-bit half (the unpack shuffles every SIMD target has), three adds in the
/// order of j, one lane permutation. (Vectors pass by pointer, never by value: no 32-byte
/// vector may cross a call boundary in the baseline clone, inlined or not.)
static inline __attribute__((always_inline)) void group_means4_v(const bv_f8 v[4], float *out, float inverse) {
    const bv_f8 t0 = __builtin_shufflevector(v[0], v[1], 0, 8, 1, 9, 4, 12, 5, 13);
    const bv_f8 t1 = __builtin_shufflevector(v[0], v[1], 2, 10, 3, 11, 6, 14, 7, 15);
    const bv_f8 t2 = __builtin_shufflevector(v[2], v[3], 0, 8, 1, 9, 4, 12, 5, 13);
    const bv_f8 t3 = __builtin_shufflevector(v[2], v[3], 2, 10, 3, 11, 6, 14, 7, 15);
    const bv_f8 e0 = __builtin_shufflevector(t0, t2, 0, 1, 8, 9, 4, 5, 12, 13);
    const bv_f8 e1 = __builtin_shufflevector(t0, t2, 2, 3, 10, 11, 6, 7, 14, 15);
    const bv_f8 e2 = __builtin_shufflevector(t1, t3, 0, 1, 8, 9, 4, 5, 12, 13);
    const bv_f8 e3 = __builtin_shufflevector(t1, t3, 2, 3, 10, 11, 6, 7, 14, 15);
    // Lanes hold the means of groups 0, 2, 4, 6 | 1, 3, 5, 7.
    const bv_f8 s = (((e0 + e1) + e2) + e3) * inverse;
    const bv_f8 m = __builtin_shufflevector(s, s, 0, 4, 1, 5, 2, 6, 3, 7);
    __builtin_memcpy(out, &m, sizeof m);
}

/// 8 means of 4 from 32 consecutive values.
static inline __attribute__((always_inline)) void group_means4_x8(const float *x, float *out, float inverse) {
    const bv_f8 v[4] = {BV_LOAD8(x), BV_LOAD8(x + 8), BV_LOAD8(x + 16), BV_LOAD8(x + 24)};
    group_means4_v(v, out, inverse);
}

/// Columns j and j + 4 of four 8-value groups: lanes 0–3 hold g0[j]…g3[j], lanes 4–7
/// g0[j+4]…g3[j+4] (a transpose of the 4×4 blocks within each 128-bit half).
#define BV_HALF_COLUMNS(G0, G1, G2, G3, C)                                                              \
    do {                                                                                               \
        const bv_f8 t0_ = __builtin_shufflevector(G0, G1, 0, 8, 1, 9, 4, 12, 5, 13);                   \
        const bv_f8 t1_ = __builtin_shufflevector(G0, G1, 2, 10, 3, 11, 6, 14, 7, 15);                 \
        const bv_f8 t2_ = __builtin_shufflevector(G2, G3, 0, 8, 1, 9, 4, 12, 5, 13);                   \
        const bv_f8 t3_ = __builtin_shufflevector(G2, G3, 2, 10, 3, 11, 6, 14, 7, 15);                 \
        C[0] = __builtin_shufflevector(t0_, t2_, 0, 1, 8, 9, 4, 5, 12, 13);                            \
        C[1] = __builtin_shufflevector(t0_, t2_, 2, 3, 10, 11, 6, 7, 14, 15);                          \
        C[2] = __builtin_shufflevector(t1_, t3_, 0, 1, 8, 9, 4, 5, 12, 13);                            \
        C[3] = __builtin_shufflevector(t1_, t3_, 2, 3, 10, 11, 6, 7, 14, 15);                          \
    } while (0)

/// 8 means of 8 from the 64 values h[0…7] (group g = h[g]): the columns of each half of the
/// groups, recombined across the 128-bit halves, then seven adds in the order of j.
static inline __attribute__((always_inline)) void group_means8_v(const bv_f8 h[8], float *out, float inverse) {
    bv_f8 lo[4], hi[4];
    BV_HALF_COLUMNS(h[0], h[1], h[2], h[3], lo);
    BV_HALF_COLUMNS(h[4], h[5], h[6], h[7], hi);
    bv_f8 s = __builtin_shufflevector(lo[0], hi[0], 0, 1, 2, 3, 8, 9, 10, 11);
    for (int j = 1; j < 4; j++) s = s + __builtin_shufflevector(lo[j], hi[j], 0, 1, 2, 3, 8, 9, 10, 11);
    for (int j = 0; j < 4; j++) s = s + __builtin_shufflevector(lo[j], hi[j], 4, 5, 6, 7, 12, 13, 14, 15);
    s = s * inverse;
    __builtin_memcpy(out, &s, sizeof s);
}
#undef BV_HALF_COLUMNS

/// BHViT's RPReLU of one value: (max(u − move1, 0) + slope·min(u − move1, 0)) + move2, the
/// maxima written as selects so −0 and NaN pass through as in the training graph.
static inline __attribute__((always_inline)) float rprelu(float u, float move1, float slope, float move2) {
    const float v = u - move1;
    const float positive = v < 0 ? 0.0f : v, negative = v > 0 ? 0.0f : v;
    return (positive + slope * negative) + move2;
}

/// `rprelu` on 8 lanes (the same operations per lane); a macro, as BV_LOAD8.
#define BV_RPRELU8(U, MOVE1, SLOPE, MOVE2)                                    \
    ({                                                                        \
        const bv_f8 v_ = (U) - (MOVE1);                                       \
        const bv_f8 positive_ = v_ < 0 ? 0.0f : v_, negative_ = v_ > 0 ? 0.0f : v_; \
        (positive_ + (SLOPE) * negative_) + (MOVE2);                          \
    })

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
    case 8:
        for (; k + 8 <= c; k += 8) {
            bv_f8 h[8];
            for (int q = 0; q < 8; q++) h[q] = BV_LOAD8(xr + 8 * k + 8 * q);
            group_means8_v(h, orow + k, inverse);
        }
        BV_GROUP_MEANS_ROW(8) break;
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

/// One 64-channel word of a row of `bv_bhvit_mlp_hidden_rows` (channels k0 … k0 + 63) in
/// registers; `at[q]` is the source channel of its 8-lane chunk q, `ratio` a constant after
/// inlining.
static inline __attribute__((always_inline)) void mlp_hidden_word(
    const float *yr, const float *sr, const float *move1, const float *slope, const float *move2, const int ratio,
    float *mr, const float *shift, uint64_t *br, int k0, const int at[8]) {
    const float inverse = 1.0f / (float)ratio;
    bv_f8 h[8];
    uint64_t word = 0;
#pragma clang loop unroll(full)
    for (int q = 0; q < 8; q++) {
        const int k = k0 + 8 * q;
        h[q] = BV_RPRELU8(BV_LOAD8(yr + k) + BV_LOAD8(sr + at[q]), BV_LOAD8(move1 + k), BV_LOAD8(slope + k),
                          BV_LOAD8(move2 + k));
        const bv_b8 negative = __builtin_convertvector(h[q] + BV_LOAD8(shift + k) < 0, bv_b8);
        word |= (uint64_t)__builtin_bit_cast(uint8_t, negative) << (8 * q);
    }
    br[k0 / 64] = word;
    if (ratio == 8) {
        group_means8_v(h, mr + k0 / 8, inverse);
    } else {
        group_means4_v(h, mr + k0 / 4, inverse);
        group_means4_v(h + 4, mr + k0 / 4 + 8, inverse);
    }
}

BV_CLONES
int bv_bhvit_mlp_hidden_rows(const float *y, int rows, int c, const float *source, int sc, const float *move1,
                             const float *slope, const float *move2, int ratio, float *means, const float *shift,
                             uint64_t *bits, ptrdiff_t bits_stride) {
    const int groups = c / ratio, words = (c + 63) / 64;
    if (c % 64 || sc % 8 || (ratio != 4 && ratio != 8)) {
        // Any other shape: each row into a scratch row, then its means and signs from L1.
        float *h = malloc((size_t)c * sizeof *h);
        if (!h) return -1;
        for (int r = 0; r < rows; r++) {
            bv_bhvit_tile_rprelu_rows(y + (ptrdiff_t)r * c, 1, c, source + (ptrdiff_t)r * sc, sc, move1, slope, move2, h,
                                      ratio, means + (ptrdiff_t)r * groups);
            bv_pack_row_signs_scalar(h, 1, c, shift, bits + r * bits_stride, words, NULL);
        }
        free(h);
        return 0;
    }
    for (int r = 0; r < rows; r++) {
        const float *yr = y + (ptrdiff_t)r * c, *sr = source + (ptrdiff_t)r * sc;
        float *mr = means + (ptrdiff_t)r * groups;
        uint64_t *br = bits + r * bits_stride;
        int s = 0;  // the Tile's source channel of output channel k0: k0 % sc
        for (int k0 = 0; k0 < c; k0 += 64) {
            // Source channels of the word's 8-lane chunks (whole chunks: sc is a multiple of 8).
            int at[8];
            for (int q = 0; q < 8; q++) { at[q] = s; s = s + 8 == sc ? 0 : s + 8; }
            if (ratio == 8) mlp_hidden_word(yr, sr, move1, slope, move2, 8, mr, shift, br, k0, at);
            else mlp_hidden_word(yr, sr, move1, slope, move2, 4, mr, shift, br, k0, at);
        }
    }
    return 0;
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

/// Pixels [j0, j1) of image row i (2 ≤ j0, j1 ≤ side − 2: no neighbour wraps along the row),
/// channel quarter q (a constant after inlining: ch3/ch5 then read the same addresses as one
/// of the other branches), one 8-channel block at a time across the pixels: no per-pixel
/// pointer setup, and the block's parameters stay in L1. Needs c a multiple of 32. `row0` is
/// the stream row of pixel (i, 0); `image` the image's u2.
static inline __attribute__((always_inline)) void residual_interior_quarter(
    float *x, const float *y, const float *image, int side, int c, const float *params, ptrdiff_t row0, int i, int j0,
    int j1, const int q) {
    const int quarter = c / 4, block = 14 * BV_RESIDUAL_LANES;
    const ptrdiff_t sc = (ptrdiff_t)side * c;
    const float *crow = image + i * sc, *u1row = image + wrap(i, -1, side) * sc, *d1row = image + wrap(i, 1, side) * sc;
    const float *u2row = image + wrap(i, -2, side) * sc, *d2row = image + wrap(i, 2, side) * sc;
    for (int k = q * quarter; k < (q + 1) * quarter; k += BV_RESIDUAL_LANES) {
        const float *restrict p = params + (ptrdiff_t)(k / BV_RESIDUAL_LANES) * block;
        for (int j = j0; j < j1; j++) {
            const ptrdiff_t o = (ptrdiff_t)j * c;
            float *restrict xr = x + (row0 + j) * c;
            const float *restrict yr = y + (row0 + j) * c;
            const float *restrict center = crow + o, *restrict up1 = u1row + o, *restrict down1 = d1row + o;
            const float *restrict up2 = u2row + o, *restrict down2 = d2row + o;
            const float *restrict left1 = center - c, *restrict right1 = center + c;
            const float *restrict left2 = center - 2 * c, *restrict right2 = center + 2 * c;
            const float *restrict n1 = q == 0 ? up1 : q == 1 ? down1 : q == 2 ? left1 : right1;
            const float *restrict n2 = q == 0 ? up2 : q == 1 ? down2 : q == 2 ? left2 : right2;
#pragma clang loop vectorize(assume_safety)
            for (int l = 0; l < BV_RESIDUAL_LANES; l++)
                xr[k + l] = residual_with_branches(k + l, p + l, xr[k + l], yr[k + l], center, up1, down1, left1, right1,
                                                   up2, down2, left2, right2, n1, n2);
        }
    }
}

static inline __attribute__((always_inline)) void residual_pixel(float *x, const float *y, const float *u2, int side, int c,
                                                                 const float *params, int shift_branches, ptrdiff_t row);

BV_CLONES
void bv_bhvit_block_residual_rows(float *x, const float *y, const float *u2, int side, int c, const float *params,
                                  int shift_branches, ptrdiff_t row0, ptrdiff_t row1) {
    // Pixels whose left and right neighbours do not wrap (2 ≤ j < side − 2) go block by block
    // in stretches along their image row; the others, and every pixel when the stretches do
    // not apply, one by one.
    const int stretches = shift_branches && c % 32 == 0 && side >= 5;
    const ptrdiff_t pixels = (ptrdiff_t)side * side;
    for (ptrdiff_t row = row0; row < row1;) {
        const ptrdiff_t pix = row % pixels;
        const int i = (int)(pix / side), j = (int)(pix % side);
        if (stretches && j >= 2 && j < side - 2) {
            const ptrdiff_t start = row - j;  // the stream row of pixel (i, 0)
            const int end = (int)(row1 - start < side - 2 ? row1 - start : side - 2);
            const float *image = u2 + (row - pix) * c;
            residual_interior_quarter(x, y, image, side, c, params, start, i, j, end, 0);
            residual_interior_quarter(x, y, image, side, c, params, start, i, j, end, 1);
            residual_interior_quarter(x, y, image, side, c, params, start, i, j, end, 2);
            residual_interior_quarter(x, y, image, side, c, params, start, i, j, end, 3);
            row = start + end;
            continue;
        }
        residual_pixel(x, y, u2, side, c, params, shift_branches, row);
        row++;
    }
}

/// Row (pixel) `row` of bv_bhvit_block_residual_rows on its own, any c and side.
static inline __attribute__((always_inline)) void residual_pixel(float *x, const float *y, const float *u2, int side, int c,
                                                                 const float *params, int shift_branches, ptrdiff_t row) {
    const int quarter = c / 4, block = (shift_branches ? 14 : 2) * BV_RESIDUAL_LANES;
    float *restrict xr = x + row * c;
    const float *restrict yr = y + row * c;
    if (!shift_branches) {
        for (int k0 = 0; k0 < c; k0 += BV_RESIDUAL_LANES) {
            const float *restrict p = params + (ptrdiff_t)(k0 / BV_RESIDUAL_LANES) * block;
            const int n = c - k0 < BV_RESIDUAL_LANES ? c - k0 : BV_RESIDUAL_LANES;
            for (int l = 0; l < n; l++) xr[k0 + l] = xr[k0 + l] + (yr[k0 + l] * p[l] + p[8 + l]);
        }
        return;
    }
    const ptrdiff_t pix = row % ((ptrdiff_t)side * side);
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
