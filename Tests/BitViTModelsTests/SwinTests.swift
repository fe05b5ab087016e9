import BitViTModels
import BitViTTestSupport
import Testing

/// Swin Transformer, full precision and under Q-ViT.
@Suite struct SwinTests {
    @Test func parameterCountsMatchTheReference() throws {
        #expect(try SwinTransformer(.swinTiny).parameterCount == 28_288_354)
        #expect(try SwinTransformer(.swinSmall).parameterCount == 49_606_258)
    }

    @Test func namesFollowTheReferenceImplementation() throws {
        let names = Set(try SwinTransformer(.swinMNIST).stateNames)
        for n in ["patch_embed.proj.weight", "patch_embed.norm.weight", "layers.0.blocks.1.attn.relative_position_bias_table",
                  "layers.0.blocks.0.attn.qkv.weight", "layers.1.blocks.3.mlp.fc2.bias", "layers.0.downsample.reduction.weight",
                  "layers.0.downsample.norm.bias", "norm.weight", "head.weight"] {
            #expect(names.contains(n), "\(n) missing")
        }
        #expect(!names.contains("layers.1.downsample.norm.weight"), "the last stage does not merge")
        #expect(!names.contains("layers.0.downsample.reduction.bias"))
    }

    @Test func windowsFollowSwinsRules() throws {
        let c = SwinConfig.swinTinyCIFAR
        #expect((0..<4).map { c.resolution(stage: $0) } == [8, 4, 2, 1])
        #expect(c.window(stage: 0) == (4, 2) && c.window(stage: 1) == (4, 0) && c.window(stage: 3) == (1, 0))
        let model = try SwinTransformer(.swinMNIST)
        #expect(model.layers[0].blocks[0].shift == 0 && model.layers[0].blocks[1].shift == 3)
        #expect(model.layers[1].blocks[1].shift == 0 && model.layers[1].blocks[1].window == 7)
        #expect(throws: BitViTError.self) { try SwinTransformer(SwinConfig(imageSize: 24, patchSize: 4, dim: 8, depths: [1, 1], heads: [1, 1], windowSize: 4)) }
    }

    @Test func shiftedWindowAttentionTreatsWrappedRegionsAsSeparate() throws {
        // A 2-window grid with shift 1: a token is masked against every token of another region.
        let block = try SwinTransformer(SwinConfig(imageSize: 8, patchSize: 2, dim: 8, depths: [2], heads: [2], windowSize: 2))
            .layers[0].blocks[1]
        #expect(block.shift == 1)
        // Shifting the input by a full window (after the cyclic shift the windows only permute)
        // preserves equivariance for a block without shift.
        let plain = try SwinTransformer(SwinConfig(imageSize: 8, patchSize: 2, dim: 8, depths: [1], heads: [2], windowSize: 2))
            .layers[0].blocks[0]
        plain.eval()
        let x = randomTensor([1, 4, 4, 8], seed: 1)
        let y = withNoGrad { plain(x.reshaped([1, 16, 8])) }.reshaped([1, 4, 4, 8])
        let shifted = withNoGrad { plain(x.rolled(by: 2, axis: 1).reshaped([1, 16, 8])) }.reshaped([1, 4, 4, 8])
        assertClose(shifted, y.rolled(by: 2, axis: 1), "equivariant to whole-window shifts")
    }

    @Test func unfusedWindowAttentionWithoutBiasEqualsFusedAttention() throws {
        var rng = RandomGenerator(seed: 2)
        let attn = QuantizableAttention(dim: 12, heads: 3, scheme: FullPrecisionScheme(), random: RandomSource(seed: 1), rng: &rng)
        let x = randomTensor([2, 5, 12], seed: 3)
        let fused = withNoGrad { attn(x) }
        let (unfused, pairs) = withNoGrad { attn.recordingQueriesKeys { attn(x) } }
        assertClose(unfused, fused, "unfused path")
        #expect(pairs.count == 1 && pairs[0].queries.shape == [2, 3, 5, 4])
    }

    @Test(arguments: ["swin-tiny-cifar", "qvit-swin-tiny-cifar", "swin-mnist"])
    func smallPresetsProduceClassScores(name: String) throws {
        let model = try ModelZoo.make(ModelSpec(name: name, classes: 10))
        let mnist = name.hasSuffix("mnist")
        model.train()
        let out = withNoGrad { model(randomTensor([2, mnist ? 1 : 3, mnist ? 28 : 32, mnist ? 28 : 32], seed: 4)) }
        #expect(out.logits.shape == [2, 10] && out.distillationLogits == nil)
        #expect(out.logits.scalars.allSatisfy { $0.isFinite })
    }

    @Test(arguments: ["qvit-swin-mnist", "w1a1-swin-mnist"])
    func quantizedSmallPresetsTrainOneStep(name: String) throws {
        let model = try ModelZoo.make(ModelSpec(name: name, classes: 10, options: name.hasPrefix("qvit") ? ["bits": "3"] : [:]))
        model.train()
        let out = model(randomTensor([2, 1, 28, 28], seed: 5))
        Tensor.crossEntropy(logits: out.logits, labels: [3, 4]).backward()
        let missing = model.namedParameters().filter { $0.tensor.grad == nil }.map(\.name)
        #expect(missing.isEmpty, "no gradient: \(missing.prefix(5))")
    }

    @Test func quantizedSwinPlacesQViTQuantizersEverywhere() throws {
        let model = try ModelZoo.make(ModelSpec(name: "qvit-swin-mnist", classes: 10, options: ["bits": "2"])) as! SwinTransformer
        let attn = model.layers[1].blocks[0].attn
        #expect(attn.normQ != nil && attn.relativePositionBiasTable?.shape == [169, 4])
        #expect((attn.probabilityQuantizer as! LSQActivationQuantizer).alpha.shape == [4])
        #expect((model.layers[0].downsample!.reduction.weightQuantizer as! LSQWeightQuantizer).bits == 2)
        #expect((model.head.inputQuantizer as! LSQActivationQuantizer).bits == 8)
        let (_, pairs) = withNoGrad { model.forwardRecordingQueriesKeys(randomTensor([1, 1, 28, 28], seed: 5)) }
        // Stage 1: 4 windows of 49 tokens, 2 heads of 32; stage 2: 1 window, 4 heads.
        #expect(pairs.count == 6 && pairs[0].queries.shape == [4, 2, 49, 32] && pairs[5].queries.shape == [1, 4, 49, 32])
        #expect(throws: BitViTError.self) { try ModelZoo.make(ModelSpec(name: "swin-mnist", classes: 10, depth: 3)) }
    }
}
