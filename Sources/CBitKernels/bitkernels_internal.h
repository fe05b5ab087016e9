// Internal: tile interfaces shared by the binary / int8 GEMM drivers and their per-ISA
// microkernels. Not part of the public API (see include/bv_bitkernels.h).
#ifndef BV_BITKERNELS_INTERNAL_H
#define BV_BITKERNELS_INTERNAL_H

#include "bv_bitkernels.h"
#include <stdint.h>
#include <stddef.h>

// Reading the 64-bit packed words as 32-bit halves (little-endian: dword 2w is the low half of
// word w) goes through this aliasing-safe type.
typedef uint32_t bv_u32a __attribute__((may_alias));
typedef uint64_t bv_u64a __attribute__((may_alias));

/// Columns per weight panel (one zmm of dword lanes).
#define BV_PANEL 16
/// Widest column group a tile covers (4 panels = the AVX-512 tile's NR).
#define BV_GROUP_MAX 64

/// Inner operation of a binary tile, applied per 32-bit word before popcount.
enum {
    BV_OP_XOR = 0,         ///< a ^ b
    BV_OP_AND = 1,         ///< a & b
    BV_OP_XOR_MASKED = 2,  ///< (a ^ b) & mask_a   (one vpternlogd on AVX-512)
};

/// Inputs of one binary output tile: rows r < mr of A, panels v < nv of B.
/// acc[r][c] = Σ_{i < a_planes} Σ_{j < b_planes} Σ_{d < k32} popcount(op(A_i[r][d], B_j[c][d]))
typedef struct {
    int op;                      ///< BV_OP_*
    const bv_u32a *a;            ///< row 0 of plane 0 of the tile, as dwords
    ptrdiff_t a_row_stride;      ///< dwords
    ptrdiff_t a_plane_stride;    ///< dwords
    int a_planes;
    const bv_u32a *a_mask;       ///< BV_OP_XOR_MASKED only, same layout as `a`
    const uint32_t *b;           ///< panel 0 of plane 0 of the tile's column group
    ptrdiff_t b_panel_stride;    ///< dwords between consecutive panels (16 · panel dwords)
    ptrdiff_t b_plane_stride;    ///< dwords
    int b_planes;
    int k32;                     ///< dwords of K processed (ceil(K/32))
} bv_btile_in;

/// Output transform of one tile, for rows r < mr and columns j < ncols of the group:
///   t = P[j]·acc + Q[j]  (+ S[j]·U[r] when U)
///   y = t                (R == NULL; the bias is folded into Q)
///   y = R[r]·t + B[j]    (R != NULL)
///   C[r][j] = y (+ C[r][j] when accumulate)
/// With `c32` set the raw accumulators are stored there instead (int8 GEMM's s32 output).
typedef struct {
    const float *P, *Q, *S, *B;  ///< per column of the group (64-byte aligned, BV_GROUP_MAX)
    const float *U, *R;          ///< per row of the tile, or NULL
    int accumulate;
    float *c;                    ///< C at (tile row 0, group column 0)
    int32_t *c32;
    ptrdiff_t ldc;
    int ncols;                   ///< valid columns (≤ 16 · nv)
    /// Packed output instead of C (see bv_bgemm_args.out_bits): row r's bits at word
    /// `bits[r·bits_stride]`, column j at bit `bit0 + j`; `above`/`below` per column of the group.
    uint64_t *bits;
    ptrdiff_t bits_stride;
    int bit0;
    const float *above, *below;
} bv_tile_out;

/// Inputs of one int8 output tile: acc[r][c] = Σ_{d < k4} Σ_{q<4} a[r][4d+q] · w[c][4d+q].
typedef struct {
    const uint8_t *a; ptrdiff_t lda;   ///< bytes
    const int8_t *w;                   ///< panel 0 of the column group
    ptrdiff_t w_panel_stride;          ///< bytes between panels (64 · k4)
    int k4;
    /// AVX2: steps of 4 K values whose vpmaddubsw sums fit 16-bit lanes (0: codes too large).
    int s16_steps;
} bv_itile_in;

/// Output columns per vector of the AVX2 lookup-table kernel (bgemm_avx2_lut.c): one byte each.
#define BV_LUT_BLOCK 32
/// Columns whose output transform the table-lookup driver builds at once (rows' tables are
/// rebuilt once per such group).
#define BV_LUT_GROUP 512
/// Bytes of row tables the table-lookup driver keeps on the stack (K/4 × 16 bytes per row: 8
/// rows at K ≤ 1024, 2 at BV_LUT_MAX_K = 4096).
#define BV_LUT_TABLE_BYTES 32768
/// Most rows of one `bv_lut_rows` call (a tile: their tables are built once and each block of
/// weights is read once for all of them).
#define BV_LUT_MAX_ROWS 8

