// Bit-level im2col for the binary convolutions that run as a GEMM: BHViT's 2×2 stride-2
// downsampling conv, and grouped dilated 3×3 convs whose channel groups the direct kernel
// (bgconv.c, every BHViT preset's MSGDC) does not take or whose input has sgn(0) = 0 entries.
//
// Zero padding: an out-of-image tap is written with mask bits 0, so the TERNARY product
// (dot = nnz − 2·popcount((a ^ w) & mask)) counts it as exactly 0 — no per-position
// correction table is needed, the border rows just have a smaller nnz. The same mask carries
// sgn(0) = 0 entries of the input map.
#include "bitkernels_internal.h"
#include <string.h>

/// n ≤ 64 bits of `src` starting at bit `off`.
static inline uint64_t get_bits(const uint64_t *src, int off, int n) {
    const int w = off >> 6, b = off & 63;
    uint64_t v = src[w] >> b;
    if (b && b + n > 64) v |= src[w + 1] << (64 - b);
    return n == 64 ? v : v & ((1ull << n) - 1);
}

/// ORs the n ≤ 64 bits of `v` into `dst` at bit `off` (dst already zero there).
static inline void put_bits(uint64_t *dst, int off, int n, uint64_t v) {
    const int w = off >> 6, b = off & 63;
    dst[w] |= v << b;
    if (b && b + n > 64) dst[w + 1] |= v >> (64 - b);
}

static inline void copy_bits(uint64_t *dst, int doff, const uint64_t *src, int soff, int n) {
    for (int i = 0; i < n; i += 64) {
        const int len = bv_min(64, n - i);
        put_bits(dst, doff + i, len, get_bits(src, soff + i, len));
    }
}

static inline void set_ones(uint64_t *dst, int doff, int n) {
    for (int i = 0; i < n; i += 64) {
        const int len = bv_min(64, n - i);
        put_bits(dst, doff + i, len, len == 64 ? ~0ull : (1ull << len) - 1);
    }
}

static inline int row_popcount(const uint64_t *row, int words) {
    int c = 0;
    for (int w = 0; w < words; w++) c += __builtin_popcountll(row[w]);
    return c;
}

void bv_im2col_dilated3x3(const uint64_t *in, const uint64_t *in_mask, ptrdiff_t in_row_stride,
                          int height, int width, int c0, int cg, int dil, int y0, int y1,
                          uint64_t *out, uint64_t *out_mask, ptrdiff_t out_row_stride,
                          int32_t *out_counts) {
    const int words = (9 * cg + 63) / 64;
    for (int y = y0; y < y1; y++)
        for (int x = 0; x < width; x++) {
            const ptrdiff_t o = (ptrdiff_t)(y - y0) * width + x;  // rows relative to y0
            uint64_t *orow = out + o * out_row_stride, *mrow = out_mask + o * out_row_stride;
            memset(orow, 0, 8 * (size_t)words);
            memset(mrow, 0, 8 * (size_t)words);
            for (int ky = 0; ky < 3; ky++) {
                const int yy = y + (ky - 1) * dil;
                if (yy < 0 || yy >= height) continue;
                for (int kx = 0; kx < 3; kx++) {
                    const int xx = x + (kx - 1) * dil;
                    if (xx < 0 || xx >= width) continue;
                    const ptrdiff_t src = ((ptrdiff_t)yy * width + xx) * in_row_stride;
                    const int t = 3 * ky + kx;
                    copy_bits(orow, t * cg, in + src, c0, cg);
                    if (in_mask) copy_bits(mrow, t * cg, in_mask + src, c0, cg);
                    else set_ones(mrow, t * cg, cg);
                }
            }
            if (out_counts) out_counts[o] = row_popcount(mrow, words);
        }
}

void bv_im2col_2x2s2(const uint64_t *in, const uint64_t *in_mask, ptrdiff_t in_row_stride,
                     int height, int width, int c, int y0, int y1,
                     uint64_t *out, uint64_t *out_mask, ptrdiff_t out_row_stride,
                     int32_t *out_counts) {
    const int words = (4 * c + 63) / 64, ow = width / 2;
    (void)height;
    for (int y = y0; y < y1; y++)
        for (int x = 0; x < ow; x++) {
            const ptrdiff_t o = (ptrdiff_t)(y - y0) * ow + x;  // rows relative to y0
            uint64_t *orow = out + o * out_row_stride;
            uint64_t *mrow = out_mask ? out_mask + o * out_row_stride : NULL;
            memset(orow, 0, 8 * (size_t)words);
            if (mrow) memset(mrow, 0, 8 * (size_t)words);
            for (int t = 0; t < 4; t++) {
                const int yy = 2 * y + t / 2, xx = 2 * x + t % 2;
                const ptrdiff_t src = ((ptrdiff_t)yy * width + xx) * in_row_stride;
                copy_bits(orow, t * c, in + src, 0, c);
                if (mrow) {
                    if (in_mask) copy_bits(mrow, t * c, in_mask + src, 0, c);
                    else set_ones(mrow, t * c, c);
                }
            }
            if (mrow && out_counts) out_counts[o] = row_popcount(mrow, words);
        }
}
