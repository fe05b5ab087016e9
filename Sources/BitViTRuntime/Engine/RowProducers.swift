import BitViTPlatform
import CBitKernels

/// What happens to activation rows before a layer encodes them: the fused producers.
enum RowTransform {
    case none
    /// LayerNorm over each row (γ, β, ε).
    case layerNorm(weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, eps: Float)
    /// Exact GELU, then clipped to ±clip when given (the MLP hidden activation).
    case gelu(clip: Float?)
    /// The caller's producer: `fill(firstRow, count, out)` writes rows `firstRow ..< firstRow +
    /// count` (count ≤ `blockRows`; contiguous, k floats each) from the sources it captures;
    /// called concurrently for disjoint rows. The `x` given to `RowProducer.run` is not read.
    case custom(blockRows: Int, fill: (_ firstRow: Int, _ count: Int, _ out: UnsafeMutablePointer<Float>) -> Void)
}

/// How a layer reads its (transformed) input: the quantizer of its input as evaluation mode
/// computes it.
enum InputEncoding {
    /// Float values as they are.
    case identity
    /// `sgn(x + shift)` (sgn(0) = 0 when `keepZeros`, else +1).
    case sign(shift: UnsafePointer<Float>?, keepZeros: Bool)
    /// `x + shift > threshold` → {0, 1} (GSB's unsigned binarizer).
    case threshold(shift: UnsafePointer<Float>?, threshold: Float)
    /// Integer levels per channel, Q-ViT's ActQ and the 8-bit heads:
    /// `q = clamp(round((x + shift)/step + zero), Qn, Qp)` (zero already rounded), represented
    /// value `(q − zero)·step`.
    case levels(step: UnsafePointer<Float>, zero: UnsafePointer<Float>, qn: Float, qp: Float, shift: UnsafePointer<Float>?)
}

enum RowProducer {
    /// Rows per block: a block of transformed rows stays in L1/L2 while it is encoded.
    static let blockRows = 8
    /// Values per worker below which a row pass stays on the calling thread. The engine's
    /// workers spin between jobs (`Parallel.withSpinningWorkers`), so a split costs about a
    /// microsecond: a pass splits from about 2^13 values per worker (a 197×384 LayerNorm splits
    /// in two).
    static let valuesPerWorker = 1 << 13

    /// Applies `transform` to `rows` rows of `k` floats (row stride `stride`) and calls
    /// `encode(block, firstRow, count)` with each block of transformed rows (contiguous, row
    /// stride k; the source itself when `transform` is `.none` and `stride == k`). Blocks run
    /// in parallel over the rows.
    static func run(_ x: UnsafePointer<Float>, rows: Int, k: Int, stride: Int? = nil, transform: RowTransform,
                    _ encode: (UnsafePointer<Float>, Int, Int) -> Void) {
        let stride = stride ?? k
        let grain = max(1, valuesPerWorker / max(k, 1))
        Parallel.forRanges(rows, minimumPerThread: grain) { range in
            if case .none = transform, stride == k {
                encode(x + range.lowerBound * k, range.lowerBound, range.count)
                return
            }
            var blockRows = RowProducer.blockRows
            if case .custom(let rows, _) = transform { blockRows = max(1, rows) }
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * k)
            defer { scratch.deallocate() }
            var r = range.lowerBound
            while r < range.upperBound {
                let n = min(blockRows, range.upperBound - r)
                if case .custom(_, let fill) = transform {
                    fill(r, n, scratch)
                } else {
                    apply(transform, x + r * stride, stride: stride, rows: n, k: k, into: scratch)
                }
                encode(scratch, r, n)
                r += n
            }
        }
    }

    /// `transform` of `rows` rows into contiguous `out`.
    static func apply(_ transform: RowTransform, _ x: UnsafePointer<Float>, stride: Int, rows: Int, k: Int,
                      into out: UnsafeMutablePointer<Float>) {
        switch transform {
        case .none:
            for r in 0..<rows { (out + r * k).update(from: x + r * stride, count: k) }
        case .layerNorm(let w, let b, let eps):
            for r in 0..<rows { bv_layernorm_forward_f32(x + r * stride, w, b, out + r * k, nil, nil, 1, k, eps) }
        case .gelu(let clip):
            for r in 0..<rows { bv_gelu_forward_f32(x + r * stride, out + r * k, k) }
            if let clip {
                for i in 0..<(rows * k) { out[i] = min(max(out[i], -clip), clip) }
            }
        case .custom:
            preconditionFailure("RowProducer.apply: a custom producer fills its rows itself")
        }
    }

    /// Writes the represented (dequantized) values of `encoding` for `rows` rows into `out`
    /// (in place allowed): the float path's view of a quantized input, as the training graph
    /// computes it.
    static func dequantize(_ encoding: InputEncoding, _ x: UnsafePointer<Float>, rows: Int, k: Int,
                           into out: UnsafeMutablePointer<Float>) {
        switch encoding {
        case .identity:
            if UnsafePointer(out) != x { out.update(from: x, count: rows * k) }
        case .sign(let shift, _):
            // sgn(0) = 0, as the training graph (the packed path maps 0 to +1 unless it keeps zeros).
            for r in 0..<rows {
                for j in 0..<k {
                    let v = x[r * k + j] + (shift?[j] ?? 0)
                    out[r * k + j] = v < 0 ? -1 : (v > 0 ? 1 : 0)
                }
            }
        case .threshold(let shift, let t):
            for r in 0..<rows { for j in 0..<k { out[r * k + j] = x[r * k + j] + (shift?[j] ?? 0) > t ? 1 : 0 } }
        case .levels(let step, let zero, let qn, let qp, nil):
            bv_quantize_levels_rows(x, k, Int32(rows), Int32(k), step, zero, 1, qn, qp, nil, 0, out, k)
        case .levels(let step, let zero, let qn, let qp, let shift):
            for r in 0..<rows {
                for j in 0..<k {
                    let q = min(max((x[r * k + j] + (shift?[j] ?? 0)) / step[j] + zero[j], qn), qp).rounded(.toNearestOrEven)
                    out[r * k + j] = (q - zero[j]) * step[j]
                }
            }
        }
    }
}
