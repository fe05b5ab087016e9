import BitViTCore
import BitViTInterop
import BitViTModels
import BitViTRuntime
import BitViTTestSupport
import BitViTTools
import BitViTTrain
import Foundation
import Testing

/// `bitvit import`, `export --format official|timm` and `forward` on the official fixtures of
/// `Tests/BitViTInteropTests/Fixtures` (written by `scripts/interop_fixtures.py` from the
/// official code): an official checkpoint becomes a `.bitvit` in two commands and the engine
/// computes the official evaluation logits.
@Suite("bitvit import, export --format official and forward")
struct InteropToolTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("BitViTInteropTests/Fixtures")

    static func fixture(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

    /// The official evaluation batch and logits of a case.
    static func evaluation(_ name: String) throws -> (input: Tensor, logits: Tensor) {
        let file = try Safetensors.load(fixtures.appendingPathComponent(name + "_eval.safetensors"))
        return (try file.tensors["input"] ?? SynthesizedValues.input(file.metadata), try #require(file.tensors["logits"]))
    }

    /// The official checkpoint of a case: the `.pth` the official script saved, or, for the
    /// synthesized full-size BHViT, its parameters written as safetensors the way timm writes them.
    static func officialFile(_ name: String, in dir: URL) throws -> String {
        let pth = fixture(name + ".pth")
        if FileManager.default.fileExists(atPath: pth) { return pth }
        let url = dir.appendingPathComponent(name + ".safetensors")
        try Safetensors.save(try SynthesizedValues.checkpoint(recipe: fixtures.appendingPathComponent(name + "_recipe.json")),
                             to: url, metadata: ["format": "pt"])
        return url.path
    }

    static func maxDifference(_ a: Tensor, _ b: Tensor) -> (abs: Float, relative: Float) {
        let d = zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? 0
        let r = b.scalars.map(abs).max() ?? 0
        return (d, r > 0 ? d / r : d)
    }

    static func top1(_ logits: Tensor) -> [Int] {
        let (n, k) = (logits.shape[0], logits.shape[1])
        return (0..<n).map { i in (0..<k).max { logits.scalars[i * k + $0] < logits.scalars[i * k + $1] }! }
    }

    @Test("import → export → engine gives the official evaluation logits",
          arguments: [("deit_tiny", 2), ("gsb_stage2", nil), ("qvit_w2", nil), ("qvit_w3", nil), ("qvit_w4", nil),
                      ("bhvit_tiny_binary", nil)] as [(String, Int?)])
    func importExportEngine(_ name: String, heads: Int?) throws {
        let dir = try ToolFixtures.temporaryDirectory("import-\(name)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let checkpoint = dir.appendingPathComponent("imported.safetensors").path
        let summary = try OfficialImport(source: try Self.officialFile(name, in: dir), heads: heads, strict: true)
            .write(to: checkpoint)
        #expect(summary.imported.report.missing.isEmpty)
        #expect(summary.text.contains("wrote \(checkpoint): BitViT checkpoint of \(summary.imported.spec.name)"))
        let stored = try Checkpoint.load(URL(fileURLWithPath: checkpoint))
        #expect(stored.kind == "imported" && stored.modelSpec == summary.imported.spec && stored.config == nil)

        let bitvit = dir.appendingPathComponent("model.bitvit").path
        let exported = try BitViTTools.CheckpointExport.export(checkpoint: checkpoint, to: bitvit)
        #expect(exported.text.contains("no recipe stored"))
        let engine = try InferenceEngine(contentsOf: URL(fileURLWithPath: bitvit))
        #expect(engine.metadata.classNames.first == "class 0")
        let (input, expected) = try Self.evaluation(name)
        let logits = Tensor(shape: expected.shape, scalars: engine.logits(UnsafePointer(input.data), batch: input.shape[0]))
        let d = Self.maxDifference(logits, expected)
        print("\(name): engine (bit kernels) vs official eval logits: max |Δ| \(d.abs) (\(d.relative) of max |logit|)")
        #expect(Self.top1(logits) == Self.top1(expected), "\(name): top-1 differs")
        if name.hasPrefix("deit") { #expect(d.relative < 1e-4) }
    }

    @Test("forward: the engine, the training graph and an official file on the fly, with the key rule")
    func forward() throws {
        let dir = try ToolFixtures.temporaryDirectory("forward")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (input, expected) = try Self.evaluation("qvit_w4")
        let single = dir.appendingPathComponent("x.safetensors").path
        try Safetensors.save(["x": input], to: URL(fileURLWithPath: single))
        let pth = Self.fixture("qvit_w4.pth")
        let checkpoint = dir.appendingPathComponent("q.safetensors").path
        _ = try OfficialImport(source: pth).write(to: checkpoint)
        let bitvit = dir.appendingPathComponent("q.bitvit").path
        _ = try BitViTTools.CheckpointExport.export(checkpoint: checkpoint, to: bitvit)

        // The official file, imported on the fly; the BitViT checkpoint; both on the training graph.
        let output = dir.appendingPathComponent("logits.safetensors").path
        let onTheFly = try TensorForward(model: pth, input: single).run(writingTo: output)
        #expect(onTheFly.runner == "training graph (evaluation mode)" && onTheFly.importReport != nil)
        let written = try Safetensors.load(URL(fileURLWithPath: output))
        #expect(written.tensors["logits"]?.shape == [4, 10] && written.tensors["logits"]?.scalars == onTheFly.logits.scalars)
        #expect(written.metadata["runner"] == onTheFly.runner)
        let graph = try TensorForward(model: checkpoint, input: single).run()
        #expect(graph.logits.scalars == onTheFly.logits.scalars && graph.importReport == nil)
        #expect(Self.top1(graph.logits) == Self.top1(expected))
        #expect(graph.text(output: output).contains("→ qvit-deit-tiny (training graph (evaluation mode)) → \(output) logits [4, 10]"))

        // The engine, bit and float kernels, against the engine called directly.
        let engine = try InferenceEngine(contentsOf: URL(fileURLWithPath: bitvit))
        let bits = try TensorForward(model: bitvit, input: single).run()
        #expect(bits.runner == "engine, bit kernels" && bits.logits.scalars == engine.logits(UnsafePointer(input.data), batch: 4))
        let floats = try TensorForward(model: bitvit, input: single, floatKernels: true).run()
        let floatEngine = try InferenceEngine(contentsOf: URL(fileURLWithPath: bitvit), floatKernels: true)
        #expect(floats.runner == "engine, float kernels" && floats.logits.scalars == floatEngine.logits(UnsafePointer(input.data), batch: 4))
        #expect(Self.top1(bits.logits) == Self.top1(expected))
        // Batches of one image: the same logits for Q-ViT, whose quantizers are per image.
        let split = try TensorForward(model: bitvit, input: single, batchSize: 1).run()
        #expect(Self.maxDifference(split.logits, bits.logits).relative < 1e-5)

        // The key rule: the only tensor, or --key; images [N, C, H, W] of the model's size.
        let several = dir.appendingPathComponent("several.safetensors").path
        try Safetensors.save(["a": input, "labels": Tensor.zeros([4])], to: URL(fileURLWithPath: several))
        #expect { try TensorForward(model: checkpoint, input: several).run() } throws: { "\($0)".contains("--key") }
        #expect(try TensorForward(model: checkpoint, input: several, key: "a").run().logits.scalars == graph.logits.scalars)
        #expect { try TensorForward(model: checkpoint, input: several, key: "b").run() } throws: { "\($0)".contains("no tensor 'b'") }
        #expect { try TensorForward(model: checkpoint, input: several, key: "labels").run() } throws: { "\($0)".contains("[N, C, H, W]") }
        let small = dir.appendingPathComponent("small.safetensors").path
        try Safetensors.save(["x": Tensor.zeros([1, 3, 8, 8])], to: URL(fileURLWithPath: small))
        #expect { try TensorForward(model: bitvit, input: small).run() } throws: { "\($0)".contains("the model takes [3, 16, 16]") }
        #expect { try TensorForward(model: checkpoint, input: single, floatKernels: true).run() } throws: { "\($0)".contains(".bitvit") }
        #expect { try TensorForward(model: single, input: single).run() } throws: { "\($0)".contains("no 'model' metadata") }
    }

    @Test("import: --model with options, --classes, --reinitialize-heads, --strict, --recipe")
    func importOptions() throws {
        let dir = try ToolFixtures.temporaryDirectory("import-options")
        defer { try? FileManager.default.removeItem(at: dir) }
        let deit = Self.fixture("deit_tiny.pth")
        let out = dir.appendingPathComponent("gsb.safetensors").path
        // GSB's stage 1 from a DeiT with a new 100-class head.
        let gsb = OfficialImport(source: deit, model: "gsb-deit-tiny", modelOptions: ["stage": "1"], classes: 100, heads: 2,
                                 reinitializeHeads: true)
        let summary = try gsb.write(to: out)
        let spec = try Checkpoint.load(URL(fileURLWithPath: out)).modelSpec
        #expect(spec.name == "gsb-deit-tiny" && spec.classes == 100 && spec.options == ["stage": "1"] && spec.dim == 24)
        #expect(summary.text.contains("re-initialized heads (10 → 100 classes): head.weight, head.bias"))
        #expect(summary.text.contains("missing (freshly initialized): dist_token, ") && summary.text.contains("blocks.*.attn.q_shift (×2)"))
        #expect(summary.text.contains("no distillation token"))
        #expect(summary.text.contains("not read: optimizer: "))
        #expect(summary.text.contains("(args.model deit_tiny_patch16_224)"))
        var strict = gsb
        strict.strict = true
        #expect { try strict.load() } throws: { "\($0)".contains("strict import") }
        var noReinit = gsb
        noReinit.reinitializeHeads = false
        #expect { try noReinit.load() } throws: { "\($0)".contains("--reinitialize-heads") }
        #expect { try OfficialImport(source: deit).load() } throws: { "\($0)".contains("--heads") }
        #expect { try OfficialImport(source: deit, model: "gsb-nothing", heads: 2).load() } throws: { "\($0)".contains("not a model name") }
        #expect { try OfficialImport(source: deit, modelOptions: ["stage": "1"], heads: 2).load() } throws: { "\($0)".contains("need --model") }
        #expect { try OfficialImport(source: Self.fixture("deit_tiny_eval.safetensors")).load() } throws: { "\($0)".contains("no known checkpoint family") }

        // The EMA copy is a section of DeiT's checkpoint.
        let ema = try OfficialImport(source: deit, heads: 2, ema: true).load()
        #expect(ema.file.droppedSections.contains { $0.name == "model" })

        // --recipe stores the data section with the imported model.
        let recipe = dir.appendingPathComponent("recipe.yaml")
        try "name: imported\ndata: {dataset: cifar10, root: /nowhere}\n".write(to: recipe, atomically: true, encoding: .utf8)
        let withRecipe = dir.appendingPathComponent("with-recipe.safetensors").path
        let stored = try OfficialImport(source: Self.fixture("gsb_stage2.pth")).write(to: withRecipe, recipe: recipe.path,
                                                                                       overrides: ["data.batch_size=8"])
        let config = try #require(try Checkpoint.load(URL(fileURLWithPath: withRecipe)).config)
        #expect(config.model == stored.imported.spec && config.data.dataset == .cifar10 && config.data.batchSize == 8)
        #expect(stored.text.hasSuffix("with the recipe 'imported' (cifar10 data) for eval, export and parity"))
        #expect(try BitViTTools.CheckpointExport.classNames(Checkpoint.load(URL(fileURLWithPath: withRecipe))).first == "airplane")
    }

    @Test("export --format official writes the official names and values back", arguments: ["gsb_stage1", "gsb_stage2", "qvit_w3", "deit_tiny_distilled"])
    func exportOfficial(_ name: String) throws {
        let dir = try ToolFixtures.temporaryDirectory("export-official-\(name)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let pth = Self.fixture(name + ".pth")
        let checkpoint = dir.appendingPathComponent("bitvit.safetensors").path
        _ = try OfficialImport(source: pth, heads: name.hasPrefix("deit") ? 2 : nil).write(to: checkpoint)
        let output = dir.appendingPathComponent("official.safetensors").path
        let summary = try OfficialExport.export(checkpoint: checkpoint, to: output)
        let original = try OfficialCheckpointFile.read(URL(fileURLWithPath: pth)).state
        let written = try Safetensors.load(URL(fileURLWithPath: output))
        #expect(Set(written.tensors.keys) == Set(original.keys))
        #expect(summary.tensors == original.count && written.metadata["format"] == "pt")
        for (key, value) in original where !key.hasSuffix("weight_clip_val") {
            #expect(written.tensors[key]?.shape == value.shape && written.tensors[key]?.scalars == value.scalars, "\(key)")
        }
        #expect(summary.text.contains("model.load_state_dict(safetensors.torch.load_file(\"\(output)\"))"))
        // --format timm: the same file for a full-precision DeiT, refused for the others.
        let timm = dir.appendingPathComponent("timm.safetensors").path
        if name.hasPrefix("deit") {
            _ = try OfficialExport.export(checkpoint: checkpoint, to: timm, timmOnly: true)
            #expect(try Safetensors.load(URL(fileURLWithPath: timm)).tensors.mapValues(\.scalars) == written.tensors.mapValues(\.scalars))
        } else {
            #expect { try OfficialExport.export(checkpoint: checkpoint, to: timm, timmOnly: true) } throws: { "\($0)".contains("--format official") }
        }
    }

    @Test("export --format official refuses a model without an official counterpart")
    func exportOfficialRefusesW1A1() throws {
        let dir = try ToolFixtures.temporaryDirectory("export-official-w1a1")
        defer { try? FileManager.default.removeItem(at: dir) }
        let spec = ModelSpec(name: "w1a1-vit-mnist", classes: 2, options: ["estimator": "ste"])
        let url = dir.appendingPathComponent("w1a1.safetensors")
        try Checkpoint.save(to: url, kind: "best", model: try ModelZoo.make(spec), modelSpec: spec, config: nil, state: nil)
        #expect { try OfficialExport.export(checkpoint: url.path, to: dir.appendingPathComponent("o.safetensors").path) }
            throws: { "\($0)".contains("no official PyTorch counterpart") }
    }
}
