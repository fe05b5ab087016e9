/// Zeroes each element with probability `p` in training and rescales the rest by 1/(1−p).
public final class Dropout: Module, Layer {
    public let p: Float
    let random: RandomSource

    public init(_ p: Float, random: RandomSource) {
        precondition(p >= 0 && p < 1, "dropout probability must be in [0, 1)")
        self.p = p
        self.random = random
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        guard isTraining && p > 0 else { return x }
        return x * random.keepMask(x.shape, keep: 1 - p)
    }
}

/// Stochastic depth: drops a residual branch for a whole sample with probability `p` in
/// training and rescales kept samples by 1/(1−p) (timm `DropPath`). Input `[B, ...]`.
public final class DropPath: Module, Layer {
    public let p: Float
    let random: RandomSource

    public init(_ p: Float, random: RandomSource) {
        precondition(p >= 0 && p < 1, "drop-path probability must be in [0, 1)")
        self.p = p
        self.random = random
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        guard isTraining && p > 0 else { return x }
        var shape = [Int](repeating: 1, count: x.rank)
        shape[0] = x.shape[0]
        return x * random.keepMask(shape, keep: 1 - p)
    }
}

extension RandomSource {
    /// Inverted-dropout mask of `shape`: each element is 1/`keep` with probability `keep`, else 0.
    func keepMask(_ shape: [Int], keep: Float) -> Tensor {
        let mask = Tensor(uninitialized: shape)
        for i in 0..<mask.count { mask.data[i] = generator.nextUniform() < keep ? 1 / keep : 0 }
        return mask
    }
}
