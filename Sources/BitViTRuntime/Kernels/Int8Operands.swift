import CBitKernels

/// Unsigned 8-bit activation codes: the left operand of the int8 GEMM (Q-ViT's low-bit and
/// 8-bit layers, the patch embedding and heads).
///
/// Layout: `rows` rows of `rowStride` bytes (rowStride = k rounded up to a multiple of 4; pad
/// bytes 0), code (r, j) at `codes.pointer[r·rowStride + j]`. Represented value:
/// scale · (code − zeroPoints[r]) (zeroPoints nil = 0).
public final class QuantizedInt8Matrix: @unchecked Sendable {
    public let rows: Int
    public let k: Int
    public let rowStride: Int
    public let codes: AlignedBuffer<UInt8>
    /// Per-row zero point (the code of 0), or nil for 0.
    public let zeroPoints: AlignedBuffer<Int32>?
    /// Step size α of the codes.
    public var scale: Float
    /// The largest code the rows can hold (255; smaller for low-bit activations, which lets the
    /// AVX2 kernel accumulate 16-bit sums).
    public var maxCode: Int32 = 255

    /// Zeroed codes; `zeroPoints` (one per row) when given.
    public init(rows: Int, k: Int, scale: Float = 1, zeroPoints: [Int32]? = nil) {
        precondition(rows >= 0 && k > 0, "QuantizedInt8Matrix: rows \(rows), k \(k)")
        if let zeroPoints { precondition(zeroPoints.count == rows, "QuantizedInt8Matrix: \(rows) zero points expected") }
        self.rows = rows
        self.k = k
        rowStride = (k + 3) / 4 * 4
        codes = AlignedBuffer(count: rows * rowStride)
        self.zeroPoints = zeroPoints.map { AlignedBuffer($0) }
        self.scale = scale
    }

    /// Quantizes float rows: code = clamp(round(x/alpha + zeroPoint), 0, maxCode) (round half
    /// to even, x/alpha by division: Q-ViT's ActQ); represented value alpha·(code − zeroPoint).
    /// For a signed b-bit range [Qn, Qp] with rounded zero point z, pass zeroPoint = z − Qn and
    /// maxCode = Qp − Qn (the codes are shifted by −Qn into u8).
    public static func quantize(_ x: UnsafePointer<Float>, rows: Int, k: Int, rowStride: Int? = nil,
                                alpha: Float, zeroPoint: Int32 = 0, maxCode: Int32 = 255) -> QuantizedInt8Matrix {
        precondition(maxCode >= 1 && maxCode <= 255, "QuantizedInt8Matrix.quantize: maxCode \(maxCode)")
        let m = QuantizedInt8Matrix(rows: rows, k: k, scale: alpha,
                                    zeroPoints: zeroPoint == 0 ? nil : [Int32](repeating: zeroPoint, count: rows))
        m.maxCode = maxCode
        bv_quantize_u8(x, rowStride ?? k, Int32(rows), Int32(k), alpha, Float(zeroPoint), Int32(maxCode),
                       m.codes.pointer, m.rowStride)
        return m
    }

    /// Copies integer codes (row-major [rows, k]).
    public convenience init(codes values: [UInt8], rows: Int, k: Int, scale: Float = 1, zeroPoints: [Int32]? = nil) {
        precondition(values.count == rows * k, "QuantizedInt8Matrix: \(rows * k) codes expected")
        self.init(rows: rows, k: k, scale: scale, zeroPoints: zeroPoints)
        for r in 0..<rows { for j in 0..<k { codes[r * rowStride + j] = values[r * k + j] } }
    }
}

/// Signed 8-bit (or 2/3/4-bit) weight codes in panels: the right operand of the int8 GEMM.
///
/// Layout: 16 output channels per panel; inside a panel, dword d holds K values 4d..4d+3 of
/// column c at bytes `panel[64·d + 4·c + q]` (q = 0..3), so one 64-byte load feeds vpdpbusd
/// for 16 columns. `k4` = ceil(k/4) dwords per column; panel i starts at byte 64·k4·i.
/// Represented value: channelScales[n] · code(n, k).
public final class PackedInt8Weights: @unchecked Sendable {
    public let rows: Int
    public let k: Int
    public let k4: Int
    public let panelCount: Int
    public let panels: AlignedBuffer<Int8>
    /// Σ_k code(n, k) per output channel (for activation zero points).
    public let columnSums: AlignedBuffer<Int32>
    /// Per output channel step α_n, or nil for 1.
    public let channelScales: AlignedBuffer<Float>?
    /// The largest |code| (small for 2/3/4-bit weights, which lets the AVX2 kernel accumulate
    /// 16-bit sums).
    public let largestMagnitude: Int32

    /// Packs integer codes W [rows, k] (row stride `rowStride`, default k).
    public init(codes: UnsafePointer<Int8>, rows: Int, k: Int, rowStride: Int? = nil, channelScales: [Float]? = nil) {
        precondition(rows > 0 && k > 0, "PackedInt8Weights: rows \(rows), k \(k)")
        if let channelScales { precondition(channelScales.count == rows, "PackedInt8Weights: \(rows) channel scales expected") }
        self.rows = rows
        self.k = k
        k4 = (k + 3) / 4
        panelCount = (rows + 15) / 16
        panels = AlignedBuffer(count: panelCount * 64 * k4)
        columnSums = AlignedBuffer(count: rows)
        self.channelScales = channelScales.map { AlignedBuffer($0) }
        // Smallest and largest code rather than |code|: no overflow check, so the loop vectorizes.
        var (smallest, largest) = (Int8.max, Int8.min)
        let stride = rowStride ?? k
        for r in 0..<rows {
            let row = UnsafeBufferPointer(start: codes + r * stride, count: k)
            for c in row {
                smallest = min(smallest, c)
                largest = max(largest, c)
            }
        }
        largestMagnitude = max(-Int32(smallest), Int32(largest))
        bv_pack_panels_s8(codes, stride, Int32(rows), Int32(k), panels.pointer, columnSums.pointer)
    }

    /// Symmetric per-channel quantization of float weights to `bits` bits (2…8):
    /// code = clamp(round(w/α_n), −2^(bits−1), 2^(bits−1) − 1) (LSQ / Q-ViT weights).
    public convenience init(quantizing w: UnsafePointer<Float>, rows: Int, k: Int, bits: Int, channelScales: [Float]) {
        precondition((2...8).contains(bits), "PackedInt8Weights: \(bits) bits")
        let lo = -Float(1 << (bits - 1)), hi = Float((1 << (bits - 1)) - 1)
        var codes = [Int8](repeating: 0, count: rows * k)
        for r in 0..<rows {
            for j in 0..<k {
                codes[r * k + j] = Int8(min(max((w[r * k + j] / channelScales[r]).rounded(.toNearestOrEven), lo), hi))
            }
        }
        self.init(codes: codes, rows: rows, k: k, channelScales: channelScales)
    }
}
