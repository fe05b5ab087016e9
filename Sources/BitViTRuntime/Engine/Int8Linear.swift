import BitViTPlatform
import CBitKernels
import Foundation

/// A linear layer with integer input levels on the int8 GEMM (VNNI `vpdpbusd` where
/// available): Q-ViT's low-bit linears, its 8-bit patch embedding, and GSB's 8-bit head.
///
/// The input is quantized with a step α_k and a zero point z_k per *input* channel (Q-ViT's
/// ActQ, docs/reference/qvit.md §3.3; one step for all channels in GSB's head), after an
/// optional per-channel shift, and the weight with a step s_n per output channel:
///
///     y_n = Σ_k (q_k − z_k)·α_k · w_nk·s_n + b_n
///
/// A per-k step cannot be factored out of an integer sum over k. Where the steps are constant
/// over a few contiguous runs of k (one run: per-tensor quantization, as Q-ViT's lazy
/// initialization leaves them; three runs of p² columns: the patch embedding's per-channel
/// image quantizer), each run is one int8 GEMM on the raw weight codes over its columns, with
/// α_run·s_n in the epilogue: exact. (The encoded input starts each run at a multiple of 4
/// columns, the GEMM's granularity.) Otherwise the steps are folded into the weights at load
/// time, re-quantized per output channel to `7·parts + 1` bits, and split into `parts` int8
/// digits (one int8 GEMM each over all columns, accumulated into the same output):
///
///     α_k·s_n·w_nk ≈ β_n·v_nk,   β_n = s_n·max_k |α_k| / m_n,   v_nk = round(m_n·w_nk·α_k / max_k |α_k|)
///     v_nk = Σ_p 128^p·d_p,nk,   d_p ∈ [−64, 63] below the top digit, top digit ∈ [−127, 127]
///
/// with the integer multiplier `m_n = ⌊127·128^(parts−1) / max_k |w_nk|⌋`. A weight is then off
/// by at most 2^−(7·parts+1) of its channel's largest — and in a network of low-bit activation
/// quantizers that noise is not harmless: a value that moves across a rounding boundary changes
/// a whole activation step downstream. Measured on a trained W4A4 model (docs/deployment.md): 1
/// digit (8 bits) agrees with the training graph's top-1 on 98.2 % of the test images, 2 digits
/// on 99.4 %, 3 digits (22 bits, about float32's 24) on ≥ 99.9 %. Three is the default. The zero
/// points are exact in both forms: with u8 codes `u_k = q_k − Qn`,
///
///     y_n = Σ_passes β_n·Σ_k u_k·v_nk + (b_n + Σ_passes β_n·Σ_k (Qn − z_k)·v_nk)
///
/// where the bracket is a constant folded into the bias.
final class Int8Linear: TokenLinear {
    /// int8 digits per folded weight unless the engine says otherwise.
    static let defaultParts = 3
    /// The most runs of equal input steps that run as one exact GEMM each; more fold into digits.
    static let maximumExactRuns = 4

    /// One int8 GEMM: weights over a range of input features, channel scales included.
    struct Pass {
        /// The input features it sums over.
        let features: Range<Int>
        /// Where they start in the encoded input (a multiple of 4).
        let codeOffset: Int
        let weights: PackedInt8Weights
        var codeColumns: Range<Int> { codeOffset..<(codeOffset + features.count) }
    }

    let inFeatures: Int
    let outFeatures: Int
    /// Columns of the encoded input: `inFeatures`, plus the padding that aligns each run.
    let codeColumns: Int
    /// The GEMMs whose sum is the layer: one per run of equal steps, or one per digit.
    let passes: [Pass]
    let bias: AlignedBuffer<Float>
    let step: AlignedBuffer<Float>
    let zero: AlignedBuffer<Float>
    let shift: AlignedBuffer<Float>?
    let qn: Float
    let qp: Float
    /// Whether the passes are runs of equal steps (exact) rather than digits of folded weights.
    let isExact: Bool
    var kernelName: String { passes.count == 1 ? "int8 GEMM" : "int8 GEMM ×\(passes.count)" }

    /// The contiguous runs of equal values of `steps`, when there are at most
    /// `maximumExactRuns` of them; nil otherwise.
    static func exactRuns(_ steps: [Float]) -> [Range<Int>]? {
        var runs: [Range<Int>] = []
        var start = 0
        for j in 1...steps.count where j == steps.count || steps[j] != steps[start] {
            guard runs.count < maximumExactRuns else { return nil }
            runs.append(start..<j)
            start = j
        }
        return runs
    }

