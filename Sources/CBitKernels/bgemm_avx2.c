// AVX2 binary microkernel (no vector popcount instruction).
//
// Register tile: MR rows × one 16-column panel (two ymm of 8 dword lanes); a call covers up to
// BV_AVX2_BNV panels (64 columns) one after another, so the driver's per-tile work is paid once
// per 64 columns. Popcount by nibble table: the low and high nibble of every byte index a
// 16-entry table with vpshufb, giving per-byte counts (≤ 8) that accumulate in bytes for up to
// 31 steps of K (≤ 248, no overflow) before they are widened to dwords with vpmaddubsw +
// vpmaddwd (sum of the 4 bytes of each lane). The output transform runs on the registers.
#include "bitkernels_internal.h"

#if defined(__x86_64__) && defined(__clang__)
#include "tile_epilogue_avx2.h"

static inline __attribute__((always_inline)) BV_TARGET_AVX2
__m256i popcount_bytes(__m256i x, __m256i lut, __m256i low4) {
    __m256i lo = _mm256_and_si256(x, low4);
    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), low4);
    return _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
}

/// Dword sums of the four byte counts of each lane.
static inline __attribute__((always_inline)) BV_TARGET_AVX2
__m256i widen(__m256i bytes) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(bytes, _mm256_set1_epi8(1)), _mm256_set1_epi16(1));
}

/// Byte counts of K dwords [d0, d1) (at most 31) of `mr` rows against the 16 columns at `b`,
/// added to `acc8[r][half]`.
static inline __attribute__((always_inline)) BV_TARGET_AVX2
void count_steps(const bv_u32a *a, const bv_u32a *am, ptrdiff_t as, const uint32_t *b, int d0, int d1, const int op,
                 const int mr, __m256i acc8[][2]) {
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                         0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    for (int d = d0; d < d1; d++) {
        const __m256i b0 = _mm256_load_si256((const __m256i *)(b + d * BV_PANEL));
        const __m256i b1 = _mm256_load_si256((const __m256i *)(b + d * BV_PANEL + 8));
        for (int r = 0; r < mr; r++) {
            const __m256i av = _mm256_set1_epi32((int)a[r * as + d]);
            const __m256i mv = op == BV_OP_XOR_MASKED ? _mm256_set1_epi32((int)am[r * as + d]) : _mm256_setzero_si256();
            const __m256i x0 = binary_op(op, av, b0, mv), x1 = binary_op(op, av, b1, mv);
            acc8[r][0] = _mm256_add_epi8(acc8[r][0], popcount_bytes(x0, lut, low4));
            acc8[r][1] = _mm256_add_epi8(acc8[r][1], popcount_bytes(x1, lut, low4));
        }
    }
}

/// Dot products of `mr` rows with the 16 columns of the panel at `b` (plane 0; planes as in
/// `in`), into dword accumulators `acc[r][half]`.
static inline __attribute__((always_inline)) BV_TARGET_AVX2
void panel_products(const bv_btile_in *in, const uint32_t *panel, const int op, const int mr, __m256i acc[][2]) {
    __m256i acc8[BV_AVX2_MR][2];
    const ptrdiff_t as = in->a_row_stride;
    if (in->a_planes == 1 && in->b_planes == 1 && in->k32 <= 31) {
        // One plane pair and K ≤ 992 (every ViT linear but DeiT's fc2): the byte counts never
        // need widening mid-way, so the dword accumulators are not live in the loop (no spills).
        for (int r = 0; r < mr; r++) acc8[r][0] = acc8[r][1] = _mm256_setzero_si256();
        count_steps(in->a, in->a_mask, as, panel, 0, in->k32, op, mr, acc8);
        for (int r = 0; r < mr; r++) {
            acc[r][0] = widen(acc8[r][0]);
            acc[r][1] = widen(acc8[r][1]);
        }
        return;
    }
    for (int r = 0; r < mr; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    for (int i = 0; i < in->a_planes; i++) {
        const bv_u32a *a = in->a + i * in->a_plane_stride;
        const bv_u32a *am = op == BV_OP_XOR_MASKED ? in->a_mask + i * in->a_plane_stride : a;
        for (int j = 0; j < in->b_planes; j++) {
            const uint32_t *b = panel + j * in->b_plane_stride;
            for (int d0 = 0; d0 < in->k32; d0 += 31) {
                const int d1 = bv_min(in->k32, d0 + 31);
                for (int r = 0; r < mr; r++) acc8[r][0] = acc8[r][1] = _mm256_setzero_si256();
                count_steps(a, am, as, b, d0, d1, op, mr, acc8);
                for (int r = 0; r < mr; r++) {
                    acc[r][0] = _mm256_add_epi32(acc[r][0], widen(acc8[r][0]));
                    acc[r][1] = _mm256_add_epi32(acc[r][1], widen(acc8[r][1]));
                }
            }
        }
    }
}

static inline __attribute__((always_inline)) BV_TARGET_AVX2
void btile2(const bv_btile_in *in, const bv_tile_out *o, const int op, const int mr, const int nv) {
    for (int v = 0; v < nv; v++) {
        __m256i acc[BV_AVX2_MR][2];
        panel_products(in, in->b + v * in->b_panel_stride, op, mr, acc);
        panel_epilogue(acc, mr, o, v * BV_PANEL);
    }
}

#define BV_MR_SWITCH2(OP)                          \
    switch (mr) {                                  \
    case 1: btile2(in, o, OP, 1, nv); break;       \
    case 2: btile2(in, o, OP, 2, nv); break;       \
    case 3: btile2(in, o, OP, 3, nv); break;       \
    default: btile2(in, o, OP, 4, nv); break;      \
    }
_Static_assert(BV_AVX2_MR == 4, "update the switch with the tile size");

BV_TARGET_AVX2 static void btile2_xor(const bv_btile_in *in, int mr, int nv, const bv_tile_out *o) { BV_MR_SWITCH2(BV_OP_XOR) }
BV_TARGET_AVX2 static void btile2_and(const bv_btile_in *in, int mr, int nv, const bv_tile_out *o) { BV_MR_SWITCH2(BV_OP_AND) }
BV_TARGET_AVX2 static void btile2_xor_masked(const bv_btile_in *in, int mr, int nv, const bv_tile_out *o) { BV_MR_SWITCH2(BV_OP_XOR_MASKED) }

void bv_btile_avx2(const bv_btile_in *in, int mr, int nv, const bv_tile_out *o) {
    switch (in->op) {
    case BV_OP_XOR: btile2_xor(in, mr, nv, o); break;
    case BV_OP_AND: btile2_and(in, mr, nv, o); break;
    default: btile2_xor_masked(in, mr, nv, o); break;
    }
}

#else
void bv_btile_avx2(const bv_btile_in *in, int mr, int nv, const bv_tile_out *o) {
    bv_btile_scalar(in, mr, nv, o);  // never selected: the AVX2 path resolves only on x86-64
}
#endif
