import BitViTCore
import BitViTExport
import BitViTModels
import BitViTRuntime
import Foundation
import Testing

/// `.bitvit` files with valid checksums whose values cannot be used (class 3), whose metadata
/// disagrees with itself, or that are another kind of file (class 6), and exports of weights
/// that cannot be quantized: all rejected naming the tensor or field, never a trap.
@Suite("Hostile .bitvit values")
struct HostileModelFileTests {
    static func expectRejected(_ bytes: [UInt8], _ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try ModelFile(bytes: bytes)
            Issue.record("accepted a file that should fail with \(fragments)", sourceLocation: sourceLocation)
        } catch let BitViTError.malformed(_, reason) {
            for f in fragments { #expect(reason.contains(f), "reason '\(reason)' lacks '\(f)'", sourceLocation: sourceLocation) }
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    /// The export of `model` with the tensor `name` replaced by `values`.
    static func edited(_ exported: (ModelFileMetadata, [ExportTensor]), _ name: String, _ values: [Float]) throws -> [UInt8] {
        let (metadata, tensors) = exported
        let edited = tensors.map { $0.name == name ? ExportTensor(name, floats: values, shape: $0.shape) : $0 }
        #expect(edited.contains { $0.name == name }, "no tensor \(name)")
        return try ModelFileWriter.encode(metadata: metadata, tensors: edited)
    }

    @Test("Q-ViT input steps of 0, NaN or ±Inf, zero points that are not integers, and impossible code ranges")
    func qvitSteps() throws {
        let spec = EngineTestModels.spec("qvit-vit-mnist", options: ["bits": "4"])
        let exported = try ModelExporter.export(try EngineTestModels.model(spec), spec: spec, preprocessing: EngineTestModels.preprocessing,
                                                classNames: EngineTestModels.classNames)
        let name = "blocks.0.mlp.fc1.input_step"
        let good = try #require(exported.1.first { $0.name == name })
        let count = good.shape.reduce(1, *)
        #expect(throws: Never.self) { _ = try ModelFile(bytes: try Self.edited(exported, name, [Float](repeating: 0.1, count: count))) }
        for bad: Float in [0, .nan, .infinity, -.infinity] {
            var values = [Float](repeating: 0.1, count: count)
            values[3] = bad
            Self.expectRejected(try Self.edited(exported, name, values), ["tensor '\(name)'", "index 3"])
        }
        Self.expectRejected(try Self.edited(exported, "blocks.1.attn.q_quantizer.step", [0.1, .nan]), ["blocks.1.attn.q_quantizer.step"])
        Self.expectRejected(try Self.edited(exported, "blocks.1.attn.k_quantizer.zero", [0, 0.5]), ["k_quantizer.zero", "index 1", "integer"])
        Self.expectRejected(try Self.edited(exported, "blocks.0.mlp.fc1.input_zero", [Float](repeating: 1e6, count: 32)), ["input_zero", "integer"])
        Self.expectRejected(try Self.edited(exported, "blocks.0.attn.qkv.input_range", [0, 1e9]), ["input_range", "code range"])
        Self.expectRejected(try Self.edited(exported, "head.input_range", [3, 2]), ["head.input_range"])
        Self.expectRejected(try Self.edited(exported, "blocks.0.mlp.fc2.weight_scale", [Float](repeating: .nan, count: 32)), ["finite"])
    }

    @Test("BHViT attention step or zero point NaN, or a zero step")
    func bhvitQuantizationDecomposition() throws {
        let spec = BHViTEngineTests.spec(downsampling: "fp")
        let exported = try BHViTEngineTests.exported(try BHViTEngineTests.model(spec), spec)
        func heads(_ name: String) throws -> Int { try #require(exported.1.first { $0.name == name }).shape[0] }
        let (step, zero) = ("blocks.1.attn.qd.step", "blocks.2.attn.qd.zero")
        for (name, values) in [(step, [Float.nan] + [Float](repeating: 0.3, count: try heads(step) - 1)),
                               (step, [Float](repeating: 0, count: try heads(step))),
                               (zero, [Float](repeating: .nan, count: try heads(zero)))] {
            Self.expectRejected(try Self.edited(exported, name, values), ["tensor '\(name)'"])
        }
    }

    @Test("Metadata that disagrees with itself: preprocessing, model description, non-finite statistics")
    func metadata() throws {
        let spec = EngineTestModels.spec("vit-mnist")
        let (metadata, tensors) = try ModelExporter.export(try EngineTestModels.model(spec), spec: spec,
                                                           preprocessing: EngineTestModels.preprocessing, classNames: EngineTestModels.classNames)
        var size = metadata
        size.preprocessing.imageSize = 1 << 13
        Self.expectRejected(try ModelFileWriter.encode(metadata: size, tensors: tensors), ["preprocessing makes 8192×8192×1 inputs"])
        var std = metadata
        std.preprocessing.std = [-1]
        Self.expectRejected(try ModelFileWriter.encode(metadata: std, tensors: tensors), ["std positive"])
        // The runtime records the training description; building a model from it checks it in full.
        var hostileSpec = spec
        hostileSpec.mlpRatio = 1e308
        var model = metadata
        model.model = try JSONValue(encoding: hostileSpec)
        let recorded = try ModelFile(bytes: try ModelFileWriter.encode(metadata: model, tensors: tensors))
        #expect { try recorded.metadata.modelSpec() } throws: { "\($0)".contains("metadata 'model'") && "\($0)".contains("mlp_ratio is 1e+308") }
        var classes = metadata
        classes.model = try JSONValue(encoding: ModelSpec(name: "vit-mnist", classes: 7))
        Self.expectRejected(try ModelFileWriter.encode(metadata: classes, tensors: tensors), ["metadata 'model' has classes 7"])
        var nameless = metadata
        nameless.model = .array([])
        Self.expectRejected(try ModelFileWriter.encode(metadata: nameless, tensors: tensors), ["metadata 'model' is not a model description"])
        var wide = metadata
        wide.vit!.dim = 65536
        Self.expectRejected(try ModelFileWriter.encode(metadata: wide, tensors: tensors), ["vit.dim is 65536"])
        var eps = metadata
        eps.vit!.layerNormEps = 2
        Self.expectRejected(try ModelFileWriter.encode(metadata: eps, tensors: tensors), ["layerNormEps is 2"])
    }

    @Test("Other kinds of file say what they are")
    func otherKinds() throws {
        let checkpoint = try Safetensors.encode(["w": Tensor(shape: [2], scalars: [1, 2])], metadata: ["format": "bitvit-checkpoint"])
        Self.expectRejected([UInt8](checkpoint), ["a safetensors file", "bitvit export"])
        Self.expectRejected(Array("name: x\n".utf8), ["a text file", "not a .bitvit model file"])
        Self.expectRejected([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13], ["a PNG image"])
    }

    @Test("Exporting NaN weights or a zero weight step is an error naming the tensor")
    func export() throws {
        let spec = EngineTestModels.spec("qvit-vit-mnist", options: ["bits": "4"])
        let nan = try EngineTestModels.model(spec)
        let weight = try #require(nan.namedParameters().first { $0.name == "blocks.0.attn.qkv.weight" }?.tensor)
        weight.data[7] = .nan
        #expect(throws: BitViTError.invalidArgument("export: the model's tensor 'blocks.0.attn.qkv.weight' holds nan at index 7; every weight must be finite")) {
            _ = try ModelExporter.export(nan, spec: spec, preprocessing: EngineTestModels.preprocessing, classNames: EngineTestModels.classNames)
        }
        let zero = try EngineTestModels.model(spec)
        let alpha = try #require(zero.namedParameters().first { $0.name == "patch_embed.proj.weight_quantizer.alpha" }?.tensor)
        alpha.data[0] = 0
        do {
            _ = try ModelExporter.export(zero, spec: spec, preprocessing: EngineTestModels.preprocessing, classNames: EngineTestModels.classNames)
            Issue.record("exported a zero weight step")
        } catch let error as BitViTError {
            #expect("\(error)".contains("weight step of 'patch_embed.weight' is 0.0"), "\(error)")
        }
    }
}
