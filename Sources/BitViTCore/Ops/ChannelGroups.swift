// Channel-group maps on the last axis: tiling a vector and averaging contiguous groups
// (BHViT's MLP shortcuts, docs/reference/bhvit.md §3.7), each one pass per direction.

extension Tensor {
    /// `copies` copies of the last axis side by side: `[..., C]` → `[..., copies·C]` with
    /// `out[..., j·C + c] = x[..., c]` (a concatenation of the whole vector with itself).
    /// The gradient sums the copies.
    public func tiledChannels(_ copies: Int) -> Tensor {
        precondition(copies >= 1, "tiledChannels: \(copies) copies")
        let c = shape.last ?? 1, rows = count / Swift.max(c, 1)
        let out = Tensor(uninitialized: Array(shape.dropLast()) + [copies * c])
        let x = data, y = out.data
        Parallel.forRanges(rows, minimumPerThread: Swift.max(1, elementwiseGrain / Swift.max(copies * c, 1))) { r in
            for row in r {
                for j in 0..<copies { (y + (row * copies + j) * c).update(from: x + row * c, count: c) }
            }
        }
        return Autograd.record(out, op: "tiledChannels", inputs: [self]) { g in
            let dx = Tensor(uninitialized: self.shape)
            let pg = g.data, d = dx.data
            Parallel.forRanges(rows, minimumPerThread: Swift.max(1, elementwiseGrain / Swift.max(copies * c, 1))) { r in
                for row in r {
                    let dr = d + row * c, gr = pg + row * copies * c
                    for k in 0..<c { dr[k] = gr[k] }
                    for j in 1..<Swift.max(copies, 1) { for k in 0..<c { dr[k] += gr[j * c + k] } }
                }
            }
            return [dx]
        }
    }

    /// Means of contiguous groups of `size` values on the last axis: `[..., size·C]` →
    /// `[..., C]` with `out[..., c] = mean(x[..., size·c ..< size·(c+1)])` (PyTorch's
    /// `AvgPool1d(size)` over channels). The gradient spreads `g/size` over each group.
    public func groupMeanChannels(_ size: Int) -> Tensor {
        let wide = shape.last ?? 1
        precondition(size >= 1 && wide % size == 0, "groupMeanChannels: \(wide) channels in groups of \(size)")
        let c = wide / size, rows = count / Swift.max(wide, 1)
        let out = Tensor(uninitialized: Array(shape.dropLast()) + [c])
        let x = data, y = out.data, scale = 1 / Float(size)
        Parallel.forRanges(rows, minimumPerThread: Swift.max(1, elementwiseGrain / Swift.max(wide, 1))) { r in
            for row in r {
                let xr = x + row * wide, yr = y + row * c
                for k in 0..<c {
                    var s: Float = 0
                    for j in 0..<size { s += xr[k * size + j] }
                    yr[k] = s * scale
                }
            }
        }
        return Autograd.record(out, op: "groupMeanChannels", inputs: [self]) { g in
            let dx = Tensor(uninitialized: self.shape)
            let pg = g.data, d = dx.data
            Parallel.forRanges(rows, minimumPerThread: Swift.max(1, elementwiseGrain / Swift.max(wide, 1))) { r in
                for row in r {
                    let dr = d + row * wide, gr = pg + row * c
                    for k in 0..<c {
                        let v = gr[k] * scale
                        for j in 0..<size { dr[k * size + j] = v }
                    }
                }
            }
            return [dx]
        }
    }
}
