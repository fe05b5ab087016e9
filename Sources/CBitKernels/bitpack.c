// Packing float rows into bit planes, and bit / int8 matrices into GEMM panels.
#include "bitkernels_internal.h"
#include "bitpack_row.h"
#include "dispatch.h"
#include <string.h>

static int words_for(int k) { return (k + 63) / 64; }

#if defined(__x86_64__) && defined(__clang__)
// One function per ISA so the row packer inlines with its target's instructions.
__attribute__((target("avx512f")))
static void pack_rows_avx512(const float *x, ptrdiff_t x_row_stride, int rows, int k, const float *shift,
                             float threshold, int is_sign, uint64_t *bits, ptrdiff_t row_stride,
                             uint64_t *mask, int32_t *row_counts) {
    const int words = words_for(k);
    for (int r = 0; r < rows; r++) {
        const int c = is_sign
            ? bv_pack_row_avx512(x + r * x_row_stride, k, shift, 0.0f, 1, bits + r * row_stride, words,
                                 mask ? mask + r * row_stride : NULL)
            : bv_pack_row_avx512(x + r * x_row_stride, k, shift, threshold, 0, bits + r * row_stride, words, NULL);
        if (row_counts) row_counts[r] = c;
    }
}

__attribute__((target("avx2")))
static void pack_rows_avx2(const float *x, ptrdiff_t x_row_stride, int rows, int k, const float *shift,
                           float threshold, int is_sign, uint64_t *bits, ptrdiff_t row_stride,
                           uint64_t *mask, int32_t *row_counts) {
    const int words = words_for(k);
    for (int r = 0; r < rows; r++) {
        const int c = is_sign
            ? bv_pack_row_avx2(x + r * x_row_stride, k, shift, 0.0f, 1, bits + r * row_stride, words,
                               mask ? mask + r * row_stride : NULL)
            : bv_pack_row_avx2(x + r * x_row_stride, k, shift, threshold, 0, bits + r * row_stride, words, NULL);
        if (row_counts) row_counts[r] = c;
    }
}
#endif

/// 8×8 bit transpose: bit 8i + j of the result is bit 8j + i of `x`.
static inline uint64_t transpose_bits8x8(uint64_t x) {
    uint64_t t;
    t = (x ^ (x >> 7)) & 0x00AA00AA00AA00AAull;  x ^= t ^ (t << 7);
    t = (x ^ (x >> 14)) & 0x0000CCCC0000CCCCull; x ^= t ^ (t << 14);
    t = (x ^ (x >> 28)) & 0x00000000F0F0F0F0ull; x ^= t ^ (t << 28);
    return x;
}

#if defined(__x86_64__) && defined(__clang__)
/// Signs of rows that lie side by side in memory (x_row_stride 1, e.g. the channels of V packed
/// along its tokens): for each k, one compare of 8 rows gives a byte of their bits; 8 such bytes
/// are transposed into one byte of each row's word. Rows in multiples of 8 (the caller packs the
/// rest), no mask.
__attribute__((target("avx2")))
static void pack_columns_avx2(const float *x, ptrdiff_t x_k_stride, int rows8, int k, const float *shift,
                              uint64_t *bits, ptrdiff_t row_stride) {
    const int words = words_for(k);
    const __m256 zero = _mm256_setzero_ps();
    for (int r = 0; r < rows8; r += 8) {
        for (int w = 0; w < words; w++) {
            uint64_t word[8] = {0};
            for (int j0 = 64 * w; j0 < bv_min(k, 64 * w + 64); j0 += 8) {
                const int n = bv_min(8, k - j0);
                uint64_t bytes = 0;  // byte j: bits of the 8 rows at k = j0 + j
                for (int j = 0; j < n; j++) {
                    __m256 v = _mm256_loadu_ps(x + r + (ptrdiff_t)(j0 + j) * x_k_stride);
                    if (shift) v = _mm256_add_ps(v, _mm256_set1_ps(shift[j0 + j]));
                    bytes |= (uint64_t)(unsigned)_mm256_movemask_ps(_mm256_cmp_ps(v, zero, _CMP_LT_OQ)) << (8 * j);
                }
                const uint64_t rowsbits = transpose_bits8x8(bytes);  // byte i: row r + i at j0 …
                for (int i = 0; i < 8; i++) word[i] |= ((rowsbits >> (8 * i)) & 0xFF) << (j0 - 64 * w);
            }
            for (int i = 0; i < 8; i++) bits[(ptrdiff_t)(r + i) * row_stride + w] = word[i];
        }
    }
}
#endif

