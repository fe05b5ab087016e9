import BitViTCore
import BitViTExport
import BitViTRuntime
import BitViTModels
import BitViTQuant
import Foundation
import Testing

/// Small models of every exported family on Fashion-MNIST geometry (28×28×1, patch 7: 16 patches),
/// with data-derived quantizer scales and non-zero learnable shifts, and their export.
enum EngineTestModels {
    /// Model names and options per family.
    static let specs: [(family: ExportFamily, spec: ModelSpec)] = [
        (.deit, spec("vit-mnist")),
        (.binaryBaseline, spec("w1a1-vit-mnist")),
        (.gsb, spec("gsb-vit-mnist")),
        (.qvit, spec("qvit-vit-mnist", options: ["bits": "2"])),
        (.qvit, spec("qvit-vit-mnist", options: ["bits": "3"])),
        (.qvit, spec("qvit-vit-mnist", options: ["bits": "4"])),
    ]

    static func spec(_ name: String, options: [String: String] = [:]) -> ModelSpec {
        ModelSpec(name: name, classes: 10, patchSize: 7, dim: 32, depth: 2, heads: 2, mlpRatio: 2, options: options)
    }

    static let preprocessing = Preprocessing(imageSize: 28, channels: 1, mean: [0.2860], std: [0.3530])
    static let classNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    /// The model of `spec` after one training-mode forward on random images (so lazily
    /// initialized scales are data-derived), with biases, learnable shifts, attention biases and
    /// zero points moved away from their zero initialization and Q-ViT's per-channel steps
    /// spread (×e^(0.3·N(0,1))), as training leaves them; in evaluation mode. (With zero biases, binary products of an even K are often exactly 0,
    /// and the sign of such a tie depends on the float summation order of the training graph.)
    static func model(_ spec: ModelSpec, seed: UInt64 = 3) throws -> any ImageClassifier {
        let model = try ModelZoo.make(spec, seed: seed)
        var rng = RandomGenerator(seed: seed &+ 11)
        model.train()
        _ = withNoGrad { model(Tensor.randn([8, 1, 28, 28], using: &rng)) }
        for (name, t) in model.namedParameters() {
            // Trained per-channel steps differ from channel to channel (the lazy initialization
            // gives them one value, under which folding them into the weights is exact).
            if name.hasSuffix("alpha") && t.count > 1 && spec.name.hasPrefix("qvit") {
                for i in 0..<t.count { t.data[i] *= Float(exp(0.3 * Double(rng.nextNormal()))) }
                continue
            }
            let std: Float = name.hasSuffix("zero_point") ? 0.7
                : (name.contains("shift") || name.hasSuffix("attention_bias") || name.hasSuffix(".bias") ? 0.05 : 0)
            guard std > 0 else { continue }
            for i in 0..<t.count { t.data[i] += std * rng.nextNormal() }
        }
        model.eval()
        return model
    }

    /// The exported bytes of `model`.
    static func export(_ model: any ImageClassifier, _ spec: ModelSpec) throws -> [UInt8] {
        let (metadata, tensors) = try ModelExporter.export(model, spec: spec, preprocessing: preprocessing, classNames: classNames)
        return try ModelFileWriter.encode(metadata: metadata, tensors: tensors)
    }

    /// The first 64 Fashion-MNIST test images, normalized, `[64, 1, 28, 28]`, and their labels.
    static func fashionMNIST() throws -> (images: Tensor, labels: [Int]) {
        let url = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/fashion-mnist-test-64.bin")
        let bytes = [UInt8](try Data(contentsOf: url))
        let n = 64
        let pixels = bytes[n...].map { (Float($0) / 255 - 0.2860) / 0.3530 }
        return (Tensor(shape: [n, 1, 28, 28], scalars: Array(pixels)), bytes[..<n].map(Int.init))
    }
}
