// Bitwise and low-bit integer kernels for deployed binary / low-bit ViTs.
//
// Bit conventions (see docs/deployment.md):
//   * A "row-packed" bit matrix stores each row's K bits along the reduction axis in 64-bit
//     little-endian words: element k of a row is bit (k % 64) of word (k / 64). Rows are
//     `row_stride` words apart (≥ ceil(K/64)); planes are `plane_stride` words apart. Bits past K
//     are 0 in every operand, so they add nothing to XOR or AND products; the true K enters the
//     ±1 formula `dot = K − 2·popcount(a XOR b)`.
//   * Signed (±1) planes: bit 1 = −1 (the value is negative), bit 0 = +1. Zero maps to bit 0
//     (+1); where sgn(0) = 0 matters, a "nonzero mask" plane (bit 1 = value ≠ 0) is packed
//     too, and the TERNARY product ignores masked-out positions.
//   * Unsigned ({0,1}) planes: bit 1 = 1.
//   * "Panels" hold the right-hand operand (weights) of a GEMM: 16 columns per panel, and
//     inside a panel dword d (bits 32d..32d+31 of every column) of column c at
//     `panel[d*16 + c]`. A panel holds `panel_dwords` = 2·row_stride dwords per column, so the
//     panel stride is 16·panel_dwords dwords. Columns past N in the last panel are zero.
//   * int8 panels use the same layout with 4 consecutive int8 K-values per dword.
//
// Every function takes a `path` (BV_KPATH_*); BV_KPATH_AUTO picks the best path the running
// CPU supports. An unsupported forced path falls back to the best supported one below it.
#ifndef BV_BITKERNELS_H
#define BV_BITKERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: Paths

/// Instruction-set paths of the bit kernels.
enum {
    BV_KPATH_AUTO = 0,
    BV_KPATH_SCALAR = 1,   ///< portable C (`__builtin_popcount`)
    BV_KPATH_AVX2 = 2,     ///< AVX2: nibble-table popcount (vpshufb); exact int8 via vpmaddubsw
    BV_KPATH_AVX512 = 3,   ///< AVX-512 F + VPOPCNTDQ (binary); AVX-512 F + BW + VNNI (int8)
    BV_KPATH_NEON = 4,     ///< ARM64 NEON (vcnt); binary products only
};

/// The path `requested` resolves to on this CPU for the binary kernels (AUTO → best).
int bv_bgemm_resolve_path(int requested);
/// The path `requested` resolves to on this CPU for the int8 GEMM (AUTO → best).
int bv_igemm_resolve_path(int requested);

// MARK: Packing float rows into bits

/// Signs of `rows` rows of `k` floats: element (r, j) is `x[r*x_row_stride + j*x_k_stride]`,
/// plus `shift[j]` when `shift` is non-NULL (the learnable per-channel threshold before sgn).
/// Writes bit = (value < 0) into `bits` (row r at `bits + r*row_stride`, words past K zeroed).
/// When `mask` is non-NULL also writes bit = (value < 0 or value > 0: a NaN is 0 on every path)
/// there (same layout) and, when
/// `row_counts` is non-NULL, the number of nonzero entries of each row.
void bv_pack_signs(const float *x, ptrdiff_t x_row_stride, ptrdiff_t x_k_stride,
                   int rows, int k, const float *shift,
                   uint64_t *bits, ptrdiff_t row_stride,
                   uint64_t *mask, int32_t *row_counts, int path);

/// {0,1} planes by thresholds: plane p bit = (value > thresholds[p]) (strict), value =
/// x + shift as in `bv_pack_signs`. Plane p of row r at `bits + p*plane_stride +
/// r*row_stride`. `row_counts` (optional, [planes][rows]) receives each plane row's popcount.
void bv_pack_thresholds(const float *x, ptrdiff_t x_row_stride, ptrdiff_t x_k_stride,
                        int rows, int k, const float *shift,
                        const float *thresholds, int planes,
                        uint64_t *bits, ptrdiff_t row_stride, ptrdiff_t plane_stride,
                        int32_t *row_counts, int path);

