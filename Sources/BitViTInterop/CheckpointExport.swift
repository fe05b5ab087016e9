import Foundation
import BitViTCore
import BitViTNN
import BitViTModels

/// Writes a BitViT model's state under the official code's names (timm's for full-precision
/// DeiTs), so that the official PyTorch model accepts it with a strict `load_state_dict`
/// (`model.load_state_dict(safetensors.torch.load_file(path))`).
///
/// Every parameter and buffer is renamed by `NameMap` and reshaped to the official shape
/// (quantizer flags `[1]`); entries the official model has and BitViT does not are written
/// with the official code's constant values (GSB stage 1's unused `weight_clip_val` buffers,
/// `[−2.5, 2.5]`). Integer buffers (`num_batches_tracked`) are written as float32, which
/// `load_state_dict` casts back.
public enum CheckpointExport {
    /// GSB's `--clip_init_val` default, the value of stage 1's unused clipping buffers.
    public static let gsbClipInitValue: Float = 2.5

    /// `model`'s state under `family`'s official names.
    public static func officialState(of model: Module, family: OfficialFamily) -> [String: Tensor] {
        let map = NameMap(family)
        var out: [String: Tensor] = [:]
        for (name, t) in model.stateDict() {
            let shape = map.officialShape(name, t.shape)
            out[map.officialName(name)] = shape == t.shape ? t.copy() : t.reshaped(shape).copy()
        }
        if family == .gsbStage1 {
            for name in out.keys where name.hasSuffix(".mlp.fc1.weight") || name.hasSuffix(".mlp.fc2.weight") {
                out[String(name.dropLast("weight".count)) + "weight_clip_val"] = Tensor(shape: [2], scalars: [-gsbClipInitValue, gsbClipInitValue])
            }
        }
        return out
    }

    /// The family a model exports to: from its spec when given, otherwise from its type.
    public static func family(of model: Module, spec: ModelSpec? = nil) throws -> OfficialFamily {
        if let spec, let family = OfficialFamily(spec: spec) { return family }
        switch model {
        case let gsb as GSBDeiT: return gsb.options.stage == .binaryMLPWeights ? .gsbStage1 : .gsbStage2
        case let q as QuantizedDeiT where q.scheme is QViTScheme: return .qvit
        case is DeiT: return .deit
        case is BHViT: return .bhvit
        default:
            throw BitViTError.invalidArgument("\(type(of: model)) has no official PyTorch counterpart to export to")
        }
    }

    /// Writes `model`'s official state as safetensors (atomically).
    public static func write(_ model: Module, family: OfficialFamily, to url: URL) throws {
        try write(officialState(of: model, family: family), family: family, to: url)
    }

    /// Writes an official state (`officialState(of:family:)`) as safetensors (atomically),
    /// with the metadata timm writes (`format: pt`) and the family.
    public static func write(_ state: [String: Tensor], family: OfficialFamily, to url: URL) throws {
        try Safetensors.save(state, to: url, metadata: ["format": "pt", "bitvit.family": family.rawValue])
    }
}
