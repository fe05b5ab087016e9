/// ReActNet's RPReLU, `y = PReLU_c(x − move1) + move2`, per channel on the last axis
/// (docs/reference/bhvit.md §3.3): with `u = x − move1`, `y = u + move2` if `u > 0`, else `slope·u + move2`.
///
/// Parameters `move1`, `slope`, `move2`, each `[channels]`, initialized 0, 0.25 (PyTorch's
/// PReLU default) and 0. The gradient is the true derivative, taking the slope branch at
/// `u = 0`: `dx = dy·(u > 0 ? 1 : slope)`, `dslope = Σ dy·u·[u ≤ 0]`, `dmove1 = −Σ dx`,
/// `dmove2 = Σ dy`, sums over every position of the channel.
public final class RPReLU: Module, Layer {
    public let move1: Tensor
    public let slope: Tensor
    public let move2: Tensor

    public init(channels: Int, slope initialSlope: Float = 0.25) {
        move1 = Tensor.zeros([channels])
        slope = Tensor(shape: [channels], repeating: initialSlope)
        move2 = Tensor.zeros([channels])
        super.init()
        parameter("move1", move1)
        parameter("slope", slope)
        parameter("move2", move2)
    }

    /// `x`: `[..., channels]` → same shape (the fused `Tensor.rprelu` kernel).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.shape.last == move1.count, "RPReLU: \(move1.count) channels for \(x.shape)")
        return x.rprelu(move1: move1, slope: slope, move2: move2)
    }
}
