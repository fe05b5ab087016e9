import XCTest
import BitViTCore
import BitViTNN
import BitViTData
import BitViTModels
import BitViTTrain
import BitViTInterop

/// One training step from an imported official checkpoint reproduces the official step: the
/// loss, every parameter's gradient (so every quantizer's backward in place), the optimizer's
/// parameter groups (which tensors get weight decay) and the updated parameters and buffers.
final class OfficialTrainingStepTests: XCTestCase {
    /// How a case's official script trains.
    struct Recipe {
        enum Objective { case labels(smoothing: Float), labelsAndHardDistillation(smoothing: Float), teacherDistribution }
        var objective: Objective
        var optimizer: String              // "adamw" or "lamb"
        var decayScalars: Bool             // timm 0.4.x/0.5.x decay 0-dim tensors
        var hints = DetectionHints()
        var sampled = false                // BHViT: a sample of every tensor
        /// Assert gradients and updates (false: report them; the loss is then checked to 1 %).
        var comparesGradients = true
    }

    func run(_ name: String, _ recipe: Recipe, file: StaticString = #filePath, line: UInt = #line) throws {
        let record = try InteropFixtures.safetensors(name + "_step")
        let meta = record.metadata
        let synthesized = recipe.sampled
        let state = synthesized ? try InteropFixtures.synthesizedCheckpoint(name) : try InteropFixtures.checkpoint(name)
        let imported = try CheckpointImport.load(state, options: ImportOptions(strict: true, hints: recipe.hints))
        let model = imported.model
        let map = NameMap(imported.report.family)
        let named = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.name, $0.tensor) })
        let stateNow = model.stateDict()

        // Parameter groups: the official no-decay set, under official names.
        let lr = try XCTUnwrap(meta["lr"].flatMap(Float.init))
        let weightDecay = try XCTUnwrap(meta["weight_decay"].flatMap(Float.init))
        let eps = try XCTUnwrap(meta["eps"].flatMap(Float.init))
        let groups = ParameterGroup.timmGroups(for: model, weightDecay: weightDecay, decayScalars: recipe.decayScalars)
        let bitvitNoDecay = Set(groups.filter { $0.weightDecay == 0 }.flatMap { $0.parameters.map { map.officialName($0.name) } })
        let officialNoDecay = Set((meta["no_decay"] ?? "").split(separator: ",").map(String.init))
        XCTAssertEqual(bitvitNoDecay, officialNoDecay, "\(name): weight-decay groups differ", file: file, line: line)

        // Forward and loss in training mode.
        let input = try record.tensors["input"] ?? InteropFixtures.synthesizedInput(meta)
        let labels = record.tensors["labels"].map { $0.scalars.map { Int($0) } } ?? []
        let teacher = record.tensors["teacher_logits"]
        model.train()
        model.zeroGrad()
        let output = model(input)
        let batch = Batch(images: input, labels: labels, indices: Array(0..<input.shape[0]))
        let context = LossContext(batch: batch, progress: TrainingProgress(epoch: 0, epochs: 1, iteration: 0, iterationsPerEpoch: 1),
                                  student: model, studentOutput: output, teacherLogits: teacher)
        let loss: Tensor
        switch recipe.objective {
        case .labels(let smoothing):
            loss = try ClassificationLoss(labelSmoothing: smoothing).loss(context)
        case .labelsAndHardDistillation(let smoothing):
            loss = try ClassificationLoss(labelSmoothing: smoothing).loss(context) * 0.5
                + (try HardDistillationLoss().loss(context)) * 0.5
        case .teacherDistribution:
            loss = try TeacherCrossEntropyLoss().loss(context)
        }
        let officialLoss = try XCTUnwrap(record.tensors["loss"]).item()
        XCTAssertEqual(loss.item(), officialLoss, accuracy: (recipe.comparesGradients ? 1e-5 : 1e-2) * max(1, abs(officialLoss)),
                       "\(name): loss", file: file, line: line)
        let strict = recipe.comparesGradients
        loss.backward()

        // Gradients of every parameter.
        var worstGradient: (name: String, relative: Float) = ("", 0)
        for (key, expected) in record.tensors where key.hasPrefix("grad.") {
            let official = String(key.dropFirst(5))
            let bitvit = try XCTUnwrap(map.bitvitName(official), "\(official) has no BitViT name")
            let parameter = try XCTUnwrap(named[bitvit], "\(name): no parameter \(bitvit)")
            let gradient = parameter.grad ?? Tensor.zeros(parameter.shape)
            let d = Difference(sample(gradient, like: expected, sampled: synthesized), expected)
            if d.relative > worstGradient.relative { worstGradient = (official, d.relative) }
            if ProcessInfo.processInfo.environment["INTEROP_DEBUG"] != nil { print("GRAD \(official) \(d.maxAbs) \(d.maxReference)") }
            if strict {
                XCTAssertLessThanOrEqual(d.maxAbs, 1e-3 * d.maxReference + 1e-7, "\(name): gradient of \(official)", file: file, line: line)
            }
        }

        // The step, with the official optimizer's rule.
        let optimizer: any Optimizer
        switch recipe.optimizer {
        case "lamb":
            optimizer = LAMB(groups: groups, learningRate: lr, eps: eps, trustRatioPolicy: .decayedGroupsOnly)
            let maxNorm = Double(meta["max_grad_norm"] ?? "1") ?? 1
            // timm's Lamb divides the gradients by max(‖g‖/maxNorm, 1).
            let norm = GradientClipping.globalNorm(model.parameters)
            optimizer.gradientScale = Float(1 / max(norm / maxNorm, 1))
        default:
            optimizer = AdamW(groups: groups, learningRate: lr, eps: eps)
        }
        optimizer.step()

        var worstUpdate: (name: String, steps: Float) = ("", 0)
        let largestGradient = record.tensors.filter { $0.key.hasPrefix("grad.") }.values.map { $0.scalars.map(abs).max() ?? 0 }.max() ?? 0
        for (key, expected) in record.tensors where key.hasPrefix("after.") {
            let official = String(key.dropFirst(6))
            guard let bitvit = map.bitvitName(official) else { continue }
            let tensor = try XCTUnwrap(stateNow[bitvit], "\(name): no tensor \(bitvit)")
            let mine = sample(tensor, like: expected, sampled: synthesized).scalars, theirs = expected.scalars
            // Allowed per element, in units of the learning rate (an Adam step moves an element
            // by about lr): 1 % plus float32 rounding of the value; and a whole step either way
            // where the official gradient is below 1e-4 of its tensor's largest (1e-6 of the
            // largest of all), i.e. at the
            // float noise of a mathematically zero gradient (a key bias under softmax, a
            // convolution bias before BatchNorm), whose direction Adam's first step amplifies.
            let gradient = record.tensors["grad." + official]?.scalars
            let noiseFloor = max(1e-4 * (gradient?.map(abs).max() ?? 0), 1e-6 * largestGradient)
            var worst: Float = 0
            for i in 0..<theirs.count {
                var allowed = 1e-2 * lr + 4 * abs(theirs[i]) * Float.ulpOfOne
                if let gradient, abs(gradient[i]) <= noiseFloor { allowed += 2 * lr }
                let error = abs(mine[i] - theirs[i])
                worst = max(worst, error / lr)
                if strict {
                    XCTAssertLessThanOrEqual(error, allowed, "\(name): \(official)[\(i)] after the step", file: file, line: line)
                    if error > allowed { break }
                }
            }
            if worst > worstUpdate.steps { worstUpdate = (official, worst) }
        }
        print("\(name): loss \(loss.item()) vs \(officialLoss); worst gradient \(worstGradient.name) \(worstGradient.relative) of its max; worst update \(worstUpdate.name) \(worstUpdate.steps)·lr")
    }

    /// `t` flattened and sampled at the generator's indices `k·(n−1)/(m−1)` when `sampled`.
    func sample(_ t: Tensor, like expected: Tensor, sampled: Bool) -> Tensor {
        guard sampled else { return t }
        let n = t.count, m = min(n, 32)
        let values = t.scalars
        let picked = (0..<m).map { k in values[m > 1 ? k * (n - 1) / (m - 1) : 0] }
        return Tensor(shape: [m], scalars: picked)
    }

    func testTimmDeiT() throws {
        try run("deit_tiny", Recipe(objective: .labels(smoothing: 0.1), optimizer: "adamw", decayScalars: false,
                                    hints: DetectionHints(heads: 2)))
        try run("deit_tiny_distilled", Recipe(objective: .labelsAndHardDistillation(smoothing: 0.1), optimizer: "adamw",
                                              decayScalars: false, hints: DetectionHints(heads: 2)))
    }

    func testGSB() throws {
        for stage in [1, 2] {
            try run("gsb_stage\(stage)", Recipe(objective: .labelsAndHardDistillation(smoothing: 0), optimizer: "adamw",
                                                decayScalars: true))
        }
    }

    func testQViT() throws {
        for bits in [2, 3, 4] {
            try run("qvit_w\(bits)", Recipe(objective: .labelsAndHardDistillation(smoothing: 0), optimizer: "lamb",
                                            decayScalars: true, hints: DetectionHints(bits: bits)))
        }
    }

    /// BHViT-Tiny at 224 in training mode: the weight-decay groups and the loss are asserted
    /// (to 1 %), gradients and updates only reported. From stage 4 on, training-mode outputs
    /// depend on float rounding by a few percent: the official code itself, run in float32 and
    /// in float64, differs by 3–6 % there (docs/interop.md), because batch statistics move by
    /// rounding and some binary signs and QD roundings sit that close to their thresholds.
    /// Evaluation mode, with fixed statistics, matches to 4e-7 (`OfficialLogitsTests`).
    func testBHViT() throws {
        for downsampling in ["fp", "binary"] {
            try run("bhvit_tiny_\(downsampling)", Recipe(objective: .teacherDistribution, optimizer: "adamw", decayScalars: false,
                                                        sampled: true, comparesGradients: false))
        }
    }
}
