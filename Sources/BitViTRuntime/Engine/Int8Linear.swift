import BitViTPlatform
import CBitKernels
import Foundation

/// A Q-ViT linear layer on the int8 GEMM (VNNI `vpdpbusd` where available).
///
/// Q-ViT quantizes a linear layer's input with a step α_k and a zero point z_k per *input*
/// channel (docs/reference/qvit.md §3.3), and its weight with a step s_n per output channel:
///
///     y_n = Σ_k (q_k − z_k)·α_k · w_nk·s_n + b_n
///
/// A per-k step cannot be factored out of an integer sum over k, so at load time the steps
/// are folded into the weights, re-quantized per output channel to `7·parts + 1` bits, and
/// split into `parts` int8 digits (one int8 GEMM each, accumulated into the same output):
///
///     α_k·s_n·w_nk ≈ β_n·v_nk,   β_n = s_n·max_k |α_k| / m_n,   v_nk = round(m_n·w_nk·α_k / max_k |α_k|)
///     v_nk = Σ_p 128^p·d_p,nk,   d_p ∈ [−64, 63] below the top digit, top digit ∈ [−127, 127]
///
/// with the integer multiplier `m_n = ⌊127·128^(parts−1) / max_k |w_nk|⌋`. Where the steps are
/// equal (Q-ViT initializes them so) this is exact. Otherwise a weight is off by at most
/// 2^−(7·parts+1) of its channel's largest — and in a network of low-bit activation quantizers
/// that noise is not harmless: a value that moves across a rounding boundary changes a whole
/// activation step downstream. Measured on a trained W4A4 model (docs/deployment.md): 1 digit
/// (8 bits) agrees with the training graph's top-1 on 98.2 % of the test images, 2 digits on
/// 99.4 %, 3 digits (22 bits, about float32's 24) on ≥ 99.9 %. Three is the default. The zero
/// points are exact: with u8 codes `u_k = q_k − Qn`,
///
///     y_n ≈ β_n·Σ_k u_k·v_nk + (b_n + β_n·Σ_k (Qn − z_k)·v_nk)
///
/// where the bracket is a constant folded into the bias.
final class Int8Linear: TokenLinear {
    /// int8 digits per folded weight unless the engine says otherwise.
    static let defaultParts = 3

    let inFeatures: Int
    let outFeatures: Int
    /// Digit p of the folded weights, channel scales β·128^p.
    let digits: [PackedInt8Weights]
    let bias: AlignedBuffer<Float>
    let step: AlignedBuffer<Float>
    let zero: AlignedBuffer<Float>
    let qn: Float
    let qp: Float
    /// Whether all input channels share one step (then one digit holds the raw codes exactly).
    let uniformSteps: Bool
    var kernelName: String { digits.count == 1 ? "int8 GEMM" : "int8 GEMM ×\(digits.count)" }

    /// - `codes`: b-bit weight codes [out, in]; `weightScale` [out]; `inputStep`, `inputZero`
    ///   (rounded) [in]; `range` (Qn, Qp) of the input codes; `bias` [out]; `parts` int8 digits
    ///   per folded weight (1…4).
    init(codes: [Int8], out: Int, in k: Int, weightScale: [Float], inputStep: [Float], inputZero: [Float],
         range: (Float, Float), bias: [Float], parts requestedParts: Int = Int8Linear.defaultParts) {
        precondition((1...4).contains(requestedParts), "Int8Linear: \(requestedParts) digits")
        // Equal steps (per-tensor activation quantization, as Q-ViT's lazy initialization leaves
        // them) factor out of the sum exactly: one pass on the raw weight codes, the step in the
        // output transform.
        uniformSteps = inputStep.allSatisfy { $0 == inputStep[0] }
        let parts = uniformSteps ? 1 : requestedParts
        inFeatures = k
        outFeatures = out
        (qn, qp) = range
        var digitCodes = [[Int8]](repeating: [Int8](repeating: 0, count: out * k), count: parts)
        var beta = [Double](repeating: 0, count: out)
        var foldedBias = bias
        let largestStep = Double(inputStep.map(abs).max() ?? 1)
        let top = 127 * Int(pow(128.0, Double(parts - 1)))
        for n in 0..<out {
            let largestCode = (0..<k).map { abs(Int(codes[n * k + $0])) }.max() ?? 0
            let multiplier = uniformSteps ? 1 : Double(max(1, top / max(largestCode, 1)))
            beta[n] = Double(weightScale[n]) * largestStep / multiplier
            var constant: Double = 0
            for j in 0..<k {
                var v = Int((multiplier * Double(codes[n * k + j]) * (Double(inputStep[j]) / largestStep)).rounded(.toNearestOrEven))
                constant += Double(range.0 - inputZero[j]) * Double(v)
                for p in 0..<parts {
                    // Balanced base-128 digits; the top one takes the rest (|rest| ≤ 127).
                    let d = p == parts - 1 ? v : ((v + 64) & 127) - 64
                    digitCodes[p][n * k + j] = Int8(d)
                    v = (v - d) / 128
                }
            }
            foldedBias[n] += Float(beta[n] * constant)
        }
        digits = (0..<parts).map { p in
            digitCodes[p].withUnsafeBufferPointer {
                PackedInt8Weights(codes: $0.baseAddress!, rows: out, k: k, channelScales: beta.map { Float($0 * pow(128.0, Double(p))) })
            }
        }
        self.bias = AlignedBuffer(foldedBias)
        step = AlignedBuffer(inputStep)
        zero = AlignedBuffer(inputZero)
    }

    func encode(_ x: UnsafePointer<Float>, rows: Int, stride: Int?, transform: RowTransform, workspace: Workspace) {
        let m = workspace.int8Codes("linear.in", rows: rows, k: inFeatures)
        m.maxCode = Int32(qp - qn)
        let k = inFeatures, a = step.pointer, z = zero.pointer, qn = qn, qp = qp
        RowProducer.run(x, rows: rows, k: k, stride: stride, transform: transform) { block, r0, n in
            bv_quantize_levels_rows(block, k, Int32(n), Int32(k), a, z, 1, qn, qp, m.codes.pointer + r0 * m.rowStride, m.rowStride, nil, 0)
        }
    }

    func multiply(rows: Int, into y: UnsafeMutablePointer<Float>, ldy: Int?, accumulate: Bool, workspace: Workspace) {
        let a = workspace.int8Codes("linear.in", rows: rows, k: inFeatures)
        // Largest digit first with the bias (and the residual when accumulating), then the rest.
        for p in stride(from: digits.count - 1, through: 0, by: -1) {
            let first = p == digits.count - 1
            Int8GEMM.multiply(a, digits[p], into: y, ldc: ldy,
                              transform: OutputTransform(bias: first ? UnsafePointer(bias.pointer) : nil, accumulate: first ? accumulate : true))
        }
    }
}
