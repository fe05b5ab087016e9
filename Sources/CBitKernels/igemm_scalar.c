// Portable int8 microkernel (u8 × s8 → s32); reference for the SIMD paths.
#include "bitkernels_internal.h"

void bv_itile_scalar(const bv_itile_in *in, int mr, int nv, const bv_tile_out *o) {
    enum { NC = BV_SCALAR_NV * BV_PANEL };
    int32_t acc[BV_SCALAR_MR * NC] = {0};
    (void)nv;  // one panel per tile
    for (int r = 0; r < mr; r++) {
        const uint8_t *ar = in->a + r * in->lda;
        int32_t *accr = acc + r * NC;
        for (int d = 0; d < in->k4; d++) {
            const int8_t *wd = in->w + d * 64;
            for (int c = 0; c < BV_PANEL; c++)
                for (int q = 0; q < 4; q++) accr[c] += (int32_t)ar[4 * d + q] * wd[4 * c + q];
        }
    }
    bv_tile_epilogue_generic(acc, NC, mr, o);
}