/// Packs contiguous rows with the SIMD row packer of `path`; returns 0 when there is none (the
/// caller then uses the scalar rows).
static int pack_rows_simd(int path, const float *x, ptrdiff_t x_row_stride, ptrdiff_t x_k_stride, int rows, int k,
                          const float *shift, float threshold, int is_sign, uint64_t *bits, ptrdiff_t row_stride,
                          uint64_t *mask, int32_t *row_counts) {
#if defined(__x86_64__) && defined(__clang__)
    if (x_k_stride != 1) return 0;
    switch (bv_bgemm_resolve_path(path)) {
    case BV_KPATH_AVX512:
        pack_rows_avx512(x, x_row_stride, rows, k, shift, threshold, is_sign, bits, row_stride, mask, row_counts);
        return 1;
    case BV_KPATH_AVX2:
        pack_rows_avx2(x, x_row_stride, rows, k, shift, threshold, is_sign, bits, row_stride, mask, row_counts);
        return 1;
    default: return 0;
    }
#else
    (void)path; (void)x; (void)x_row_stride; (void)x_k_stride; (void)rows; (void)k; (void)shift; (void)threshold;
    (void)is_sign; (void)bits; (void)row_stride; (void)mask; (void)row_counts;
    return 0;
#endif
}

void bv_pack_signs(const float *x, ptrdiff_t x_row_stride, ptrdiff_t x_k_stride,
                   int rows, int k, const float *shift,
                   uint64_t *bits, ptrdiff_t row_stride,
                   uint64_t *mask, int32_t *row_counts, int path) {
    if (pack_rows_simd(path, x, x_row_stride, x_k_stride, rows, k, shift, 0.0f, 1, bits, row_stride, mask,
                       mask ? row_counts : NULL))
        return;
    int r0 = 0;
#if defined(__x86_64__) && defined(__clang__)
    const int p = bv_bgemm_resolve_path(path);
    if (x_row_stride == 1 && !mask && (p == BV_KPATH_AVX2 || p == BV_KPATH_AVX512)) {
        r0 = rows / 8 * 8;
        pack_columns_avx2(x, x_k_stride, r0, k, shift, bits, row_stride);
    }
#endif
    const int words = words_for(k);
    for (int r = r0; r < rows; r++) {
        const int nnz = bv_pack_row_signs_scalar(x + r * x_row_stride, x_k_stride, k, shift,
                                                 bits + r * row_stride, words,
                                                 mask ? mask + r * row_stride : NULL);
        if (mask && row_counts) row_counts[r] = nnz;
    }
}

void bv_pack_thresholds(const float *x, ptrdiff_t x_row_stride, ptrdiff_t x_k_stride,
                        int rows, int k, const float *shift,
                        const float *thresholds, int planes,
                        uint64_t *bits, ptrdiff_t row_stride, ptrdiff_t plane_stride,
                        int32_t *row_counts, int path) {
    const int words = words_for(k);
    for (int p = 0; p < planes; p++) {
        int32_t *counts = row_counts ? row_counts + (ptrdiff_t)p * rows : NULL;
        if (pack_rows_simd(path, x, x_row_stride, x_k_stride, rows, k, shift, thresholds[p], 0,
                           bits + p * plane_stride, row_stride, NULL, counts))
            continue;
        for (int r = 0; r < rows; r++) {
            const int c = bv_pack_row_threshold_scalar(x + r * x_row_stride, x_k_stride, k, shift,
                                                       thresholds[p], bits + p * plane_stride + r * row_stride, words);
            if (counts) counts[r] = c;
        }
    }
}

