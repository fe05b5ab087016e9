import ArgumentParser
import BitViTTrain
import Foundation

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Parameter counts and a per-layer table of a model name, a recipe or a checkpoint; storage and OPs of a .bitvit file.",
        discussion: "Model names: \(ModelZoo.names.joined(separator: ", ")).")

    @Argument(help: "A model name, a recipe (YAML/JSON), a checkpoint (safetensors) or an exported model (.bitvit); files are recognized by their content.") var target: String
    @OptionGroup var recipeOptions: RecipeOptions
    @Option(parsing: .unconditional, help: "Classes, for a model name (default 1000, or the preset's).") var classes: Int?
    @Flag(help: "List every module, not only those holding parameters.") var all = false

    func run() throws {
        let url = URL(fileURLWithPath: target)
        let kind = FileKind.sniff(url)
        let isModelName = kind == .missing && ModelZoo.names.contains(target)
        if !recipeOptions.overrides.isEmpty && kind != .text {
            throw BitViTError.invalidArgument("--set applies to a recipe; \(target) is \(isModelName ? "a model name" : kind.phrase)")
        }
        if classes != nil && !isModelName {
            throw BitViTError.invalidArgument("--classes applies to a model name; \(target) is \(kind.phrase)")
        }
        let model: any ImageClassifier
        var header: [String] = []
        switch kind {
        case .bitvitModel:
            try printModelFileInfo(target)
            return
        case .safetensors, .unknown:
            let checkpoint = try Checkpoint.load(url)
            model = try checkpoint.makeModel()
            header.append("checkpoint \(target) (\(checkpoint.kind))")
            if let s = checkpoint.state {
                var line = "  trained \(s.epoch) epochs, \(s.globalStep) steps"
                if let best = s.bestTop1 { line += String(format: ", best validation top-1 %.2f %% (epoch %d)", 100 * best, s.bestEpoch ?? 0) }
                header.append(line)
            }
            if let c = checkpoint.config { header.append("  recipe: \(c.name), \(c.data.dataset), optimizer \(c.optimizer.name)") }
            header.append("  model: \(try jsonModel(checkpoint.modelSpec))")
        case .text:
            let config = try recipeOptions.resolve(target)
            model = try ModelZoo.make(config.model)
            header.append("recipe \(target): model \(try jsonModel(config.model))")
        case .missing:
            guard isModelName else {
                throw BitViTError.invalidArgument("'\(target)' is neither a file nor a model name; known models: \(ModelZoo.names.joined(separator: ", "))")
            }
            let presetClasses = ViTConfig.presets[target]?.classes ?? BHViTConfig.presets[target]?.classes ?? 1000
            let spec = ModelSpec(name: target, classes: classes ?? presetClasses)
            model = try ModelZoo.make(spec)
            header.append("model \(try jsonModel(spec))")
        default:
            throw BitViTError.malformed(file: target, reason: "this is \(kind.phrase); info takes a model name, a recipe, a checkpoint or a .bitvit file")
        }
        for line in header { print(line) }
        if let deit = model as? DeiT {
            let c = deit.config
            print("  geometry: \(c.imageSize)×\(c.imageSize)×\(c.inChannels) images, patch \(c.patchSize) (\(c.tokenCount) tokens), "
                  + "width \(c.dim), depth \(c.depth), \(c.heads) heads, MLP \(c.mlpHidden), \(c.classes) classes"
                  + (c.distilled ? ", distillation head" : ""))
        }
        print("")
        print(layerTable(model, all: all))
    }

    private func jsonModel(_ spec: ModelSpec) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(spec), as: UTF8.self)
    }
}

/// One row per module that owns parameters: path, type, its own parameters' shapes and count;
/// then the totals (trainable parameters, buffers, float32 size).
func layerTable(_ model: Module, all: Bool) -> String {
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
    func padLeft(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
    var lines = [pad("module", w0) + "  " + pad("type", w1) + "  " + padLeft("parameters", w3) + "  tensors"]
    lines.append(String(repeating: "─", count: w0 + w1 + w3 + 15))
    for r in rows { lines.append(pad(r.0, w0) + "  " + pad(r.1, w1) + "  " + padLeft(grouped(r.3), w3) + "  " + r.2) }
    let total = model.parameterCount
    let buffers = model.namedBuffers().reduce(0) { $0 + $1.tensor.count }
    lines.append(String(repeating: "─", count: w0 + w1 + w3 + 15))
    lines.append("total trainable parameters: \(grouped(total)) (\(String(format: "%.2f", Double(total * 4) / 1_048_576)) MiB as float32)"
                 + (buffers > 0 ? ", buffers: \(grouped(buffers))" : ""))
    return lines.joined(separator: "\n")
}

/// `5717416` → `5,717,416`.
func grouped(_ n: Int) -> String {
    let digits = String(n)
    var out = ""
    for (i, ch) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return out
}
