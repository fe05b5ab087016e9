// AVX2 kernel of the direct grouped 3×3 binary convolution (see bgconv.c).
//
// Register tile: MR pixels × one group's cg outputs. Per valid tap: the group's cg-bit input
// word of each pixel is broadcast to every lane (vpbroadcastw for cg = 16, vpbroadcastd for
// cg = 32), XORed with the tap's weight lanes (1 or 4 registers), and counted by nibble table
// into byte accumulators (at most 9 taps × 8 = 72 per byte, no overflow). The epilogue sums
// each lane's bytes, forms dot = valid·cg − 2·popcount and applies α and the bias with one FMA.
#include "bitkernels_internal.h"

#if defined(__x86_64__) && defined(__clang__)
#include "tile_epilogue_avx2.h"

int bv_gconv_avx2_handles(int cg) { return cg == 16 || cg == 32; }
int bv_gconv_avx2_pixels(int cg) { return cg == 16 ? 4 : 2; }

static inline __attribute__((always_inline)) BV_TARGET_AVX2
__m256i count_bytes(__m256i x, __m256i lut, __m256i low4) {
    const __m256i lo = _mm256_and_si256(x, low4), hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), low4);
    return _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
}

/// out[c0 + j] = α·(base − 2·pc_j) + bias for the 8 dword counts `pc`.
static inline __attribute__((always_inline)) BV_TARGET_AVX2
void store_outputs(__m256i pc, int base, const float *alpha, const float *bias, float *out) {
    const __m256i dot = _mm256_sub_epi32(_mm256_set1_epi32(base), _mm256_add_epi32(pc, pc));
    const __m256 b = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
    _mm256_storeu_ps(out, _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_loadu_ps(alpha), b));
}

/// `mr` pixels from (y, x0), cg = 16 or 32 (`vecs` = cg·cg/256 weight registers per tap).
static inline __attribute__((always_inline)) BV_TARGET_AVX2
void gconv_tile(const bv_gconv3x3_args *a, int y, int x0, int taps, const int cg, const int mr) {
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                         0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    enum { MAXV = 4 };
    const int vecs = cg * cg / 256, side = a->side, dil = a->dil;
    const int base = __builtin_popcount((unsigned)taps) * cg;
    const ptrdiff_t rs = a->in_row_stride * 8;  // bytes per pixel row
    const uint8_t *in = (const uint8_t *)a->in;
    for (int g = 0; g < a->groups; g++) {
        __m256i acc[4][MAXV];
        for (int r = 0; r < mr; r++)
            for (int v = 0; v < vecs; v++) acc[r][v] = _mm256_setzero_si256();
        const uint8_t *w = a->lanes + (ptrdiff_t)g * 9 * cg * cg / 8;
        const uint8_t *gin = in + g * cg / 8;
        for (int t = 0; t < 9; t++) {
            if (!(taps >> t & 1)) continue;
            const ptrdiff_t p = (ptrdiff_t)(y + (t / 3 - 1) * dil) * side + x0 + (t % 3 - 1) * dil;
            const __m256i *wt = (const __m256i *)(w + (ptrdiff_t)t * cg * cg / 8);
            for (int r = 0; r < mr; r++) {
                const uint8_t *src = gin + (p + r) * rs;
                const __m256i av = cg == 16 ? _mm256_set1_epi16((short)*(const uint16_t *)src)
                                            : _mm256_set1_epi32((int)*(const bv_u32a *)src);
                for (int v = 0; v < vecs; v++)
                    acc[r][v] = _mm256_add_epi8(acc[r][v], count_bytes(_mm256_xor_si256(av, _mm256_load_si256(wt + v)), lut, low4));
            }
        }
        const float *alpha = a->alpha + g * cg, *bias = a->bias ? a->bias + g * cg : NULL;
        for (int r = 0; r < mr; r++) {
            float *out = a->out + ((ptrdiff_t)y * side + x0 + r) * a->ldc + g * cg;
            if (cg == 16) {
                // 16-bit lanes: one vpmaddubsw sums each output's two bytes.
                const __m256i s16 = _mm256_maddubs_epi16(acc[r][0], _mm256_set1_epi8(1));
                store_outputs(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(s16)), base, alpha, bias, out);
                store_outputs(_mm256_cvtepi16_epi32(_mm256_extracti128_si256(s16, 1)), base, alpha + 8,
                              bias ? bias + 8 : NULL, out + 8);
            } else {
                for (int v = 0; v < vecs; v++) {
                    const __m256i s32 = _mm256_madd_epi16(_mm256_maddubs_epi16(acc[r][v], _mm256_set1_epi8(1)), _mm256_set1_epi16(1));
                    store_outputs(s32, base, alpha + 8 * v, bias ? bias + 8 * v : NULL, out + 8 * v);
                }
            }
        }
    }
}

BV_TARGET_AVX2 static void gconv16(const bv_gconv3x3_args *a, int y, int x0, int n, int taps) {
    switch (n) {
    case 1: gconv_tile(a, y, x0, taps, 16, 1); break;
    case 2: gconv_tile(a, y, x0, taps, 16, 2); break;
    case 3: gconv_tile(a, y, x0, taps, 16, 3); break;
    default: gconv_tile(a, y, x0, taps, 16, 4); break;
    }
}

BV_TARGET_AVX2 static void gconv32(const bv_gconv3x3_args *a, int y, int x0, int n, int taps) {
    if (n == 1) gconv_tile(a, y, x0, taps, 32, 1);
    else gconv_tile(a, y, x0, taps, 32, 2);
}

void bv_gconv_run_avx2(const bv_gconv3x3_args *a, int y, int x0, int n, int taps) {
    if (a->channels / a->groups == 16) gconv16(a, y, x0, n, taps);
    else gconv32(a, y, x0, n, taps);
}

#else
int bv_gconv_avx2_handles(int cg) { (void)cg; return 0; }
int bv_gconv_avx2_pixels(int cg) { (void)cg; return 1; }
void bv_gconv_run_avx2(const bv_gconv3x3_args *a, int y, int x0, int n, int taps) {
    (void)a; (void)y; (void)x0; (void)n; (void)taps;  // never selected: bv_gconv_avx2_handles is 0
}
#endif
