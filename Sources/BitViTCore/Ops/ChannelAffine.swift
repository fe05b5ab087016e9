// Fused per-channel pointwise ops on the last axis ("channels last": token tensors [B, N, C])
// whose parameters get per-channel gradients. One pass forward and one or two passes backward,
// instead of a chain of broadcast ops with their reductions.

/// Per-channel sums over the rows of a `[rows, channels]` view, accumulated in double
/// precision per worker thread and combined afterwards.
struct ChannelRowSums {
    let rows: Int
    let channels: Int

    /// Calls `body(rowRange, accumulators)` on disjoint row ranges; `accumulators` holds
    /// `quantities·channels` zeroed doubles (quantity q of channel c at `q·channels + c`).
    /// Returns the sums over all ranges in the same layout.
    func callAsFunction(quantities: Int, _ body: (Range<Int>, UnsafeMutablePointer<Double>) -> Void) -> [Double] {
        let width = quantities * channels
        let parts = Swift.max(1, Swift.min(Parallel.threadCount, rows * channels / elementwiseGrain, rows))
        let partials = UnsafeMutablePointer<Double>.allocate(capacity: parts * width)
        defer { partials.deallocate() }
        partials.initialize(repeating: 0, count: parts * width)
        Parallel.forPartitions(parts) { p in
            let lo = rows * p / parts, hi = rows * (p + 1) / parts
            if lo < hi { body(lo..<hi, partials + p * width) }
        }
        var total = [Double](repeating: 0, count: width)
        for p in 0..<parts { for i in 0..<width { total[i] += partials[p * width + i] } }
        return total
    }

    /// Runs `body` on disjoint row ranges in parallel (no reduction).
    func forEachRange(_ body: (Range<Int>) -> Void) {
        Parallel.forRanges(rows, minimumPerThread: Swift.max(1, elementwiseGrain / Swift.max(channels, 1)), body)
    }
}

extension Tensor {
    /// `x·scale + shift` with per-channel `scale`, `shift` `[C]` on the last axis (C = last
    /// extent). Gradients: `dx = g·scale`, `dscale = Σ g·x`, `dshift = Σ g` over all rows.
    public func channelAffine(scale: Tensor, shift: Tensor) -> Tensor {
        let c = shape.last ?? 1
        precondition(scale.shape == [c] && shift.shape == [c],
                     "channelAffine: scale \(scale.shape), shift \(shift.shape) for input \(shape)")
        let rows = ChannelRowSums(rows: count / Swift.max(c, 1), channels: c)
        let out = Tensor(uninitialized: shape)
        let x = data, y = out.data, s = scale.data, t = shift.data
        rows.forEachRange { r in
            for row in r {
                let xr = x + row * c, yr = y + row * c
                for k in 0..<c { yr[k] = xr[k] * s[k] + t[k] }
            }
        }
        return Autograd.record(out, op: "channelAffine", inputs: [self, scale, shift]) { g in
            let dx = Tensor(uninitialized: self.shape)
            let x = self.data, s = scale.data, pg = g.data, d = dx.data
            let sums = rows(quantities: 2) { range, acc in
                for row in range {
                    let xr = x + row * c, gr = pg + row * c, dr = d + row * c
                    for k in 0..<c {
                        dr[k] = gr[k] * s[k]
                        acc[k] += Double(gr[k] * xr[k])
                        acc[c + k] += Double(gr[k])
                    }
                }
            }
            return [dx, Tensor(shape: [c], scalars: sums[0..<c].map { Float($0) }),
                    Tensor(shape: [c], scalars: sums[c..<(2 * c)].map { Float($0) })]
        }
    }

    /// ReActNet's RPReLU on the last axis: with `u = x − move1`, `y = (u > 0 ? u : slope·u) + move2`,
    /// parameters `[C]`. The gradient is the true derivative taking the slope branch at u = 0:
    /// `dx = g·(u > 0 ? 1 : slope)`, `dslope = Σ g·u·[u ≤ 0]`, `dmove1 = −Σ dx`, `dmove2 = Σ g`.
    public func rprelu(move1: Tensor, slope: Tensor, move2: Tensor) -> Tensor {
        let c = shape.last ?? 1
        precondition(move1.shape == [c] && slope.shape == [c] && move2.shape == [c],
                     "rprelu: parameters \(move1.shape), \(slope.shape), \(move2.shape) for input \(shape)")
        let rows = ChannelRowSums(rows: count / Swift.max(c, 1), channels: c)
        let out = Tensor(uninitialized: shape)
        let x = data, y = out.data, m1 = move1.data, a = slope.data, m2 = move2.data
        rows.forEachRange { r in
            for row in r {
                let xr = x + row * c, yr = y + row * c
                for k in 0..<c {
                    let u = xr[k] - m1[k]
                    yr[k] = (u > 0 ? u : a[k] * u) + m2[k]
                }
            }
        }
        return Autograd.record(out, op: "rprelu", inputs: [self, move1, slope, move2]) { g in
            let dx = Tensor(uninitialized: self.shape)
            let x = self.data, m1 = move1.data, a = slope.data, pg = g.data, d = dx.data
            let sums = rows(quantities: 3) { range, acc in
                for row in range {
                    let xr = x + row * c, gr = pg + row * c, dr = d + row * c
                    for k in 0..<c {
                        let u = xr[k] - m1[k]
                        let positive = u > 0
                        let dxk = positive ? gr[k] : a[k] * gr[k]
                        dr[k] = dxk
                        acc[k] += Double(dxk)
                        acc[c + k] += positive ? 0 : Double(gr[k] * u)
                        acc[2 * c + k] += Double(gr[k])
                    }
                }
            }
            func vector(_ q: Int, _ sign: Double) -> Tensor {
                Tensor(shape: [c], scalars: sums[(q * c)..<((q + 1) * c)].map { Float(sign * $0) })
            }
            return [dx, vector(0, -1), vector(1, 1), vector(2, 1)]
        }
    }
}
