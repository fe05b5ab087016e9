import BitViTNN

/// One of BHViT's six parameter-free shift branches (docs/reference/bhvit.md §4, the official code's
/// `Shift`, `Shift2` and `Shift_channel_mix`). Every index is circular (`rolled`), so the
/// gradient is the exact adjoint.
///
/// | branch | output at (i, j) |
/// |---|---|
/// | `h3` | `(x[i,j] + x[i−1,j] + x[i+1,j])/3` |
/// | `w3` | `(x[i,j] + x[i,j−1] + x[i,j+1])/3` |
/// | `h5`, `w5` | five terms, offsets 0, ±1, ±2, divided by 5 (all five even when they coincide) |
/// | `ch3`, `ch5` | channel quarters q0…q3 with shift s = 1 or 2: `x[i−s,j]`, `x[i+s,j]`, `x[i,j−s]`, `x[i,j+s]` |
///
/// The paper calls these shifts "by one pixel"; the code's horizontal and vertical branches are
/// circular averages, which BitViT follows (docs/reference/bhvit.md §9 item 3).
public enum ShiftBranch: String, CaseIterable, Sendable {
    case h3, w3, ch3, h5, w5, ch5

    /// Applies the branch to a map whose row, column and channel axes are given (`[B, C, H, W]`:
    /// 2, 3, 1; token grids `[B, H, W, C]`: 1, 2, 3). The channel count must be a multiple of 4
    /// for `ch3`/`ch5`.
    public func callAsFunction(_ x: Tensor, heightAxis: Int, widthAxis: Int, channelAxis: Int) -> Tensor {
        switch self {
        case .h3: return Self.average(x, axis: heightAxis, reach: 1)
        case .w3: return Self.average(x, axis: widthAxis, reach: 1)
        case .h5: return Self.average(x, axis: heightAxis, reach: 2)
        case .w5: return Self.average(x, axis: widthAxis, reach: 2)
        case .ch3: return Self.channelMix(x, shift: 1, heightAxis: heightAxis, widthAxis: widthAxis, channelAxis: channelAxis)
        case .ch5: return Self.channelMix(x, shift: 2, heightAxis: heightAxis, widthAxis: widthAxis, channelAxis: channelAxis)
        }
    }

    /// `(Σ_{|δ| ≤ reach} x[i+δ]) / (2·reach + 1)` along `axis`, summed in the code's order
    /// (x, +1, −1, +2, −2).
    private static func average(_ x: Tensor, axis: Int, reach: Int) -> Tensor {
        var sum = x
        for offset in 1...reach {
            sum = sum + x.rolled(by: offset, axis: axis) + x.rolled(by: -offset, axis: axis)
        }
        return sum / Float(2 * reach + 1)
    }

    /// Quarter q0 moves down by `shift` (row i reads row i − shift), q1 up, q2 right, q3 left.
    private static func channelMix(_ x: Tensor, shift: Int, heightAxis: Int, widthAxis: Int, channelAxis: Int) -> Tensor {
        let c = x.shape[normalizeAxis(channelAxis, rank: x.rank)]
        precondition(c % 4 == 0, "mixed shift: \(c) channels are not divisible into quarters")
        let q = x.split(sizes: [c / 4, c / 4, c / 4, c / 4], axis: channelAxis)
        return Tensor.concatenate([q[0].rolled(by: shift, axis: heightAxis), q[1].rolled(by: -shift, axis: heightAxis),
                                   q[2].rolled(by: shift, axis: widthAxis), q[3].rolled(by: -shift, axis: widthAxis)],
                                  axis: channelAxis)
    }
}

/// The shift residual of a block: `Σ_k LS_k(S_k(U2))` over the six branches, each behind its
/// own LayerScale initialized to `alpha = 0`, `move = 0`, so it adds exactly 0 at
/// initialization (docs/reference/bhvit.md §4).
///
/// Not a module of its own: its LayerScales are registered on the block as
/// `layerscale_{h3,w3,ch3,h5,w5,ch5}`, the official names.
struct ShiftResidual {
    let scales: [(branch: ShiftBranch, scale: LayerScale)]

    init(channels: Int) {
        scales = ShiftBranch.allCases.map { ($0, LayerScale(channels: channels, initialScale: 0)) }
    }

    func register(on block: Module) {
        for (branch, scale) in scales { block.child("layerscale_\(branch.rawValue)", scale) }
    }

    /// `u`: tokens `[B, side·side, C]` → the summed branch outputs, same shape.
    func callAsFunction(_ u: Tensor, side: Int) -> Tensor {
        let (b, n, c) = (u.shape[0], u.shape[1], u.shape[2])
        let grid = u.reshaped([b, side, side, c])
        var total: Tensor?
        for (branch, scale) in scales {
            let term = scale(branch(grid, heightAxis: 1, widthAxis: 2, channelAxis: 3).reshaped([b, n, c]))
            total = total.map { $0 + term } ?? term
        }
        return total!
    }
}
