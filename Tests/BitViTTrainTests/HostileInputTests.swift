import Foundation
import Testing
import BitViTTrain

/// Expects `body` to throw a `BitViTError` whose text contains every fragment.
private func expectRejected(_ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation,
                            _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("accepted input that should fail with \(fragments)", sourceLocation: sourceLocation)
    } catch let error as BitViTError {
        for f in fragments {
            #expect("\(error)".contains(f), "'\(error)' lacks '\(f)'", sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("expected a BitViTError, got \(error)", sourceLocation: sourceLocation)
    }
}

/// Ten lines of aliases, each naming the previous one nine times: 9⁹ ≈ 3.9·10⁸ nodes expanded.
private func billionLaughs(flow: Bool) -> String {
    var lines = [flow ? "{\"a\": &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"],"
                      : "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in 1..<10 {
        let (prev, cur) = (Character(UnicodeScalar(96 + i)!), Character(UnicodeScalar(97 + i)!))
        let refs = Array(repeating: "*\(prev)", count: 9).joined(separator: ", ")
        lines.append(flow ? "\"\(cur)\": &\(cur) [\(refs)]," : "\(cur): &\(cur) [\(refs)]")
    }
    lines.append(flow ? "\"name\": \"x\"}" : "name: x")
    return lines.joined(separator: "\n")
}

/// Class 1 of the hostile inputs: recipes and stored configurations are parsed within
/// `DocumentLimits` (depth, size, alias expansion), duplicate keys are errors.
@Suite("Hostile recipes and documents")
struct HostileDocumentTests {
    @Test("Nesting 5,000 levels deep (YAML flow, JSON, YAML block) is rejected, not a stack overflow")
    func deepNesting() {
        let flow = "name: x\nmodel: " + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
        let json = "{\"name\": \"x\", \"model\": " + String(repeating: "{\"a\": ", count: 5000) + "1" + String(repeating: "}", count: 5000) + "}"
        let block = "name: x\nmodel:\n" + (1...600).map { String(repeating: "  ", count: $0) + "a:" }.joined(separator: "\n")
        for text in [flow, json, block] {
            expectRejected(["nested deeper than \(DocumentLimits.maxDepth) levels"]) { _ = try TrainConfig.resolve(recipeText: text) }
        }
        let sequences = "name: x\nmodel:\n" + String(repeating: "- ", count: 5000) + "1"
        expectRejected(["nested deeper"]) { _ = try TrainConfig.resolve(recipeText: sequences) }
    }

    @Test("Billion laughs (block YAML and flow/JSON-style) is rejected after one pass over the text")
    func aliasExpansion() {
        for flow in [false, true] {
            expectRejected(["more than \(DocumentLimits.maxNodes) nodes with aliases expanded"]) {
                _ = try TrainConfig.resolve(recipeText: billionLaughs(flow: flow))
            }
        }
        // Few nodes, many bytes: one long value named 10,000 times.
        let long = String(repeating: "x", count: 100_000)
        let bytes = "a: &a \(long)\nb: [" + Array(repeating: "*a", count: 10_000).joined(separator: ", ") + "]\n"
        expectRejected(["bytes of values with aliases expanded"]) { _ = try TrainConfig.resolve(recipeText: bytes) }
        expectRejected(["alias *nothing names no anchor"]) { _ = try TrainConfig.resolve(recipeText: "name: *nothing\n") }
        // A modest use of anchors is fine.
        #expect(throws: Never.self) {
            _ = try TrainConfig.resolve(recipeText: "optimizer: {betas: &b [0.9, 0.99]}\nschedule: {min_lr: 1e-5}\n")
        }
    }

    @Test("Documents above the size limit, second documents and duplicate keys are rejected")
    func sizeDocumentsAndDuplicates() {
        let big = "name: x\n# " + String(repeating: "z", count: DocumentLimits.maxBytes) + "\n"
        expectRejected(["larger than the \(DocumentLimits.maxBytes)-byte limit"]) { _ = try TrainConfig.resolve(recipeText: big) }
        expectRejected(["a second document"]) { _ = try TrainConfig.resolve(recipeText: "name: x\n---\nname: y\n") }
        expectRejected(["line 3: duplicate key 'lr'"]) { _ = try TrainConfig.resolve(recipeText: "optimizer:\n  lr: 1e-3\n  lr: 5e-3\n") }
        expectRejected(["duplicate key 'name'"]) { _ = try TrainConfig.resolve(recipeText: #"{"name": "a", "name": "b"}"#) }
        expectRejected(["not valid YAML/JSON", "line 2"]) { _ = try TrainConfig.resolve(recipeText: "name: [unclosed\n") }
        // The same key in different mappings, and a recipe key overridden by --set, are fine.
        #expect(throws: Never.self) {
            _ = try TrainConfig.resolve(recipeText: "optimizer: {name: sgd}\nschedule: {name: cosine}\n", overrides: ["optimizer.name=adamw"])
        }
    }

    @Test("Overrides go through the same limits (comparison plans: BitViTToolsTests)")
    func overrides() throws {
        expectRejected(["nested deeper"]) {
            _ = try TrainConfig.resolve(recipeText: nil, overrides: ["model.options=" + String(repeating: "[", count: 100)])
        }
    }
}

