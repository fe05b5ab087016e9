import XCTest
import BitViTCore
import BitViTData
import BitViTModels
import BitViTTrain
import BitViTInterop

/// Recipes take official checkpoints (`.pth`, timm safetensors) as `training.init_checkpoint`
/// and as the distillation teacher, and a missing pretrained file stops a run saying where to
/// get it and how to run without it.
final class PretrainedWeightsTests: XCTestCase {
    /// Two batches of random 16×16 RGB images (the fixtures' geometry).
    struct RandomBatches: BatchSource {
        var classes: Int
        var batchesPerEpoch: Int { 2 }
        var sampleCount: Int { 8 }
        func batches(epoch: Int, from start: Int) throws -> BatchStream {
            var rng = RandomGenerator(seed: 5)
            let all = (0..<2).map { b in
                Batch(images: Tensor.randn([4, 3, 16, 16], using: &rng), labels: (0..<4).map { ($0 + b) % classes },
                      indices: Array(4 * b..<4 * b + 4))
            }
            return BatchStream(all.dropFirst(start))
        }
    }

    /// A recipe training `spec` (the data section is never read: the trainer gets `RandomBatches`).
    func recipe(_ spec: ModelSpec, _ extra: (inout TrainConfig) -> Void = { _ in }) throws -> TrainConfig {
        var config = try TrainConfig.resolve(recipeText: "name: pretrained-test\ntraining: {epochs: 1, seed: 3}\n")
        config.model = spec
        extra(&config)
        return config
    }

    /// The fixture DeiT's geometry under another model name.
    func spec(_ name: String, classes: Int, options: [String: String] = [:], from fixture: String = "deit_tiny") throws -> ModelSpec {
        var spec = try CheckpointDetection.detect(InteropFixtures.checkpoint(fixture), hints: DetectionHints(heads: 2))
            .respecified(as: name, options: options)
        spec.classes = classes
        return spec
    }

    /// GSB's stage 1 initialized from a DeiT `.pth` with a new 100-class head: the shared
    /// tensors are copied, the heads and GSB's own parameters keep the student's initialization.
    func testInitCheckpointFromAnOfficialFile() throws {
        let student = try spec("gsb-deit-tiny", classes: 100, options: ["stage": "1"])
        let config = try recipe(student)
        let trainer = try Trainer(config: config, trainData: RandomBatches(classes: 100), validationData: nil, runDirectory: nil)
        let fresh = try ModelZoo.make(student, seed: 3).stateDict()
        let url = InteropFixtures.url("deit_tiny.pth")
        let report = try trainer.initializeWeights(from: url)
        let official = try InteropFixtures.checkpoint("deit_tiny")
        let loaded = trainer.model.stateDict()

        // The student's distillation head has no counterpart in a plain DeiT: re-initialized too.
        XCTAssertEqual(Set(report.reinitialized), ["head.weight", "head.bias", "head_dist.weight", "head_dist.bias"])
        XCTAssertTrue(report.missing.contains("blocks.0.attn.q_shift"))
        XCTAssertTrue(report.unexpected.isEmpty, "\(report.unexpected)")
        XCTAssertEqual(report.loaded, official.count - 2, "every entry but the head")
        XCTAssertEqual(loaded["blocks.1.mlp.fc2.weight"]?.scalars, official["blocks.1.mlp.fc2.weight"]?.scalars)
        // A plain DeiT in a distilled student: pos_embed's class-token and patch rows are the
        // checkpoint's, the distillation-token row and dist_token the student's.
        let d = 24
        let pos: [Float] = try XCTUnwrap(loaded["pos_embed"]).scalars
        let checkpointPos: [Float] = try XCTUnwrap(official["pos_embed"]).scalars
        let freshPos: [Float] = try XCTUnwrap(fresh["pos_embed"]).scalars
        XCTAssertEqual(Array(pos[0..<d]), Array(checkpointPos[0..<d]))
        XCTAssertEqual(Array(pos[(2 * d)..<pos.count]), Array(checkpointPos[d..<checkpointPos.count]))
        XCTAssertEqual(Array(pos[d..<(2 * d)]), Array(freshPos[d..<(2 * d)]))
        XCTAssertTrue(report.missing.contains("dist_token"))
        XCTAssertTrue(report.lines.contains { $0.contains("no distillation token") }, "\(report.lines)")
        for name in report.missing + report.reinitialized {
            XCTAssertEqual(loaded[name]?.scalars, fresh[name]?.scalars, "\(name) keeps the student's initialization")
        }
        XCTAssertTrue(report.lines.contains { $0.contains("deit names") && $0.contains("torch.save zip archive") })
        XCTAssertTrue(report.lines.contains { $0.hasPrefix("  not read: optimizer, lr_scheduler, epoch, model_ema") })
        XCTAssertTrue(report.lines.contains { $0.hasPrefix("  re-initialized (another class count): ") && $0.contains("head_dist.bias") },
                      "\(report.lines)")

        // Another geometry is an error naming the file.
        var wide = student
        wide.dim = 48
        let other = try Trainer(config: try recipe(wide), trainData: RandomBatches(classes: 100), validationData: nil, runDirectory: nil)
        XCTAssertThrowsError(try other.initializeWeights(from: url)) { XCTAssertTrue("\($0)".contains(url.path), "\($0)") }
    }

