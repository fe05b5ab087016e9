import Foundation
import BitViTCore
import Yams

extension TrainConfig {
    /// Resolves a recipe: the defaults, then the recipe file (YAML or JSON, if given), then the
    /// dotted `overrides` (`optimizer.lr=5e-4`) in order.
    ///
    /// Unknown fields, malformed values and invalid combinations raise `BitViTError` naming
    /// the file (or override) and the field.
    public static func resolve(recipe: URL? = nil, overrides: [String] = []) throws -> TrainConfig {
        let text = try recipe.map { try FileInput.readText($0, limit: DocumentLimits.maxBytes, what: "recipe (YAML or JSON)") }
        return try resolve(recipeText: text, source: recipe?.path ?? "recipe", overrides: overrides)
    }

    /// `resolve(recipe:overrides:)` for recipe text already in memory.
    public static func resolve(recipeText: String?, source: String = "recipe", overrides: [String] = []) throws -> TrainConfig {
        var tree = try TrainConfig().tree()
        var given: [(path: String, origin: String)] = []
        if let recipeText {
            let recipe = ConfigTree.renamingKeys(try ConfigTree.parse(recipeText, source: source), camelCased)
            if !ConfigTree.isNull(recipe) {
                guard case .mapping = recipe else {
                    throw BitViTError.malformed(file: source, reason: "a recipe is a mapping of sections (model, data, optimizer, …)")
                }
                given += ConfigTree.leafPaths(recipe).map { ($0, source) }
                tree = ConfigTree.merge(tree, recipe)
            }
        }
        for o in overrides {
            let single = try ConfigTree.applying(override: o, to: Node([(Node, Node)]()))
            let renamed = ConfigTree.renamingKeys(single, camelCased)
            given += ConfigTree.leafPaths(renamed).map { ($0, "override '\(o)'") }
            tree = ConfigTree.merge(tree, renamed)
        }
        // A teacher description given without `options` gets the empty map the schema requires.
        if ConfigTree.node(at: "loss.distillation.teacherModel", in: tree) != nil {
            tree = ConfigTree.merge(try ConfigTree.parse("loss: {distillation: {teacherModel: {options: {}}}}", source: source), tree)
        }
        let config = try decode(tree, source: source)
        // Reject fields the schema does not have (Codable would silently ignore them).
        let known = Set(ConfigTree.leafPaths(try schemaTemplate.tree()))
        for (path, origin) in given where !known.contains(path) && !isUnderOpaqueMap(path) {
            let parent = path.split(separator: ".").dropLast().joined(separator: ".")
            let siblings = known.filter { parent.isEmpty ? !$0.contains(".") : $0.hasPrefix(parent + ".") }
                .map { snakePath(String($0.dropFirst(parent.isEmpty ? 0 : parent.count + 1))) }
                .map { $0.split(separator: ".").first.map(String.init) ?? $0 }
            let choices = Array(Set(siblings)).sorted().joined(separator: ", ")
            throw BitViTError.malformed(file: origin, reason: "unknown field '\(snakePath(path))'; known here: \(choices)")
        }
        try config.validate(source: source)
        return config
    }

    /// The configuration as recipe YAML (`snake_case` keys), as `--dry-run` prints it and
    /// checkpoints store it.
    public func yaml() throws -> String {
        try ConfigTree.yaml(ConfigTree.tidyingNumbers(ConfigTree.renamingKeys(tree(), snakeCased)))
    }

    /// A configuration with every optional field set, whose tree lists every field of the schema.
    static var schemaTemplate: TrainConfig {
        var t = TrainConfig()
        let fullSpec = ModelSpec(name: "x", classes: 1, imageSize: 1, patchSize: 1, inChannels: 1, dim: 1, depth: 1, heads: 1,
                                 mlpRatio: 1, distilled: false, dropRate: 0, dropPathRate: 0)
        t.model = fullSpec
        t.data.root = "x"
        t.data.evalBatchSize = 1
        t.data.samplesPerClass = 1
        t.data.testPerClass = 1
        t.data.normalization = "x"
        t.data.evalCropPct = 1
        t.data.augmentation.randomResizedCropScale = [1]
        t.optimizer.lrBatchReference = 1
        t.optimizer.clipGradNorm = 1
        t.loss.distillation.teacher = "x"
        t.loss.distillation.teacherModel = fullSpec
        t.training.threads = 1
        t.training.initCheckpoint = "x"
        return t
    }

    /// The configuration as a `camelCase` tree.
    func tree() throws -> Node {
        try ConfigTree.parse(YAMLEncoder().encode(self), source: "configuration")
    }

    private static func decode(_ tree: Node, source: String) throws -> TrainConfig {
        do {
            return try YAMLDecoder().decode(TrainConfig.self, from: ConfigTree.yaml(tree))
        } catch let error as DecodingError {
            throw BitViTError.malformed(file: source, reason: ReadableError.decoding(error, keyName: snakeCased))
        }
    }

    private static func isUnderOpaqueMap(_ path: String) -> Bool {
        path.split(separator: ".").dropLast().contains("options")
    }
}

/// `optimizer.weightDecay` → `optimizer.weight_decay`.
func snakePath(_ path: String) -> String {
    path.split(separator: ".").map { snakeCased(String($0)) }.joined(separator: ".")
}
