import BitViTCore
import Foundation

/// The draws the augmentations need, on BitViT's seeded generator (the equivalents of Python's
/// `random.random`, `random.uniform`, `random.randint`, `random.gauss` and NumPy's `beta`).
extension RandomGenerator {
    /// Uniform in [0, 1) with 53 random bits.
    mutating func nextDouble() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Uniform in [low, high).
    mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * nextDouble()
    }

    /// Uniform integer in `range` (both ends included, like Python's `random.randint`).
    mutating func nextInt(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + nextInt(below: range.upperBound - range.lowerBound + 1)
    }

    /// True with probability `p` (`random() < p`).
    mutating func chance(_ p: Double) -> Bool {
        nextDouble() < p
    }

    /// Normal sample with the given mean and standard deviation (Box–Muller, double precision).
    mutating func gaussian(mean: Double = 0, std: Double = 1) -> Double {
        var u1: Double
        repeat { u1 = nextDouble() } while u1 <= 0
        let u2 = nextDouble()
        return mean + std * (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }

    /// Gamma(shape, 1) sample (Marsaglia–Tsang; shapes below 1 boosted by `U^(1/shape)`).
    mutating func gamma(shape: Double) -> Double {
        precondition(shape > 0, "gamma shape must be positive")
        if shape < 1 {
            var u: Double
            repeat { u = nextDouble() } while u <= 0
            return gamma(shape: shape + 1) * pow(u, 1 / shape)
        }
        let d = shape - 1.0 / 3.0, c = 1 / (9 * d).squareRoot()
        while true {
            let x = gaussian()
            let v = pow(1 + c * x, 3)
            guard v > 0 else { continue }
            let u = nextDouble()
            if u > 0 && log(u) < 0.5 * x * x + d - d * v + d * log(v) { return d * v }
        }
    }

    /// Beta(a, b) sample.
    mutating func beta(_ a: Double, _ b: Double) -> Double {
        let x = gamma(shape: a), y = gamma(shape: b)
        return x / (x + y)
    }
}
