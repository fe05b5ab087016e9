import Foundation
import Testing
import BitViTTestSupport
import BitViTTrain

/// A loss context around `student`/`teacher` query–key pairs (DGD reads nothing else).
private func dgdContext(student: [QueryKeyPair], teacher: [QueryKeyPair]) throws -> LossContext {
    let model = try DeiT(ViTConfig(imageSize: 4, patchSize: 4, inChannels: 1, dim: 4, depth: 1, heads: 1, classes: 2))
    let batch = Batch(images: Tensor.zeros([1, 1, 4, 4]), labels: [0], indices: [0])
    return LossContext(batch: batch, progress: TrainingProgress(epoch: 0, epochs: 1, iteration: 0, iterationsPerEpoch: 1),
                       student: model, studentOutput: ClassifierOutput(logits: Tensor.zeros([1, 2])),
                       studentQueriesKeys: student, teacherQueriesKeys: teacher)
}

/// One `[1, 1, 2, 1]` query/key pair: two tokens with scalar features.
private func pair(_ q: [Float], _ k: [Float]) -> QueryKeyPair {
    QueryKeyPair(queries: Tensor(shape: [1, 1, 2, 1], scalars: q), keys: Tensor(shape: [1, 1, 2, 1], scalars: k))
}

/// A tiny model recipe (8×8 grayscale, 4 classes, 2 patches of 4, width 16, 1 block).
private func tinyRecipe(_ model: String, options: String = "", extra: String = "") throws -> TrainConfig {
    try TrainConfig.resolve(recipeText: """
        name: tiny
        model: {name: \(model), classes: 4, image_size: 8, patch_size: 4, in_channels: 1, dim: 16, depth: 1, heads: 2,
                mlp_ratio: 2, options: {\(options)}}
        data: {batch_size: 8}
        training: {epochs: 1, seed: 5}
        \(extra)
        """)
}

@Suite struct DGDLossTests {
    /// Layer 1: student q = (1, 0) → Ĝ = [[1,0],[0,0]]; teacher q = (1, 1) → Ĝ = ½·ones; D_q = 1.
    /// Layer 2: student q = (3, 4) → Ĝ = [[9,12],[12,16]]/25; teacher (4, 3) → [[16,12],[12,9]]/25;
    /// D_q = 0.28·√2. Keys agree in both layers (D_k = 0).
    @Test func valueMatchesAHandComputation() throws {
        let student = [pair([1, 0], [0, 1]), pair([3, 4], [2, 5])]
        let teacher = [pair([1, 1], [0, 2]), pair([4, 3], [2, 5])]
        let context = try dgdContext(student: student, teacher: teacher)
        let want = 1 + 0.28 * 2.0.squareRoot()
        let sum = try DistributionGuidedDistillationLoss(reduction: .sum).loss(context).item()
        let mean = try DistributionGuidedDistillationLoss(reduction: .mean).loss(context).item()
        #expect(abs(Double(sum) - want) < 1e-5)
        // mean: divided by 2·L·H = 2·2·1.
        #expect(abs(Double(mean) - want / 4) < 1e-5)
    }

    @Test func identicalStudentAndTeacherGiveZero() throws {
        var rng = RandomGenerator(seed: 3)
        let pairs = (0..<2).map { _ in QueryKeyPair(queries: Tensor.randn([2, 2, 3, 4], using: &rng),
                                                     keys: Tensor.randn([2, 2, 3, 4], using: &rng)) }
        #expect(try DistributionGuidedDistillationLoss().loss(dgdContext(student: pairs, teacher: pairs)).item() < 1e-5)
    }

    @Test(arguments: [DGDReduction.sum, .mean])
    func gradientMatchesFiniteDifferences(_ reduction: DGDReduction) throws {
        var rng = RandomGenerator(seed: 11)
        let teacher = (0..<2).map { _ in QueryKeyPair(queries: Tensor.randn([2, 2, 3, 4], using: &rng),
                                                       keys: Tensor.randn([2, 2, 3, 4], using: &rng)) }
        let inputs = (0..<4).map { _ in Tensor.randn([2, 2, 3, 4], using: &rng) }
        let term = DistributionGuidedDistillationLoss(reduction: reduction)
        checkGradients("dgd \(reduction)", inputs: inputs, step: 1e-2, tolerance: 3e-2) { x in
            let student = [QueryKeyPair(queries: x[0], keys: x[1]), QueryKeyPair(queries: x[2], keys: x[3])]
            return try! term.loss(dgdContext(student: student, teacher: teacher))
        }
    }