/// Plane encodings of small unsigned integer codes.
enum {
    BV_CODES_BINARY = 0,       ///< plane p = bit p of the code (weights 2^p)
    BV_CODES_THERMOMETER = 1,  ///< plane p = (code > p), p = 0..qmax−1 (nested, equal weights)
};

/// Quantizes q = clamp(rint(value / alpha + zero), 0, qmax) (round half to even, as PyTorch)
/// and writes its planes (`BV_CODES_*`): ceil(log2(qmax+1)) planes for BINARY, qmax for
/// THERMOMETER. Layout and `row_counts` as in `bv_pack_thresholds`.
void bv_pack_quantized_planes(const float *x, ptrdiff_t x_row_stride, ptrdiff_t x_k_stride,
                              int rows, int k, float alpha, float zero, int qmax, int encoding,
                              uint64_t *bits, ptrdiff_t row_stride, ptrdiff_t plane_stride,
                              int32_t *row_counts);

/// GSB's 3-group signed code V̂ = sgn(v)·(α1 + α2·[|v| beyond t1] + α3·[|v| beyond t2]),
/// "beyond" meaning v > t_pos or v < t_neg. Writes it as three ±1 planes whose weighted sum
/// is exactly V̂ for v ≠ 0:
///   plane 0 = sgn(v)                          weight α1 + α2/2 + α3/2
///   plane 1 = sgn(v) if beyond t1 else −sgn(v)  weight α2/2
///   plane 2 = sgn(v) if beyond t2 else −sgn(v)  weight α3/2
/// (A ternary sgn(v)·T equals (sgn(v) + w)/2 with the ±1 plane w above.) v = 0 packs as +1.
void bv_pack_gsb_signed_planes(const float *x, ptrdiff_t x_row_stride, ptrdiff_t x_k_stride,
                               int rows, int k, float t1_pos, float t1_neg,
                               float t2_pos, float t2_neg,
                               uint64_t *bits, ptrdiff_t row_stride, ptrdiff_t plane_stride);

/// Popcount of each of `rows` rows of `words` 64-bit words (for {0,1} operand row counts).
void bv_row_popcounts(const uint64_t *bits, ptrdiff_t row_stride, int rows, int words,
                      int32_t *counts);

/// Reorders a row-packed matrix (`rows` = N rows of `words` 64-bit words) into panels:
/// `panels` must hold ceil(N/16)·16·2·words dwords (64-byte aligned for the AVX-512 path).
void bv_pack_panels(const uint64_t *bits, ptrdiff_t row_stride, int rows, int words,
                    uint32_t *panels);

/// Table slots per column of `bv_pack_lut_weights` for K bits: ceil(K/16)·4 (one per 4 bits).
int bv_lut_slots(int k);

/// Largest K, and smallest number of columns per call, of the AVX2 table-lookup binary GEMM.
#define BV_LUT_MAX_K 4096
#define BV_LUT_MIN_COLUMNS 128

/// The weights of the AVX2 table-lookup binary GEMM, for CPUs without a vector popcount: one
/// plane of N rows of K bits (row-packed, `row_stride` words) as one 4-bit nibble per byte,
/// blocks of 32 columns: block b, slot s, column c at `out[(b·slots + s)·32 + c]`, slots =
/// `bv_lut_slots(k)` in the kernel's order. `out` holds ceil(N/32)·32·slots bytes (32-byte
/// aligned); columns past N and nibbles past K are 0. See `bv_bgemm_args.b_lut`.
void bv_pack_lut_weights(const uint64_t *bits, ptrdiff_t row_stride, int rows, int k, uint8_t *out);

/// int8 weights: N rows of K int8 (row stride `w_row_stride` bytes) into panels of 16
/// columns × ceil(K/4) dwords (4 int8 each, zero padded). Writes each row's sum to
/// `col_sums` (for zero-point corrections) when non-NULL.
void bv_pack_panels_s8(const int8_t *w, ptrdiff_t w_row_stride, int rows, int k,
                       int8_t *panels, int32_t *col_sums);

