// Splitting a fused projection into per-head parts in one pass each way.

extension Tensor {
    /// The `parts` per-head tensors of a fused projection such as timm's qkv, each plus an
    /// optional per-head shift: one recorded op with `parts` outputs.
    ///
    /// - `x`: `[B, N, parts·H·d]`, row layout `(part, head, d)` (timm's qkv).
    /// - `shifts`: per part nil or `[H, 1, d]` (broadcast over B and N; GSB's learnable q/k/v
    ///   biases).
    /// - Returns `parts` tensors `[B, H, N, d]`: part p at (b, h, n, j) is
    ///   `x[b, n, (p·H + h)·d + j] + shifts[p][h, 0, j]`.
    ///
    /// Equivalent to reshaping to `[B, N, parts, H, d]`, permuting to `[parts, B, H, N, d]`,
    /// slicing and adding, without the intermediate copies; the backward pass writes every
    /// part's gradient into one `[B, N, parts·H·d]` tensor (zeros for a part the loss does not
    /// use) and sums the shifts' gradients over B and N.
    public static func splitHeads(_ x: Tensor, parts: Int, heads: Int, shifts: [Tensor?]) -> [Tensor] {
        precondition(x.rank == 3 && parts > 0 && heads > 0 && x.shape[2] % (parts * heads) == 0,
                     "splitHeads: \(x.shape) is not [B, N, \(parts)·\(heads)·d]")
        precondition(shifts.count == parts, "splitHeads: \(shifts.count) shifts for \(parts) parts")
        let (b, n, width) = (x.shape[0], x.shape[1], x.shape[2])
        let d = width / (parts * heads)
        for s in shifts.compactMap({ $0 }) {
            precondition(s.shape == [heads, 1, d], "splitHeads: shift \(s.shape), expected [\(heads), 1, \(d)]")
        }
        let outputs = (0..<parts).map { _ in Tensor(uninitialized: [b, heads, n, d]) }
        let src = x.data, dst = outputs.map(\.data), shiftData = shifts.map { $0?.data }
        forEachHeadSlice(batch: b, tokens: n, width: width, parts: parts, heads: heads) { p, h, fused, split in
            let from = src + fused, to = dst[p] + split
            if let s = shiftData[p] {
                let sh = s + h * d
                for j in 0..<d { to[j] = from[j] + sh[j] }
            } else {
                to.update(from: from, count: d)
            }
        }
        let inputs = [x] + shifts.compactMap { $0 }
        return Autograd.record(outputs: outputs, op: "splitHeads", inputs: inputs) { grads in
            var result: [Tensor?] = [x.requiresGrad ? Self.mergeHeadGradients(grads, into: x.shape, heads: heads) : nil]
            for (p, shift) in shifts.enumerated() {
                guard let shift else { continue }
                guard shift.requiresGrad, let g = grads[p] else { result.append(nil); continue }
                result.append(g.sum(axes: [0, 2], keepDims: true).reshaped(shift.shape))
            }
            return result
        }
    }

    /// The backward of `splitHeads` for its input: the parts' gradients `[B, H, N, d]` (nil for
    /// a part the loss does not use: zeros) written back into one `[B, N, parts·H·d]` tensor.
    private static func mergeHeadGradients(_ grads: [Tensor?], into shape: [Int], heads: Int) -> Tensor {
        let (b, n, width) = (shape[0], shape[1], shape[2])
        let parts = grads.count, d = width / (parts * heads)
        let dx = Tensor(uninitialized: shape)
        let gd = grads.map { $0?.data }, dxp = dx.data
        forEachHeadSlice(batch: b, tokens: n, width: width, parts: parts, heads: heads) { p, _, fused, split in
            if let g = gd[p] {
                (dxp + fused).update(from: g + split, count: d)
            } else {
                (dxp + fused).update(repeating: 0, count: d)
            }
        }
        return dx
    }

    /// Calls `body(part, head, fusedOffset, splitOffset)` for every `d`-float slice, in parallel
    /// over the B·N token rows: `fusedOffset` into the `[B, N, parts·H·d]` tensor, `splitOffset`
    /// into part `part`'s `[B, H, N, d]` tensor.
    private static func forEachHeadSlice(batch b: Int, tokens n: Int, width: Int, parts: Int, heads: Int,
                                         _ body: (Int, Int, Int, Int) -> Void) {
        let d = width / (parts * heads)
        Parallel.forRanges(b * n, minimumPerThread: Swift.max(1, elementwiseGrain / Swift.max(width, 1))) { rows in
            for row in rows {
                let (bi, ni) = (row / n, row % n)
                for p in 0..<parts {
                    for h in 0..<heads {
                        body(p, h, row * width + (p * heads + h) * d, ((bi * heads + h) * n + ni) * d)
                    }
                }
            }
        }
    }
}
