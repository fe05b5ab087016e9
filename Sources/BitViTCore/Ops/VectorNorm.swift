extension Tensor {
    /// Euclidean (Frobenius) norm over `axes`: `√Σ x²`; with `keepDims` the reduced axes stay
    /// with extent 1.
    ///
    /// The gradient is `x/‖x‖`, defined as 0 where the norm is 0 (the subgradient a distance
    /// loss needs when two normalized matrices coincide), where composing `sqrt` would give NaN.
    public func l2Norm(axes: [Int], keepDims: Bool = false) -> Tensor {
        let set = Set(axes.map { normalizeAxis($0, rank: rank) })
        let norms = withNoGrad { square().sum(axes: Array(set), keepDims: true).sqrt() }
        let outShape = keepDims ? norms.shape : shape.enumerated().filter { !set.contains($0.offset) }.map(\.element)
        let out = norms.copy().reshaped(outShape)
        return Autograd.record(out, op: "l2Norm", inputs: [self]) { g in
            let scale = Tensor.zipMap(g.reshaped(norms.shape), norms) { $1 > 0 ? $0 / $1 : 0 }
            return [self * scale]
        }
    }

    /// Euclidean norm of all elements, rank 0.
    public func l2Norm() -> Tensor { l2Norm(axes: Array(0..<rank)) }
}
