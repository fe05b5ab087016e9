import BitViTCore
import Foundation

/// timm's `Mixup` in its default per-batch mode: mixup and/or cutmix of a batch with its own
/// reverse (`x[i]` with `x[B−1−i]`), and label-smoothed soft targets.
///
/// With probability `probability` the batch is mixed: when both alphas are positive, cutmix is
/// chosen with probability `switchProbability`; λ ~ Beta(α, α) of the chosen method. Mixup
/// gives `λ·x + (1−λ)·flip(x)`. Cutmix pastes a box of `flip(x)` (side `√(1−λ)` of the image
/// centered uniformly and clipped, or sides in `cutmixMinMax` of the image placed inside it)
/// and, with `correctLambda`, resets λ to the unpasted fraction. Targets are
/// `λ·smooth(y) + (1−λ)·smooth(flip(y))` with `smooth` giving `1 − s + s/K` to the label and
/// `s/K` elsewhere, so every row sums to 1. An unmixed batch gets λ = 1 (smoothed one-hots).
public struct Mixup: Sendable {
    /// Beta parameter of mixup's λ (0: no mixup).
    public var mixupAlpha: Double
    /// Beta parameter of cutmix's λ (0: no cutmix unless `cutmixMinMax` is set).
    public var cutmixAlpha: Double
    /// Cutmix box sides as fractions of the image sides, instead of deriving them from λ.
    public var cutmixMinMax: ClosedRange<Double>?
    /// Probability that a batch is mixed at all.
    public var probability: Double
    /// Probability of cutmix rather than mixup when both are enabled.
    public var switchProbability: Double
    /// Whether cutmix's λ is reset to the fraction of the image left unpasted.
    public var correctLambda: Bool
    /// Label smoothing `s` of the soft targets.
    public var labelSmoothing: Double

    public init(mixupAlpha: Double = 0.8, cutmixAlpha: Double = 1.0, cutmixMinMax: ClosedRange<Double>? = nil,
                probability: Double = 1.0, switchProbability: Double = 0.5, correctLambda: Bool = true,
                labelSmoothing: Double = 0.1) {
        precondition(mixupAlpha >= 0 && cutmixAlpha >= 0 && (mixupAlpha > 0 || cutmixAlpha > 0 || cutmixMinMax != nil),
                     "Mixup needs a positive mixup or cutmix alpha")
        self.mixupAlpha = mixupAlpha
        self.cutmixAlpha = cutmixAlpha
        self.cutmixMinMax = cutmixMinMax
        self.probability = probability
        self.switchProbability = switchProbability
        self.correctLambda = correctLambda
        self.labelSmoothing = labelSmoothing
    }

    /// Mixes `batch.images` in place and sets `batch.targets` to `[B, classCount]`; returns λ.
    @discardableResult
    public func apply(to batch: inout Batch, classCount: Int, using rng: inout RandomGenerator) -> Double {
        let images = batch.images
        precondition(images.rank == 4, "Mixup expects images [B, C, H, W]")
        let (b, c, h, w) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
        var lambda = 1.0
        var useCutmix = false
        if rng.nextDouble() < probability {
            if mixupAlpha > 0 && cutmixAlpha > 0 {
                useCutmix = rng.nextDouble() < switchProbability
                lambda = useCutmix ? rng.beta(cutmixAlpha, cutmixAlpha) : rng.beta(mixupAlpha, mixupAlpha)
            } else if mixupAlpha > 0 {
                lambda = rng.beta(mixupAlpha, mixupAlpha)
            } else {
                useCutmix = true
                lambda = cutmixAlpha > 0 ? rng.beta(cutmixAlpha, cutmixAlpha) : 1
            }
        }
        if lambda != 1 {
            let original = images.copy()
            let sample = c * h * w
            if useCutmix {
                let box = cutmixBox(height: h, width: w, lambda: lambda, using: &rng)
                if correctLambda || cutmixMinMax != nil {
                    lambda = 1 - Double((box.bottom - box.top) * (box.right - box.left)) / Double(h * w)
                }
                for i in 0..<b {
                    let source = original.data + (b - 1 - i) * sample, target = images.data + i * sample
                    for plane in 0..<c {
                        for y in box.top..<box.bottom {
                            let offset = (plane * h + y) * w
                            for x in box.left..<box.right { target[offset + x] = source[offset + x] }
                        }
                    }
                }
            } else {
                let keep = Float(lambda), mix = Float(1 - lambda)
                for i in 0..<b {
                    let source = original.data + (b - 1 - i) * sample, target = images.data + i * sample
                    for k in 0..<sample { target[k] = target[k] * keep + source[k] * mix }
                }
            }
        }
        batch.targets = Self.softTargets(labels: batch.labels, classCount: classCount,
                                         lambda: lambda, smoothing: labelSmoothing)
        return lambda
    }

    /// `λ·smooth(y) + (1−λ)·smooth(reverse(y))` as `[B, classCount]` (timm's `mixup_target`).
    public static func softTargets(labels: [Int], classCount: Int, lambda: Double, smoothing: Double) -> Tensor {
        let off = smoothing / Double(classCount), on = 1 - smoothing + off
        let b = labels.count
        let targets = Tensor(shape: [b, classCount], repeating: 0)
        for i in 0..<b {
            let row = targets.data + i * classCount
            for k in 0..<classCount { row[k] = Float(off) }
            row[labels[i]] += Float(lambda * (on - off))
            row[labels[b - 1 - i]] += Float((1 - lambda) * (on - off))
        }
        return targets
    }

    /// The cutmix box `[top, bottom) × [left, right)`.
    func cutmixBox(height h: Int, width w: Int, lambda: Double,
                   using rng: inout RandomGenerator) -> (top: Int, bottom: Int, left: Int, right: Int) {
        if let minMax = cutmixMinMax {
            func side(_ n: Int) -> Int {
                let low = Int(Double(n) * minMax.lowerBound), high = Int(Double(n) * minMax.upperBound)
                return min(n - 1, rng.nextInt(in: low...max(low, high - 1)))
            }
            let cutH = side(h), cutW = side(w)
            let top = rng.nextInt(below: h - cutH), left = rng.nextInt(below: w - cutW)
            return (top, top + cutH, left, left + cutW)
        }
        let ratio = (1 - lambda).squareRoot()
        let cutH = Int(Double(h) * ratio), cutW = Int(Double(w) * ratio)
        let cy = rng.nextInt(below: h), cx = rng.nextInt(below: w)
        return (min(max(cy - cutH / 2, 0), h), min(max(cy + cutH / 2, 0), h),
                min(max(cx - cutW / 2, 0), w), min(max(cx + cutW / 2, 0), w))
    }
}