    /// Q-ViT's paper initialization: a Q-ViT student from the distilled DeiT `.pth` of the same
    /// geometry takes every DeiT tensor; only the quantizer state and IRM start fresh.
    func testQViTFromAFullPrecisionDistilledDeiT() throws {
        let student = try spec("qvit-deit-tiny", classes: 10, options: ["bits": "4"], from: "deit_tiny_distilled")
        let trainer = try Trainer(config: try recipe(student), trainData: RandomBatches(classes: 10), validationData: nil, runDirectory: nil)
        let report = try trainer.initializeWeights(from: InteropFixtures.url("deit_tiny_distilled.pth"))
        let official = try InteropFixtures.checkpoint("deit_tiny_distilled")
        XCTAssertEqual(report.loaded, official.count)
        XCTAssertTrue(report.reinitialized.isEmpty && report.unexpected.isEmpty, "\(report.lines)")
        XCTAssertFalse(report.missing.isEmpty)
        XCTAssertTrue(report.missing.allSatisfy { $0.contains("quantizer") || $0.contains("norm_q") || $0.contains("norm_k") },
                      "\(report.missing)")
        let loaded = trainer.model.stateDict()
        for name in ["dist_token", "pos_embed", "head_dist.weight", "blocks.1.attn.qkv.weight"] {
            XCTAssertEqual(loaded[name]?.scalars, official[name]?.scalars, name)
        }
    }

    /// The teacher from a `.pth` (with `teacher_model` naming the heads the shapes do not
    /// record) computes the official logits; with another class count its heads are fresh.
    func testTeacherFromAnOfficialFile() throws {
        let student = try spec("gsb-deit-tiny", classes: 10, options: ["stage": "2"])
        let teacherSpec = try spec("deit-tiny", classes: 10)
        let config = try recipe(student) {
            $0.loss.distillation.type = .hard
            $0.loss.distillation.teacher = InteropFixtures.url("deit_tiny.pth").path
            $0.loss.distillation.teacherModel = teacherSpec
        }
        let trainer = try Trainer(config: config, trainData: RandomBatches(classes: 10), validationData: nil, runDirectory: nil)
        let teacher = try XCTUnwrap(trainer.teacher)
        let eval = try InteropFixtures.safetensors("deit_tiny_eval")
        let logits = teacher.logits(try XCTUnwrap(eval.tensors["input"]))
        let d = Difference(logits, try XCTUnwrap(eval.tensors["logits"]))
        XCTAssertLessThan(d.relative, 1e-4)
        XCTAssertTrue(teacher.report[0].hasPrefix("teacher: \(config.loss.distillation.teacher!), torch.save zip archive in deit names → deit-tiny"))
        XCTAssertTrue(teacher.model.parameters.allSatisfy { !$0.requiresGrad })

        // GSB's train_stage1.py: an ImageNet DeiT with a fresh head of the student's classes.
        var sevenClasses = config
        sevenClasses.model.classes = 7
        sevenClasses.loss.distillation.teacherModel?.classes = 7
        let fresh = try Trainer(config: sevenClasses, trainData: RandomBatches(classes: 7), validationData: nil, runDirectory: nil)
        XCTAssertEqual(fresh.teacher?.model.classCount, 7)
        XCTAssertTrue(fresh.teacher?.report.contains { $0.contains("untrained classifier") } ?? false)
        // A training step runs with it.
        _ = try fresh.fit()
    }

    /// A timm-named safetensors file (no BitViT metadata) is an official file; a plain
    /// safetensors file in BitViT's quantizer names is a BitViT one.
    func testSafetensorsFilesAreRecognizedByTheirNames() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pretrained-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let gsbSpec = try spec("gsb-deit-tiny", classes: 10, options: ["stage": "2"])
        let gsb = try ModelZoo.make(gsbSpec)
        let official = dir.appendingPathComponent("official.safetensors")
        try CheckpointExport.write(gsb, family: .gsbStage2, to: official)
        XCTAssertEqual(try WeightsFile(path: official.path, field: "f", otherwise: "").kind, .official)
        let plain = dir.appendingPathComponent("plain.safetensors")
        try Safetensors.save(gsb.stateDict(), to: plain)
        XCTAssertEqual(try WeightsFile(path: plain.path, field: "f", otherwise: "").kind, .bitvit)
        let bitvit = dir.appendingPathComponent("bitvit.safetensors")
        try Checkpoint.save(to: bitvit, kind: "best", model: gsb, modelSpec: gsbSpec, config: nil, state: nil)
        XCTAssertEqual(try WeightsFile(path: bitvit.path, field: "f", otherwise: "").kind, .bitvit)
        let text = dir.appendingPathComponent("notes.txt")
        try "hello".write(to: text, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try WeightsFile(path: text.path, field: "training.init_checkpoint", otherwise: "")) {
            XCTAssertTrue("\($0)".contains("training.init_checkpoint names a text file"), "\($0)")
        }