/// Classes 2, 3 and 8: model geometry and every number of a recipe are checked, with the field,
/// the value and the allowed range in the message, before anything is allocated.
@Suite("Hostile model descriptions and values")
struct HostileValueTests {
    let base = "model: {name: vit-mnist, classes: 10"

    @Test("Absurd geometry is rejected by the shared validation, naming the field and range")
    func geometry() {
        let cases: [(String, String)] = [
            ("dim: 65536, heads: 4", "model.dim is 65536; allowed 1…8192"),
            ("depth: 4294967296", "model.depth is 4294967296; allowed 1…256"),
            ("image_size: 100000", "model.image_size is 100000"),
            ("patch_size: 1, image_size: 1024", "tokens; allowed at most"),
            ("heads: 0", "model.heads is 0"),
            ("in_channels: -3", "model.in_channels is -3"),
        ]
        for (fields, message) in cases {
            expectRejected([message]) { _ = try TrainConfig.resolve(recipeText: base + ", \(fields)}") }
        }
        expectRejected(["model.classes is 2147483648; allowed 1…1048576"]) {
            _ = try TrainConfig.resolve(recipeText: "model: {name: vit-mnist, classes: 2147483648}")
        }
        // Within every single limit but too large as a whole.
        expectRejected(["describes about", "parameters; allowed at most \(ModelLimits.parameters)"]) {
            _ = try TrainConfig.resolve(recipeText: base + ", dim: 8192, depth: 256, heads: 8}")
        }
        // The model factory checks before allocating: this would need terabytes.
        #expect(throws: BitViTError.self) { _ = try ModelZoo.make(ModelSpec(name: "deit-tiny", classes: 1 << 30)) }
        #expect(throws: BitViTError.self) { _ = try ModelZoo.make(ModelSpec(name: "vit-mnist", classes: 10, dim: 65536, heads: 4)) }
        #expect(throws: BitViTError.self) { _ = try ModelZoo.inputGeometry(ModelSpec(name: "vit-mnist", classes: 10, imageSize: 1 << 40)) }
    }

    @Test("Non-finite or out-of-range numbers are rejected before any conversion to an integer")
    func nonFiniteNumbers() {
        let cases: [(String, String)] = [
            (base + ", mlp_ratio: 1e308}", "model.mlp_ratio is 1e+308; allowed a finite number in (0, 64]"),
            (base + ", mlp_ratio: .nan}", "model.mlp_ratio is nan"),
            (base + ", drop_path_rate: .inf}", "model.drop_path_rate is inf"),
            ("optimizer: {lr: .nan}", "optimizer.lr is nan"),
            ("optimizer: {weight_decay: .inf}", "optimizer.weight_decay is inf"),
            ("optimizer: {eps: 0}", "optimizer.eps is 0"),
            ("loss: {distillation: {tau: .inf}}", "loss.distillation.tau is inf"),
            ("schedule: {min_lr: -1}", "schedule.min_lr is -1"),
        ]
        for (text, message) in cases {
            expectRejected([message]) { _ = try TrainConfig.resolve(recipeText: text) }
        }
    }