    /// - `codes`: weight codes [out, in] (2…8 bits); `weightScale` [out]; `inputStep`,
    ///   `inputZero` (rounded) [in]; `range` (Qn, Qp) of the input codes, at most 256 levels;
    ///   `inputShift` [in] added before quantizing, when given; `bias` [out]; `parts` int8
    ///   digits per folded weight (1…4) when the steps are not a few runs.
    init(codes: [Int8], out: Int, in k: Int, weightScale: [Float], inputStep: [Float], inputZero: [Float],
         range: (Float, Float), inputShift: [Float]? = nil, bias: [Float], parts requestedParts: Int = Int8Linear.defaultParts) {
        precondition((1...4).contains(requestedParts), "Int8Linear: \(requestedParts) digits")
        precondition(codes.count == out * k && inputStep.count == k && inputZero.count == k, "Int8Linear: shapes")
        inFeatures = k
        outFeatures = out
        (qn, qp) = range
        var foldedBias = bias.map(Double.init)
        // (Qn − z_k): what the zero points add to every output, folded into the bias.
        let zeroOffset = inputZero.map { Double(range.0 - $0) }
        if let runs = Self.exactRuns(inputStep) {
            isExact = true
            var offset = 0
            passes = codes.withUnsafeBufferPointer { codes in
                runs.map { run in
                    defer { offset += (run.count + 3) / 4 * 4 }
                    let alpha = Double(inputStep[run.lowerBound])
                    for n in 0..<out {
                        var constant = 0.0
                        for j in run { constant += zeroOffset[j] * Double(codes[n * k + j]) }
                        foldedBias[n] += alpha * Double(weightScale[n]) * constant
                    }
                    // The run's columns of every row, read in place (row stride k).
                    return Pass(features: run, codeOffset: offset,
                                weights: PackedInt8Weights(codes: codes.baseAddress! + run.lowerBound, rows: out, k: run.count,
                                                           rowStride: k, channelScales: weightScale.map { Float(alpha * Double($0)) }))
                }
            }
            codeColumns = offset
        } else {
            codeColumns = k
            isExact = false
            let parts = requestedParts
            // Digit p of weight (n, j) at p·out·k + n·k + j.
            var digitCodes = [Int8](repeating: 0, count: parts * out * k)
            var beta = [Double](repeating: 0, count: out)
            let largestStep = Double(inputStep.map(abs).max() ?? 1)
            let relativeStep = inputStep.map { Double($0) / largestStep }
            let top = 127 * Int(pow(128.0, Double(parts - 1)))
            codes.withUnsafeBufferPointer { codes in
                digitCodes.withUnsafeMutableBufferPointer { digits in
                    for n in 0..<out {
                        let row = UnsafeBufferPointer(rebasing: codes[(n * k)..<((n + 1) * k)])
                        let largestCode = max(abs(Int(row.min() ?? 0)), Int(row.max() ?? 0))
                        let multiplier = Double(max(1, top / max(largestCode, 1)))
                        beta[n] = Double(weightScale[n]) * largestStep / multiplier
                        var constant: Double = 0
                        for j in 0..<k {
                            var v = Int((multiplier * Double(row[j]) * relativeStep[j]).rounded(.toNearestOrEven))
                            constant += zeroOffset[j] * Double(v)
                            // Balanced base-128 digits; the top one takes the rest (|rest| ≤ 127
                            // by the multiplier's choice). v − d is a multiple of 128: the shift divides exactly.
                            var digit = digits.baseAddress! + n * k + j
                            for _ in 1..<parts {
                                let d = ((v &+ 64) & 127) &- 64
                                digit.pointee = Int8(truncatingIfNeeded: d)
                                v = (v &- d) &>> 7
                                digit += out * k
                            }
                            digit.pointee = Int8(v)
                        }
                        foldedBias[n] += beta[n] * constant
                    }
                }
            }
            // Largest digit first: it carries the bias (and the residual when accumulating).
            passes = digitCodes.withUnsafeBufferPointer { digits in
                (0..<parts).reversed().map { p in
                    Pass(features: 0..<k, codeOffset: 0, weights: PackedInt8Weights(codes: digits.baseAddress! + p * out * k, rows: out, k: k,
                                                                    channelScales: beta.map { Float($0 * pow(128.0, Double(p))) }))
                }
            }
        }
        self.bias = AlignedBuffer(foldedBias.map(Float.init))
        step = AlignedBuffer(inputStep)
        zero = AlignedBuffer(inputZero)
        shift = inputShift.map { AlignedBuffer($0) }
    }

    func encode(_ x: UnsafePointer<Float>, rows: Int, stride: Int?, transform: RowTransform, workspace: Workspace) {
        let m = workspace.int8Codes("linear.in", rows: rows, k: codeColumns)
        m.maxCode = Int32(qp - qn)
        let k = inFeatures, a = step.pointer, z = zero.pointer, qn = qn, qp = qp, shift = shift
        // Exact runs are encoded each at its offset; folded digits read all features in place.
        let pieces = isExact ? passes.map { ($0.features, $0.codeOffset) } : [(0..<k, 0)]
        RowProducer.run(x, rows: rows, k: k, stride: stride, transform: transform) { block, r0, n in
            var source = block
            var shifted: UnsafeMutablePointer<Float>? = nil
            if let shift {
                let s = UnsafeMutablePointer<Float>.allocate(capacity: n * k)
                for r in 0..<n { for j in 0..<k { s[r * k + j] = block[r * k + j] + shift.pointer[j] } }
                source = UnsafePointer(s)
                shifted = s
            }
            defer { shifted?.deallocate() }
            for (features, offset) in pieces {
                let f = features.lowerBound
                bv_quantize_levels_rows(source + f, k, Int32(n), Int32(features.count), a + f, z + f, 1, qn, qp,
                                        m.codes.pointer + r0 * m.rowStride + offset, m.rowStride, nil, 0)
            }
        }
    }

    func multiply(rows: Int, into y: UnsafeMutablePointer<Float>, ldy: Int?, accumulate: Bool, workspace: Workspace) {
        let a = workspace.int8Codes("linear.in", rows: rows, k: codeColumns)
        for (i, pass) in passes.enumerated() {
            let first = i == 0
            Int8GEMM.multiply(a, pass.weights, into: y, ldc: ldy,
                              transform: OutputTransform(bias: first ? UnsafePointer(bias.pointer) : nil, accumulate: first ? accumulate : true),
                              columns: pass.codeColumns)
        }
    }
}