        // The exported official file initializes a GSB student exactly.
        let trainer = try Trainer(config: try recipe(gsbSpec), trainData: RandomBatches(classes: 10), validationData: nil, runDirectory: nil)
        let report = try trainer.initializeWeights(from: official)
        XCTAssertTrue(report.missing.isEmpty && report.unexpected.isEmpty)
        for (name, value) in gsb.stateDict() { XCTAssertEqual(trainer.model.stateDict()[name]?.scalars, value.scalars, name) }
    }

    /// A missing release file stops the run before its data loads, with the download command
    /// and the way to run without it; `--dry-run` prints the same as comments.
    func testMissingPretrainedFileSaysWhereToGetIt() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pretrained-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("pretrained/deit_small_distilled_patch16_224-649709d9.pth").path
        var config = try recipe(ModelSpec(name: "qvit-deit-small", classes: 1000, options: ["bits": "4", "irm": "true"])) {
            $0.data.dataset = .imageFolder
            $0.data.root = dir.appendingPathComponent("no-imagenet").path
            $0.training.initCheckpoint = path
        }
        var session = TrainingSession(config: config, runDirectory: dir.appendingPathComponent("run"))
        XCTAssertThrowsError(try session.run()) {
            let message = "\($0)"
            XCTAssertTrue(message.contains("training.init_checkpoint: \(path) does not exist"), message)
            XCTAssertTrue(message.contains("curl -L -o \(path) https://dl.fbaipublicfiles.com/deit/deit_small_distilled_patch16_224-649709d9.pth"), message)
            XCTAssertTrue(message.contains("--set training.init_checkpoint=null"), message)
        }
        config.training.initCheckpoint = nil
        config.loss.distillation.type = .hard
        config.loss.distillation.teacher = dir.appendingPathComponent("teacher.pth").path
        config.loss.dgd.weight = 1
        XCTAssertEqual(WeightsFile.problems(for: config).count, 1)
        XCTAssertTrue(WeightsFile.problems(for: config)[0].contains("--set loss.distillation.type=none --set loss.dgd.weight=0"))
        XCTAssertFalse(WeightsFile.problems(for: config)[0].contains("curl"), "not a release file")
        session.config = config
        XCTAssertThrowsError(try session.run()) { XCTAssertTrue("\($0)".contains("loss.distillation.teacher"), "\($0)") }
    }

    /// The official-code Q-ViT recipes distil from the release file the released main.py loads,
    /// the paper-mode ones also start from it; the GSB teacher recipe fine-tunes DeiT-S.
    func testRecipesNameTheReleaseFiles() throws {
        let recipes = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("recipes")
        let distilled = "pretrained/deit_small_distilled_patch16_224-649709d9.pth"
        for bits in [2, 3, 4] {
            let official = try TrainConfig.resolve(recipe: recipes.appendingPathComponent("qvit-w\(bits)a\(bits).yaml"))
            XCTAssertEqual(official.loss.distillation.teacher, distilled)
            XCTAssertNil(official.training.initCheckpoint)
            let paper = try TrainConfig.resolve(recipe: recipes.appendingPathComponent("qvit-w\(bits)a\(bits)-paper.yaml"))
            XCTAssertEqual(paper.loss.distillation.teacher, distilled)
            XCTAssertEqual(paper.training.initCheckpoint, distilled)
        }
        let teacher = try TrainConfig.resolve(recipe: recipes.appendingPathComponent("deit-small-cifar100.yaml"))
        XCTAssertEqual(teacher.training.initCheckpoint, "pretrained/deit_small_patch16_224-cd65a155.pth")
        let stage1 = try TrainConfig.resolve(recipe: recipes.appendingPathComponent("gsb-stage1.yaml"))
        XCTAssertEqual(stage1.loss.distillation.teacher, "\(teacher.training.output)/\(teacher.name)/best.safetensors")
        XCTAssertEqual(stage1.loss.distillation.teacherModel?.classes, teacher.model.classes)
        XCTAssertNotNil(DeiTRelease.url(forFileNamed: "deit_small_patch16_224-cd65a155.pth"))
    }
}
