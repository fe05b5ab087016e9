import BitViTCore
import BitViTModels
import BitViTNN
import BitViTTrain
import Foundation

/// What `bitvit info` prints for `target`, recognized by its content: a `.bitvit` file
/// (`modelFileInfo`), or for a checkpoint (safetensors), a recipe (YAML or JSON text, with
/// `overrides` applied) or a model name (with `classes`, default the preset's or 1000) a
/// header, the geometry of a DeiT and the per-layer parameter table (`all`: every module, not
/// only those with parameters). `overrides` apply to recipes only and `classes` to model names
/// only; elsewhere they are an error.
public func modelInfo(_ target: String, overrides: [String] = [], classes: Int? = nil, all: Bool = false) throws -> String {
    let url = URL(fileURLWithPath: target)
    let kind = FileKind.sniff(url)
    let isModelName = kind == .missing && ModelZoo.names.contains(target)
    if !overrides.isEmpty && kind != .text {
        throw BitViTError.invalidArgument("--set applies to a recipe; \(target) is \(isModelName ? "a model name" : kind.phrase)")
    }
    if classes != nil && !isModelName {
        throw BitViTError.invalidArgument("--classes applies to a model name; \(target) is \(kind.phrase)")
    }
    let model: any ImageClassifier
    var lines: [String] = []
    switch kind {
    case .bitvitModel:
        return try modelFileInfo(target)
    case .safetensors, .unknown:
        let checkpoint = try Checkpoint.load(url)
        model = try checkpoint.makeModel()
        lines.append("checkpoint \(target) (\(checkpoint.kind))")
        if let s = checkpoint.state {
            var line = "  trained \(s.epoch) epochs, \(s.globalStep) steps"
            if let best = s.bestTop1 { line += String(format: ", best validation top-1 %.2f %% (epoch %d)", 100 * best, s.bestEpoch ?? 0) }
            lines.append(line)
        }
        if let c = checkpoint.config { lines.append("  recipe: \(c.name), \(c.data.dataset), optimizer \(c.optimizer.name)") }
        lines.append("  model: \(try jsonLine(checkpoint.modelSpec))")
    case .text:
        let config = try TrainConfig.resolve(recipe: url, overrides: overrides)
        model = try ModelZoo.make(config.model)
        lines.append("recipe \(target): model \(try jsonLine(config.model))")
    case .missing:
        guard isModelName else {
            throw BitViTError.invalidArgument("'\(target)' is neither a file nor a model name; known models: \(ModelZoo.names.joined(separator: ", "))")
        }
        let presetClasses = ViTConfig.presets[target]?.classes ?? BHViTConfig.presets[target]?.classes ?? 1000
        let spec = ModelSpec(name: target, classes: classes ?? presetClasses)
        model = try ModelZoo.make(spec)
        lines.append("model \(try jsonLine(spec))")
    default:
        throw BitViTError.malformed(file: target, reason: "this is \(kind.phrase); info takes a model name, a recipe, a checkpoint or a .bitvit file")
    }
    if let deit = model as? DeiT {
        let c = deit.config
        lines.append("  geometry: \(c.imageSize)×\(c.imageSize)×\(c.inChannels) images, patch \(c.patchSize) (\(c.tokenCount) tokens), "
                     + "width \(c.dim), depth \(c.depth), \(c.heads) heads, MLP \(c.mlpHidden), \(c.classes) classes"
                     + (c.distilled ? ", distillation head" : ""))
    }
    lines.append("")
    lines.append(layerTable(model, all: all))
    return lines.joined(separator: "\n")
}

/// One row per module that owns parameters: path, type, its own parameters' shapes and count;
/// then the totals (trainable parameters, buffers, float32 size).
public func layerTable(_ model: Module, all: Bool) -> String {
    let parameters = model.namedParameters()
    var rows: [(String, String, String, Int)] = []
    for (path, module) in model.namedModules() {
        let prefix = path.isEmpty ? "" : path + "."
        let own = parameters.filter { $0.name.hasPrefix(prefix) && !$0.name.dropFirst(prefix.count).contains(".") }
        guard all || !own.isEmpty else { continue }
        let shapes = own.map { "\($0.name.dropFirst(prefix.count)) \($0.tensor.shape)" }.joined(separator: ", ")
        rows.append((path.isEmpty ? "(model)" : path, String(describing: type(of: module)), shapes,
                     own.reduce(0) { $0 + $1.tensor.count }))
    }
    let w0 = max(6, rows.map(\.0.count).max() ?? 0), w1 = max(4, rows.map(\.1.count).max() ?? 0)
    let w3 = max(10, rows.map { grouped($0.3).count }.max() ?? 0)
    func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(0, n - s.count)) }
    var lines = [pad("module", w0) + "  " + pad("type", w1) + "  " + rightAligned("parameters", w3) + "  tensors"]
    lines.append(String(repeating: "─", count: w0 + w1 + w3 + 15))
    for r in rows { lines.append(pad(r.0, w0) + "  " + pad(r.1, w1) + "  " + rightAligned(grouped(r.3), w3) + "  " + r.2) }
    let total = model.parameterCount
    let buffers = model.namedBuffers().reduce(0) { $0 + $1.tensor.count }
    lines.append(String(repeating: "─", count: w0 + w1 + w3 + 15))
    lines.append("total trainable parameters: \(grouped(total)) (\(String(format: "%.2f", Double(total * 4) / 1_048_576)) MiB as float32)"
                 + (buffers > 0 ? ", buffers: \(grouped(buffers))" : ""))
    return lines.joined(separator: "\n")
}
