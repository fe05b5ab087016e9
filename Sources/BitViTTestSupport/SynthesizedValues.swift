import BitViTCore
import Foundation

/// The rule `scripts/interop_fixtures.py` synthesizes parameters and inputs by, bit for bit:
/// `float32(low + (high − low)·u_i)`, `u_i = (fmix32(seed ^ (i·0x9E3779B9)) >> 8) / 2^24` in
/// double. The interop fixtures of full-size models (BHViT at 224, DeiT-S) commit this rule's
/// recipes (`NAME_recipe.json`: name, shape, low, high, seed per entry) instead of the weights.
public enum SynthesizedValues {
    static func fmix32(_ x: UInt32) -> UInt32 {
        var h = x
        h ^= h >> 16
        h = h &* 0x85EB_CA6B
        h ^= h >> 13
        h = h &* 0xC2B2_AE35
        h ^= h >> 16
        return h
    }

    public static func tensor(shape: [Int], low: Double, high: Double, seed: UInt32) -> Tensor {
        let n = shape.reduce(1, *)
        var values = [Float](repeating: 0, count: n)
        for i in 0..<n {
            let mixed = seed ^ UInt32(truncatingIfNeeded: UInt64(i) &* 0x9E37_79B9)
            let u = Double(fmix32(mixed) >> 8) / Double(1 << 24)
            values[i] = Float(low + (high - low) * u)
        }
        return Tensor(shape: shape, scalars: values)
    }

    /// The official state dict a recipe file (`NAME_recipe.json`) describes.
    public static func checkpoint(recipe url: URL) throws -> [String: Tensor] {
        guard let entries = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [[String: Any]] else {
            throw BitViTError.malformed(file: url.path, reason: "not a list of entries")
        }
        var state: [String: Tensor] = [:]
        for e in entries {
            guard let name = e["name"] as? String, let shape = e["shape"] as? [Int], let low = e["low"] as? Double,
                  let high = e["high"] as? Double, let seed = e["seed"] as? Int else {
                throw BitViTError.malformed(file: url.path, reason: "malformed entry \(e)")
            }
            state[name] = tensor(shape: shape, low: low, high: high, seed: UInt32(seed))
        }
        return state
    }

    /// The input batch an eval or step file's metadata describes (`input_shape`, `input_seed`,
    /// `input_low`, `input_high`).
    public static func input(_ metadata: [String: String]) throws -> Tensor {
        guard let shapeText = metadata["input_shape"], let seed = metadata["input_seed"].flatMap(UInt32.init),
              let low = metadata["input_low"].flatMap(Double.init), let high = metadata["input_high"].flatMap(Double.init) else {
            throw BitViTError.missing("input recipe metadata")
        }
        let shape = shapeText.split(separator: ",").compactMap { Int($0) }
        return tensor(shape: shape, low: low, high: high, seed: seed)
    }
}
