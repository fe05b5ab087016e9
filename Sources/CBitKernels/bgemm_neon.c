// ARM64 NEON binary microkernel (compiled only for aarch64; on other CPUs the symbol forwards
// to the scalar kernel so the dispatch table links everywhere).
//
// Tile: MR rows × one 16-column panel (four q registers of 4 dword lanes). vcntq_u8 counts
// bits per byte; vpaddlq_u8 / vpadalq_u16 widen pairwise into the dword lane of each column.
#include "bitkernels_internal.h"

#if defined(__aarch64__)
#include <arm_neon.h>

void bv_btile_neon(const bv_btile_in *in, int mr, int nv, const bv_tile_out *o) {
    (void)nv;
    uint32x4_t acc[BV_NEON_MR][4];
    for (int r = 0; r < mr; r++)
        for (int q = 0; q < 4; q++) acc[r][q] = vdupq_n_u32(0);
    for (int i = 0; i < in->a_planes; i++) {
        const bv_u32a *a = in->a + i * in->a_plane_stride;
        const bv_u32a *am = in->op == BV_OP_XOR_MASKED ? in->a_mask + i * in->a_plane_stride : a;
        for (int j = 0; j < in->b_planes; j++) {
            const uint32_t *b = in->b + j * in->b_plane_stride;
            for (int d = 0; d < in->k32; d++) {
                uint32x4_t bv[4];
                for (int q = 0; q < 4; q++) bv[q] = vld1q_u32(b + d * BV_PANEL + 4 * q);
                for (int r = 0; r < mr; r++) {
                    const uint32x4_t av = vdupq_n_u32(a[r * in->a_row_stride + d]);
                    const uint32x4_t mv = vdupq_n_u32(am[r * in->a_row_stride + d]);
                    for (int q = 0; q < 4; q++) {
                        uint32x4_t x = in->op == BV_OP_AND ? vandq_u32(av, bv[q]) : veorq_u32(av, bv[q]);
                        if (in->op == BV_OP_XOR_MASKED) x = vandq_u32(x, mv);
                        const uint16x8_t c16 = vpaddlq_u8(vcntq_u8(vreinterpretq_u8_u32(x)));
                        acc[r][q] = vpadalq_u16(acc[r][q], c16);
                    }
                }
            }
        }
    }
    int32_t acc32[BV_NEON_MR * BV_PANEL];
    for (int r = 0; r < mr; r++)
        for (int q = 0; q < 4; q++) vst1q_s32(acc32 + r * BV_PANEL + 4 * q, vreinterpretq_s32_u32(acc[r][q]));
    bv_tile_epilogue_generic(acc32, BV_PANEL, mr, o);
}

#else
void bv_btile_neon(const bv_btile_in *in, int mr, int nv, const bv_tile_out *o) {
    bv_btile_scalar(in, mr, nv, o);
}
#endif
