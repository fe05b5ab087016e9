import BitViTCore
import BitViTExport
import BitViTImage
import BitViTModels
import BitViTRuntime
import BitViTTrain
import Foundation

/// Writes the seed corpora, `Fuzz/Corpus/<target>/<seed>`: small valid files of every kind a
/// target reads (tiny models of every family, checkpoints, images, data files, the recipes and
/// the PyTorch fixtures of the tests) and a few edge cases. Run from the repository root:
/// `bash scripts/fuzz seeds`.
@main
struct SeedCorpora {
    static let root = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    static let corpus = root.appendingPathComponent("Fuzz/Corpus")

    static func main() throws {
        try modelFiles()
        try checkpoints()
        try pyTorchFixtures()
        try dataFiles()
        try images()
        try recipes()
        try comparisons()
    }

    /// Writes `bytes` as `Corpus/<target>/<name>`.
    static func write(_ bytes: [UInt8], _ target: String, _ name: String) throws {
        let dir = corpus.appendingPathComponent(target)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data(bytes).write(to: dir.appendingPathComponent(name))
        print("\(target)/\(name): \(bytes.count) bytes")
    }

    // MARK: Models

    /// Tiny ViT geometry: 8×8 gray images, 4×4 patches (4 tokens), width 8, one block, 3 classes.
    static func vit(_ name: String, options: [String: String] = [:]) -> ModelSpec {
        ModelSpec(name: name, classes: 3, imageSize: 8, patchSize: 4, inChannels: 1, dim: 8, depth: 1, heads: 2,
                  mlpRatio: 2, options: options)
    }

    /// A BHViT at 18×18: a 5×5 stem to 14×14, one MSGDC stage (width 8), one MSMHA stage at 7×7
    /// (width 16, 2 heads).
    static let bhvit = BHViTConfig(imageSize: 18, stemKernel: 5, stemStride: 1,
                                   stages: [BHViTStage(mixer: .convolution, width: 8, depth: 1, mlpRatio: 2),
                                            BHViTStage(mixer: .attention, width: 16, depth: 1, mlpRatio: 2, heads: 2)],
                                   classes: 3)

    /// Exportable models: name, model description, and the model after one training-mode
    /// forward (data-derived quantizer scales), in evaluation mode.
    static func exportableModels() throws -> [(String, ModelSpec, any ImageClassifier)] {
        var models: [(String, ModelSpec, any ImageClassifier)] = []
        let specs = [("deit", vit("vit-mnist")), ("w1a1", vit("w1a1-vit-mnist")), ("gsb", vit("gsb-vit-mnist")),
                     ("qvit-w2", vit("qvit-vit-mnist", options: ["bits": "2"])),
                     ("qvit-w3", vit("qvit-vit-mnist", options: ["bits": "3"])),
                     ("qvit-w4", vit("qvit-vit-mnist", options: ["bits": "4"]))]
        for (name, spec) in specs { models.append((name, spec, try ModelZoo.make(spec, seed: 1))) }
        var bhvitSpec = ModelSpec(name: "bhvit-tiny-cifar", classes: 3)
        models.append(("bhvit", bhvitSpec, try BHViT(bhvit, seed: 1)))
        bhvitSpec.options["downsampling"] = "binary"
        var binary = bhvit
        binary.downsampling = .binary
        models.append(("bhvit-binary-downsampling", bhvitSpec, try BHViT(binary, seed: 1)))
        var rng = RandomGenerator(seed: 7)
        for (_, spec, model) in models {
            let side = spec.name.hasPrefix("bhvit") ? bhvit.imageSize : 8, channels = spec.name.hasPrefix("bhvit") ? 3 : 1
            model.train()
            _ = withNoGrad { model(Tensor.randn([2, channels, side, side], using: &rng)) }
            model.eval()
        }
        return models
    }

