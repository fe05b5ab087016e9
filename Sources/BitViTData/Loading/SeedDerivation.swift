import BitViTCore

/// Independent random streams derived from `(seed, purpose, epoch, index, variant)`, so every
/// random decision of the loader depends only on what it is about, never on thread timing.
enum SeedDerivation {
    enum Purpose: UInt64 {
        case shuffle = 0x5348_5546
        case sample = 0x5341_4D50
        case batch = 0x4241_5443
    }

    /// `variant` 0 adds nothing, so streams without variants stay what they always were.
    static func generator(seed: UInt64, purpose: Purpose, epoch: Int, index: Int, variant: Int = 0) -> RandomGenerator {
        var h = mix(seed ^ purpose.rawValue)
        h = mix(h ^ UInt64(bitPattern: Int64(epoch)))
        h = mix(h ^ UInt64(bitPattern: Int64(index)))
        if variant != 0 { h = mix(h ^ UInt64(bitPattern: Int64(variant)) ^ 0x5649_5349_5400_0000) }
        return RandomGenerator(seed: h)
    }

    /// SplitMix64's finalizer: a bijective, well-mixing hash of 64 bits.
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
