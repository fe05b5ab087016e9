import BitViTModels
import BitViTQuant
import BitViTTestSupport
import Testing

/// Whole-model behaviour of the small-image variant — the shift branches add 0 at initialization
/// (docs/reference/bhvit.md §4), evaluation is deterministic and independent of the batch
/// (docs/reference/bhvit.md §2) — and the model-spec options.
@Suite struct BHViTBehaviourTests {
    private func images(_ count: Int, seed: UInt64) -> Tensor {
        var rng = RandomGenerator(seed: seed)
        return Tensor.randn([count, 3, 32, 32], using: &rng)
    }

    @Test func everyParameterLearns() throws {
        for downsampling in [BHViTDownsampling.fullPrecision, .binary] {
            var config = BHViTConfig.tinyCIFAR
            config.downsampling = downsampling
            let model = try BHViT(config)
            model.train()
            let logits = model(images(2, seed: 1)).logits
            #expect(logits.shape == [2, 10])
            Tensor.crossEntropy(logits: logits, labels: [3, 7]).backward()
            for (name, p) in model.namedParameters() {
                let g = try #require(p.grad, "\(name) got no gradient")
                #expect(g.scalars.allSatisfy { $0.isFinite }, "\(name)")
                #expect(g.scalars.contains { $0 != 0 }, "\(name): gradient is all zero")
            }
            #expect(model.quantizersAreInitialized, "QD steps initialized by the training call")
        }
    }

    @Test func shiftBranchesAddNothingAtInitialization() throws {
        var without = BHViTConfig.tinyCIFAR
        without.shiftBranches = false
        let a = try BHViT(.tinyCIFAR), b = try BHViT(without)
        #expect(a.parameterCount - b.parameterCount == 6 * 2 * (32 + 2 * 64 + 2 * 128), "six LayerScales per block")
        let x = images(3, seed: 2)
        #expect(withNoGrad { a(x).logits.scalars } == withNoGrad { b(x).logits.scalars })
    }

    @Test func evaluationIsBatchIndependent() throws {
        let model = try BHViT(.tinyCIFAR)
        model.train()
        let batch = images(8, seed: 4)
        _ = withNoGrad { model(batch) }           // initializes QD and moves the running statistics
        model.eval()
        let together = withNoGrad { model(batch).logits }
        for i in 0..<8 {
            let alone = withNoGrad { model(batch.slice(axis: 0, i..<(i + 1))).logits }
            assertClose(alone.scalars, Array(together.scalars[(i * 10)..<((i + 1) * 10)]), atol: 1e-4, rtol: 1e-4,
                        "sample \(i) alone vs in a batch of 8")
        }
    }

    @Test func specOptionsSwitchComponents() throws {
        let spec = ModelSpec(name: "bhvit-tiny-cifar", classes: 10,
                             options: ["shift": "false", "attention": "fp", "downsampling": "binary", "recu": "true"])
        let config = try BHViTConfig(spec: spec)
        #expect(!config.shiftBranches && config.attentionProbabilities == .fullPrecision)
        #expect(config.downsampling == .binary && config.recu)
        let model = try BHViT(spec: spec)
        #expect(!model.stateNames.contains { $0.contains("layerscale_") || $0.contains("att_prob_quantizer") })
        #expect(model.vit.encoder.downsamplers.allSatisfy { $0 is BinaryDownsampling })
        let recu = model.quantizers().compactMap { $0.quantizer as? RowCenteredBinaryWeightQuantizer }
        #expect(recu.contains { $0.estimator == .recu }, "linear layers use ReCU")
        #expect(model.vit.encoder.layerA[0].mixer.convolutions.allSatisfy {
            ($0.weightQuantizer as? RowCenteredBinaryWeightQuantizer)?.estimator == .clipped
        }, "convolutions never use ReCU (docs/reference/bhvit.md §6.3)")
        model.train()
        #expect(model(images(2, seed: 5)).logits.scalars.allSatisfy { $0.isFinite })

        let defaults = try BHViTConfig(spec: ModelSpec(name: "bhvit-small", classes: 1000))
        #expect(defaults == .small)
        let zoo = try ModelZoo.make(ModelSpec(name: "bhvit-tiny", classes: 10, options: ["downsampling": "binary", "depths": "1,1,2,1"]))
        #expect(zoo is BHViT && ModelZoo.names.contains("bhvit-tiny-cifar"))
        #expect((zoo as? BHViT)?.config.stages.map(\.depth) == [1, 1, 2, 1])
        #expect(throws: BitViTError.self) { try BHViTConfig(spec: ModelSpec(name: "bhvit-tiny", classes: 10, options: ["depths": "2,2"])) }
        #expect(throws: BitViTError.self) { try BHViTConfig(spec: ModelSpec(name: "bhvit-tiny", classes: 10, options: ["shifts": "false"])) }
        #expect(throws: BitViTError.self) { try BHViTConfig(spec: ModelSpec(name: "bhvit-tiny", classes: 10, options: ["attention": "gsb"])) }
        #expect(throws: BitViTError.self) { try BHViTConfig(spec: ModelSpec(name: "bhvit-tiny", classes: 10, depth: 3)) }
        #expect(throws: BitViTError.self) { try BHViTConfig(spec: ModelSpec(name: "bhvit-huge", classes: 10)) }
    }
}
