import BitViTTools
import BitViTData
import BitViTTrain
import Foundation

/// Small files the tool tests run on, made once per process: an image folder of two classes of
/// 28×28 RGB images (a bright square bottom right or top left), and a one-epoch training run
/// per model on it (checkpoints, metrics, curves).
enum ToolFixtures {
    static func temporaryDirectory(_ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bitvit-tools-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A comparison plan read from `text` written to `plan.yaml` in a fresh directory.
    static func plan(_ text: String) throws -> ComparisonPlan {
        let url = try temporaryDirectory("plan").appendingPathComponent("plan.yaml")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return try ComparisonPlan.load(url)
    }

    static let classNames = ["bottom-right", "top-left"]

    /// One image of class `label`, varied by `index`.
    static func image(label: Int, index: Int) -> Image {
        var picture = Image(height: 28, width: 28, channels: 3, repeating: UInt8(20 + 7 * index))
        let origin = label == 0 ? 15 + index % 3 : 2 + index % 3
        for y in origin..<(origin + 10) { for x in origin..<(origin + 10) { for c in 0..<3 { picture[y, x, c] = UInt8(150 + 40 * c) } } }
        return picture
    }

    /// `<root>/{train,test}/<class>/<n>.png`: 8 training and 4 test images per class.
    static let imageFolder: URL = {
        let root = try! temporaryDirectory("images")
        for (split, count) in [("train", 8), ("test", 4)] {
            for (label, name) in classNames.enumerated() {
                let dir = root.appendingPathComponent("\(split)/\(name)")
                try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                for i in 0..<count {
                    try! Data(try! image(label: label, index: i + (split == "test" ? 8 : 0)).pngData())
                        .write(to: dir.appendingPathComponent("\(i).png"))
                }
            }
        }
        return root
    }()

    /// A recipe training `model` (28×28×3, patch 7, width 32, one block) for one epoch on the
    /// image folder, in `output`.
    static func config(model: String, output: URL) throws -> TrainConfig {
        try TrainConfig.resolve(recipeText: """
            name: \(model)
            model: {name: \(model), classes: 2, image_size: 28, in_channels: 3, patch_size: 7, dim: 32, depth: 1, heads: 2, mlp_ratio: 2}
            data: {dataset: image-folder, root: \(imageFolder.path), batch_size: 4}
            optimizer: {lr: 1e-3}
            training: {epochs: 1, output: \(output.path)}
            """)
    }

    /// A finished one-epoch run and its directory.
    struct Run {
        let config: TrainConfig
        let directory: URL
        let outcome: TrainingSession.Outcome
        var best: String { directory.appendingPathComponent("best.safetensors").path }
    }

    static func train(_ model: String) -> Run {
        let output = try! temporaryDirectory("runs")
        let config = try! config(model: model, output: output)
        var session = TrainingSession(config: config, runDirectory: nil, observer: nil)
        let outcome = try! session.run()
        return Run(config: config, directory: session.runDirectory, outcome: outcome)
    }

    /// A full-precision DeiT and a GSB stage-2 model, each trained for one epoch.
    static let deit = train("vit-mnist")
    static let gsb = train("gsb-vit-mnist")
}
