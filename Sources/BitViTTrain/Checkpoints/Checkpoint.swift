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
/// - `optimizer`: the optimizer name;
/// - `source`: for a checkpoint written by `bitvit import` (`kind` `imported`), the file it was
///   imported from.
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

    /// Writes `model` (and `optimizer`'s state, when given) with `config` and `state`;
    /// `extraMetadata` adds entries (an imported checkpoint's `source`).
    public static func save(to url: URL, kind: String, model: any ImageClassifier, modelSpec: ModelSpec,
                            config: TrainConfig?, state: TrainingState?, optimizer: (any Optimizer)? = nil,
                            optimizerName: String? = nil, extraMetadata: [String: String] = [:]) throws {
        var tensors = model.stateDict()
        var order = model.stateNames
        if let optimizer {
            let s = optimizer.state()
            for key in s.keys.sorted() {
                tensors[optimizerPrefix + key] = s[key]
                order.append(optimizerPrefix + key)
            }
        }
        var metadata = extraMetadata.merging(["format": format, "format_version": formatVersion, "kind": kind,
                                              "model": try jsonString(modelSpec)]) { _, own in own }
        if let config { metadata["config"] = try config.yaml() }
        if let state { metadata["training_state"] = try jsonString(state) }
        if let optimizerName { metadata["optimizer"] = optimizerName }
        try Safetensors.save(tensors, to: url, order: order, metadata: metadata)
    }

    /// Reads a checkpoint. A plain safetensors file without BitViT metadata (e.g. converted from
    /// timm) loads too when `modelSpec` describes its architecture.
    public static func load(_ url: URL, modelSpec fallback: ModelSpec? = nil) throws -> Checkpoint {
        try decode(Safetensors.load(url), name: url.path, modelSpec: fallback)
    }

    /// Decodes checkpoint bytes; `name` names the source in errors.
    public static func decode(_ data: Data, name: String, modelSpec fallback: ModelSpec? = nil) throws -> Checkpoint {
        try decode(Safetensors.decode(data, name: name), name: name, modelSpec: fallback)
    }

    /// Checks a decoded safetensors file as a checkpoint: the model description (against
    /// `ModelLimits`), the stored recipe (within `DocumentLimits`), the training state, and
    /// that every tensor is finite.
    static func decode(_ file: Safetensors.File, name: String, modelSpec fallback: ModelSpec?) throws -> Checkpoint {
        let meta = file.metadata
        func bad(_ reason: String) -> BitViTError { .malformed(file: name, reason: reason) }
        if let version = meta["format_version"], version != formatVersion {
            throw bad("checkpoint format version \(version) is not supported (expected \(formatVersion))")
        }
        let spec: ModelSpec
        if let json = meta["model"] {
            do { spec = try JSONDecoder().decode(ModelSpec.self, from: Data(json.utf8)) } catch {
                throw bad("metadata 'model' is not a model description: \(ReadableError.decoding(error, keyName: snakeCased))")
            }
            do { try ModelZoo.validate(spec) } catch let e as BitViTError {
                throw bad("metadata 'model': \(e.message)")
            }
        } else if let fallback {
            spec = fallback
        } else {
            throw bad("not a BitViT checkpoint (no 'model' metadata); give the model description for a plain weights file")
        }
        var config: TrainConfig?
        if let yaml = meta["config"] {
            do { config = try TrainConfig.resolve(recipeText: yaml, source: "metadata 'config'") } catch let e as BitViTError {
                throw bad("\(e.message)")
            }
        }
        var state: TrainingState?
        if let json = meta["training_state"] {
            do { state = try JSONDecoder().decode(TrainingState.self, from: Data(json.utf8)) } catch {
                throw bad("metadata 'training_state' is malformed: \(ReadableError.decoding(error, keyName: snakeCased))")
            }
            do { try state?.validate() } catch let e as BitViTError { throw bad("metadata 'training_state': \(e.message)") }
        }
        if let problem = nonFiniteTensorProblem(file.tensors) {
            throw bad("\(problem); a checkpoint's values must be finite (the run diverged, or the file is damaged)")
        }
        var model: [String: Tensor] = [:], optimizer: [String: Tensor] = [:]
        for (name, t) in file.tensors {
            if name.hasPrefix(optimizerPrefix) { optimizer[String(name.dropFirst(optimizerPrefix.count))] = t } else { model[name] = t }
        }
        let checkpoint = Checkpoint(kind: meta["kind"] ?? "weights", modelSpec: spec, config: config, state: state,
                                    modelTensors: model, optimizerState: optimizer, metadata: meta)
        do { try checkpoint.checkDescriptionFitsTensors() } catch let e as BitViTError { throw bad(e.message) }
        return checkpoint
    }

    /// Builds the model this checkpoint describes and loads its weights (strictly). The
    /// description is checked against the stored tensors before anything is allocated: a
    /// description that asks for far more parameters than the file holds, or another class
    /// count than its classifier head, is an error.
    public func makeModel(seed: UInt64 = 0) throws -> any ImageClassifier {
        try checkDescriptionFitsTensors()
        let model = try ModelZoo.make(modelSpec, seed: seed)
        do { try model.load(modelTensors, strict: true) } catch {
            throw BitViTError.invalidArgument("checkpoint weights do not fit model '\(modelSpec.name)': \(ReadableError.reason(error))")
        }
        return model
    }

    /// Throws unless the model description is plausible for the stored tensors (see `makeModel`).
    public func checkDescriptionFitsTensors() throws {
        let estimate = try ModelZoo.validate(modelSpec)
        let stored = modelTensors.values.reduce(0) { $0 + $1.count }
        guard estimate <= 2 * stored + (1 << 20) else {
            throw BitViTError.invalidArgument("the model description (\(modelSpec.name)) needs about \(estimate) parameters, "
                                              + "the weights hold \(stored) values: the description does not match the weights")
        }
        if let head = modelTensors["head.weight"], head.shape.first != modelSpec.classes {
            throw BitViTError.invalidArgument("the model description has \(modelSpec.classes) classes, "
                                              + "the weights' head.weight \(head.shape) has \(head.shape.first ?? 0)")
        }
    }
}

/// `value` as compact JSON with sorted keys.
func jsonString<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