/// The int8 weight panels of `bv_pack_panels_s8` for W[n, j] = codes[n·n_stride + j·k_stride] +
/// offset (u8 codes; the caller guarantees every value fits s8): a code matrix read directly,
/// or transposed when k_stride is its row stride. Writes the row sums to `col_sums`. Q-ViT's
/// attention packs its keys (c − z) and transposed values this way for every image and head.
void bv_pack_panels_u8_offset(const uint8_t *codes, ptrdiff_t n_stride, ptrdiff_t k_stride, int rows, int k,
                              int offset, int8_t *panels, int32_t *col_sums);

/// u8 activations: q = clamp(rint(x / alpha + zero), 0, qmax) stored as uint8 (rows of
/// `out_row_stride` bytes; pad bytes up to a multiple of 4 set to 0).
void bv_quantize_u8(const float *x, ptrdiff_t x_row_stride, int rows, int k,
                    float alpha, float zero, int qmax, uint8_t *out, ptrdiff_t out_row_stride);

// MARK: Binary GEMM

/// Operand encodings of a binary product C[m,n] = Σ_k a[m,k]·b[n,k].
enum {
    BV_PROD_PM1_PM1 = 0,      ///< a, b ∈ ±1: dot = K − 2·popcount(a ^ b)
    BV_PROD_TERNARY_PM1 = 1,  ///< a ∈ {−1,0,+1} (signs + nonzero mask), b ∈ ±1:
                              ///<   dot = nnz(a) − 2·popcount((a ^ b) & mask)
    BV_PROD_01_PM1 = 2,       ///< a ∈ {0,1}, b ∈ ±1: dot = popcount(a) − 2·popcount(a & b)
    BV_PROD_PM1_01 = 3,       ///< a ∈ ±1, b ∈ {0,1}: dot = popcount(b) − 2·popcount(a & b)
    BV_PROD_01_01 = 4,        ///< a, b ∈ {0,1}:      dot = popcount(a & b)
};

/// One binary (multi-plane) GEMM with its output transform:
///
///   C[m,n] = scale · row_scale[m] · col_scale[n] · Σ_{i,j} a_scales[i]·b_scales[j]·dot(A_i[m], B_j[n])
///            + bias[n]  (+ C[m,n] if accumulate)
///
/// NULL scale/bias arrays mean 1 / 0. Plane pairs whose weights are equal are summed in
/// registers (e.g. BHViT's nested attention planes); other pairs run one after another on the
/// same output tile while the operands are in L1.
typedef struct {
    int product;                 ///< BV_PROD_*
    int m, n, k;                 ///< rows of A, rows of B (= columns of C), true K in bits
    // A: row-packed.
    const uint64_t *a;           ///< plane i, row r at a + i*a_plane_stride + r*a_row_stride
    ptrdiff_t a_row_stride;      ///< words
    ptrdiff_t a_plane_stride;    ///< words
    int a_planes;
    const uint64_t *a_mask;      ///< TERNARY_PM1: nonzero masks, same layout as `a`
    const int32_t *a_counts;     ///< TERNARY_PM1 / 01_*: per plane and row, popcount of the
                                 ///< mask (TERNARY) or of the row (01); [plane][m_stride]
    ptrdiff_t a_counts_plane_stride;
    const float *a_scales;       ///< [a_planes] or NULL
    // B: panels.
    const uint32_t *b;           ///< plane j at b + j*b_plane_stride
    ptrdiff_t b_plane_stride;    ///< dwords
    int b_panel_dwords;          ///< dwords per column in a panel (= 2 · words per row)
    int b_planes;
    const int32_t *b_counts;     ///< PM1_01: popcount of each B row, [plane][b_counts_plane_stride]
    ptrdiff_t b_counts_plane_stride;
    const float *b_scales;       ///< [b_planes] or NULL
    /// Plane 0 of B in `bv_pack_lut_weights`' layout, or NULL: the AVX2 path then runs its
    /// table-lookup kernel where `bv_bgemm_takes_lut` says so (same results).
    const uint8_t *b_lut;
    // Output transform.
    float scale;
    const float *row_scale;      ///< [m] or NULL
    const float *col_scale;      ///< [n] or NULL (e.g. BWN's α per output channel)
    const float *bias;           ///< [n] or NULL
    int accumulate;              ///< add into C instead of overwriting it
    float *c;                    ///< C[m,n] at c + m*ldc + n
    ptrdiff_t ldc;
    // Packed output (optional, one plane pair only): instead of storing C, bit n of row m is
    // (C[m,n] > out_above[n]) || (C[m,n] < out_below[n]), written to word n/64 of
    // out_bits + m*out_bits_stride (bits past N zero). Column ranges must start at a multiple of 64.
    uint64_t *out_bits;
    ptrdiff_t out_bits_stride;   ///< words
    const float *out_above, *out_below;  ///< [n]
} bv_bgemm_args;

