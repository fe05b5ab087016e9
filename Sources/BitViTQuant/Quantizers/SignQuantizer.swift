/// Activation binarizer `y = sgn(x)` (sgn(0) = 0) with a choice of gradient estimator and no
/// learnable parameters: the common baselines.
///
/// - `.clippedIdentity`: the straight-through estimator clipped to the window,
///   `dx = dy·[|x| ≤ 1]` (BNN / XNOR-Net).
/// - `.approxSign`: Bi-Real Net's piecewise-polynomial estimator,
///   `dx = dy·(2 − 2|x|)·[|x| ≤ 1]` (BHViT's activation sign, docs/reference/bhvit.md §6.1).
public final class SignQuantizer: Quantizer {
    public enum Estimator: String, Sendable { case clippedIdentity, approxSign }
    public let estimator: Estimator

    public init(estimator: Estimator = .clippedIdentity) {
        self.estimator = estimator
        super.init(bitWidth: 1)
    }

    public override func quantize(_ x: Tensor, initializing: Bool) -> Tensor {
        Self.sign(x, estimator: estimator)
    }

    public override func straightThroughFraction(of x: Tensor) -> Double? {
        x.fraction { Swift.abs($0) <= 1 }
    }

    /// `sgn(x)` with the backward rule of `estimator`.
    static func sign(_ x: Tensor, estimator: Estimator) -> Tensor {
        let src = x.data
        let y = Tensor(uninitialized: x.shape)
        let dst = y.data
        Parallel.forRanges(x.count, minimumPerThread: elementwiseGrain) { r in
            for i in r { dst[i] = signum(src[i]) }
        }
        return Autograd.record(y, op: "sign.\(estimator.rawValue)", inputs: [x]) { dy in
            let dx = Tensor(uninitialized: x.shape)
            let xv = x.data, g = dy.data, d = dx.data
            // Branch-free forms of the windows (the sign of x is unpredictable, so branches
            // stall): 2 − 2|x| is negative exactly outside |x| ≤ 1.
            Parallel.forRanges(x.count, minimumPerThread: elementwiseGrain) { r in
                switch estimator {
                case .clippedIdentity:
                    for i in r { d[i] = g[i] * (Swift.abs(xv[i]) <= 1 ? 1 : 0) }
                case .approxSign:
                    for i in r { d[i] = g[i] * Swift.max(2 - 2 * Swift.abs(xv[i]), 0) }
                }
            }
            return [dx]
        }
    }
}
