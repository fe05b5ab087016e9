extension Tensor {
    /// The index and value of the first NaN or infinite element, or nil when all are finite.
    public var firstNonFinite: (index: Int, value: Float)? {
        let p = data
        for i in 0..<count where !p[i].isFinite { return (i, p[i]) }
        return nil
    }
}

/// The first tensor of `tensors` (by name) holding a NaN or infinity, as
/// "tensor 'name' holds nan at index 17", or nil.
public func nonFiniteTensorProblem(_ tensors: [String: Tensor]) -> String? {
    for name in tensors.keys.sorted() {
        if let (i, v) = tensors[name]!.firstNonFinite { return "tensor '\(name)' holds \(v) at index \(i)" }
    }
    return nil
}