/// Computes rows [m0, m1) × columns [n0, n1) of C (n0 a multiple of 16, or n1 == n); the
/// Swift wrapper splits these ranges across threads. Returns the path used.
int bv_bgemm(const bv_bgemm_args *args, int m0, int m1, int n0, int n1, int path);

/// Whether `bv_bgemm` on `path` (resolved) runs the table-lookup kernel for column ranges
/// [n0, n1) with n0 a multiple of 32 and n1 − n0 ≥ BV_LUT_MIN_COLUMNS: `b_lut` given, one plane
/// pair (packed output included), K ≤ BV_LUT_MAX_K. Its per-row tables favour splitting rows over
/// threads.
int bv_bgemm_takes_lut(const bv_bgemm_args *args, int path);

// MARK: int8 GEMM (u8 activations × s8 weights → s32)

/// C[m,n] = scale · row_scale[m] · col_scale[n] · Σ_k (a[m,k] − a_zero[m])·w[n,k] + bias[n]
/// (+ C if accumulate), where a is u8 row-major (row stride `lda` bytes, a multiple of 4,
/// K padded with zeros to a multiple of 4) and w is in s8 panels with `col_sums` (needed when
/// a_zero is non-NULL). When `c32` is non-NULL the raw s32 Σ a·w (no zero point, no transform)
/// is stored there instead (row stride `ldc`).
typedef struct {
    int m, n, k;
    const uint8_t *a; ptrdiff_t lda;
    const int32_t *a_zero;       ///< [m] or NULL
    const int8_t *w;             ///< panels: 16 columns × ceil(K/4) dwords each
    const int32_t *col_sums;     ///< [n]
    float scale;
    const float *row_scale, *col_scale, *bias;
    int accumulate;
    float *c; int32_t *c32; ptrdiff_t ldc;
    /// Largest activation code and largest |weight| when known (0: unknown, up to 255 / 128):
    /// small codes (Q-ViT's 2/3/4-bit) let the AVX2 kernel accumulate 16-bit sums.
    int a_max, w_max;
} bv_igemm_args;

/// Rows [m0, m1) × columns [n0, n1) (n0 a multiple of 16). Returns the path used.
int bv_igemm(const bv_igemm_args *args, int m0, int m1, int n0, int n1, int path);

// MARK: Binary convolution operands (bit im2col)

/// A-operand rows of a 3×3 convolution with dilation `dil`, stride 1 and "same" zero padding
/// (padding = dil), for channels [c0, c0+cg) of a packed NHWC map: pixel (y, x) of the input
/// is row y*width + x of `in` (`in_row_stride` words, channel c = bit c), with optional
/// nonzero mask `in_mask` (NULL = no zeros in the input).
/// Output rows [y0, y1) of the map are written; pixel (y, x) goes to row (y−y0)*width + x of
/// `out`, which holds 9 taps × cg bits, tap t = 3*ky + kx at bits [t*cg, (t+1)*cg):
/// the input bits of pixel (y + (ky−1)·dil, x + (kx−1)·dil). Out-of-image taps get sign 0 and
/// mask 0, so the TERNARY product counts them as 0 — exactly zero padding. `out_mask` is
/// required; `out_counts[row]` = number of mask bits set.
void bv_im2col_dilated3x3(const uint64_t *in, const uint64_t *in_mask, ptrdiff_t in_row_stride,
                          int height, int width, int c0, int cg, int dil, int y0, int y1,
                          uint64_t *out, uint64_t *out_mask, ptrdiff_t out_row_stride,
                          int32_t *out_counts);

