import BitViTCore

/// A Q-ViT linear layer on the int8 GEMM (VNNI `vpdpbusd` where available).
///
/// Q-ViT quantizes a linear layer's input with a step α_k and a zero point z_k per *input*
/// channel (qvit.md §3.3), and its weight with a step s_n per output channel:
///
///     y_n = Σ_k (q_k − z_k)·α_k · w_nk·s_n + b_n
///
/// A per-k step cannot be factored out of an integer sum over k, so at load time the steps
/// are folded into the weights and the products re-quantized per output channel to 8 bits:
///
///     α_k·s_n·w_nk ≈ β_n·v_nk,   β_n = s_n·max_k α_k / m_n,   v_nk = round(m_n·w_nk·α_k / max_k α_k)
///
/// with the integer multiplier `m_n = ⌊127 / max_k |w_nk|⌋` (the largest that keeps every v_nk in
/// int8). Where the steps are equal (Q-ViT initializes them so) this is exact: v = m·w. The zero
/// points are exact: with u8 codes `u_k = q_k − Qn`,
///
///     y_n ≈ β_n·Σ_k u_k·v_nk + (b_n + β_n·Σ_k (Qn − z_k)·v_nk)
///
/// where the bracket is a constant folded into the bias. The only approximation is the rounding
/// of v_nk for channels whose step is below the largest (docs/deployment.md measures it against
/// the training graph; the float-kernel mode has none).
final class Int8Linear: TokenLinear {
    let inFeatures: Int
    let outFeatures: Int
    let weights: PackedInt8Weights
    let bias: AlignedBuffer<Float>
    let step: AlignedBuffer<Float>
    let zero: AlignedBuffer<Float>
    let qn: Float
    let qp: Float
    var kernelName: String { "int8 GEMM" }

    /// - `codes`: b-bit weight codes [out, in]; `weightScale` [out]; `inputStep`, `inputZero`
    ///   (rounded) [in]; `range` (Qn, Qp) of the input codes; `bias` [out].
    init(codes: [Int8], out: Int, in k: Int, weightScale: [Float], inputStep: [Float], inputZero: [Float],
         range: (Float, Float), bias: [Float]) {
        inFeatures = k
        outFeatures = out
        (qn, qp) = range
        var folded = [Int8](repeating: 0, count: out * k)
        var beta = [Float](repeating: 0, count: out)
        var foldedBias = bias
        let largestStep = inputStep.map(abs).max() ?? 1
        for n in 0..<out {
            let largestCode = (0..<k).map { abs(Int(codes[n * k + $0])) }.max() ?? 0
            let multiplier = Float(max(1, 127 / max(largestCode, 1)))
            beta[n] = weightScale[n] * largestStep / multiplier
            var constant: Float = 0
            for j in 0..<k {
                let v = (multiplier * Float(codes[n * k + j]) * (inputStep[j] / largestStep)).rounded(.toNearestOrEven)
                folded[n * k + j] = Int8(max(-128, min(127, v)))
                constant += (range.0 - inputZero[j]) * Float(folded[n * k + j])
            }
            foldedBias[n] += beta[n] * constant
        }
        weights = folded.withUnsafeBufferPointer { PackedInt8Weights(codes: $0.baseAddress!, rows: out, k: k, channelScales: beta) }
        self.bias = AlignedBuffer(foldedBias)
        step = AlignedBuffer(inputStep)
        zero = AlignedBuffer(inputZero)
    }

    func encode(_ x: UnsafePointer<Float>, rows: Int, stride: Int?, transform: RowTransform, workspace: Workspace) {
        let m = workspace.int8Codes("linear.in", rows: rows, k: inFeatures)
        let k = inFeatures, a = step.pointer, z = zero.pointer, qn = qn, qp = qp
        RowProducer.run(x, rows: rows, k: k, stride: stride, transform: transform) { block, r0, n in
            for r in 0..<n {
                let codes = m.codes.pointer + (r0 + r) * m.rowStride
                let src = block + r * k
                for j in 0..<k {
                    let q = min(max(src[j] / a[j] + z[j], qn), qp).rounded(.toNearestOrEven)
                    codes[j] = UInt8(q - qn)
                }
            }
        }
    }

    func multiply(rows: Int, into y: UnsafeMutablePointer<Float>, ldy: Int?, accumulate: Bool, workspace: Workspace) {
        let a = workspace.int8Codes("linear.in", rows: rows, k: inFeatures)
        Int8GEMM.multiply(a, weights, into: y, ldc: ldy,
                          transform: OutputTransform(bias: UnsafePointer(bias.pointer), accumulate: accumulate))
    }
}
