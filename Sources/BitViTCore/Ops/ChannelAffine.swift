// Fused per-channel pointwise ops on the last axis ("channels last": token tensors [B, N, C])
// whose parameters get per-channel gradients. One pass forward and one or two passes backward,
// instead of a chain of broadcast ops with their reductions.

/// Per-channel sums over the rows of a `[rows, channels]` view. Each worker accumulates
/// blocks of `blockRows` rows in float (vectorizable), then adds each block's sums into double
/// accumulators, so long columns keep double precision.
struct ChannelRowSums {
    let rows: Int
    let channels: Int
    static let blockRows = 32

    /// Calls `body(rowRange, accumulators)` on disjoint blocks of rows; `accumulators` holds
    /// `quantities·channels` zeroed floats (quantity q of channel c at `q·channels + c`) to add
    /// the block's terms into. Returns the sums over all rows in the same layout.
    func callAsFunction(quantities: Int, _ body: (Range<Int>, UnsafeMutablePointer<Float>) -> Void) -> [Double] {
        let width = quantities * channels
        let parts = Swift.max(1, Swift.min(Parallel.threadCount, rows * channels / elementwiseGrain, rows))
        let partials = UnsafeMutablePointer<Double>.allocate(capacity: parts * width)
        defer { partials.deallocate() }
        partials.initialize(repeating: 0, count: parts * width)
        Parallel.forPartitions(parts) { p in
            let lo = rows * p / parts, hi = rows * (p + 1) / parts
            let block = UnsafeMutablePointer<Float>.allocate(capacity: width)
            defer { block.deallocate() }
            let total = partials + p * width
            for start in stride(from: lo, to: hi, by: Self.blockRows) {
                block.initialize(repeating: 0, count: width)
                body(start..<Swift.min(start + Self.blockRows, hi), block)
                for i in 0..<width { total[i] += Double(block[i]) }
            }
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
                        acc[k] += gr[k] * xr[k]
                        acc[c + k] += gr[k]
                    }
                }
            }
            return [dx, Tensor(shape: [c], scalars: sums[0..<c].map { Float($0) }),
                    Tensor(shape: [c], scalars: sums[c..<(2 * c)].map { Float($0) })]
        }
    }

    /// `x + bias` with a per-channel `bias` `[C]` on the last axis (a learnable threshold before a
    /// sign, a per-channel shift). Gradients: `dx = g` (shared, no copy), `dbias = Σ g`.
    public func addingChannelBias(_ bias: Tensor) -> Tensor {
        let c = shape.last ?? 1
        precondition(bias.shape == [c], "addingChannelBias: bias \(bias.shape) for input \(shape)")
        let rows = ChannelRowSums(rows: count / Swift.max(c, 1), channels: c)
        let out = Tensor(uninitialized: shape)
        let x = data, y = out.data, b = bias.data
        rows.forEachRange { r in
            for row in r {
                let xr = x + row * c, yr = y + row * c
                for k in 0..<c { yr[k] = xr[k] + b[k] }
            }
        }
        return Autograd.record(out, op: "addChannelBias", inputs: [self, bias]) { g in
            guard bias.requiresGrad else { return [g, nil] }
            let pg = g.data
            let sums = rows(quantities: 1) { range, acc in
                for row in range { let gr = pg + row * c; for k in 0..<c { acc[k] += gr[k] } }
            }
            return [g, Tensor(shape: [c], scalars: sums.map { Float($0) })]
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
                // Branch-free (max/min), so the loop does not stall on the sign of u.
                for k in 0..<c {
                    let u = xr[k] - m1[k]
                    yr[k] = (Swift.max(u, 0) + a[k] * Swift.min(u, 0)) + m2[k]
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
                        let step: Float = u > 0 ? 1 : 0
                        let dxk = gr[k] * (step + (1 - step) * a[k])
                        dr[k] = dxk
                        acc[k] += dxk
                        acc[c + k] += gr[k] * Swift.min(u, 0)
                        acc[2 * c + k] += gr[k]
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
