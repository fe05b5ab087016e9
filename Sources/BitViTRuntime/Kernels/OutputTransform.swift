/// The output transform fused into the GEMM kernels (one pass over each output tile while it
/// is in registers):
///
///     C[m, n] = scale · rowScale[m] · (columnScale[n] · dot[m, n]) + bias[n]   (+ C[m, n] if accumulate)
///
/// where the column scale comes from the weights (`channelScales`) and dot is the exact
/// (plane-weighted) product. Pointers must stay valid for the duration of the call; rowScale
/// has M entries, bias N.
public struct OutputTransform {
    /// Global factor (e.g. an activation step α_in, or d^−1/2 for attention scores).
    public var scale: Float
    /// Per-row (token) scale, or nil for 1.
    public var rowScale: UnsafePointer<Float>?
    /// Per-column bias, or nil for 0.
    public var bias: UnsafePointer<Float>?
    /// Add into the existing C (a residual connection, or a second product into the same output).
    public var accumulate: Bool

    public init(scale: Float = 1, rowScale: UnsafePointer<Float>? = nil, bias: UnsafePointer<Float>? = nil,
                accumulate: Bool = false) {
        self.scale = scale
        self.rowScale = rowScale
        self.bias = bias
        self.accumulate = accumulate
    }
}