/// A-operand rows of a 2×2 stride-2 convolution (no padding) of a packed NHWC map with `c`
/// channels, for output rows [y0, y1): output (y, x) (row (y−y0)*(width/2) + x) holds taps t = 2*dy + dx at bits [t*c, (t+1)*c)
/// from input pixel (2y+dy, 2x+dx). Masks as above (optional: NULL in → NULL out allowed).
void bv_im2col_2x2s2(const uint64_t *in, const uint64_t *in_mask, ptrdiff_t in_row_stride,
                     int height, int width, int c, int y0, int y1,
                     uint64_t *out, uint64_t *out_mask, ptrdiff_t out_row_stride,
                     int32_t *out_counts);

// MARK: Direct grouped 3×3 convolution (BHViT MSGDC)

/// Operands of a grouped 3×3 binary convolution with dilation `dil`, stride 1, "same" zero
/// padding (padding = dil) and as many output as input channels, on one `side`×`side` image.
typedef struct {
    /// Input signs: pixel (y, x) is row y·side + x, `in_row_stride` 64-bit words apart, channel c
    /// at bit c (bit 1 = −1). No sgn(0) = 0 entries (no nonzero mask).
    const uint64_t *in;
    ptrdiff_t in_row_stride;
    int side, channels, groups, dil;
    /// Weight signs as lanes of cg = channels/groups bits (cg/8 bytes each, 32-byte aligned):
    /// lane (g, t, o) at byte ((g·9 + t)·cg + o)·cg/8, bit c = sign of the weight of output
    /// channel g·cg + o, input channel g·cg + c, tap t = 3·ky + kx.
    const uint8_t *lanes;
    /// Per output channel: out = α·dot + bias (one fused multiply-add; bias may be NULL).
    const float *alpha, *bias;
    /// Output pixel (y, x) at `out + (y·side + x)·ldc`, channel c at offset c.
    float *out;
    ptrdiff_t ldc;
} bv_gconv3x3_args;

/// Whether `bv_gconv3x3` handles this shape: channels/groups a multiple of 8, at most 64.
int bv_gconv3x3_supported(int channels, int groups);

/// Output image rows [y0, y1): dot = Σ over in-image taps of the ±1 products (out-of-image taps
/// count 0). AVX2 (and AVX-512 CPUs) run the register-tile kernel for cg = 16 and 32, other
/// widths and paths the portable one. Returns the path used.
int bv_gconv3x3(const bv_gconv3x3_args *args, int y0, int y1, int path);

// MARK: Machine ceilings (register-resident loops, one thread)

/// Peak rates measured by register-resident instruction loops on the calling thread, timed in
/// thread CPU time so that other processes sharing the core do not lower them (0 where the CPU
/// lacks the instructions).
typedef struct {
    double fma512_mac_per_s;       ///< vfmadd231ps zmm, FP32 multiply-adds per second
    double fma256_mac_per_s;       ///< vfmadd231ps ymm
    double popcnt512_bmac_per_s;   ///< vpxorq + vpopcntq + vpaddq zmm, binary MACs per second
    double popcnt_avx2_bmac_per_s; ///< AVX2 xor + nibble-table popcount + add, binary MACs/s
    double vnni512_mac_per_s;      ///< vpdpbusd zmm, int8 multiply-adds per second
    double clock_hz;               ///< estimated from a dependent integer-add chain
} bv_ceilings;

/// Runs each loop for about `seconds` and fills `out`.
void bv_measure_ceilings(double seconds, bv_ceilings *out);

#ifdef __cplusplus
}
#endif
#endif
