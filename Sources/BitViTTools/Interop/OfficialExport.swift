import BitViTCore
import BitViTInterop
import BitViTModels
import BitViTTrain
import Foundation

/// `bitvit export --format official` (or `timm`): a BitViT checkpoint as a safetensors file
/// under the official PyTorch code's names (timm's for a full-precision DeiT; GSB's, Q-ViT's,
/// BHViT's), which the official model loads with a strict
/// `model.load_state_dict(safetensors.torch.load_file(path))`. The mapping is
/// `BitViTInterop.CheckpointExport`'s.
public enum OfficialExport {
    public struct Summary {
        public var checkpoint: String
        public var output: String
        public var family: OfficialFamily
        public var modelName: String
        public var tensors: Int
        public var values: Int

        /// The official code each family's names are those of.
        static let code: [OfficialFamily: String] = [
            .deit: "timm VisionTransformer (DeiT)", .gsbStage1: "GSB One_bit_vit_weight.py",
            .gsbStage2: "GSB One_bit_vit_new.py", .qvit: "Q-ViT quant_vision_transformer.py", .bhvit: "BHViT transformer/BHViT.py",
        ]

        public var text: String {
            "\(output): \(modelName) from \(checkpoint) under \(family.rawValue) names (\(Self.code[family] ?? family.rawValue)), "
                + "\(tensors) tensors, \(grouped(values)) values (float32)\n"
                + "load in PyTorch: model.load_state_dict(safetensors.torch.load_file(\"\(output)\"))"
        }
    }

    /// Writes the model of the BitViT checkpoint at `checkpoint` to `output` (atomically).
    /// `timmOnly` (`--format timm`) refuses every model but a full-precision DeiT, the only one
    /// timm itself defines.
    public static func export(checkpoint: String, to output: String, timmOnly: Bool = false) throws -> Summary {
        let loaded = try Checkpoint.load(URL(fileURLWithPath: checkpoint))
        let model = try loaded.makeModel()
        let family: OfficialFamily
        do { family = try BitViTInterop.CheckpointExport.family(of: model, spec: loaded.modelSpec) } catch let e as BitViTError {
            throw BitViTError.invalidArgument("\(checkpoint) holds \(loaded.modelSpec.name): \(e.message)")
        }
        if timmOnly && family != .deit {
            throw BitViTError.invalidArgument("\(checkpoint) holds \(loaded.modelSpec.name), which timm does not define (family "
                                              + "\(family.rawValue)); --format timm is for full-precision DeiTs: use --format official")
        }
        let state = BitViTInterop.CheckpointExport.officialState(of: model, family: family)
        try BitViTInterop.CheckpointExport.write(state, family: family, to: URL(fileURLWithPath: output))
        return Summary(checkpoint: checkpoint, output: output, family: family, modelName: loaded.modelSpec.name,
                       tensors: state.count, values: state.values.reduce(0) { $0 + $1.count })
    }
}