    @Test func mismatchedLayersAreAnError() throws {
        let context = try dgdContext(student: [pair([1, 0], [0, 1])], teacher: [pair([1, 0], [0, 1]), pair([1, 0], [0, 1])])
        #expect(throws: BitViTError.self) { try DistributionGuidedDistillationLoss().loss(context) }
    }

    @Test func objectiveAddsTheTermWithItsWeight() throws {
        let c = try tinyRecipe("qvit-deit-tiny-cifar", options: "bits: \"4\"", extra: """
            loss: {distillation: {type: hard, teacher: t.safetensors}, dgd: {weight: 0.5, reduction: mean}}
            """)
        let model = try ModelZoo.make(c.model)
        let objective = try c.makeObjective(for: model)
        let dgd = objective.terms.first { $0.term.name == "dgd" }
        #expect(dgd != nil)
        #expect(dgd?.weight(TrainingProgress(epoch: 0, epochs: 1, iteration: 0, iterationsPerEpoch: 1)) == 0.5)
        #expect((dgd?.term as? DistributionGuidedDistillationLoss)?.reduction == .mean)
    }
}

@Suite struct CheckpointInitializationTests {
    /// GSB stage 1 → stage 2: the shared tensors are copied, the stage-1-only ones (patch
    /// embedding BatchNorm) are reported as unexpected, the stage-2-only ones (B_att, scales) as
    /// missing and keep their fresh initialization.
    @Test func stageOneIntoStageTwo() throws {
        let dir = try temporaryDirectory("init")
        defer { try? FileManager.default.removeItem(at: dir) }
        let stage1Config = try tinyRecipe("gsb-deit-tiny-cifar", options: "stage: \"1\"")
        let stage1 = try ModelZoo.make(stage1Config.model, seed: 99)
        let url = dir.appendingPathComponent("stage1.safetensors")
        try Checkpoint.save(to: url, kind: "last", model: stage1, modelSpec: stage1Config.model, config: stage1Config, state: nil)

        let stage2Config = try tinyRecipe("gsb-deit-tiny-cifar", options: "stage: \"2\"")
        let trainer = try Trainer(config: stage2Config, trainData: SyntheticBatches(count: 16, side: 8, batchSize: 8),
                                  validationData: nil, runDirectory: nil)
        let fresh = try ModelZoo.make(stage2Config.model, seed: UInt64(stage2Config.training.seed)).stateDict()
        let report = try trainer.initializeWeights(from: url)

        let source = stage1.stateDict(), loaded = trainer.model.stateDict()
        let shared = Set(source.keys).intersection(loaded.keys)
        #expect(report.loaded == shared.count)
        #expect(Set(report.missing) == Set(loaded.keys).subtracting(source.keys))
        #expect(Set(report.unexpected) == Set(source.keys).subtracting(loaded.keys))
        #expect(!report.missing.isEmpty && !report.unexpected.isEmpty, "stage 2 adds and drops tensors")
        #expect(report.unexpected.contains { $0.hasPrefix("patch_embed") }, "the stage-1 patch-embedding BatchNorm is dropped")
        for name in shared { #expect(loaded[name]!.scalars == source[name]!.scalars, "\(name) copied") }
        for name in report.missing { #expect(loaded[name]!.scalars == fresh[name]!.scalars, "\(name) keeps its initialization") }
        #expect(report.lines[0].contains("\(shared.count) tensors loaded"))
    }

    @Test func shapeMismatchIsAnErrorNamingTheFile() throws {
        let dir = try temporaryDirectory("init-shape")
        defer { try? FileManager.default.removeItem(at: dir) }
        let wide = try tinyRecipe("deit-tiny-cifar")
        var narrowSpec = wide.model
        narrowSpec.dim = 8
        let narrow = try ModelZoo.make(narrowSpec)
        let url = dir.appendingPathComponent("narrow.safetensors")
        try Checkpoint.save(to: url, kind: "last", model: narrow, modelSpec: narrowSpec, config: nil, state: nil)
        let trainer = try Trainer(config: wide, trainData: SyntheticBatches(count: 16, side: 8, batchSize: 8),
                                  validationData: nil, runDirectory: nil)
        do {
            try trainer.initializeWeights(from: url)
            Issue.record("loading 8-wide weights into a 16-wide model succeeded")
        } catch {
            #expect("\(error)".contains(url.path))
        }
    }

    @Test func groupedNamesCollapseLayerIndices() {
        let names = ["blocks.0.attn.alpha", "blocks.1.attn.alpha", "head.weight", "blocks.10.attn.alpha"]
        #expect(InitializationReport.grouped(names) == ["blocks.*.attn.alpha (×3)", "head.weight"])
    }
}

@Suite struct TrainingDiagnosticsTests {
    private func w1a1() throws -> (any ImageClassifier) {
        try ModelZoo.make(try tinyRecipe("w1a1-deit-tiny-cifar", options: "estimator: ste").model, seed: 4)
    }

    /// Latent weights ±1 alternating along every row (row mean 0, so a mean-centred or a plain
    /// sign binarizer agree); negating adjacent (+1, −1) pairs keeps every row mean at 0 and
    /// flips exactly those signs: 10 in the first step, 14 over the epoch, 0 in other layers.
    @Test func flipRatiosCountNegatedWeights() throws {
        let model = try w1a1()
        let (name, layer) = try #require(model.quantizedLayers().first { $0.name.hasSuffix("mlp.fc1") })
        let w = layer.latentWeight
        #expect(w.shape.last! % 2 == 0)
        for i in 0..<w.count { w.data[i] = i % 2 == 0 ? 1 : -1 }
        let diagnostics = TrainingDiagnostics(model: model, probeData: nil, probeBatches: 0, url: nil)
        diagnostics.epochWillStart()
        for i in 0..<10 { w.data[i] = -w.data[i] }
        diagnostics.stepDidFinish()
        for i in 10..<14 { w.data[i] = -w.data[i] }   // later in the epoch
        let record = try diagnostics.epochDidFinish(epoch: 1, step: 2)
        let row = try #require(record.layers.first { $0.name == name })
        #expect(row.weights == w.count)
        #expect(row.stepFlipRatio == 10 / Double(w.count))
        #expect(row.flipRatio == 14 / Double(w.count))
        for other in record.layers where other.name != name {
            #expect(other.flipRatio == 0 && other.stepFlipRatio == 0, "\(other.name)")
        }
        let total = record.layers.reduce(0) { $0 + $1.weights }
        #expect(abs(record.meanFlipRatio! - 14 / Double(total)) < 1e-12)
        // Negating them back within the next epoch counts as flips again, net over that epoch.
        diagnostics.epochWillStart()
        for i in 0..<14 { w.data[i] = -w.data[i] }
        diagnostics.stepDidFinish()
        let next = try diagnostics.epochDidFinish(epoch: 2, step: 3)
        #expect(next.layers.first { $0.name == name }?.flipRatio == 14 / Double(w.count))
    }

    /// A Q-ViT model whose LSQ weight steps initialize on the first training batch: the
    /// snapshots wait for the initialization instead of counting it as flips.
    @Test func lazyInitializationIsNotCountedAsFlips() throws {
        let model = try ModelZoo.make(try tinyRecipe("qvit-deit-tiny-cifar", options: "bits: \"4\"").model, seed: 2)
        #expect(!model.quantizersAreInitialized)
        let diagnostics = TrainingDiagnostics(model: model, probeData: nil, probeBatches: 0, url: nil)
        diagnostics.epochWillStart()
        var rng = RandomGenerator(seed: 1)
        model.train()
        _ = model(Tensor.randn([4, 1, 8, 8], using: &rng))   // the first step's forward initializes
        #expect(model.quantizersAreInitialized)
        diagnostics.stepDidFinish()
        let record = try diagnostics.epochDidFinish(epoch: 1, step: 1)
        #expect(!record.layers.isEmpty)
        for layer in record.layers {
            #expect(layer.flipRatio == 0, "\(layer.name): nothing changed after the initialization")
            #expect(layer.stepFlipRatio == nil, "\(layer.name): no first-step sample in that epoch")
        }
    }

    /// fc1's input is LayerNorm(x)·γ + β; with γ = 0 it is β everywhere, so the clipped STE's
    /// window (|x| ≤ 1) holds all of it (β = 0.5) or none (β = 3), and mean |x| is |β|.
    @Test(arguments: [(Float(0.5), 0.0), (Float(3), 1.0), (Float(-2), 1.0)])
    func outsideWindowOfAConstantInput(_ beta: Float, _ outside: Double) throws {
        let model = try w1a1()
        let norm = try #require(model.stateDict().keys.first { $0.hasPrefix("blocks.0.norm2") && $0.hasSuffix("weight") })
        let bias = norm.replacingOccurrences(of: "weight", with: "bias")
        try model.load([norm: Tensor.zeros([16]), bias: Tensor(shape: [16], repeating: beta)], strict: false)
        let probe = SyntheticBatches(count: 16, side: 8, batchSize: 8)
        let diagnostics = TrainingDiagnostics(model: model, probeData: probe, probeBatches: 2, url: nil)
        diagnostics.epochWillStart()
        let record = try diagnostics.epochDidFinish(epoch: 1, step: 0)
        #expect(record.probeImages == 16)
        let q = try #require(record.quantizers.first { $0.name == "blocks.0.mlp.fc1.input_quantizer" })
        #expect(q.outsideWindow == outside)
        #expect(abs((q.meanAbsInput ?? 0) - Double(abs(beta))) < 1e-5)
        let weightScales = try #require(record.quantizers.first { $0.name == "blocks.0.mlp.fc1.weight_quantizer" })
        #expect(weightScales.outsideWindow == nil || weightScales.outsideWindow! >= 0)
        #expect(model.isTraining, "the probe restores training mode")
    }

    @Test func logRoundTripsAndTruncatesOnResume() throws {
        let dir = try temporaryDirectory("diag")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent(DiagnosticsLog.fileName)
        let model = try w1a1()
        let diagnostics = TrainingDiagnostics(model: model, probeData: SyntheticBatches(count: 8, side: 8, batchSize: 8),
                                              probeBatches: 1, url: url)
        for epoch in 1...3 {
            diagnostics.epochWillStart()
            try diagnostics.epochDidFinish(epoch: epoch, step: epoch)
        }
        #expect(try DiagnosticsLog.read(url) == diagnostics.records)
        try DiagnosticsLog.truncate(url, afterEpoch: 2)
        #expect(try DiagnosticsLog.read(url).map(\.epoch) == [1, 2])
    }
}

@Suite struct MethodsConfigTests {
    @Test(arguments: [
        ("loss: {dgd: {weight: 1}}", "loss.dgd.weight"),
        ("loss: {dgd: {weight: -1}, distillation: {type: hard, teacher: t}}", "loss.dgd.weight"),
        ("loss: {dgd: {weight: 1, reduction: average}, distillation: {type: hard, teacher: t}}", "reduction"),
        ("loss: {dgd: {weight: 1, tap: inside}, distillation: {type: hard, teacher: t}}", "tap"),
        ("training: {diagnostics_batches: -1}", "training.diagnostics_batches"),
        ("training: {init_checkpoints: x}", "init_checkpoints"),
    ])
    func badMethodFieldsAreRejected(_ yaml: String, _ field: String) {
        do {
            _ = try TrainConfig.resolve(recipeText: yaml, source: "r.yaml")
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect("\(error)".contains(field), "\(error)")
        }
    }

    @Test func methodFieldsRoundTrip() throws {
        let c = try TrainConfig.resolve(recipeText: """
            loss: {distillation: {type: hard, teacher: t}, dgd: {weight: 2, reduction: mean, normalization: per_layer, tap: after_quantizer}}
            training: {init_checkpoint: runs/a/last.safetensors, diagnostics_batches: 3}
            """)
        #expect(c.loss.dgd.weight == 2 && c.loss.dgd.reduction == .mean && c.loss.dgd.normalization == .perLayer
                && c.loss.dgd.tap == .afterQuantizer)
        #expect(c.training.initCheckpoint == "runs/a/last.safetensors" && c.training.diagnosticsBatches == 3)
        #expect(try TrainConfig.resolve(recipeText: c.yaml()) == c)
    }

    /// Every recipe in recipes/ resolves and its model spec is valid (what `bitvit train
    /// --dry-run` checks), so a recipe cannot rot silently. Full-precision and BHViT specs are
    /// checked without weights; quantized 224 presets are skipped (building them allocates
    /// 20+ M parameters each) — their small-image variants cover the same code.
    @Test func everyRecipeHasAValidModel() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../recipes")
        let files = try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            .filter { ["yaml", "yml", "json"].contains($0.pathExtension) }
        #expect(files.count >= 20)
        var checked = 0
        for f in files {
            let spec = try TrainConfig.resolve(recipe: f).model
            let quantized = ["gsb-", "qvit-", "w1a1-"].contains { spec.name.hasPrefix($0) }
            if quantized && !spec.name.contains("cifar") && !spec.name.contains("mnist") { continue }
            try ModelZoo.validate(spec)
            checked += 1
        }
        #expect(checked >= 14)
    }
}