    @Test("Family options: GSB groups and thresholds, Swin windows, BHViT depths")
    func familyOptions() {
        let cases: [(ModelSpec, String)] = [
            (ModelSpec(name: "gsb-vit-mnist", classes: 10, options: ["groups": "1000000000"]), "model.options.groups is 1000000000"),
            (ModelSpec(name: "gsb-vit-mnist", classes: 10, options: ["thresholds": "0.9,0.7"]), "must ascend"),
            (ModelSpec(name: "gsb-vit-mnist", classes: 10, options: ["thresholds": "nan,0.9"]), "model.options.thresholds is nan"),
            (ModelSpec(name: "swin-mnist", classes: 10, options: ["window": "0"]), "model.options.window is 0"),
            (ModelSpec(name: "swin-mnist", classes: 10, options: ["depths": "2,100000"]), "model.options.depths"),
            (ModelSpec(name: "bhvit-tiny-cifar", classes: 10, options: ["depths": "1,2,100000"]), "model.options.depths"),
            (ModelSpec(name: "qvit-vit-mnist", classes: 10, options: ["bits": "64"]), "bits must be 2, 3, 4 or 8"),
        ]
        for (spec, message) in cases {
            expectRejected([message]) { _ = try ModelZoo.make(spec) }
        }
    }

    @Test("Augmentation settings outside their ranges are rejected (class 8)")
    func augmentation() {
        for (text, message) in [
            ("data: {augmentation: {random_crop_padding: -4}}", "data.augmentation.random_crop_padding is -4"),
            ("data: {augmentation: {mixup: -1}}", "data.augmentation.mixup is -1"),
            ("data: {augmentation: {cutmix: .nan}}", "data.augmentation.cutmix is nan"),
            ("data: {augmentation: {mix_probability: 2}}", "data.augmentation.mix_probability is 2"),
            ("data: {augmentation: {random_resized_crop_scale: [0.5, 0.1]}}", "random_resized_crop_scale"),
            ("data: {augmentation: {rand_augment_ops: 100000}}", "rand_augment_ops is 100000"),
            ("data: {batch_size: 0}", "data.batch_size is 0"),
            ("training: {threads: 100000}", "training.threads is 100000"),
        ] {
            expectRejected([message]) { _ = try TrainConfig.resolve(recipeText: text) }
        }
    }

    @Test("The estimate behind the parameter limit is close to the real count")
    func parameterEstimate() throws {
        for spec in [ModelSpec(name: "vit-mnist", classes: 10), ModelSpec(name: "gsb-vit-mnist", classes: 10),
                     ModelSpec(name: "qvit-vit-mnist", classes: 10), ModelSpec(name: "swin-mnist", classes: 10),
                     ModelSpec(name: "w1a1-swin-mnist", classes: 10), ModelSpec(name: "bhvit-tiny-cifar", classes: 10),
                     ModelSpec(name: "deit-tiny-cifar", classes: 100)] {
            let estimate = Double(try ModelZoo.validate(spec))
            let actual = Double(try ModelZoo.make(spec).stateDict().values.reduce(0) { $0 + $1.count })
            #expect(estimate > 0.7 * actual && estimate < 1.3 * actual, "\(spec.name): estimate \(estimate), actual \(actual)")
        }
    }
}

