import Foundation
import XCTest
import BitViTCore
import BitViTModels
import BitViTInterop

/// The fixtures `scripts/interop_fixtures.py` wrote from the official code (see its header).
enum InteropFixtures {
    static let directory = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")

    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    static func safetensors(_ name: String) throws -> Safetensors.File {
        try Safetensors.load(url(name + ".safetensors"))
    }

    /// The official model state dict of a committed case, read from the checkpoint the official
    /// script saved (`NAME.pth`).
    static func checkpoint(_ name: String) throws -> [String: Tensor] {
        try pytorch(name).state
    }

    /// The `model` state dict of `NAME.pth` and the checkpoint's other sections (optimizer,
    /// scheduler, EMA copy, arguments) as the import report lists them.
    static func pytorch(_ name: String) throws -> (state: [String: Tensor], dropped: [(name: String, reason: String)]) {
        let weights = try PyTorchCheckpoint.load(url(name + ".pth")).stateDict()
        return (weights.float32(), weights.ignored.map { ($0.key, $0.summary) })
    }

    /// The official state dict of a synthesized case, rebuilt from its recipe.
    static func synthesizedCheckpoint(_ name: String) throws -> [String: Tensor] {
        let data = try Data(contentsOf: url(name + "_recipe.json"))
        guard let entries = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
            throw BitViTError.invalidArgument("\(name)_recipe.json is not a list of entries")
        }
        var state: [String: Tensor] = [:]
        for e in entries {
            guard let name = e["name"] as? String, let shape = e["shape"] as? [Int], let low = e["low"] as? Double,
                  let high = e["high"] as? Double, let seed = e["seed"] as? Int else {
                throw BitViTError.invalidArgument("malformed recipe entry \(e)")
            }
            state[name] = SynthesizedValues.tensor(shape: shape, low: low, high: high, seed: UInt32(seed))
        }
        return state
    }

    /// The synthesized input batch described by an eval or step file's metadata.
    static func synthesizedInput(_ metadata: [String: String]) throws -> Tensor {
        guard let shapeText = metadata["input_shape"], let seed = metadata["input_seed"].flatMap(UInt32.init),
              let low = metadata["input_low"].flatMap(Double.init), let high = metadata["input_high"].flatMap(Double.init) else {
            throw BitViTError.missing("input recipe metadata")
        }
        let shape = shapeText.split(separator: ",").compactMap { Int($0) }
        return SynthesizedValues.tensor(shape: shape, low: low, high: high, seed: seed)
    }
}

/// The generator's rule for synthesized parameters, bit for bit:
/// `float32(low + (high − low)·u_i)`, `u_i = (fmix32(seed ^ (i·0x9E3779B9)) >> 8) / 2^24` in double.
enum SynthesizedValues {
    static func fmix32(_ x: UInt32) -> UInt32 {
        var h = x
        h ^= h >> 16
        h = h &* 0x85EB_CA6B
        h ^= h >> 13
        h = h &* 0xC2B2_AE35
        h ^= h >> 16
        return h
    }

    static func tensor(shape: [Int], low: Double, high: Double, seed: UInt32) -> Tensor {
        let n = shape.reduce(1, *)
        var values = [Float](repeating: 0, count: n)
        for i in 0..<n {
            let mixed = seed ^ UInt32(truncatingIfNeeded: UInt64(i) &* 0x9E37_79B9)
            let u = Double(fmix32(mixed) >> 8) / Double(1 << 24)
            values[i] = Float(low + (high - low) * u)
        }
        return Tensor(shape: shape, scalars: values)
    }
}

/// Largest absolute difference and its scale.
struct Difference {
    var maxAbs: Float
    var maxReference: Float
    var relative: Float { maxReference > 0 ? maxAbs / maxReference : maxAbs }

    init(_ a: Tensor, _ b: Tensor) {
        precondition(a.count == b.count, "comparing \(a.shape) with \(b.shape)")
        var d: Float = 0, r: Float = 0
        let (x, y) = (a.scalars, b.scalars)
        for i in 0..<x.count {
            d = max(d, abs(x[i] - y[i]))
            r = max(r, abs(y[i]))
        }
        maxAbs = d
        maxReference = r
    }
}

/// Per-row arg-max of `[B, C]` logits.
func topClasses(_ logits: Tensor) -> [Int] {
    let (b, c) = (logits.shape[0], logits.shape[1])
    let v = logits.scalars
    return (0..<b).map { i in (0..<c).max { v[i * c + $0] < v[i * c + $1] }! }
}