BV_CLONES
void bv_pack_quantized_planes(const float *x, ptrdiff_t x_row_stride, ptrdiff_t x_k_stride,
                              int rows, int k, float alpha, float zero, int qmax, int encoding,
                              uint64_t *bits, ptrdiff_t row_stride, ptrdiff_t plane_stride,
                              int32_t *row_counts) {
    int planes = 0;
    if (encoding == BV_CODES_THERMOMETER) planes = qmax;
    else while ((1 << planes) <= qmax) planes++;
    const int words = words_for(k);
    for (int r = 0; r < rows; r++) {
        const float *xr = x + r * x_row_stride;
        for (int w = 0; w < words; w++) {
            // The codes of 64 values first (a loop the compiler vectorizes), then one word per plane.
            const int j0 = 64 * w, n = bv_min(64, k - j0);
            int32_t code[64];
            for (int j = 0; j < n; j++) {
                // Division (not a reciprocal multiply) and rint (half to even) match PyTorch's
                // round(x / alpha + zero) bit for bit.
                float q = __builtin_rintf(xr[(j0 + j) * x_k_stride] / alpha + zero);
                q = q < 0.0f ? 0.0f : (q > (float)qmax ? (float)qmax : q);
                code[j] = (int32_t)q;
            }
            for (int p = 0; p < planes; p++) {
                uint64_t word = 0;
                for (int j = 0; j < n; j++) {
                    const int on = encoding == BV_CODES_THERMOMETER ? code[j] > p : (code[j] >> p) & 1;
                    word |= (uint64_t)on << j;
                }
                bits[p * plane_stride + r * row_stride + w] = word;
            }
        }
        if (row_counts)
            for (int p = 0; p < planes; p++) {
                int c = 0;
                for (int w = 0; w < words; w++) c += __builtin_popcountll(bits[p * plane_stride + r * row_stride + w]);
                row_counts[(ptrdiff_t)p * rows + r] = c;
            }
    }
}

void bv_pack_gsb_signed_planes(const float *x, ptrdiff_t x_row_stride, ptrdiff_t x_k_stride,
                               int rows, int k, float t1_pos, float t1_neg,
                               float t2_pos, float t2_neg,
                               uint64_t *bits, ptrdiff_t row_stride, ptrdiff_t plane_stride) {
    const int words = words_for(k);
    for (int r = 0; r < rows; r++) {
        uint64_t *s = bits + r * row_stride, *w1 = s + plane_stride, *w2 = s + 2 * plane_stride;
        for (int w = 0; w < words; w++) {
            uint64_t sw = 0, in1 = 0, in2 = 0;
            const int j0 = 64 * w, j1 = bv_min(k, j0 + 64);
            for (int j = j0; j < j1; j++) {
                const float v = x[r * x_row_stride + j * x_k_stride];
                sw |= (uint64_t)(v < 0.0f) << (j - j0);
                in1 |= (uint64_t)(v > t1_pos || v < t1_neg) << (j - j0);
                in2 |= (uint64_t)(v > t2_pos || v < t2_neg) << (j - j0);
            }
            // Outside a group the auxiliary plane carries −sgn(v): flip the sign bit there.
            const uint64_t live = j1 - j0 == 64 ? ~0ull : (1ull << (j1 - j0)) - 1;
            s[w] = sw;
            w1[w] = (sw ^ ~in1) & live;
            w2[w] = (sw ^ ~in2) & live;
        }
    }
}

void bv_row_popcounts(const uint64_t *bits, ptrdiff_t row_stride, int rows, int words, int32_t *counts) {
    for (int r = 0; r < rows; r++) {
        int c = 0;
        for (int w = 0; w < words; w++) c += __builtin_popcountll(bits[r * row_stride + w]);
        counts[r] = c;
    }
}

void bv_pack_panels(const uint64_t *bits, ptrdiff_t row_stride, int rows, int words, uint32_t *panels) {
    const int dwords = 2 * words, npanels = (rows + BV_PANEL - 1) / BV_PANEL;
    for (int p = 0; p < npanels; p++) {
        uint32_t *panel = panels + (ptrdiff_t)p * BV_PANEL * dwords;
        for (int c = 0; c < BV_PANEL; c++) {
            const int n = p * BV_PANEL + c;
            const bv_u32a *row = n < rows ? (const bv_u32a *)(bits + n * row_stride) : NULL;
            for (int d = 0; d < dwords; d++) panel[d * BV_PANEL + c] = row ? row[d] : 0;
        }
    }
}

