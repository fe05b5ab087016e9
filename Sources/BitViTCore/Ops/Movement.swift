// Shape and data-movement ops: reshape (a view), permute, expand, concatenate, slice, gather.

extension Tensor {
    /// The same elements viewed with a new shape (no copy). One extent may be −1 (inferred).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var target = newShape
        if let i = target.firstIndex(of: -1) {
            let known = target.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            target[i] = count / known
        }
        precondition(shapeCount(target) == count, "cannot reshape \(shape) (\(count) elements) to \(newShape)")
        if target == shape && !requiresGrad { return self }
        let out = Tensor(shape: target, storage: storage, offset: storageOffset)
        return Autograd.record(out, op: "reshape", inputs: [self]) { g in [g.reshaped(self.shape)] }
    }

    /// Inserts an axis of extent 1 at `axis`.
    public func unsqueezed(_ axis: Int) -> Tensor {
        let a = axis < 0 ? axis + rank + 1 : axis
        var s = shape
        s.insert(1, at: a)
        return reshaped(s)
    }

    /// Removes the axis `axis`, which must have extent 1.
    public func squeezed(_ axis: Int) -> Tensor {
        let a = normalizeAxis(axis, rank: rank)
        precondition(shape[a] == 1, "squeezed(\(axis)): extent is \(shape[a])")
        var s = shape
        s.remove(at: a)
        return reshaped(s)
    }

    /// Merges axes `start...end` into one.
    public func flattened(from start: Int = 0, to end: Int = -1) -> Tensor {
        let s = normalizeAxis(start, rank: rank), e = normalizeAxis(end, rank: rank)
        let merged = shape[s...e].reduce(1, *)
        return reshaped(Array(shape[..<s]) + [merged] + Array(shape[(e + 1)...]))
    }

    /// Reorders axes: output axis i is input axis `axes[i]` (a copy).
    public func permuted(_ axes: [Int]) -> Tensor {
        precondition(axes.count == rank && Set(axes) == Set(0..<rank), "bad permutation \(axes) for rank \(rank)")
        if axes == Array(0..<rank) { return reshaped(shape) }
        let outShape = axes.map { shape[$0] }
        let inStrides = contiguousStrides(shape)
        let out = Tensor(uninitialized: outShape)
        stridedCopy(from: data, strides: axes.map { inStrides[$0] }, shape: outShape, to: out.data)
        var inverse = [Int](repeating: 0, count: rank)
        for (i, a) in axes.enumerated() { inverse[a] = i }
        return Autograd.record(out, op: "permute", inputs: [self]) { g in [g.permuted(inverse)] }
    }

    /// Swaps two axes (a copy).
    public func transposed(_ a: Int = -2, _ b: Int = -1) -> Tensor {
        var axes = Array(0..<rank)
        axes.swapAt(normalizeAxis(a, rank: rank), normalizeAxis(b, rank: rank))
        return permuted(axes)
    }

    /// Broadcasts to `target` (a copy); the gradient is summed back.
    public func expanded(to target: [Int]) -> Tensor {
        if target == shape { return self }
        precondition(broadcastShape(shape, target) == target, "cannot expand \(shape) to \(target)")
        let padded = [Int](repeating: 1, count: target.count - rank) + shape
        var strides = contiguousStrides(padded)
        for i in 0..<target.count where padded[i] == 1 { strides[i] = 0 }
        let full = Tensor(uninitialized: target)
        stridedCopy(from: data, strides: strides, shape: target, to: full.data)
        return Autograd.record(full, op: "expand", inputs: [self]) { g in [g.sumToShape(self.shape)] }
    }

    /// Elements `range` of axis `axis`. A view when only leading axes precede it with extent 1
    /// or when slicing axis 0; otherwise a copy.
    public func slice(axis: Int, _ range: Range<Int>) -> Tensor {
        let a = normalizeAxis(axis, rank: rank)
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[a],
                     "slice \(range) out of bounds for axis \(a) of \(shape)")
        var outShape = shape
        outShape[a] = range.count
        let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *)
        let out: Tensor
        if outer == 1 {
            out = Tensor(shape: outShape, storage: storage, offset: storageOffset + range.lowerBound * inner)
        } else {
            out = Tensor(uninitialized: outShape)
            let n = range.count * inner, src = data, dst = out.data
            Parallel.forRanges(outer, minimumPerThread: Swift.max(1, elementwiseGrain / Swift.max(n, 1))) { r in
                for o in r {
                    (dst + o * n).update(from: src + (o * self.shape[a] + range.lowerBound) * inner, count: n)
                }
            }
        }
        return Autograd.record(out, op: "slice", inputs: [self]) { g in
            let dx = Tensor.zeros(self.shape)
            let n = range.count * inner
            for o in 0..<outer {
                (dx.data + (o * self.shape[a] + range.lowerBound) * inner).update(from: g.data + o * n, count: n)
            }
            return [dx]
        }
    }

    /// Splits into consecutive pieces of the given extents along `axis`.
    public func split(sizes: [Int], axis: Int) -> [Tensor] {
        var start = 0
        return sizes.map { n in defer { start += n }; return slice(axis: axis, start..<(start + n)) }
    }

    /// Concatenates tensors that agree on every axis but `axis`.
    public static func concatenate(_ tensors: [Tensor], axis: Int) -> Tensor {
        precondition(!tensors.isEmpty, "concatenate of nothing")
        let first = tensors[0]
        let a = normalizeAxis(axis, rank: first.rank)
        for t in tensors {
            precondition(t.rank == first.rank && t.shape.enumerated().allSatisfy { $0.offset == a || $0.element == first.shape[$0.offset] },
                         "concatenate: shapes \(tensors.map(\.shape)) differ off axis \(a)")
        }
        var outShape = first.shape
        outShape[a] = tensors.map { $0.shape[a] }.reduce(0, +)
        let outer = first.shape[..<a].reduce(1, *), inner = first.shape[(a + 1)...].reduce(1, *)
        let out = Tensor(uninitialized: outShape)
        let rowOut = outShape[a] * inner
        var offset = 0
        for t in tensors {
            let n = t.shape[a] * inner
            for o in 0..<outer { (out.data + o * rowOut + offset).update(from: t.data + o * n, count: n) }
            offset += n
        }
        return Autograd.record(out, op: "concatenate", inputs: tensors) { g in
            var start = 0
            return tensors.map { t in
                defer { start += t.shape[a] }
                return t.requiresGrad ? g.slice(axis: a, start..<(start + t.shape[a])) : nil
            }
        }
    }

    /// Stacks equal-shaped tensors along a new axis.
    public static func stack(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        concatenate(tensors.map { $0.unsqueezed(axis) }, axis: axis)
    }

    /// Selects entries `indices` along `axis` (PyTorch `index_select`); indices may repeat.
    public func indexSelect(axis: Int, indices: [Int]) -> Tensor {
        let a = normalizeAxis(axis, rank: rank)
        let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *), n = shape[a]
        for i in indices { precondition(i >= 0 && i < n, "index \(i) out of range 0..<\(n)") }
        var outShape = shape
        outShape[a] = indices.count
        let out = Tensor(uninitialized: outShape)
        for o in 0..<outer {
            for (j, i) in indices.enumerated() {
                (out.data + (o * indices.count + j) * inner).update(from: data + (o * n + i) * inner, count: inner)
            }
        }
        return Autograd.record(out, op: "indexSelect", inputs: [self]) { g in
            let dx = Tensor.zeros(self.shape)
            for o in 0..<outer {
                for (j, i) in indices.enumerated() {
                    let d = dx.data + (o * n + i) * inner, s = g.data + (o * indices.count + j) * inner
                    for k in 0..<inner { d[k] += s[k] }
                }
            }
            return [dx]
        }
    }

    /// PyTorch `gather`: `out[…, j, …] = self[…, indices[…, j, …], …]` along `axis`, where
    /// `indices` (row-major, shape `indexShape`) matches `self` on every other axis.
    public func gather(axis: Int, indices: [Int], indexShape: [Int]) -> Tensor {
        let a = normalizeAxis(axis, rank: rank)
        precondition(indexShape.count == rank && shapeCount(indexShape) == indices.count,
                     "gather: index shape \(indexShape) does not fit \(shape)")
        for (i, d) in indexShape.enumerated() where i != a {
            precondition(d == shape[i], "gather: index shape \(indexShape) ≠ \(shape) off axis \(a)")
        }
        let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *)
        let n = shape[a], m = indexShape[a]
        let out = Tensor(uninitialized: indexShape)
        for o in 0..<outer {
            for j in 0..<m {
                for k in 0..<inner {
                    let idx = indices[(o * m + j) * inner + k]
                    precondition(idx >= 0 && idx < n, "gather: index \(idx) out of range 0..<\(n)")
                    out.data[(o * m + j) * inner + k] = data[(o * n + idx) * inner + k]
                }
            }
        }
        return Autograd.record(out, op: "gather", inputs: [self]) { g in
            let dx = Tensor.zeros(self.shape)
            for o in 0..<outer {
                for j in 0..<m {
                    for k in 0..<inner {
                        let idx = indices[(o * m + j) * inner + k]
                        dx.data[(o * n + idx) * inner + k] += g.data[(o * m + j) * inner + k]
                    }
                }
            }
            return [dx]
        }
    }

    /// Circular shift along `axis` by `shift` (PyTorch `roll`): `out[i] = self[(i − shift) mod n]`.
    public func rolled(by shift: Int, axis: Int) -> Tensor {
        let a = normalizeAxis(axis, rank: rank)
        let n = shape[a]
        guard n > 0 else { return reshaped(shape) }
        let s = ((shift % n) + n) % n
        let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *)
        let out = Tensor(uninitialized: shape)
        let src = data, dst = out.data
        Parallel.forRanges(outer, minimumPerThread: Swift.max(1, elementwiseGrain / Swift.max(1, n * inner))) { r in
            for o in r {
                let base = o * n * inner
                // Two contiguous blocks: the tail moves to the front.
                (dst + base + s * inner).update(from: src + base, count: (n - s) * inner)
                (dst + base).update(from: src + base + (n - s) * inner, count: s * inner)
            }
        }
        return Autograd.record(out, op: "roll", inputs: [self]) { g in [g.rolled(by: -shift, axis: a)] }
    }
}

/// Copies a strided source into a contiguous destination of `shape` (row-major walk).
func stridedCopy(from src: UnsafePointer<Float>, strides: [Int], shape: [Int],
                 to dst: UnsafeMutablePointer<Float>) {
    let rank = shape.count
    guard rank > 0 else { dst[0] = src[0]; return }
    let inner = shape[rank - 1], innerStride = strides[rank - 1]
    let rows = shape.dropLast().reduce(1, *)
    let outerShape = Array(shape.dropLast()), outerStrides = Array(strides.dropLast())
    Parallel.forRanges(rows, minimumPerThread: Swift.max(1, elementwiseGrain / Swift.max(inner, 1))) { range in
        for r in range {
            var rem = r, off = 0
            var i = outerShape.count - 1
            while i >= 0 {
                off += (rem % outerShape[i]) * outerStrides[i]
                rem /= outerShape[i]
                i -= 1
            }
            let s = src + off, d = dst + r * inner
            if innerStride == 1 {
                d.update(from: s, count: inner)
            } else {
                for j in 0..<inner { d[j] = s[j * innerStride] }
            }
        }
    }
}