    static func modelFiles() throws {
        for (name, spec, model) in try exportableModels() {
            let bhvit = spec.name.hasPrefix("bhvit")
            let preprocessing = bhvit
                ? Preprocessing(imageSize: Self.bhvit.imageSize, channels: 3, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25])
                : Preprocessing(imageSize: 8, channels: 1, mean: [0.3], std: [0.35])
            let (metadata, tensors) = try ModelExporter.export(model, spec: spec, preprocessing: preprocessing,
                                                               classNames: ["a", "b", "c"])
            let bytes = try ModelFileWriter.encode(metadata: metadata, tensors: tensors)
            _ = try InferenceEngine(ModelFile(bytes: bytes))
            for target in ["model-file", "engine"] { try write(bytes, target, name + ".bitvit") }
            if name == "deit" {
                // Edge cases: the header alone, and the file cut inside its tensor table.
                try write(Array(bytes.prefix(ModelFileLayout.headerSize)), "model-file", "header-only")
                try write(Array(bytes.prefix(bytes.count / 2)), "model-file", "truncated")
            }
        }
    }

    // MARK: Checkpoints

    /// Checkpoints of the ViT families and Swin (a BHViT's geometry comes from its preset, whose
    /// smallest checkpoint is about 1 MB: too large a seed).
    static func checkpoints() throws {
        var models = try exportableModels().filter { !$0.1.name.hasPrefix("bhvit") }
        let swin = ModelSpec(name: "swin-mnist", classes: 3, imageSize: 8, patchSize: 2, inChannels: 1, dim: 8,
                             options: ["depths": "1,1", "heads": "1,2", "window": "2"])
        models.append(("swin", swin, try ModelZoo.make(swin, seed: 1)))
        var config = try TrainConfig.resolve(recipeText: nil)
        var state = TrainingState()
        state.epoch = 2
        state.bestTop1 = 0.5
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bitvit-fuzz-seeds-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for (name, spec, model) in models {
            config.model = spec
            let url = directory.appendingPathComponent(name + ".safetensors")
            try Checkpoint.save(to: url, kind: "best", model: model, modelSpec: spec, config: config, state: state)
            let bytes = [UInt8](try Data(contentsOf: url))
            _ = try Checkpoint.decode(Data(bytes), name: name).makeModel()
            try write(bytes, "checkpoint", name + ".safetensors")
            if ["deit", "gsb", "swin"].contains(name) { try write(bytes, "safetensors", name + ".safetensors") }
        }
        // A plain weights file (no BitViT metadata) and an empty one.
        try write([UInt8](try Safetensors.encode(["w": Tensor(shape: [2, 3], scalars: [1, -2, 3, 0.5, 0, -0.25])])), "safetensors", "plain.safetensors")
        try write([UInt8](try Safetensors.encode([:])), "safetensors", "empty.safetensors")
    }

    // MARK: PyTorch

    /// The PyTorch checkpoints and pickles of the checkpoint reader's tests (written by real
    /// `torch.save`; Tests/BitViTCoreTests/Fixtures/pytorch/README.md), hostile ones included.
    static func pyTorchFixtures() throws {
        let fixtures = root.appendingPathComponent("Tests/BitViTCoreTests/Fixtures/pytorch")
        for (subdirectory, target) in [("", "pytorch"), ("hostile", "pytorch"), ("pickles", "pickle")] {
            let dir = fixtures.appendingPathComponent(subdirectory)
            for name in try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
            where [".pt", ".pkl", ".safetensors"].contains(where: name.hasSuffix) {
                let bytes = [UInt8](try Data(contentsOf: dir.appendingPathComponent(name)))
                try write(bytes, target, (subdirectory.isEmpty ? "" : subdirectory + "-") + name)
            }
        }
    }

    // MARK: Data files

    static func dataFiles() throws {
        // IDX: three 4×5 images and their labels, raw and gzip-compressed.
        func be32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * $0)) } }
        let images = be32(2051) + be32(3) + be32(4) + be32(5) + (0..<60).map { UInt8($0 * 4) }
        let labels = be32(2049) + be32(3) + [0, 7, 9]
        try write(images, "idx", "images.idx")
        try write(labels, "idx", "labels.idx")
        try write(gzip(images), "idx", "images.idx.gz")
        try write(gzip(labels), "idx", "labels.idx.gz")
        // CIFAR: the first byte picks the layout (see Fuzz/Sources/cifar).
        let pixels = (0..<3072).map { UInt8(truncatingIfNeeded: $0 * 7) }
        try write([0] + [3] + pixels + [9] + pixels.reversed(), "cifar", "cifar10-2-records")
        try write([1] + [2, 57] + pixels, "cifar", "cifar100-1-record")
    }

    /// `bytes` compressed by the system's `gzip`.
    static func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gzip", "-9", "-n", "-c"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(bytes))
        try input.fileHandleForWriting.close()
        let compressed = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return [UInt8](compressed)
    }

    static func images() throws {
        func picture(_ height: Int, _ width: Int, _ channels: Int) -> Image {
            Image(height: height, width: width, channels: channels,
                  pixels: (0..<(height * width * channels)).map { UInt8(truncatingIfNeeded: $0 * 37 + $0 / 5) })
        }
        try write(picture(6, 8, 1).pngData(), "image", "gray.png")
        try write(picture(6, 8, 3).pngData(), "image", "rgb.png")
        try write(picture(5, 3, 4).pngData(), "image", "rgba.png")
        try write(picture(16, 16, 3).jpegData(quality: 80), "image", "rgb.jpg")
        try write(picture(9, 7, 1).jpegData(quality: 95), "image", "gray.jpg")
    }

    // MARK: Recipes

    static func recipes() throws {
        let dir = root.appendingPathComponent("recipes")
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() where name.hasSuffix(".yaml") {
            try write([UInt8](try Data(contentsOf: dir.appendingPathComponent(name))), "recipe", name)
        }
        // JSON, overrides (after NUL bytes), anchors and aliases, flow style.
        try write(Array(#"{"model": {"name": "vit-mnist", "classes": 10}, "optimizer": {"lr": 0.001}}"#.utf8), "recipe", "json")
        try write(Array("model:\n  name: gsb-vit-mnist\n  classes: 10\n".utf8) + [0] + Array("optimizer.lr=5e-4".utf8)
                  + [0] + Array("model.options.groups=3".utf8), "recipe", "overrides")
        try write(Array("defaults: &d {lr: 0.01, weight_decay: 0.05}\noptimizer: *d\n".utf8), "recipe", "alias")
        try write(Array("{model: {name: w1a1-vit-mnist, classes: 10, options: {estimator: approxsign}}, data: {batch_size: 8}}".utf8),
                  "recipe", "flow")
    }

    // MARK: Comparison plans and records

    /// The plans of `comparisons/` (selector byte 0) and their records (selector byte 1).
    static func comparisons() throws {
        let dir = root.appendingPathComponent("comparisons")
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() where name.hasSuffix(".yaml") {
            try write([0] + [UInt8](try Data(contentsOf: dir.appendingPathComponent(name))), "comparison", "plan-" + name)
        }
        let records = dir.appendingPathComponent("records")
        guard let files = FileManager.default.enumerator(atPath: records.path) else { return }
        for case let path as String in files where path.hasSuffix("seed-0.json") {
            try write([1] + [UInt8](try Data(contentsOf: records.appendingPathComponent(path))), "comparison",
                      "record-" + path.replacingOccurrences(of: "/", with: "-"))
        }
    }
}
