/// Conventions shared by GSB's "elastic" quantizers (docs/reference/gsb.md §3).
enum GSB {
    /// A scale is used as `s` if `s > 1e-5`, otherwise as 1e-5, in the forward and backward
    /// passes alike; its gradient is still reported unmasked.
    @inline(__always)
    static func floored(_ s: Float) -> Float { s > 1e-5 ? s : 1e-5 }

    /// Default thresholds for `groups` groups: GSB's 0.7 and 0.9 for three groups (group 2
    /// covers |x| beyond 0.7 of the extreme, group 3 beyond 0.9, docs/reference/gsb.md §2); evenly spaced
    /// ratios in (0.5, 1) otherwise.
    static func defaultThresholds(groups: Int) -> [Float] {
        switch groups {
        case 1: return []
        case 3: return [0.7, 0.9]
        default: return (1..<groups).map { 0.5 + 0.5 * Float($0) / Float(groups) }
        }
    }
}
