import Foundation

/// A seeded, reproducible pseudo-random generator (xoshiro256**, seeded through SplitMix64).
///
/// The full state is four words (`state`), so it can be saved in a checkpoint and restored to
/// continue the exact same sequence.
public struct RandomGenerator: RandomNumberGenerator, Sendable {
    /// The generator state; save and assign it to snapshot/restore the stream.
    public var state: (UInt64, UInt64, UInt64, UInt64)
    private var spareNormal: Float?

    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    /// The state as an array of four words (for serialization).
    public var stateWords: [UInt64] {
        get { [state.0, state.1, state.2, state.3] }
        set {
            precondition(newValue.count == 4, "RandomGenerator state has four words")
            state = (newValue[0], newValue[1], newValue[2], newValue[3])
            spareNormal = nil
        }
    }

    public mutating func next() -> UInt64 {
        let result = rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotl(state.3, 45)
        return result
    }

    @inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 - k))
    }

    /// Uniform in [0, 1) with 24 random bits.
    public mutating func nextUniform() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Uniform integer in `0..<bound`.
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0)
        return Int(next(upperBound: UInt64(bound)))
    }

    /// Standard normal sample (Box–Muller, both values used).
    public mutating func nextNormal() -> Float {
        if let s = spareNormal { spareNormal = nil; return s }
        var u1: Double
        repeat { u1 = Double(next() >> 11) * 0x1.0p-53 } while u1 <= 0
        let u2 = Double(next() >> 11) * 0x1.0p-53
        let r = (-2 * Foundation.log(u1)).squareRoot()
        spareNormal = Float(r * Foundation.sin(2 * .pi * u2))
        return Float(r * Foundation.cos(2 * .pi * u2))
    }

    /// A new generator whose stream is independent of this one (advances this one).
    public mutating func split() -> RandomGenerator {
        RandomGenerator(seed: next())
    }
}

// MARK: Random tensors

extension Tensor {
    /// Normal samples with the given mean and standard deviation.
    public static func randn(_ shape: [Int], mean: Float = 0, std: Float = 1,
                             using rng: inout RandomGenerator) -> Tensor {
        let t = Tensor(uninitialized: shape)
        for i in 0..<t.count { t.data[i] = mean + std * rng.nextNormal() }
        return t
    }

    /// Uniform samples in `[low, high)`.
    public static func uniform(_ shape: [Int], low: Float = 0, high: Float = 1,
                               using rng: inout RandomGenerator) -> Tensor {
        let t = Tensor(uninitialized: shape)
        for i in 0..<t.count { t.data[i] = low + (high - low) * rng.nextUniform() }
        return t
    }

    /// Normal samples redrawn until they fall in `[low, high]` (absolute bounds, as in timm's
    /// `trunc_normal_(std=.02)`, whose default bounds ±2 are far outside ±2·std).
    public static func truncatedNormal(_ shape: [Int], mean: Float = 0, std: Float = 1,
                                       low: Float = -2, high: Float = 2,
                                       using rng: inout RandomGenerator) -> Tensor {
        precondition(low < high && mean > low - 10 * std && mean < high + 10 * std,
                     "truncatedNormal: empty or unreachable interval")
        let t = Tensor(uninitialized: shape)
        for i in 0..<t.count {
            var v: Float
            repeat { v = mean + std * rng.nextNormal() } while v < low || v > high
            t.data[i] = v
        }
        return t
    }

    /// Kaiming (He) uniform init: `U(−b, b)` with `b = gain·√(3/fanIn)`,
    /// `gain = √(2/(1+a²))`. PyTorch's default Linear/Conv init is `a = √5`, i.e. `b = 1/√fanIn`.
    public static func kaimingUniform(_ shape: [Int], fanIn: Int, a: Float = Float(5).squareRoot(),
                                      using rng: inout RandomGenerator) -> Tensor {
        let gain = (2 / (1 + a * a)).squareRoot()
        let bound = gain * (3 / Float(fanIn)).squareRoot()
        return uniform(shape, low: -bound, high: bound, using: &rng)
    }

    /// Kaiming (He) normal init: `N(0, gain²/fanIn)` with `gain = √(2/(1+a²))` (`a = 0`: ReLU).
    public static func kaimingNormal(_ shape: [Int], fanIn: Int, a: Float = 0,
                                     using rng: inout RandomGenerator) -> Tensor {
        let gain = (2 / (1 + a * a)).squareRoot()
        return randn(shape, std: gain / Float(fanIn).squareRoot(), using: &rng)
    }
}
