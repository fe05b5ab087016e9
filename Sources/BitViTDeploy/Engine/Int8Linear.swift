import BitViTCore

/// A Q-ViT linear layer on the int8 GEMM (VNNI `vpdpbusd` where available).
///
/// Q-ViT quantizes a linear layer's input with a step α_k and a zero point z_k per *input*
/// channel (qvit.md §3.3), and its weight with a step s_n per output channel:
///
///     y_n = Σ_k (q_k − z_k)·α_k · w_nk·s_n + b_n
///
/// A per-k step cannot be factored out of an integer sum over k, so at load time the steps
/// are folded into the weights and the products are re-quantized per output channel to 8 bits:
/// `α_k·s_n·w_nk ≈ β_n·v_nk` with `β_n = max_k |α_k·s_n·w_nk| / 127`, `v_nk ∈ [−127, 127]`.
/// The zero points are exact: with u8 codes `u_k = q_k − Qn`,
///
///     y_n ≈ β_n·Σ_k u_k·v_nk + (b_n + β_n·Σ_k (Qn − z_k)·v_nk)
///
/// where the bracket is a constant folded into the bias. The only approximation is the 8-bit
/// rounding of the folded weights (docs/deployment.md measures it against the training graph).
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
        for n in 0..<out {
            var largest: Float = 0
            for j in 0..<k { largest = max(largest, abs(inputStep[j] * weightScale[n] * Float(codes[n * k + j]))) }
            let b = largest > 0 ? largest / 127 : 1
            beta[n] = b
            var constant: Float = 0
            for j in 0..<k {
                let v = (inputStep[j] * weightScale[n] * Float(codes[n * k + j]) / b).rounded(.toNearestOrEven)
                folded[n * k + j] = Int8(max(-127, min(127, v)))
                constant += (range.0 - inputZero[j]) * Float(folded[n * k + j])
            }
            foldedBias[n] += b * constant
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
