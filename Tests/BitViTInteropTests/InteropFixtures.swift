import Foundation
import XCTest
import BitViTCore
import BitViTModels
import BitViTInterop
import BitViTTestSupport

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
        try SynthesizedValues.checkpoint(recipe: url(name + "_recipe.json"))
    }

    /// The synthesized input batch described by an eval or step file's metadata.
    static func synthesizedInput(_ metadata: [String: String]) throws -> Tensor {
        try SynthesizedValues.input(metadata)
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
