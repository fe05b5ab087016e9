import BitViTModels
import BitViTTestSupport
import Testing

/// GSB stage 1 and stage 2 (docs/reference/gsb.md §5).
@Suite struct GSBModelTests {
    /// A small GSB geometry for behaviour tests: 8×8 images, patch 4, 6 tokens.
    static func smallConfig(classes: Int = 5) -> ViTConfig {
        var c = ViTConfig(imageSize: 8, patchSize: 4, dim: 16, depth: 2, heads: 2, classes: classes, distilled: true)
        c.layerNormEps = 1e-12
        return c
    }

    static func images(_ b: Int, _ config: ViTConfig, seed: UInt64 = 1) -> Tensor {
        randomTensor([b, config.inChannels, config.imageSize, config.imageSize], seed: seed)
    }

    @Test(arguments: [(100, 21_781_064, 24_613_500), (102, 21_782_604, 24_615_040), (4, 21_707_144, 24_539_580)])
    func parameterCountsMatchTheOfficialCode(classes: Int, stage1: Int, stage2: Int) throws {
        let config = try GSBDeiT.configuration("deit-small", classes: classes)
        #expect(try GSBDeiT(config, options: GSBOptions(stage: .binaryMLPWeights)).parameterCount == stage1)
        #expect(try GSBDeiT(config, options: GSBOptions(stage: .fullyBinary)).parameterCount == stage2)
    }

    @Test func stageTwoHasTheSpecifiedParts() throws {
        let model = try GSBDeiT(GSBDeiT.configuration("deit-small", classes: 100))
        let state = model.stateDict()
        #expect(state["blocks.0.attn.attention_bias"]?.shape == [6, 198, 198])
        #expect(state["blocks.0.attn.q_shift"]?.shape == [6, 1, 64])
        #expect(state["blocks.3.mlp.fc2.input_shift"]?.shape == [1536])
        #expect(state["patch_embed.proj.weight_quantizer.alpha"]?.shape == [384])
        #expect(state["head_dist.input_quantizer.alpha"]?.shape == [])
        #expect(state["patch_embed.norm.weight"] == nil, "no BatchNorm in stage 2")
        #expect(model.config.layerNormEps == 1e-12 && model.config.distilled)
        // 12 scalars per block: α_in ×4, α_q, α_k, α_v1..3, α_a1..3 (docs/reference/gsb.md §5.2).
        let scalars = model.namedParameters().filter { $0.name.hasPrefix("blocks.0.") && $0.tensor.rank == 0 }
        #expect(scalars.count == 12)
        let layers = model.quantizedLayers().map(\.name)
        #expect(layers.contains("blocks.0.attn.qkv") && layers.contains("head") && layers.contains("patch_embed.proj"))
    }

    @Test func stageOneBinarizesOnlyTheMLPWeights() throws {
        let model = try GSBDeiT(GSBDeiT.configuration("deit-tiny", classes: 10), options: GSBOptions(stage: .binaryMLPWeights))
        let block = model.blocks[0]
        #expect(block.attn.qkv.weightQuantizer == nil && block.attn.qkv.inputShift == nil)
        #expect(block.mlp.fc1.weightQuantizer is BinaryWeightQuantizer && block.mlp.fc1.inputQuantizer == nil)
        #expect(block.mlp.fc2.inputShift != nil && block.attn.attentionBias == nil)
        #expect(model.patchEmbed.norm != nil && model.head.weightQuantizer == nil)
    }

    @Test func freshStageTwoInitializesItsScalesFromTheFirstBatch() throws {
        let config = Self.smallConfig()
        let model = try GSBDeiT(config, seed: 3)
        model.train()
        #expect(!model.quantizersAreInitialized)
        let out = model(Self.images(4, config))
        #expect(model.quantizersAreInitialized)
        #expect(out.logits.shape == [4, 5] && out.distillationLogits?.shape == [4, 5])
        // docs/reference/gsb.md §4.5: with B_att = 0 the attention α1 is 4/N in every block.
        for block in model.blocks {
            #expect(Swift.abs(block.attn.attentionQuantizer!.scales[0].item() - 4 / Float(config.tokenCount)) < 1e-6)
        }
        let patchSteps = (model.patchEmbed.proj.weightQuantizer as! LSQWeightQuantizer).alpha.scalars
        #expect(Set(patchSteps).count == 1 && patchSteps[0] != 1, "patch steps equal after initialization")
    }