/// Classes 1–3 and 6–8 through checkpoints: hostile metadata and values are rejected when the
/// file is decoded, before a model is allocated; other kinds of files say what they are.
@Suite("Hostile checkpoints")
struct HostileCheckpointTests {
    /// A valid checkpoint's tensors and metadata.
    static let valid: Safetensors.File = {
        let dir = try! temporaryDirectory("hostile-ckpt")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = try! tinyConfig(epochs: 1)
        let model = try! ModelZoo.make(config.model)
        let url = dir.appendingPathComponent("last.safetensors")
        try! Checkpoint.save(to: url, kind: "best", model: model, modelSpec: config.model, config: config, state: TrainingState())
        return try! Safetensors.load(url)
    }()

    static func bytes(editing edit: (inout Safetensors.File) -> Void) throws -> Data {
        var file = valid
        edit(&file)
        return try Safetensors.encode(file.tensors, metadata: file.metadata)
    }

    static func modelJSON(_ change: (inout ModelSpec) -> Void) -> String {
        var spec = try! JSONDecoder().decode(ModelSpec.self, from: Data(valid.metadata["model"]!.utf8))
        change(&spec)
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try! encoder.encode(spec), as: UTF8.self)
    }

    @Test("The valid checkpoint decodes and builds its model")
    func valid() throws {
        let c = try Checkpoint.decode(try Self.bytes { _ in }, name: "ok.safetensors")
        _ = try c.makeModel()
    }

    @Test("Hostile stored configurations: deep, billion laughs, duplicate keys")
    func storedConfiguration() throws {
        for (config, message) in [("name: x\nmodel: " + String(repeating: "[", count: 5000), "nested deeper"),
                                  (billionLaughs(flow: false), "nodes with aliases expanded"),
                                  ("name: a\nname: b\n", "duplicate key 'name'")] {
            let data = try Self.bytes { $0.metadata["config"] = config }
            expectRejected(["x.safetensors", "metadata 'config'", message]) { _ = try Checkpoint.decode(data, name: "x.safetensors") }
        }
    }

    @Test("A stored model description beyond the limits or not matching the tensors fails before allocation")
    func storedModel() throws {
        let cases: [((inout ModelSpec) -> Void, String)] = [
            ({ $0.dim = 65536 }, "model.dim is 65536"),
            ({ $0.classes = 1 << 31 }, "model.classes is 2147483648"),
            ({ $0.depth = 1 << 32 }, "model.depth is 4294967296"),
            ({ $0.mlpRatio = 1e308 }, "model.mlp_ratio is 1e+308"),
            ({ $0.dim = 1024; $0.depth = 8 }, "the description does not match the weights"),
            ({ $0.classes = 11 }, "11 classes"),
        ]
        for (change, message) in cases {
            let data = try Self.bytes { $0.metadata["model"] = Self.modelJSON(change) }
            expectRejected(["x.safetensors", message]) { _ = try Checkpoint.decode(data, name: "x.safetensors") }
        }
        let wrongType = try Self.bytes { $0.metadata["model"] = #"{"name": "vit-mnist", "classes": "ten"}"# }
        expectRejected(["metadata 'model'", "field 'classes' should be an integer"]) {
            _ = try Checkpoint.decode(wrongType, name: "x.safetensors")
        }
        let state = try Self.bytes { $0.metadata["training_state"] = #"{"epoch": -3}"# }
        expectRejected(["metadata 'training_state'"]) { _ = try Checkpoint.decode(state, name: "x.safetensors") }
    }

    @Test("A NaN or infinite weight is an error naming the tensor (class 3 and 8)")
    func nonFiniteWeights() throws {
        for value in [Float.nan, .infinity] {
            let data = try Self.bytes { file in
                let t = file.tensors["head.weight"]!.copy()
                t.data[5] = value
                file.tensors["head.weight"] = t
            }
            expectRejected(["tensor 'head.weight' holds \(value) at index 5"]) { _ = try Checkpoint.decode(data, name: "x.safetensors") }
        }
    }

    @Test("Files of another kind say what they are (class 6)")
    func otherKinds() throws {
        var bitvit = Data([0x89, 0x42, 0x49, 0x54, 0x56, 0x49, 0x54, 0x0A])
        bitvit.append(Data(repeating: 7, count: 200))
        expectRejected(["a .bitvit model file", "not a safetensors file"]) { _ = try Checkpoint.decode(bitvit, name: "m.bitvit") }
        expectRejected(["a text file"]) { _ = try Checkpoint.decode(Data("name: x\nmodel: {}\n".utf8), name: "r.yaml") }
        let dir = try temporaryDirectory("hostile-kinds")
        defer { try? FileManager.default.removeItem(at: dir) }
        expectRejected([dir.path, "a directory"]) { _ = try Checkpoint.load(dir) }
        expectRejected([dir.path, "a directory", "recipe"]) { _ = try TrainConfig.resolve(recipe: dir) }
    }
}

/// Classes 4 and 7 at the library level: sizes the commands pass on are checked there too, a
/// finished run resumed reports its real figures, non-finite outputs are no accuracy.
@Suite("Hostile sizes and finished runs")
struct HostileRunTests {
    @Test("Zero or negative batch sizes reach an error, not a precondition")
    func sizes() throws {
        var config = try tinyConfig(epochs: 1)
        config.data.evalBatchSize = 0
        expectRejected(["data.eval_batch_size is 0"]) { _ = try TrainingData.evaluationData(config) }
        config.data.evalBatchSize = nil
        config.data.batchSize = -1
        expectRejected(["data.batch_size is -1"]) { _ = try TrainingData.make(config) }
    }

    @Test("Resuming a finished run reports its last validation and throughput (class 7)")
    func finishedRunSummary() throws {
        let dir = try temporaryDirectory("finished-run")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = try tinyConfig(epochs: 1)
        let data = SyntheticBatches(count: 32, batchSize: 8), validation = SyntheticBatches(count: 16, batchSize: 8, seed: 99)
        let first = try Trainer(config: config, trainData: data, validationData: validation, runDirectory: dir).fit()
        let again = try Trainer(config: config, trainData: data, validationData: validation, runDirectory: dir)
        try again.resume(from: dir.appendingPathComponent("last.safetensors"))
        let summary = try again.fit()
        #expect(summary.finalTop1 != nil && summary.finalTop1 == first.finalTop1)
        #expect(summary.finalTop5 == first.finalTop5)
        #expect(summary.imagesPerSecond > 0, "the run's throughput, not 0")
        #expect(summary.steps == first.steps && summary.epochsCompleted == 1)
    }

    @Test("Non-finite model outputs are an error, not 'nan %' (class 8)")
    func nonFiniteEvaluation() throws {
        let config = try tinyConfig(epochs: 1)
        let model = try ModelZoo.make(config.model)
        let bias = model.namedParameters().first { $0.name == "head.bias" }!.tensor
        bias.data[0] = .nan
        expectRejected(["is nan", "NaN or infinity"]) {
            _ = try Evaluator.evaluate(model, on: SyntheticBatches(count: 16, batchSize: 8))
        }
    }

    @Test("A run start removes the temporaries of interrupted writes of dead processes")
    func staleTemporaries() throws {
        let dir = try temporaryDirectory("stale")
        defer { try? FileManager.default.removeItem(at: dir) }
        var dead: Int32 = 4_194_000
        while kill(dead, 0) == 0 || errno != ESRCH { dead -= 1 }
        let names = [".last.safetensors.\(dead).123.tmp", ".metrics.jsonl.\(dead).9.tmp", ".last.safetensors.\(getpid()).5.tmp",
                     ".keep.1.7.tmp", "last.safetensors", ".hidden"]
        for n in names { try Data([1]).write(to: dir.appendingPathComponent(n)) }
        #expect(AtomicFile.removeStaleTemporaries(in: dir) == [".last.safetensors.\(dead).123.tmp", ".metrics.jsonl.\(dead).9.tmp"])
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(left == [".hidden", ".keep.1.7.tmp", ".last.safetensors.\(getpid()).5.tmp", "last.safetensors"])
    }
}
