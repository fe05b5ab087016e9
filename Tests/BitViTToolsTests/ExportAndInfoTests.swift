import BitViTData
import BitViTExport
import BitViTModels
import BitViTRuntime
import BitViTTools
import BitViTTrain
import Foundation
import Testing

@Suite("bitvit export and info")
struct ExportAndInfoTests {
    @Test("A checkpoint exports with its data set's preprocessing and class names; the summary names the file")
    func exportCheckpoint() throws {
        let run = ToolFixtures.gsb
        let dir = try ToolFixtures.temporaryDirectory("export")
        let path = dir.appendingPathComponent("gsb.bitvit").path
        let summary = try CheckpointExport.export(checkpoint: run.best, to: path)
        let file = try ModelFile(contentsOf: URL(fileURLWithPath: path))
        #expect(summary.family == .gsb && file.metadata.family == .gsb)
        #expect(file.metadata.classNames == ToolFixtures.classNames)
        #expect(file.metadata.source == run.best)
        #expect(file.metadata.preprocessing == Preprocessing(imageSize: 28, channels: 3, mean: Normalization.imagenet.mean,
                                                             std: Normalization.imagenet.std))
        #expect(try file.metadata.modelSpec() == run.config.model)
        let lines = summary.text.split(separator: "\n").map(String.init)
        #expect(lines[0] == "\(path): gsb model 'gsb-vit-mnist', \(file.tensors.count) tensors, \(grouped(file.fileSize)) bytes")
        #expect(Array(lines.dropFirst()) == storageTable(ModelCost(file: file)).split(separator: "\n").map(String.init))
        #expect(lines.contains { $0.hasPrefix("1-bit") } && lines.contains { $0.hasPrefix("int8") })

        let renamed = try CheckpointExport.export(checkpoint: run.best, to: path, classNames: ["a", "b"])
        #expect(try ModelFile(contentsOf: URL(fileURLWithPath: renamed.path)).metadata.classNames == ["a", "b"])
        #expect(throws: BitViTError.self) { try CheckpointExport.export(checkpoint: run.best, to: path, classNames: ["a"]) }
    }

    @Test("The exported preprocessing is the recipe's: data.normalization, one-channel statistics repeated, ImageNet without a recipe")
    func preprocessing() throws {
        let dir = try ToolFixtures.temporaryDirectory("preprocessing")
        var config = ToolFixtures.deit.config
        let model = try ModelZoo.make(config.model)
        func saved(_ config: TrainConfig?, _ name: String) throws -> Checkpoint {
            let url = dir.appendingPathComponent(name)
            try Checkpoint.save(to: url, kind: "last", model: model, modelSpec: ToolFixtures.deit.config.model, config: config, state: nil)
            return try Checkpoint.load(url)
        }
        config.data.normalization = "cifar10"
        #expect(try CheckpointExport.preprocessing(saved(config, "a.safetensors"))
                == Preprocessing(imageSize: 28, channels: 3, mean: Normalization.cifar10.mean, std: Normalization.cifar10.std))
        config.data.normalization = "mnist"
        let gray = try CheckpointExport.preprocessing(saved(config, "b.safetensors"))
        #expect(gray.mean == Array(repeating: Normalization.mnist.mean[0], count: 3) && gray.std.count == 3)
        #expect(try CheckpointExport.preprocessing(saved(nil, "c.safetensors")).mean == Normalization.imagenet.mean)
        #expect(try CheckpointExport.classNames(saved(nil, "d.safetensors")) == ["class 0", "class 1"])
    }

    @Test("An untrained model exports with initialized quantizer scales", arguments: ["gsb-vit-mnist", "qvit-vit-mnist", "bhvit-tiny-cifar"])
    func exportUntrained(_ name: String) throws {
        let path = try ToolFixtures.temporaryDirectory("untrained").appendingPathComponent("\(name).bitvit").path
        let summary = try CheckpointExport.exportUntrained(modelName: name, classes: 3, to: path)
        let file = try ModelFile(contentsOf: URL(fileURLWithPath: path))
        #expect(file.metadata.classNames == ["class 0", "class 1", "class 2"])
        #expect(file.metadata.modelName == name)
        #expect(summary.text.hasPrefix("\(path): untrained \(file.metadata.family.rawValue) model '\(name)', \(grouped(file.fileSize)) bytes\n"))
        #expect(summary.cost == ModelCost(file: file))
    }

    @Test("info on a model name, a recipe and a checkpoint: header, geometry and the layer table")
    func infoOfModels() throws {
        let text = try modelInfo("vit-mnist")
        let model = try ModelZoo.make(ModelSpec(name: "vit-mnist", classes: 10))
        #expect(text.hasPrefix("model {\"classes\":10,\"name\":\"vit-mnist\",\"options\":{}}\n"))
        #expect(text.contains("  geometry: 28×28×1 images, patch 4 (50 tokens), width 128, depth 6, 4 heads, MLP 256, 10 classes\n"))
        #expect(text.hasSuffix(layerTable(model, all: false)))
        #expect(text.contains("total trainable parameters: \(grouped(model.parameterCount))"))
        #expect(try modelInfo("vit-mnist", all: true).split(separator: "\n").count > text.split(separator: "\n").count)
        #expect(try modelInfo("bhvit-tiny-cifar", classes: 7).hasPrefix("model {\"classes\":7,"))

        let checkpoint = try modelInfo(ToolFixtures.deit.best)
        let steps = ToolFixtures.deit.outcome.summary.steps
        #expect(checkpoint.hasPrefix("checkpoint \(ToolFixtures.deit.best) (best)\n  trained 1 epochs, \(steps) steps"))
        #expect(checkpoint.contains("  recipe: vit-mnist, image-folder, optimizer adamw\n"))

        let recipe = try ToolFixtures.temporaryDirectory("recipe").appendingPathComponent("r.yaml")
        try "model: {name: w1a1-vit-mnist, classes: 10}\n".write(to: recipe, atomically: true, encoding: .utf8)
        let fromRecipe = try modelInfo(recipe.path, overrides: ["model.dim=64"])
        #expect(fromRecipe.hasPrefix("recipe \(recipe.path): model {\"classes\":10,\"dim\":64,\"name\":\"w1a1-vit-mnist\""))
        #expect { try modelInfo("deit-enormous") } throws: { "\($0)".contains("'deit-enormous' is neither a file nor a model name") }
        #expect { try modelInfo("vit-mnist", overrides: ["model.dim=64"]) } throws: { "\($0)".contains("--set applies to a recipe") }
        #expect { try modelInfo(recipe.path, classes: 3) } throws: { "\($0)".contains("--classes applies to a model name") }
    }

    @Test("info on a .bitvit file: geometry, preprocessing, storage and the cost of every product")
    func infoOfFile() throws {
        let path = try ToolFixtures.temporaryDirectory("info").appendingPathComponent("q.bitvit").path
        _ = try CheckpointExport.exportUntrained(modelName: "qvit-vit-mnist", classes: 10, to: path)
        let file = try ModelFile(contentsOf: URL(fileURLWithPath: path))
        let cost = ModelCost(file: file)
        let text = try modelInfo(path)
        #expect(text == (try modelFileInfo(path)))
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "\(path): .bitvit version 1, qvit model 'qvit-vit-mnist', \(grouped(file.fileSize)) bytes, "
                + "\(file.tensors.count) tensors, from untrained qvit-vit-mnist (random initialization)")
        #expect(lines[1].hasPrefix("  geometry: 28×28×1 images, patch 4 (51 tokens), width 128, depth 6, 4 heads") && lines[1].hasSuffix("W4A4 with IRM"))
        #expect(lines[2].hasPrefix("  preprocessing: resize to 28×28 (bicubic), mean [0.5], std [0.5]; classes: class 0, class 1"))
        #expect(text.contains(storageTable(cost)))
        for product in cost.products { #expect(lines.contains { $0.hasPrefix("  " + product.name) && $0.contains(grouped(product.macs) + " MACs") }) }
        #expect(lines.last == String(format: "  BOPs %.4g, FLOPs %.4g, OPs %.4g", Double(cost.bops), Double(cost.flops), cost.ops))
    }
}