    @Test func evaluationAveragesTheHeads() throws {
        let config = Self.smallConfig()
        let model = try GSBDeiT(config, seed: 4)
        let x = Self.images(3, config)
        model.train()
        _ = withNoGrad { model(x) }   // initializes the scales (its output uses the first-call quirk)
        let train = withNoGrad { model(x) }
        model.eval()
        let eval = withNoGrad { model(x) }
        #expect(eval.distillationLogits == nil)
        let mean = zip(train.logits.scalars, train.distillationLogits!.scalars).map { ($0 + $1) / 2 }
        assertClose(eval.logits.scalars, mean, "eval logits")
    }

    @Test(arguments: [GSBStage.binaryMLPWeights, .fullyBinary])
    func everyParameterReceivesAGradient(stage: GSBStage) throws {
        let config = Self.smallConfig()
        let model = try GSBDeiT(config, options: GSBOptions(stage: stage), seed: 5)
        model.train()
        let out = model(Self.images(4, config, seed: 6))
        let labels = [0, 1, 2, 3]
        (Tensor.crossEntropy(logits: out.logits, labels: labels) + Tensor.crossEntropy(logits: out.distillationLogits!, labels: labels))
            .backward()
        for (name, p) in model.namedParameters() {
            #expect(p.grad != nil, "\(name) has no gradient")
            #expect(p.grad?.scalars.allSatisfy { $0.isFinite } ?? false, "\(name) gradient is not finite")
        }
    }

    @Test func stageOneCheckpointInitializesStageTwo() throws {
        let config = Self.smallConfig()
        let stage1 = try GSBDeiT(config, options: GSBOptions(stage: .binaryMLPWeights), seed: 7)
        let stage2 = try GSBDeiT(config, options: GSBOptions(stage: .fullyBinary), seed: 8)
        let report = try stage2.load(stage1.stateDict(), strict: false)
        #expect(report.unexpected.allSatisfy { $0.hasPrefix("patch_embed.norm.") } && report.unexpected.count == 5,
                "only the BatchNorm is dropped: \(report.unexpected)")
        #expect(report.missing.contains("blocks.0.attn.attention_bias") && report.missing.contains("blocks.1.attn.qkv.input_shift"))
        #expect(!report.missing.contains("blocks.0.mlp.fc1.input_shift") && !report.missing.contains("blocks.0.attn.v_shift"))
        #expect(stage2.blocks[1].mlp.fc2.weight.scalars == stage1.blocks[1].mlp.fc2.weight.scalars)
        #expect(stage2.quantizers().allSatisfy { $0.quantizer.scaleInitialization == .none || !$0.quantizer.isInitialized })
    }

    @Test func fullPrecisionDeiTCheckpointLoadsByName() throws {
        let config = Self.smallConfig()
        let teacher = try DeiT(ViTConfig(imageSize: 8, patchSize: 4, dim: 16, depth: 2, heads: 2, classes: 5, distilled: true))
        let model = try GSBDeiT(config, seed: 9)
        let report = try model.load(teacher.stateDict(), strict: false)
        #expect(report.unexpected.isEmpty)
        #expect(model.blocks[0].attn.qkv.weight.scalars == teacher.blocks[0].attn.qkv.weight.scalars)
        #expect(model.head.weight.scalars == teacher.head.weight.scalars)
    }

    @Test(arguments: [("deit-tiny-cifar", 3, 32), ("vit-mnist", 1, 28)])
    func smallImagePresetsProduceClassScores(preset: String, channels: Int, size: Int) throws {
        for stage in ["1", "2"] {
            let model = try ModelZoo.make(ModelSpec(name: "gsb-" + preset, classes: 10, options: ["stage": stage]))
            model.train()
            let out = withNoGrad { model(randomTensor([2, channels, size, size], seed: 10)) }
            #expect(out.logits.shape == [2, 10] && out.distillationLogits?.shape == [2, 10])
            #expect(out.logits.scalars.allSatisfy { $0.isFinite })
        }
    }

    @Test func zooOptionsReachTheModel() throws {
        let model = try ModelZoo.make(ModelSpec(name: "gsb-vit-mnist", classes: 10,
                                                options: ["groups": "1", "stage": "2"])) as! GSBDeiT
        #expect(model.blocks[0].attn.valueQuantizer?.scales.count == 1)
        #expect(model.options.groups == 1)
        #expect(throws: BitViTError.self) { try ModelZoo.make(ModelSpec(name: "gsb-vit-mnist", classes: 10, options: ["stage": "3"])) }
        #expect(throws: BitViTError.self) { try ModelZoo.make(ModelSpec(name: "gsb-vit-mnist", classes: 10, options: ["bits": "2"])) }
        #expect(throws: BitViTError.self) {
            try ModelZoo.make(ModelSpec(name: "gsb-vit-mnist", classes: 10, options: ["groups": "3", "thresholds": "0.5"]))
        }
    }
}
