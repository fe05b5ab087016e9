/// Whole-tensor statistics for initializations and diagnostics (no autograd).
extension Tensor {
    /// mean(|x|) over every element (double accumulation).
    var meanAbsolute: Double {
        Double(withNoGrad { abs().sum() }.item()) / Double(Swift.max(count, 1))
    }

    /// Fraction of the elements for which `predicate` holds.
    func fraction(where predicate: (Float) -> Bool) -> Double {
        let p = data
        var hits = 0
        for i in 0..<count where predicate(p[i]) { hits += 1 }
        return Double(hits) / Double(Swift.max(count, 1))
    }
}
