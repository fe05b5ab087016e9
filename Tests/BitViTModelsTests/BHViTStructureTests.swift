import BitViTModels
import BitViTQuant
import BitViTTestSupport
import Testing

/// BHViT's presets and parameter tree (docs/reference/bhvit.md §3.1–3.3, §3.10; the
/// regularized tensors of docs/reference/bhvit.md §7).
@Suite struct BHViTStructureTests {
    private func config(_ base: BHViTConfig, binary: Bool, classes: Int = 1000) -> BHViTConfig {
        var c = base
        c.downsampling = binary ? .binary : .fullPrecision
        c.classes = classes
        return c
    }

    /// The counts measured on the official code, with 1000 and 10 classes (10 classes: 507,870 fewer).
    @Test(arguments: [("small", false, 22_642_920), ("small", true, 22_646_056),
                      ("tiny", false, 13_779_960), ("tiny", true, 13_783_096)])
    func parameterCountsMatchTheOfficialCode(preset: String, binary: Bool, count: Int) throws {
        let base = preset == "small" ? BHViTConfig.small : .tiny
        #expect(try BHViT(config(base, binary: binary)).parameterCount == count)
        #expect(try BHViT(config(base, binary: binary, classes: 10)).parameterCount == count - 507_870)
    }

    @Test func namesFollowTheOfficialCode() throws {
        let names = Set(try BHViT(.tiny).stateNames)
        for n in ["vit.embeddings.patch_embeddings.proj.weight", "vit.embeddings.patch_embeddings.norm.running_var",
                  "vit.embeddings.position_embeddings",
                  "vit.encoder.layerA.0.GC.move.bias", "vit.encoder.layerA.1.GC.cov3.weight", "vit.encoder.layerA.1.GC.cov2.bias",
                  "vit.encoder.layerA.0.GC.act2.slope", "vit.encoder.layerA.3.intermediate.dense.weight",
                  "vit.encoder.layerA.3.output.layerscale.alpha", "vit.encoder.layerA.0.layerscale_ch5.move",
                  "vit.encoder.layerB.0.attention.attention.token_FA.a1", "vit.encoder.layerB.0.attention.attention.token_FA.norm.weight",
                  "vit.encoder.layerB.7.attention.attention.query.weight", "vit.encoder.layerB.2.attention.attention.movev2",
                  "vit.encoder.layerB.2.attention.attention.att_prob_quantizer.alpha",
                  "vit.encoder.layerB.2.attention.attention.att_prob_quantizer.init_state",
                  "vit.encoder.layerB.5.attention.attention.parm", "vit.encoder.layerB.5.attention.output.dense.weight",
                  "vit.encoder.layerB.1.layernorm_after.num_batches_tracked", "vit.encoder.patch_embed1.proj.weight",
                  "vit.encoder.patch_embed3.position_embeddings", "vit.layernorm.weight", "classifier.bias"] {
            #expect(names.contains(n), "\(n) missing")
        }
        let binary = Set(try BHViT(config(.tiny, binary: true)).stateNames)
        #expect(binary.contains("vit.encoder.patch_embed2.move") && binary.contains("vit.encoder.patch_embed2.rprelu.slope"))
    }

