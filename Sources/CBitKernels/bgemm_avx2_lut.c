// AVX2 binary GEMM by table lookup (one plane pair), for CPUs without a vector popcount.
//
// The panel kernel (bgemm_avx2.c) spends eight instructions on every 256 bits of a·w: the
// xor, two nibble splits and two byte-table lookups. Here the per-row work is moved out of
// the inner loop: for each 4-bit position p of a row of A, a 16-byte table holds
// popcount(op(a_p, v)) for the 16 possible weight nibbles v (op = xor, and, or xor-and-mask),
// and the weights are stored one nibble per byte, 32 output columns per 32-byte vector
// (`bv_pack_lut_weights`). One vpshufb then looks up 32 columns' counts at position p and
// one byte add accumulates them: two instructions per 128 bit products instead of four. The
// tables cost about three instructions per position and serve a row's columns in groups of
// BV_LUT_GROUP; rows go in tiles of up to 8 so each block of weights is read once per tile.
// Counts are exact integers and the output transform does panel_epilogue's float operations
// (tile_epilogue_avx2.h), so the results equal the panel kernel's bit for bit.
#include "bitkernels_internal.h"

int bv_lut_slots(int k) { return (k + 15) / 16 * 4; }

/// Position of slot s: tables and weights are stored in the order the table builder makes
/// them (two bytes at a time, low nibbles then high nibbles, see `lut_tables`).
static inline int slot_position(int s) {
    static const int order[4] = {0, 2, 1, 3};
    return s / 4 * 4 + order[s % 4];
}

void bv_pack_lut_weights(const uint64_t *bits, ptrdiff_t row_stride, int rows, int k, uint8_t *out) {
    const int slots = bv_lut_slots(k), blocks = (rows + BV_LUT_BLOCK - 1) / BV_LUT_BLOCK;
    for (int b = 0; b < blocks; b++)
        for (int s = 0; s < slots; s++) {
            const int p = slot_position(s);
            uint8_t *v = out + ((ptrdiff_t)b * slots + s) * BV_LUT_BLOCK;
            for (int c = 0; c < BV_LUT_BLOCK; c++) {
                const int n = b * BV_LUT_BLOCK + c;
                v[c] = n < rows && 4 * p < k ? (uint8_t)((bits[(ptrdiff_t)n * row_stride + p / 16] >> (4 * (p % 16))) & 15) : 0;
            }
        }
}

#if defined(__x86_64__) && defined(__clang__)
#include "tile_epilogue_avx2.h"

/// The tables of one row (`slots` × 16 bytes, slot order of `slot_position`): entry v of the
/// table of position p is popcount(op(nibble p of a, v)), op as `op` (BV_OP_*); past K the
/// row's bits are zero, so those tables count nothing that a zero weight nibble would add.
static inline __attribute__((always_inline)) BV_TARGET_AVX2
void lut_tables(const bv_u32a *a, const bv_u32a *am, const int op, int slots, uint8_t *tables) {
    const __m256i pop = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                         0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i iota = _mm256_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                                          0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    // Byte 0 of each 16-bit word into the low 128-bit lane, byte 1 into the high one.
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                            1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    const unsigned char *a8 = (const unsigned char *)a, *m8 = (const unsigned char *)am;
    for (int i = 0; i < slots / 4; i++) {
        uint16_t av, mv = 0;
        __builtin_memcpy(&av, a8 + 2 * i, 2);
        if (op == BV_OP_XOR_MASKED) __builtin_memcpy(&mv, m8 + 2 * i, 2);
        const __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi16((short)av), spread);
        const __m256i mb = _mm256_shuffle_epi8(_mm256_set1_epi16((short)mv), spread);
        const __m256i lo = _mm256_and_si256(bytes, low4), hi = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low4);
        const __m256i xl = binary_op(op, lo, iota, _mm256_and_si256(mb, low4));
        const __m256i xh = binary_op(op, hi, iota, _mm256_and_si256(_mm256_srli_epi16(mb, 4), low4));
        _mm256_store_si256((__m256i *)(tables + 64 * i), _mm256_shuffle_epi8(pop, xl));
        _mm256_store_si256((__m256i *)(tables + 64 * i + 32), _mm256_shuffle_epi8(pop, xh));
    }
}

/// Counts of `nb` (1–4, a constant after inlining) blocks of 32 columns of one row into
/// `counts` (32·nb dwords): byte sums over up to 63 slots at a time (≤ 4 each, exact), each
/// chunk's widened and added to the dwords in memory (no dword registers live in the loop).
static inline __attribute__((always_inline)) BV_TARGET_AVX2
void lut_counts(const uint8_t *tables, int slots, const uint8_t *w, ptrdiff_t block_stride, const int nb,
                int32_t *counts) {
    for (int s0 = 0; s0 < slots; s0 += 63) {
        const int s1 = bv_min(slots, s0 + 63);
        __m256i b[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
        for (int s = s0; s < s1; s++) {
            const __m256i t = _mm256_broadcastsi128_si256(_mm_load_si128((const __m128i *)(tables + 16 * s)));
            for (int j = 0; j < nb; j++)
                b[j] = _mm256_add_epi8(b[j], _mm256_shuffle_epi8(t, _mm256_load_si256((const __m256i *)(w + j * block_stride + 32 * s))));
        }
        for (int j = 0; j < nb; j++) {
            const __m128i lo = _mm256_castsi256_si128(b[j]), hi = _mm256_extracti128_si256(b[j], 1);
            const __m256i v[4] = {_mm256_cvtepu8_epi32(lo), _mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8)),
                                  _mm256_cvtepu8_epi32(hi), _mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8))};
            for (int q = 0; q < 4; q++) {
                __m256i *c = (__m256i *)(counts + 32 * j + 8 * q);
                _mm256_store_si256(c, s0 == 0 ? v[q] : _mm256_add_epi32(_mm256_load_si256(c), v[q]));
            }
        }
    }
}

