import Foundation
import Testing
import BitViTTrain

private let recipesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../recipes")

private func recipe(_ name: String, _ overrides: [String] = []) throws -> TrainConfig {
    try TrainConfig.resolve(recipe: recipesDirectory.appendingPathComponent(name), overrides: overrides)
}

/// Term name → weight at the start and at the end of a run.
private func weights(_ objective: TrainingObjective, epochs: Int) -> (start: [String: Double], end: [String: Double]) {
    let start = TrainingProgress(epoch: 0, epochs: epochs, iteration: 0, iterationsPerEpoch: 10)
    let end = TrainingProgress(epoch: epochs - 1, epochs: epochs, iteration: 9, iterationsPerEpoch: 10)
    func at(_ p: TrainingProgress) -> [String: Double] {
        Dictionary(objective.terms.map { ($0.term.name, $0.weight(p)) }, uniquingKeysWith: +)
    }
    return (at(start), at(end))
}

@Suite struct MethodProcedureTests {
    /// Every recipe that claims a procedure follows it in every setting the procedure fixes.
    @Test func repositoryRecipesFollowTheProcedureTheyClaim() throws {
        let files = try FileManager.default.contentsOfDirectory(at: recipesDirectory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "yaml" }
        var claims: [String: Int] = [:]
        for file in files {
            let config = try TrainConfig.resolve(recipe: file)
            let check = MethodProcedure.check(config)
            guard config.method.name != "none" else { continue }
            claims["\(config.method.name) \(config.method.mode.rawValue)", default: 0] += 1
            #expect(check.settings.count >= 10, "\(file.lastPathComponent)")
            #expect(check.departures.isEmpty, "\(file.lastPathComponent): \(check.lines.joined(separator: "\n"))")
        }
        #expect(claims == ["deit official-code": 4, "gsb official-code": 4, "qvit official-code": 6, "qvit paper": 6,
                           "bhvit official-code": 2, "bhvit paper": 2])
    }

    /// The settings in which the two modes differ: the table of docs/methods.md.
    @Test(arguments: [
        ("qvit-w4a4-small.yaml", ["loss.dgd.weight", "optimizer.lr", "training.init_checkpoint"]),
        ("qvit-w2a2.yaml", ["loss.dgd.weight", "optimizer.lr", "training.init_checkpoint"]),
        ("bhvit-tiny-cifar10-small.yaml", ["loss.distillation.alpha", "loss.options.regularizer"]),
        ("gsb-stage2-small.yaml", []),
        ("fp-teacher-small.yaml", []),
    ])
    func modesDifferExactlyInTheDocumentedSettings(_ file: String, _ fields: [String]) throws {
        let config = try recipe(file)
        let official = MethodProcedure.settings(method: config.method.name, mode: .officialCode, for: config)
        let paper = MethodProcedure.settings(method: config.method.name, mode: .paper, for: config)
        let common = Set(official.map(\.field)).intersection(paper.map(\.field))
        let differing = official.filter { s in common.contains(s.field) && paper.first { $0.field == s.field }!.expected != s.expected }
        // The paper's DGD also fixes its reduction (the paper's sum), a setting the code has no use for.
        let extra = Set(paper.map(\.field)).subtracting(official.map(\.field))
        #expect(differing.map(\.field).sorted() == fields, "\(file)")
        #expect(extra == (config.method.name == "qvit" ? ["loss.dgd.reduction"] : []), "\(file)")
    }

    @Test func departuresAreReportedNotApplied() throws {
        let config = try recipe("qvit-w4a4-small-paper.yaml", ["loss.dgd.weight=0", "data.eval_batch_size=128"])
        #expect(config.loss.dgd.weight == 0, "the check changes nothing")
        let check = MethodProcedure.check(config)
        #expect(check.departures.map(\.field) == ["data.eval_batch_size", "loss.dgd.weight"])
        let text = check.lines.joined(separator: "\n")
        #expect(text.contains("loss.dgd.weight: 0 (paper: 1;") && text.contains("data.eval_batch_size: 128 (paper: 96;"))
        #expect(MethodProcedure.check(try recipe("vit-mnist.yaml")).lines.isEmpty, "no claim, no report")
        // At 224 the official pipelines evaluate Resize(256) + CenterCrop(224).
        let full = try recipe("gsb-stage1.yaml", ["data.eval_crop_pct=null"])
        #expect(MethodProcedure.check(full).departures.map(\.field) == ["data.eval_crop_pct"])
    }

    /// Each mode builds the losses its procedure documents (docs/methods.md), with their weights
    /// at the start and the end of a run.
    @Test(arguments: [
        ("fp-teacher-small.yaml", ["ce": 1.0], ["ce": 1.0]),
        ("w1a1-small.yaml", ["ce": 1.0], ["ce": 1.0]),
        ("gsb-stage1-small.yaml", ["ce": 0.5, "distill": 0.5], ["ce": 0.5, "distill": 0.5]),
        ("gsb-stage2-small.yaml", ["ce": 0.5, "distill": 0.5], ["ce": 0.5, "distill": 0.5]),
        ("qvit-w3a3-small.yaml", ["ce": 0.5, "distill": 0.5], ["ce": 0.5, "distill": 0.5]),
        ("qvit-w3a3-small-paper.yaml", ["ce": 0.5, "distill": 0.5, "dgd": 1.0], ["ce": 0.5, "distill": 0.5, "dgd": 1.0]),
        ("bhvit-tiny-cifar10-small.yaml", ["ce": 0.0, "distill": 1.0], ["ce": 0.0, "distill": 1.0]),
        ("bhvit-tiny-cifar10-small-paper.yaml", ["ce": 0.2, "distill": 0.8, "oscillation": 0.0],
         ["ce": 0.1, "distill": 0.8, "oscillation": 0.1]),
    ])
    func eachModeBuildsItsDocumentedLosses(_ file: String, _ start: [String: Double], _ end: [String: Double]) throws {
        let config = try recipe(file)
        let model = try ModelZoo.make(config.model)
        let w = weights(try config.makeObjective(for: model), epochs: config.training.epochs)
        #expect(w.start.mapValues { ($0 * 1e9).rounded() } == start.mapValues { ($0 * 1e9).rounded() }, "\(file) at the start")
        #expect(w.end.mapValues { ($0 * 1e9).rounded() } == end.mapValues { ($0 * 1e9).rounded() }, "\(file) at the end")
    }

    /// Each mode builds the parameter groups its procedure documents: GSB decays the learnable
    /// 0-d scales with the weights (timm 0.4.x); Q-ViT and BHViT decay nothing; DeiT decays
    /// weight matrices but not biases, norms, tokens or scalars.
    @Test(arguments: [("gsb-stage2-small.yaml", 0.05, true), ("gsb-stage1-small.yaml", 0.05, true),
                      ("qvit-w2a2-small.yaml", 0.0, false), ("qvit-w2a2-small-paper.yaml", 0.0, false),
                      ("bhvit-tiny-cifar10-small.yaml", 0.0, false), ("w1a1-small.yaml", 0.05, false)])
    func eachModeBuildsItsDocumentedParameterGroups(_ file: String, _ decay: Double, _ scalarsDecay: Bool) throws {
        let config = try recipe(file)
        let model = try ModelZoo.make(config.model)
        let groups = config.makeOptimizer(for: model).groups
        #expect(groups.count == 2 && groups[0].weightDecay == Float(decay) && groups[1].weightDecay == 0, "\(file)")
        let decayed = Set(groups[0].parameters.map(\.name))
        let named = model.namedParameters()
        #expect(decayed.count + groups[1].parameters.count == named.count)
        // Other tensors of rank ≥ 2 (GSB's attention bias and per-head shifts) follow the
        // official groups, which the one-step training fixtures check.
        for (name, tensor) in named {
            let expected: Bool
            if tensor.rank == 0 { expected = scalarsDecay }
            else if tensor.rank == 1 || ["cls_token", "dist_token", "pos_embed"].contains(name) { expected = false }
            else if name.hasSuffix(".weight") { expected = true }
            else { continue }
            #expect(decayed.contains(name) == expected, "\(file): \(name) (rank \(tensor.rank))")
        }
        if file.hasPrefix("gsb-stage2") { #expect(named.contains { $0.tensor.rank == 0 }, "\(file) has learnable scales") }
        // GSB's per-head shifts and attention bias are `move_{q,k,v}.bias` / `move_att.bias` in
        // the official code, which timm's rule exempts.
        let officialBiases = named.filter { $0.name.hasSuffix("_shift") || $0.name.hasSuffix(".attention_bias") }
        #expect(officialBiases.isEmpty == !file.hasPrefix("gsb"), "\(file)")
        for (name, _) in officialBiases { #expect(!decayed.contains(name), "\(file): \(name) is not decayed") }
    }
}