    @Test func shapesFollowThePyramid() throws {
        let model = try BHViT(.small)
        let p = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.name, $0.tensor.shape) })
        #expect(p["vit.embeddings.position_embeddings"] == [1, 64, 56, 56])
        #expect(p["vit.encoder.layerA.0.GC.cov1.weight"] == [64, 16, 3, 3])
        #expect(p["vit.encoder.layerA.3.intermediate.dense.weight"] == [1024, 128], "stage 2: r = 8")
        #expect(p["vit.encoder.layerB.0.intermediate.dense.weight"] == [1024, 256], "stage 3: r = 4")
        #expect(p["vit.encoder.layerB.11.output.dense.weight"] == [512, 2048])
        #expect(p["vit.encoder.layerB.8.attention.attention.att_prob_quantizer.alpha"] == [8], "stage 4: 8 heads")
        #expect(p["vit.encoder.patch_embed1.position_embeddings"] == [1, 784, 128])
        #expect(p["vit.encoder.patch_embed2.proj.weight"] == [256, 128, 2, 2])
        #expect(p["vit.encoder.patch_embed3.position_embeddings"] == [1, 49, 512])
        #expect(model.vit.encoder.layerA.count == 7 && model.vit.encoder.layerB.count == 12)
    }

    /// Stage outputs at 224 (docs/reference/bhvit.md §3.2) without a full 224 forward: the stem on one image, each
    /// downsampling on tokens of its input shape, and one block per attention stage, whose QD
    /// inputs give the attention shapes (docs/reference/bhvit.md §3.6).
    @Test func stageShapesAt224() throws {
        let model = try BHViT(.small)
        model.train()
        var rng = RandomGenerator(seed: 3)
        let stem = withNoGrad { model.vit.embeddings(Tensor.randn([1, 3, 224, 224], using: &rng)) }
        #expect(stem.shape == [1, 56 * 56, 64], "(B, 64, 56, 56) as tokens")
        let outputs = withNoGrad {
            [(3136, 64), (784, 128), (196, 256)].enumerated().map { s, input in
                model.vit.encoder.downsamplers[s](Tensor.randn([1, input.0, input.1], using: &rng)).shape
            }
        }
        #expect(outputs == [[1, 784, 128], [1, 196, 256], [1, 49, 512]])

        var attentionShapes: [[Int]] = []
        for (_, q) in model.quantizers() where q is QDAttentionQuantizer {
            q.observer = { _, input, _ in attentionShapes.append(input.shape) }
        }
        let stage3 = model.vit.encoder.layerB[0], stage4 = model.vit.encoder.layerB[8]
        let y3 = withNoGrad { stage3(Tensor.randn([2, 196, 256], using: &rng)) }
        let y4 = withNoGrad { stage4(Tensor.randn([2, 49, 512], using: &rng)) }
        #expect(y3.shape == [2, 196, 256] && y4.shape == [2, 49, 512])
        #expect(attentionShapes == [[2 * 4, 4, 53, 53], [2, 8, 50, 50]])
    }

    @Test func regularizedWeightsAreTheBinaryMixerAndMLPWeights() throws {
        for (config, count) in [(BHViTConfig.small, 107), (.tiny, 68)] {
            for binary in [false, true] {
                let model = try BHViT(self.config(config, binary: binary))
                let regularized = model.oscillationRegularizedWeights
                #expect(regularized.count == count, "5 per MSGDC block + 6 per MSMHA block")
                // Exactly the binary layers' latent weights, minus the binary downsampling.
                let binaryLayers = model.quantizedLayers().map(\.name).filter { !$0.contains("patch_embed") }
                #expect(Set(regularized.map(\.name)) == Set(binaryLayers.map { $0 + ".weight" }))
            }
        }
    }

    @Test func initializationFollowsTheCode() throws {
        let model = try BHViT(.tinyCIFAR)
        for (name, t) in model.namedParameters() {
            let values = Set(t.scalars)
            if name.hasSuffix(".alpha") && name.contains("layerscale_") {
                #expect(values == [0], "\(name): shift branches start at 0")
            } else if name.hasSuffix("layerscale.alpha") {
                #expect(values == [0.1], "\(name): main branches start at 0.1")
            } else if name.hasSuffix(".slope") {
                #expect(values == [0.25], "\(name): PReLU default")
            } else if name.split(separator: ".").last!.hasPrefix("move") || name.hasSuffix("move.bias") {
                #expect(values == [0], "\(name): thresholds start at 0")
            } else if name.hasSuffix(".a1") || name.hasSuffix(".parm") {
                #expect(values == [0.5], "\(name)")
            } else if name.hasSuffix("att_prob_quantizer.alpha") {
                #expect(values == [1], "\(name): placeholder until the first training call")
            }
        }
        // PyTorch default bounds: the classifier U(±1/√128), a binary linear U(±1/√fan_in).
        let classifier = model.classifier.weight.scalars
        #expect(classifier.allSatisfy { Swift.abs($0) <= 1 / Float(128).squareRoot() })
        #expect(classifier.map { Swift.abs($0) }.max()! > 0.8 / Float(128).squareRoot(), "uniform, not trunc-normal 0.02")
    }

    @Test func configurationsAreValidated() {
        var bad = BHViTConfig.tinyCIFAR
        bad.imageSize = 30
        #expect(throws: BitViTError.self) { try BHViT(bad) }
        bad = .tinyCIFAR
        bad.stages[1].heads = 3
        #expect(throws: BitViTError.self) { try BHViT(bad) }
        bad = .tinyCIFAR
        bad.stages[0].mixer = .attention   // 28 is a multiple of 7, but the stem grid is fine: valid
        #expect((try? BHViT(bad)) != nil)
        bad.stemKernel = 4                  // 29×29 grid: neither halvable nor windowed
        #expect(throws: BitViTError.self) { try BHViT(bad) }
    }
}