/// The output transform of bv_tile_out on one row's counts (columns 0 …  ncols − 1 of the
/// group), 8 columns per step with the operations of panel_epilogue, so the results are the
/// panel kernel's bit for bit. `U`, `R` and `c` are the row's; with `bits` (the row's packed
/// output, `o->bit0` bits into its first word) the threshold bits instead of `c`.
static inline __attribute__((always_inline)) BV_TARGET_AVX2
void lut_epilogue(const int32_t *counts, const bv_tile_out *o, const float *U, const float *R, float *c, uint64_t *bits) {
    // Locals: the stores to c cannot alias them, so nothing is reloaded in the loop.
    const int n = o->ncols, accumulate = o->accumulate;
    const float *P = o->P, *Q = o->Q, *S = o->S, *B = o->B;
    const __m256 u = _mm256_set1_ps(U ? *U : 0.0f), rs = _mm256_set1_ps(R ? *R : 0.0f);
    for (int j = 0; j < n; j += 8) {
        __m256 t = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_load_si256((const __m256i *)(counts + j))),
                                   _mm256_load_ps(P + j), _mm256_load_ps(Q + j));
        if (U) t = _mm256_fmadd_ps(_mm256_load_ps(S + j), u, t);
        if (R) t = _mm256_fmadd_ps(t, rs, _mm256_load_ps(B + j));
        if (bits) {
            // bit = t > above ∨ t < below, as panel_epilogue packs it (masked loads only in the
            // tail: they cost several plain loads on some cores).
            unsigned byte;
            if (n - j >= 8) {
                byte = threshold_bits8(t, _mm256_loadu_ps(o->above + j), _mm256_loadu_ps(o->below + j));
            } else {
                const __m256i live = lanes_below(n - j);
                byte = threshold_bits8(t, _mm256_maskload_ps(o->above + j, live), _mm256_maskload_ps(o->below + j, live))
                     & ((1u << (n - j)) - 1);
            }
            store_packed_bits(bits, o->bit0 + j, byte);
            continue;
        }
        if (n - j >= 8) {
            if (accumulate) t = _mm256_add_ps(t, _mm256_loadu_ps(c + j));
            _mm256_storeu_ps(c + j, t);
        } else {
            const __m256i live = lanes_below(n - j);
            if (accumulate) t = _mm256_add_ps(t, _mm256_maskload_ps(c + j, live));
            _mm256_maskstore_ps(c + j, live, t);
        }
    }
}

/// Rows of a tile: their tables first (r->tables holds r->rows of them), then each block of up
/// to 128 columns for every row while the block's weights are in L1, then the rows' transforms.
#define BV_LUT_OPS(OP)                                                                                     \
    BV_TARGET_AVX2 static void lut_rows_##OP(const bv_lut_rows *r, const bv_tile_out *o) {                  \
        _Alignas(32) int32_t counts[BV_LUT_MAX_ROWS][BV_LUT_GROUP];                                        \
        const ptrdiff_t table_bytes = (ptrdiff_t)r->slots * 16;                                            \
        for (int m = 0; m < r->rows; m++)                                                                  \
            lut_tables(r->a + m * r->a_row_stride, r->a_mask ? r->a_mask + m * r->a_row_stride : r->a,     \
                       BV_OP_##OP, r->slots, r->tables + m * table_bytes);                                 \
        for (int col = 0; col < r->ncols; col += 4 * BV_LUT_BLOCK) {                                       \
            const uint8_t *w = r->w + (col / BV_LUT_BLOCK) * r->block_stride;                               \
            const int nb = bv_min(4, (r->ncols - col + BV_LUT_BLOCK - 1) / BV_LUT_BLOCK);                   \
            for (int m = 0; m < r->rows; m++) {                                                            \
                const uint8_t *t = r->tables + m * table_bytes;                                            \
                int32_t *cm = counts[m] + col;                                                             \
                switch (nb) {                                                                              \
                case 1: lut_counts(t, r->slots, w, r->block_stride, 1, cm); break;                         \
                case 2: lut_counts(t, r->slots, w, r->block_stride, 2, cm); break;                         \
                case 3: lut_counts(t, r->slots, w, r->block_stride, 3, cm); break;                         \
                default: lut_counts(t, r->slots, w, r->block_stride, 4, cm); break;                        \
                }                                                                                          \
            }                                                                                              \
        }                                                                                                  \
        for (int m = 0; m < r->rows; m++)                                                                  \
            lut_epilogue(counts[m], o, o->U ? o->U + m : NULL, o->R ? o->R + m : NULL, o->c + m * o->ldc,       \
                         o->bits ? o->bits + m * o->bits_stride : NULL);                                   \
    }
BV_LUT_OPS(XOR)
BV_LUT_OPS(AND)
BV_LUT_OPS(XOR_MASKED)
#undef BV_LUT_OPS

void bv_lut_rows_avx2(const bv_lut_rows *r, const bv_tile_out *o) {
    switch (r->op) {
    case BV_OP_XOR: lut_rows_XOR(r, o); break;
    case BV_OP_AND: lut_rows_AND(r, o); break;
    default: lut_rows_XOR_MASKED(r, o); break;
    }
}

#else
void bv_lut_rows_avx2(const bv_lut_rows *r, const bv_tile_out *o) {
    (void)r; (void)o;  // never called: the driver takes this kernel only on the AVX2 path
}
#endif
