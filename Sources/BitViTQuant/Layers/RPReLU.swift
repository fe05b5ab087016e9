/// ReActNet's RPReLU, `y = PReLU_c(x − move1) + move2`, per channel on the last axis
/// (bhvit.md §2.3): with `u = x − move1`, `y = u + move2` if `u > 0`, else `slope·u + move2`.
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

    /// `x`: `[..., channels]` → same shape.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let channels = move1.count
        precondition(x.shape.last == channels, "RPReLU: \(channels) channels for \(x.shape)")
        let (m1, a, m2) = (move1.scalars, slope.scalars, move2.scalars)
        let src = x.data
        let y = makeTensor(x.shape) { i in
            let c = i % channels
            let u = src[i] - m1[c]
            return (u > 0 ? u : a[c] * u) + m2[c]
        }
        return Autograd.record(y, op: "rprelu", inputs: [x, move1, slope, move2]) { dy in
            let xv = x.data, g = dy.data
            let dx = makeTensor(x.shape) { i in
                let c = i % channels
                return xv[i] - m1[c] > 0 ? g[i] : a[c] * g[i]
            }
            let slopeTerms = makeTensor(x.shape) { i in
                let u = xv[i] - m1[i % channels]
                return u > 0 ? 0 : g[i] * u
            }
            let layout = ChannelLayout(shape: x.shape, axis: -1)
            let dslope = layout.sumPerChannel(slopeTerms).map { Float($0) }
            let dmove1 = layout.sumPerChannel(dx).map { -Float($0) }
            let dmove2 = layout.sumPerChannel(dy).map { Float($0) }
            return [dx, Tensor(shape: [channels], scalars: dmove1), Tensor(shape: [channels], scalars: dslope),
                    Tensor(shape: [channels], scalars: dmove2)]
        }
    }
}
