import BitViTExport
import BitViTModels
import BitViTRuntime
import Foundation
import Testing

/// The runtime keeps its own records of what the training library describes; a file must read
/// and write exactly as the training types would.
@Suite("Architecture records of the runtime")
struct ArchitectureRecordTests {
    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    @Test("A model spec passes through JSONValue unchanged, integers and fractions alike")
    func modelSpecRoundTrip() throws {
        let spec = ModelSpec(name: "gsb-vit-mnist", classes: 10, patchSize: 7, dim: 128, depth: 4, heads: 4, mlpRatio: 2,
                             dropPathRate: 0.05, options: ["stage": "2", "thresholds": "0.7,0.9"])
        let value = try JSONValue(encoding: spec)
        #expect(try Self.json(value) == Self.json(spec))
        #expect(try value.decoded(as: ModelSpec.self) == spec)
        #expect(value["name"]?.string == "gsb-vit-mnist")
        let metadata = ModelFileMetadata(family: .deit, model: value,
                                         vit: ViTArchitecture(imageSize: 28, patchSize: 7, inChannels: 1, dim: 128, depth: 4, heads: 4,
                                                              mlpHidden: 256, classes: 10, distilled: false, layerNormEps: 1e-6),
                                         preprocessing: Preprocessing(imageSize: 28, channels: 1, mean: [0.5], std: [0.5]),
                                         classNames: [])
        #expect(metadata.modelName == "gsb-vit-mnist")
        #expect(try metadata.modelSpec() == spec)
    }

    @Test("A BHViT geometry round-trips through the metadata's JSON keys and passes the engine's checks",
          arguments: ["bhvit-tiny", "bhvit-small", "bhvit-tiny-cifar"])
    func bhvitRecord(_ preset: String) throws {
        var c = try #require(BHViTConfig.presets[preset])
        c.downsampling = .binary
        c.attentionProbabilities = .fullPrecision
        c.shiftBranches = false
        c.recu = true
        c.dropPathRate = 0.1
        let json = try Self.json(c)
        for key in ["imageSize", "inChannels", "stemKernel", "stemStride", "stages", "mixer", "mlpRatio", "classes",
                    "downsampling", "shiftBranches", "attentionProbabilities", "recu", "dropPathRate"] {
            #expect(json.contains("\"\(key)\":"), "docs/format.md names the key \(key)")
        }
        #expect(try JSONDecoder().decode(BHViTConfig.self, from: Data(json.utf8)) == c)
        #expect(throws: Never.self) { try c.validate(FieldRules(prefix: "bhvit.")) }
    }

    @Test("The engine's BHViT constants are the training model's")
    func bhvitConstants() {
        #expect(BHViTConfig.shiftBranchNames == ShiftBranch.allCases.map(\.rawValue))
        #expect(BHViTConfig.convolutionDilations == MSGDCMixer.dilations)
    }
}