void bv_pack_panels_s8(const int8_t *w, ptrdiff_t w_row_stride, int rows, int k,
                       int8_t *panels, int32_t *col_sums) {
    const int k4 = (k + 3) / 4, npanels = (rows + BV_PANEL - 1) / BV_PANEL, whole = k / 4;
    for (int p = 0; p < npanels; p++) {
        int8_t *panel = panels + (ptrdiff_t)p * 64 * k4;
        for (int c = 0; c < BV_PANEL; c++) {
            const int n = p * BV_PANEL + c;
            int8_t *dst = panel + 4 * c;
            if (n >= rows) {
                for (int d = 0; d < k4; d++) memset(dst + d * 64, 0, 4);
                continue;
            }
            const int8_t *row = w + (ptrdiff_t)n * w_row_stride;
            // Whole groups of 4 as one 4-byte copy; the last group zero padded.
            for (int d = 0; d < whole; d++) memcpy(dst + d * 64, row + 4 * d, 4);
            for (int d = whole; d < k4; d++)
                for (int q = 0; q < 4; q++) dst[d * 64 + q] = 4 * d + q < k ? row[4 * d + q] : 0;
            if (col_sums) {
                int32_t sum = 0;
                for (int j = 0; j < k; j++) sum += row[j];
                col_sums[n] = sum;
            }
        }
    }
}

void bv_pack_panels_u8_offset(const uint8_t *codes, ptrdiff_t n_stride, ptrdiff_t k_stride, int rows, int k,
                              int offset, int8_t *panels, int32_t *col_sums) {
    const int k4 = (k + 3) / 4, npanels = (rows + BV_PANEL - 1) / BV_PANEL;
    for (int p = 0; p < npanels; p++) {
        int8_t *panel = panels + (ptrdiff_t)p * 64 * k4;
        const int width = bv_min(BV_PANEL, rows - p * BV_PANEL);
        if (width < BV_PANEL)
            for (ptrdiff_t i = 0; i < (ptrdiff_t)64 * k4; i++) panel[i] = 0;
        for (int c = 0; c < width; c++) {
            const uint8_t *row = codes + (ptrdiff_t)(p * BV_PANEL + c) * n_stride;
            int32_t sum = 0;
            if (k_stride == 1) {
                // Contiguous codes (keys): one group of 4 per destination dword, no index arithmetic.
                int8_t *dst = panel + 4 * c;
                int j = 0;
                for (; j + 4 <= k; j += 4, dst += 64)
                    for (int q = 0; q < 4; q++) {
                        const int v = row[j + q] + offset;
                        dst[q] = (int8_t)v;
                        sum += v;
                    }
                for (; j < k; j++) {
                    const int v = row[j] + offset;
                    panel[(j >> 2) * 64 + 4 * c + (j & 3)] = (int8_t)v;
                    sum += v;
                }
            } else {
                for (int j = 0; j < k; j++) {
                    const int v = row[j * k_stride] + offset;
                    panel[(j >> 2) * 64 + 4 * c + (j & 3)] = (int8_t)v;
                    sum += v;
                }
            }
            for (int j = k; j < 4 * k4; j++) panel[(j >> 2) * 64 + 4 * c + (j & 3)] = 0;
            col_sums[p * BV_PANEL + c] = sum;
        }
    }
}

void bv_quantize_u8(const float *x, ptrdiff_t x_row_stride, int rows, int k,
                    float alpha, float zero, int qmax, uint8_t *out, ptrdiff_t out_row_stride) {
    const int kpad = (k + 3) / 4 * 4;
    for (int r = 0; r < rows; r++) {
        uint8_t *o = out + r * out_row_stride;
        for (int j = 0; j < k; j++) {
            float q = __builtin_rintf(x[r * x_row_stride + j] / alpha + zero);
            q = q < 0.0f ? 0.0f : (q > (float)qmax ? (float)qmax : q);
            o[j] = (uint8_t)q;
        }
        for (int j = k; j < kpad; j++) o[j] = 0;
    }
}
