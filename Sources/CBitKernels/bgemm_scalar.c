// Portable binary microkernel: the reference the SIMD paths are tested against and the path
// for CPUs without AVX2 or NEON. Same tile contract as the SIMD kernels (bv_btile_in).
#include "bitkernels_internal.h"

// On x86-64 Linux, compile a second copy that may use the POPCNT instruction (baseline
// x86-64 lacks it and __builtin_popcount would expand to shifts and masks).
#if defined(__x86_64__) && defined(__linux__) && defined(__clang__)
#define BV_POPCNT_CLONES __attribute__((target_clones("popcnt", "default")))
#else
#define BV_POPCNT_CLONES
#endif

BV_POPCNT_CLONES
void bv_btile_scalar(const bv_btile_in *in, int mr, int nv, const bv_tile_out *o) {
    enum { NC = BV_SCALAR_NV * BV_PANEL };
    int32_t acc[BV_SCALAR_MR * NC];
    (void)nv;  // one panel per tile
    for (int i = 0; i < BV_SCALAR_MR * NC; i++) acc[i] = 0;
    for (int i = 0; i < in->a_planes; i++) {
        const bv_u32a *a = in->a + i * in->a_plane_stride;
        const bv_u32a *am = in->op == BV_OP_XOR_MASKED ? in->a_mask + i * in->a_plane_stride : a;
        for (int j = 0; j < in->b_planes; j++) {
            const uint32_t *b = in->b + j * in->b_plane_stride;
            for (int r = 0; r < mr; r++) {
                const bv_u32a *ar = a + r * in->a_row_stride, *mr_ = am + r * in->a_row_stride;
                int32_t *accr = acc + r * NC;
                for (int d = 0; d < in->k32; d++) {
                    const uint32_t av = ar[d], mv = mr_[d];
                    const uint32_t *bd = b + d * BV_PANEL;
                    for (int c = 0; c < BV_PANEL; c++) {
                        uint32_t x = in->op == BV_OP_XOR ? av ^ bd[c]
                                   : in->op == BV_OP_AND ? av & bd[c]
                                   : (av ^ bd[c]) & mv;
                        accr[c] += __builtin_popcount(x);
                    }
                }
            }
        }
    }
    bv_tile_epilogue_generic(acc, NC, mr, o);
}
