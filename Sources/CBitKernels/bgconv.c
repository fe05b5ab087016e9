// Direct grouped 3×3 binary convolution (BHViT's MSGDC): driver and portable kernel.
//
// Why direct and not bit-im2col + GEMM: with C/groups = cg input channels per group and as
// many outputs, one tap of one pixel is a cg-bit word that every output channel of the group
// XORs with its own cg-bit weight word. Laid out as lanes of cg bits (16 outputs × 16 bits or
// 8 × 32 bits fill a 256-bit register), a tap is one broadcast load and full-width
// XOR + popcount, so no gathered rows are written and read back, and each group's outputs form
// the whole register tile instead of a quarter of the GEMM's 64-column tile.
//
// Zero padding: an out-of-image tap is skipped (it would contribute sgn·0 = 0) and the pixel's
// count of valid taps enters dot = valid·cg − 2·popcount. Taps are valid uniformly across a
// run of pixels of one image row that share the same horizontal border situation, so the
// kernels take the valid-tap set per run of pixels.
#include "bitkernels_internal.h"
#include <math.h>
#include <string.h>

int bv_gconv3x3_supported(int channels, int groups) {
    if (groups <= 0 || channels <= 0 || channels % groups) return 0;
    const int cg = channels / groups;
    return cg % 8 == 0 && cg <= 64;
}

/// Taps (bit t = 3·ky + kx) whose input pixel lies inside the image for output (y, x).
static int valid_taps(int side, int dil, int y, int x) {
    int taps = 0;
    for (int t = 0; t < 9; t++) {
        const int yy = y + (t / 3 - 1) * dil, xx = x + (t % 3 - 1) * dil;
        if (yy >= 0 && yy < side && xx >= 0 && xx < side) taps |= 1 << t;
    }
    return taps;
}

/// The cg ≤ 64 bits of group g of pixel row `p` (little-endian bytes).
static inline uint64_t group_bits(const bv_gconv3x3_args *a, ptrdiff_t p, int g, int bytes) {
    uint64_t v = 0;
    memcpy(&v, (const uint8_t *)(a->in + p * a->in_row_stride) + (ptrdiff_t)g * bytes, (size_t)bytes);
    return v;
}

/// Portable kernel: pixels x0 ..< x0 + n of image row y, every group, taps `taps`.
static void gconv_run_scalar(const bv_gconv3x3_args *a, int y, int x0, int n, int taps) {
    const int cg = a->channels / a->groups, bytes = cg / 8, valid = __builtin_popcount((unsigned)taps);
    for (int x = x0; x < x0 + n; x++) {
        float *out = a->out + ((ptrdiff_t)y * a->side + x) * a->ldc;
        for (int g = 0; g < a->groups; g++) {
            uint64_t tap[9];
            for (int t = 0; t < 9; t++) {
                if (!(taps >> t & 1)) continue;
                const int yy = y + (t / 3 - 1) * a->dil, xx = x + (t % 3 - 1) * a->dil;
                tap[t] = group_bits(a, (ptrdiff_t)yy * a->side + xx, g, bytes);
            }
            for (int o = 0; o < cg; o++) {
                int pc = 0;
                for (int t = 0; t < 9; t++) {
                    if (!(taps >> t & 1)) continue;
                    uint64_t w = 0;
                    memcpy(&w, a->lanes + ((ptrdiff_t)(g * 9 + t) * cg + o) * bytes, (size_t)bytes);
                    pc += __builtin_popcountll(tap[t] ^ w);
                }
                const int c = g * cg + o;
                out[c] = fmaf((float)(valid * cg - 2 * pc), a->alpha[c], a->bias ? a->bias[c] : 0.0f);
            }
        }
    }
}

int bv_gconv3x3(const bv_gconv3x3_args *a, int y0, int y1, int path) {
    path = bv_bgemm_resolve_path(path);
    const int cg = a->channels / a->groups;
    bv_gconv_run_fn run = gconv_run_scalar;
    int mr = 1;
    if ((path == BV_KPATH_AVX2 || path == BV_KPATH_AVX512) && bv_gconv_avx2_handles(cg)) {
        run = bv_gconv_run_avx2;
        mr = bv_gconv_avx2_pixels(cg);
        path = BV_KPATH_AVX2;
    } else {
        path = BV_KPATH_SCALAR;
    }
    const int side = a->side, d = a->dil;
    for (int y = y0; y < y1; y++) {
        // Runs of pixels with the same valid taps (the left border, the interior, the right
        // border), cut into tiles of up to mr pixels.
        int x = 0;
        while (x < side) {
            const int taps = valid_taps(side, d, y, x);
            int n = 1;
            while (n < mr && x + n < side && valid_taps(side, d, y, x + n) == taps) n++;
            run(a, y, x, n, taps);
            x += n;
        }
    }
    return path;
}
