import Foundation
import BitViTModels

/// BitViT checkpoints: one safetensors file holding the model under its timm parameter names
/// (`blocks.0.attn.qkv.weight`, …) and, in a resumable checkpoint, the optimizer state under
/// `optimizer.` (`optimizer.exp_avg.blocks.0.attn.qkv.weight`, `optimizer.step`).
///
/// The header metadata (string → string) holds:
/// - `format`: `bitvit-checkpoint`; `format_version`: `1`; `kind`: `last` or `best`;
/// - `model`: the `ModelSpec` as JSON (enough to rebuild the model for eval/export);
/// - `config`: the run's resolved recipe as YAML;
/// - `training_state`: `TrainingState` as JSON (position, random stream, best result);
/// - `optimizer`: the optimizer name.
///
/// Files are written atomically (temporary file, then rename), so a crash never leaves a
/// half-written checkpoint in place of a good one.
public struct Checkpoint {
    public static let format = "bitvit-checkpoint"
    public static let formatVersion = "1"
    static let optimizerPrefix = "optimizer."

    /// `last` (resumable: model, optimizer, state) or `best` (model and state, no optimizer).
    public var kind: String
    public var modelSpec: ModelSpec
    public var config: TrainConfig?
    public var state: TrainingState?
    /// Model parameters and buffers by timm name.
    public var modelTensors: [String: Tensor]
    /// Optimizer state by optimizer key (without the `optimizer.` prefix); empty in `best`.
    public var optimizerState: [String: Tensor]
    /// The metadata exactly as stored.
    public var metadata: [String: String]

    /// Writes `model` (and `optimizer`'s state, when given) with `config` and `state`.
    public static func save(to url: URL, kind: String, model: any ImageClassifier, modelSpec: ModelSpec,
                            config: TrainConfig?, state: TrainingState?, optimizer: (any Optimizer)? = nil,
                            optimizerName: String? = nil) throws {
        var tensors = model.stateDict()
        var order = model.stateNames
        if let optimizer {
            let s = optimizer.state()
            for key in s.keys.sorted() {
                tensors[optimizerPrefix + key] = s[key]
                order.append(optimizerPrefix + key)
            }
        }
        var metadata = ["format": format, "format_version": formatVersion, "kind": kind,
                        "model": try jsonString(modelSpec)]
        if let config { metadata["config"] = try config.yaml() }
        if let state { metadata["training_state"] = try jsonString(state) }
        if let optimizerName { metadata["optimizer"] = optimizerName }
        try Safetensors.save(tensors, to: url, order: order, metadata: metadata)
    }

    /// Reads a checkpoint. A plain safetensors file without BitViT metadata (e.g. converted from
    /// timm) loads too when `modelSpec` describes its architecture.
    public static func load(_ url: URL, modelSpec fallback: ModelSpec? = nil) throws -> Checkpoint {
        try decode(Safetensors.load(url), source: url.path, modelSpec: fallback)
    }

    /// Reads a checkpoint from the bytes of its file (`source` names it in errors).
    public static func decode(_ data: Data, source: String, modelSpec fallback: ModelSpec? = nil) throws -> Checkpoint {
        try decode(Safetensors.decode(data, name: source), source: source, modelSpec: fallback)
    }

    private static func decode(_ file: Safetensors.File, source: String, modelSpec fallback: ModelSpec?) throws -> Checkpoint {
        let meta = file.metadata
        func bad(_ reason: String) -> BitViTError { .malformed(file: source, reason: reason) }
        let spec: ModelSpec
        if let json = meta["model"] {
            do { spec = try JSONDecoder().decode(ModelSpec.self, from: Data(json.utf8)) } catch {
                throw bad("metadata 'model' is not a model description: \(error)")
            }
        } else if let fallback {
            spec = fallback
        } else {
            throw bad("not a BitViT checkpoint (no 'model' metadata); give the model description for a plain weights file")
        }
        if let version = meta["format_version"], version != formatVersion {
            throw bad("checkpoint format version \(version) is not supported (expected \(formatVersion))")
        }
        var config: TrainConfig?
        if let yaml = meta["config"] {
            do { config = try TrainConfig.resolve(recipeText: yaml, source: source + " (metadata 'config')") } catch {
                throw bad("metadata 'config' does not decode: \(error)")
            }
        }
        var state: TrainingState?
        if let json = meta["training_state"] {
            do { state = try JSONDecoder().decode(TrainingState.self, from: Data(json.utf8)) } catch {
                throw bad("metadata 'training_state' is malformed: \(error)")
            }
        }
        var model: [String: Tensor] = [:], optimizer: [String: Tensor] = [:]
        for (name, t) in file.tensors {
            if name.hasPrefix(optimizerPrefix) { optimizer[String(name.dropFirst(optimizerPrefix.count))] = t } else { model[name] = t }
        }
        return Checkpoint(kind: meta["kind"] ?? "weights", modelSpec: spec, config: config, state: state,
                          modelTensors: model, optimizerState: optimizer, metadata: meta)
    }

    /// Builds the model this checkpoint describes and loads its weights (strictly).
    public func makeModel(seed: UInt64 = 0) throws -> any ImageClassifier {
        let model = try ModelZoo.make(modelSpec, seed: seed)
        do { try model.load(modelTensors, strict: true) } catch {
            throw BitViTError.invalidArgument("checkpoint weights do not fit model '\(modelSpec.name)': \(error)")
        }
        return model
    }
}

/// `value` as compact JSON with sorted keys.
func jsonString<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