/// Rows of A for the table-lookup kernel: one plane, and the weights of a column group in its
/// nibble layout (`bv_pack_lut_weights`).
typedef struct {
    int op;                      ///< BV_OP_*
    const bv_u32a *a;            ///< row 0, as dwords
    const bv_u32a *a_mask;       ///< BV_OP_XOR_MASKED only
    ptrdiff_t a_row_stride;      ///< dwords
    int rows;                    ///< ≤ BV_LUT_MAX_ROWS, and rows × slots × 16 ≤ BV_LUT_TABLE_BYTES
    const uint8_t *w;            ///< block 0 of the group
    ptrdiff_t block_stride;      ///< bytes between blocks of BV_LUT_BLOCK columns
    int slots;                   ///< bv_lut_slots(K)
    int ncols;                   ///< valid columns of the group
    uint8_t *tables;             ///< scratch: rows × slots × 16 bytes, 32-byte aligned
} bv_lut_rows;

void bv_lut_rows_avx2(const bv_lut_rows *r, const bv_tile_out *o);

// Tile sizes per path (rows × panels).
#define BV_AVX512_MR 6
#define BV_AVX512_NV 4
#define BV_AVX2_MR 4
#define BV_AVX2_NV 1
/// Panels per call of the AVX2 binary tile (it runs them one after another: one register tile each).
#define BV_AVX2_BNV 4
#define BV_SCALAR_MR 4
#define BV_SCALAR_NV 1
#define BV_NEON_MR 4
#define BV_NEON_NV 1
/// Largest MR of any path (sizes per-row scratch).
#define BV_MR_MAX 8

// Microkernels: 1 ≤ mr ≤ path MR, 1 ≤ nv ≤ path NV.
void bv_btile_avx512(const bv_btile_in *in, int mr, int nv, const bv_tile_out *out);
void bv_btile_avx2(const bv_btile_in *in, int mr, int nv, const bv_tile_out *out);
void bv_btile_scalar(const bv_btile_in *in, int mr, int nv, const bv_tile_out *out);
void bv_btile_neon(const bv_btile_in *in, int mr, int nv, const bv_tile_out *out);
void bv_itile_avx512(const bv_itile_in *in, int mr, int nv, const bv_tile_out *out);
void bv_itile_avx2(const bv_itile_in *in, int mr, int nv, const bv_tile_out *out);
void bv_itile_scalar(const bv_itile_in *in, int mr, int nv, const bv_tile_out *out);


/// Direct grouped convolution: pixels x0 ..< x0 + n of output row y, all groups, valid taps
/// `taps` (bit t = 3·ky + kx) for every one of them.
typedef void (*bv_gconv_run_fn)(const bv_gconv3x3_args *, int y, int x0, int n, int taps);
int bv_gconv_avx2_handles(int cg);
/// Pixels per AVX2 register tile for channel width cg.
int bv_gconv_avx2_pixels(int cg);
void bv_gconv_run_avx2(const bv_gconv3x3_args *a, int y, int x0, int n, int taps);

/// The transform applied to an int32 tile held in memory (acc[r*acc_stride + c]); used by the
/// scalar and NEON tiles (the AVX2 and AVX-512 tiles transform their registers). Plain C,
/// vectorized by each file's target. The fields of `o` are copied to restrict-qualified locals
/// so the C stores cannot force reloads.
static inline __attribute__((always_inline))
void bv_tile_epilogue_generic(const int32_t *acc, int acc_stride, int mr, const bv_tile_out *o) {
    const float *restrict P = o->P, *restrict Q = o->Q, *restrict S = o->S, *restrict B = o->B;
    const float *restrict U = o->U, *restrict R = o->R;
    const int ncols = o->ncols, accumulate = o->accumulate;
    const ptrdiff_t ldc = o->ldc;
    for (int r = 0; r < mr; r++) {
        const int32_t *restrict ar = acc + (ptrdiff_t)r * acc_stride;
        if (o->bits) {
            // Packed output: one word per row, columns at bits bit0…bit0+ncols−1 (the first
            // tile of a word writes it, the next ones OR into it).
            const float u = U ? U[r] : 0.0f, rs = R ? R[r] : 1.0f;
            uint64_t s = 0;
            for (int j = 0; j < ncols; j++) {
                float t = P[j] * (float)ar[j] + Q[j];
                if (U) t += S[j] * u;
                if (R) t = rs * t + B[j];
                s |= (uint64_t)(t > o->above[j] || t < o->below[j]) << (o->bit0 + j);
            }
            uint64_t *word = o->bits + (ptrdiff_t)r * o->bits_stride;
            *word = o->bit0 == 0 ? s : (*word | s);
            continue;
        }
        if (o->c32) {
            int32_t *restrict cr = o->c32 + (ptrdiff_t)r * ldc;
            for (int j = 0; j < ncols; j++) cr[j] = ar[j];
            continue;
        }
        float *restrict cr = o->c + (ptrdiff_t)r * ldc;
        const float u = U ? U[r] : 0.0f, rs = R ? R[r] : 1.0f;
        for (int j = 0; j < ncols; j++) {
            float t = P[j] * (float)ar[j] + Q[j];
            if (U) t += S[j] * u;
            if (R) t = rs * t + B[j];
            if (accumulate) t += cr[j];
            cr[j] = t;
        }
    }
}

static inline int bv_min(int a, int b) { return a < b ? a : b; }
static inline int bv_max(int a, int b) { return a > b ? a : b; }

#endif
