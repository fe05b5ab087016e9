// AVX2 int8 microkernels (u8 activations × s8 weights → s32), exact for all values.
//
// vpmaddubsw multiplies u8 × s8 byte pairs and adds each pair into a saturating s16. Tile: MR
// rows × one 16-column panel (two ymm of 8 columns × 4 K values).
//
// - Any codes: a product pair reaches 2·255·128 and would saturate, so the activation bytes are
//   split into nibbles: a = 16·hi + lo with hi, lo ≤ 15 keeps every pair sum within ±3840. Each
//   half goes through vpmaddubsw, then vpmaddwd sums pairs into the dword lane of its column (×1
//   for lo, ×16 for hi).
// - Small codes (the driver passes `s16_steps` > 0 when the largest activation code and weight
//   magnitude are known, e.g. Q-ViT's 2/3/4-bit codes): one vpmaddubsw per 4 K values and
//   column pair, accumulated in s16 lanes for `s16_steps` steps (bounded so that no sum can
//   leave ±32767), then widened by vpmaddwd into s32: about 2.8× fewer instructions.
// The output transform runs on the registers (tile_epilogue_avx2.h).
#include "bitkernels_internal.h"

#if defined(__x86_64__) && defined(__clang__)
#include "tile_epilogue_avx2.h"

static inline __attribute__((always_inline)) BV_TARGET_AVX2
void itile2(const bv_itile_in *in, const bv_tile_out *o, const int mr) {
    const __m256i ones16 = _mm256_set1_epi16(1), sixteen16 = _mm256_set1_epi16(16);
    __m256i acc[BV_AVX2_MR][2];
    for (int r = 0; r < mr; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    for (int d = 0; d < in->k4; d++) {
        const __m256i w0 = _mm256_load_si256((const __m256i *)(in->w + d * 64));
        const __m256i w1 = _mm256_load_si256((const __m256i *)(in->w + d * 64 + 32));
        for (int r = 0; r < mr; r++) {
            const uint32_t a = *(const bv_u32a *)(in->a + r * in->lda + 4 * d);
            const __m256i lo = _mm256_set1_epi32((int)(a & 0x0F0F0F0Fu));
            const __m256i hi = _mm256_set1_epi32((int)((a >> 4) & 0x0F0F0F0Fu));
            acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_add_epi32(
                _mm256_madd_epi16(_mm256_maddubs_epi16(lo, w0), ones16),
                _mm256_madd_epi16(_mm256_maddubs_epi16(hi, w0), sixteen16)));
            acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_add_epi32(
                _mm256_madd_epi16(_mm256_maddubs_epi16(lo, w1), ones16),
                _mm256_madd_epi16(_mm256_maddubs_epi16(hi, w1), sixteen16)));
        }
    }
    panel_epilogue(acc, mr, o, 0);
}

static inline __attribute__((always_inline)) BV_TARGET_AVX2
void itile2_small(const bv_itile_in *in, const bv_tile_out *o, const int mr) {
    const __m256i ones16 = _mm256_set1_epi16(1);
    __m256i acc[BV_AVX2_MR][2], acc16[BV_AVX2_MR][2];
    for (int r = 0; r < mr; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    for (int d0 = 0; d0 < in->k4; d0 += in->s16_steps) {
        const int d1 = bv_min(in->k4, d0 + in->s16_steps);
        for (int r = 0; r < mr; r++) acc16[r][0] = acc16[r][1] = _mm256_setzero_si256();
        // Pointer walks and a 4-way unroll: indexing by d cost 9 of 33 instructions per step.
        const __m256i *w = (const __m256i *)(in->w + (ptrdiff_t)d0 * 64);
        const uint8_t *a = in->a + 4 * (ptrdiff_t)d0;
        const ptrdiff_t lda = in->lda;
#pragma clang loop unroll_count(4)
        for (int d = d0; d < d1; d++, w += 2, a += 4) {
            const __m256i w0 = _mm256_load_si256(w), w1 = _mm256_load_si256(w + 1);
            for (int r = 0; r < mr; r++) {
                const __m256i ar = _mm256_set1_epi32((int)*(const bv_u32a *)(a + r * lda));
                acc16[r][0] = _mm256_add_epi16(acc16[r][0], _mm256_maddubs_epi16(ar, w0));
                acc16[r][1] = _mm256_add_epi16(acc16[r][1], _mm256_maddubs_epi16(ar, w1));
            }
        }
        for (int r = 0; r < mr; r++) {
            acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(acc16[r][0], ones16));
            acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(acc16[r][1], ones16));
        }
    }
    panel_epilogue(acc, mr, o, 0);
}

_Static_assert(BV_AVX2_MR == 4 && BV_AVX2_NV == 1, "update the switch with the tile size");

BV_TARGET_AVX2 void bv_itile_avx2(const bv_itile_in *in, int mr, int nv, const bv_tile_out *o) {
    (void)nv;
    if (in->s16_steps > 0) {
        switch (mr) {
        case 1: itile2_small(in, o, 1); break;
        case 2: itile2_small(in, o, 2); break;
        case 3: itile2_small(in, o, 3); break;
        default: itile2_small(in, o, 4); break;
        }
        return;
    }
    switch (mr) {
    case 1: itile2(in, o, 1); break;
    case 2: itile2(in, o, 2); break;
    case 3: itile2(in, o, 3); break;
    default: itile2(in, o, 4); break;
    }
}

#else
void bv_itile_avx2(const bv_itile_in *in, int mr, int nv, const bv_tile_out *o) {
    bv_itile_scalar(in, mr, nv, o);
}
#endif
