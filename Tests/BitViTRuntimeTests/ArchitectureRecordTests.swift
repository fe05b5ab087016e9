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

    @Test("BHViTArchitecture encodes as the BHViTConfig it records", arguments: ["bhvit-tiny", "bhvit-small", "bhvit-tiny-cifar"])
    func bhvitRecord(_ preset: String) throws {
        var c = try #require(BHViTConfig.presets[preset])
        #expect(try Self.json(BHViTArchitecture(c)) == Self.json(c))
        c.downsampling = .binary
        c.attentionProbabilities = .fullPrecision
        c.shiftBranches = false
        c.recu = true
        c.dropPathRate = 0.1
        #expect(try Self.json(BHViTArchitecture(c)) == Self.json(c))
        #expect(try JSONDecoder().decode(BHViTArchitecture.self, from: JSONEncoder().encode(c)) == BHViTArchitecture(c))
        #expect(BHViTArchitecture(c).problem() == nil)
    }

    @Test("The engine's BHViT constants are the training model's")
    func bhvitConstants() {
        #expect(BHViTArchitecture.shiftBranchNames == ShiftBranch.allCases.map(\.rawValue))
        #expect(BHViTArchitecture.convolutionDilations == MSGDCMixer.dilations)
        #expect(BHViTArchitecture.windowSize == BHViTConfig.windowSize)
    }
}
