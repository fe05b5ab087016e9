import BitViTNN

/// The token geometry of MSMHA (docs/reference/bhvit.md §3.6 steps 1 and 5) on token grids `[B, R, R, C]`
/// with windows of side w = 7 and R a multiple of w.
///
/// - Windows: `nW = (R/w)²` non-overlapping w×w windows, row-major over the window grid and
///   batch-major overall; tokens row-major inside a window (Swin's layout).
/// - Pooled cells: a max and an average pool with kernel w, stride w and padding 3 give a
///   `(R/w)×(R/w)` grid. **Quirk** (kept for checkpoint parity): cell o covers rows and
///   columns `[7o − 3, 7o + 4) ∩ [0, R)`, so rows/columns 11–13 of a 14×14 map are never
///   pooled and a 7×7 map pools only its top-left 4×4; the average counts padded zeros
///   (divisor always 49), the max ignores padding. So `N1 = (R/w)² = nW` pooled tokens.
public enum WindowTokens {
    public static let window = BHViTConfig.windowSize

    /// `[B, R, R, C]` → `[B·nW, w², C]`.
    public static func partition(_ grid: Tensor) -> Tensor {
        SwinWindows.partition(grid, window: window)
    }

    /// The exact inverse of `partition`: `[B·nW, w², C]` → `[B, R, R, C]`.
    public static func reverse(_ windows: Tensor, side: Int) -> Tensor {
        SwinWindows.merge(windows, window: window, resolution: side)
    }

    /// Max and average pooling of a `[B, C, R, R]` map with the pad-3 quirk, each
    /// `[B, C, R/w, R/w]`.
    public static func pool(_ map: Tensor) -> (max: Tensor, average: Tensor) {
        let k = (window, window), pad = (window / 2, window / 2)
        return (map.maxPool2d(kernel: k, stride: k, padding: pad),
                map.avgPool2d(kernel: k, stride: k, padding: pad, countIncludePad: true))
    }

    /// Nearest-neighbour upsampling of a `[B, g, g, C]` grid by the window side:
    /// output (i, j) reads cell (⌊i/w⌋, ⌊j/w⌋). Returns `[B, g·w, g·w, C]`.
    public static func upsampleNearest(_ cells: Tensor) -> Tensor {
        let side = cells.shape[1] * window
        let rows = (0..<side).map { $0 / window }
        return cells.indexSelect(axis: 1, indices: rows).indexSelect(axis: 2, indices: rows)
    }
}

/// Builds MSMHA's attention tokens, the official `Token_for_Attention` (`token_FA`,
/// docs/reference/bhvit.md §3.6 step 1): every 7×7 window of the map followed by the image's `N1` pooled
/// tokens `a1 ⊙ max + (1 − a1) ⊙ avg`, then a true LayerNorm over channels.
///
/// State: `a1` `[1, 1, C]` (init 0.5), `norm.{weight,bias}` (LayerNorm, eps 1e-5).
/// Input tokens `[B, R·R, C]`; output `[B·nW, 49 + N1, C]`.
public final class PooledWindowTokens: Module {
    public let a1: Tensor
    public let norm: LayerNorm
    public let side: Int

    public init(channels: Int, side: Int) {
        precondition(side % BHViTConfig.windowSize == 0, "window tokens: side \(side) is not a multiple of 7")
        a1 = Tensor(shape: [1, 1, channels], repeating: 0.5)
        norm = LayerNorm(channels)
        self.side = side
        super.init()
        parameter("a1", a1)
        child("norm", norm)
    }

    /// Windows per image (= pooled tokens per image).
    public var windowsPerImage: Int { (side / BHViTConfig.windowSize) * (side / BHViTConfig.windowSize) }

    /// The pooled tokens of each image, `[B, N1, C]` (row-major over the pooled grid).
    public func pooledTokens(_ u: Tensor) -> Tensor {
        let (maxCells, averageCells) = WindowTokens.pool(u.tokensToMap(side: side))
        let weight = a1.reshaped([a1.count])
        return maxCells.mapToTokens() * weight + averageCells.mapToTokens() * (1 - weight)
    }

    public func callAsFunction(_ u: Tensor) -> Tensor {
        let (b, c) = (u.shape[0], u.shape[2])
        let windows = WindowTokens.partition(u.reshaped([b, side, side, c]))
        let pooled = pooledTokens(u)
        let n1 = pooled.shape[1], nW = windowsPerImage
        let copies = pooled.unsqueezed(1).expanded(to: [b, nW, n1, c]).reshaped([b * nW, n1, c])
        return norm(Tensor.concatenate([windows, copies], axis: 1))
    }

    /// Splits attention outputs `[B·nW, 49 + N1, C]` back to a map ("coarse to fine",
    /// docs/reference/bhvit.md §3.6 step 5): the window tokens return to their places; the pooled tokens are
    /// averaged over the nW window copies of each image and nearest-upsampled; the result is
    /// `π ⊙ fine + (1 − π) ⊙ coarse` as tokens `[B, R·R, C]`, `π` `[C]`.
    func merge(_ o: Tensor, mix pi: Tensor) -> Tensor {
        let (bw, t, c) = (o.shape[0], o.shape[1], o.shape[2])
        let nW = windowsPerImage, b = bw / nW, inWindow = BHViTConfig.windowSize * BHViTConfig.windowSize
        let fine = WindowTokens.reverse(o.slice(axis: 1, 0..<inWindow), side: side)
        let cellsPerSide = side / BHViTConfig.windowSize
        let coarseCells = o.slice(axis: 1, inWindow..<t).reshaped([b, nW, t - inWindow, c]).mean(axis: 1)
        let coarse = WindowTokens.upsampleNearest(coarseCells.reshaped([b, cellsPerSide, cellsPerSide, c]))
        return (fine * pi + coarse * (1 - pi)).reshaped([b, side * side, c])
    }
}
