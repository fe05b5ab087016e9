import BitViTPlatform

/// A linear layer over token rows, `y = f(x)·Wᵀ` with its output transform, in one of the
/// engine's arithmetics (float, binary, int8). Used in two steps so that the producer of the
/// input (LayerNorm, GELU) fuses into the encoding:
///
/// 1. `encode` transforms and encodes `rows` input rows into the layer's operand buffer;
/// 2. `multiply` writes (or, with `accumulate`, adds: the residual) `rows × outFeatures`.
protocol TokenLinear: AnyObject {
    var inFeatures: Int { get }
    var outFeatures: Int { get }
    /// Name of the kernel in profiles ("binary GEMM", "int8 GEMM", "sgemm").
    var kernelName: String { get }
    func encode(_ x: UnsafePointer<Float>, rows: Int, stride: Int?, transform: RowTransform, workspace: Workspace)
    func multiply(rows: Int, into y: UnsafeMutablePointer<Float>, ldy: Int?, accumulate: Bool, workspace: Workspace)
}

/// A token linear layer that also multiplies a block of its encoded rows on the calling thread,
/// so that whoever consumes the output can take each block while it is in cache (BHViT's MLP:
/// fc1's output is consumed by fc2's encoding block by block and never stored whole).
protocol RowBlockLinear: TokenLinear {
    /// Rows `rows` of the `total` encoded input rows, times Wᵀ with the output transform, into
    /// `y` (row `rows.lowerBound` first, row stride `outFeatures`).
    func multiply(rows: Range<Int>, of total: Int, into y: UnsafeMutablePointer<Float>, workspace: Workspace)
}

/// `y = α·enc(x)·Wᵀ + bias` with float weights (full precision, or the dequantized weights of
/// a quantized layer in float mode): with the weights packed at load (`PackedFloatWeight`)
/// where the CPU prefers that, otherwise through OpenBLAS sgemm. `enc` is the dequantized
/// input encoding, so a quantized model runs the same function as with its bit kernels.
final class FloatLinear: RowBlockLinear {
    let inFeatures: Int
    let outFeatures: Int
    let weights: FloatWeightProduct
    let bias: AlignedBuffer<Float>?
    let alpha: Float
    let encoding: InputEncoding
    let owner: [AnyObject]
    var kernelName: String { weights.kernelName }

    /// `weight` [out, in] row-major; `keepAlive` holds storage `encoding` points into.
    init(weight: [Float], out: Int, in k: Int, bias: [Float]?, alpha: Float = 1, encoding: InputEncoding = .identity,
         keepAlive: [AnyObject] = []) {
        precondition(weight.count == out * k)
        inFeatures = k
        outFeatures = out
        weights = weight.withUnsafeBufferPointer { FloatWeightProduct($0.baseAddress!, out: out, in: k) }
        self.bias = bias.map { AlignedBuffer($0) }
        self.alpha = alpha
        self.encoding = encoding
        owner = keepAlive
    }

    func encode(_ x: UnsafePointer<Float>, rows: Int, stride: Int?, transform: RowTransform, workspace: Workspace) {
        let k = inFeatures
        // Nothing to do (identity encoding, no transform, contiguous rows): `multiply` reads the
        // rows in place instead of a copy.
        if case .identity = encoding, case .none = transform, (stride ?? k) == k {
            workspace.setInPlaceInput(x, of: self)
            return
        }
        workspace.setInPlaceInput(nil, of: self)
        let out = input(rows, workspace)
        RowProducer.run(x, rows: rows, k: k, stride: stride, transform: transform) { block, r0, n in
            if case .identity = encoding, UnsafeMutablePointer(mutating: block) == out + r0 * k { return }
            RowProducer.dequantize(encoding, block, rows: n, k: k, into: out + r0 * k)
        }
    }

    func multiply(rows: Int, into y: UnsafeMutablePointer<Float>, ldy: Int?, accumulate: Bool, workspace: Workspace) {
        let a = workspace.inPlaceInput(of: self) ?? UnsafePointer(input(rows, workspace))
        product(a, rows: rows, into: y, ldy: ldy ?? outFeatures, accumulate: accumulate)
    }

    func multiply(rows: Range<Int>, of total: Int, into y: UnsafeMutablePointer<Float>, workspace: Workspace) {
        let a = workspace.inPlaceInput(of: self) ?? UnsafePointer(input(total, workspace))
        product(a + rows.lowerBound * inFeatures, rows: rows.count, into: y, ldy: outFeatures, accumulate: false)
    }

    /// `y (+)= α·a·Wᵀ + bias` for `rows` contiguous encoded rows `a`.
    private func product(_ a: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool) {
        weights.multiply(rows: rows, a, lda: inFeatures, alpha: alpha, bias: bias.map { UnsafePointer($0.pointer) },
                         accumulate: accumulate, into: y, ldc: ldy)
    }

    /// The encoded input rows, one buffer per input width (two layers of different widths can
    /// hold their inputs at once).
    private func input(_ rows: Int, _ workspace: Workspace) -> UnsafeMutablePointer<Float> {
        workspace.floats("linear.in/\(inFeatures)", rows * inFeatures)
    }
}
