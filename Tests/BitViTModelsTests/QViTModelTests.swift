import BitViTModels
import BitViTTestSupport
import Testing

/// Q-ViT DeiT and the plain W1A1 baseline (docs/reference/qvit.md §5).
@Suite struct QViTModelTests {
    static let small = ViTConfig(imageSize: 8, patchSize: 4, dim: 16, depth: 2, heads: 2, classes: 5, distilled: true)

    static func images(_ b: Int, seed: UInt64 = 1) -> Tensor { randomTensor([b, 3, 8, 8], seed: seed) }

    @Test(arguments: [("deit-tiny", 5.91, 5_910_800), ("deit-small", 22.44, 22_436_432), ("deit-base", 87.34, 87_338_192)])
    func parameterCountsExcludingQuantizersMatchThePaper(preset: String, millions: Double, distilledDeiT: Int) throws {
        let model = try ModelZoo.make(ModelSpec(name: "qvit-" + preset, classes: 1000, options: ["bits": "4"])) as! QuantizedDeiT
        let withoutQuantizers = model.parameterCount - model.quantizerParameterCount
        // The distilled DeiT plus the IRM's γ, β for q and k in every block.
        #expect(withoutQuantizers == distilledDeiT + 12 * 2 * 2 * 64)
        #expect(Swift.abs(Double(withoutQuantizers) / 1e6 - millions) < 0.005)
    }

    @Test func attentionOperandsHaveOneStepPerHead() throws {
        let model = try QuantizedDeiT(ViTConfig.preset("deit-small", classes: 1000, distilled: true), scheme: QViTScheme(bits: 3))
        let attn = model.blocks[0].attn
        for q in [attn.queryQuantizer, attn.keyQuantizer, attn.valueQuantizer, attn.probabilityQuantizer] {
            let lsq = q as! LSQActivationQuantizer
            #expect(lsq.bits == 3 && lsq.alpha.shape == [6] && lsq.channelAxis == 1)
        }
        #expect((attn.qkv.weightQuantizer as! LSQWeightQuantizer).alpha.shape == [1152])
        #expect((attn.qkv.inputQuantizer as! LSQActivationQuantizer).alpha.shape == [384])
        #expect((model.head.weightQuantizer as! LSQWeightQuantizer).bits == 8)
        #expect((model.patchEmbed.proj.inputQuantizer as! LSQActivationQuantizer).alpha.shape == [3])
        #expect(model.blocks[3].mlp.hiddenClip == -10...10)
        #expect(attn.normQ?.weight.shape == [64])
    }

    @Test(arguments: [2, 3, 4])
    func recordsPerHeadQueriesAndKeysAndAveragesHeadsInEvaluation(bits: Int) throws {
        let model = try QuantizedDeiT(Self.small, scheme: QViTScheme(bits: bits), seed: 2)
        model.train()
        let x = Self.images(3)
        let (out, pairs) = model.forwardRecordingQueriesKeys(x, tap: .beforeQuantizer)
        #expect(pairs.count == 2)
        #expect(pairs.allSatisfy { $0.queries.shape == [3, 2, 6, 8] && $0.keys.shape == [3, 2, 6, 8] })
        #expect(out.logits.shape == [3, 5] && out.distillationLogits?.shape == [3, 5])
        #expect(model.quantizersAreInitialized)
        // The IRM output has zero mean per (sample, head, token) row.
        let q = pairs[0].queries
        for row in 0..<(q.count / 8) {
            #expect(Swift.abs((0..<8).reduce(Float(0)) { $0 + q.data[row * 8 + $1] }) < 1e-4)
        }
        model.eval()
        let train = withNoGrad { () -> ClassifierOutput in model.train(); return model(x) }
        model.eval()
        let eval = withNoGrad { model(x) }
        assertClose(eval.logits.scalars, zip(train.logits.scalars, train.distillationLogits!.scalars).map { ($0 + $1) / 2 },
                    "eval = mean of the heads")
    }

    @Test func fullPrecisionCheckpointInitializesTheQuantizedModel() throws {
        let fp = try DeiT(Self.small, seed: 3)
        let model = try QuantizedDeiT(Self.small, scheme: QViTScheme(bits: 4), seed: 4)
        let report = try model.load(fp.stateDict(), strict: false)
        #expect(report.unexpected.isEmpty)
        #expect(report.missing.allSatisfy { $0.contains("quantizer") || $0.contains("norm_q") || $0.contains("norm_k") })
        #expect(model.blocks[1].mlp.fc2.weight.scalars == fp.blocks[1].mlp.fc2.weight.scalars)
        model.train()
        #expect(model.quantizers().allSatisfy { $0.quantizer.initializesOnNextCall })
    }

    @Test func fullPrecisionSchemeIsTimmsDeiTAndReportsTheSameQueries() throws {
        let fp = try DeiT(Self.small, seed: 5)
        let model = try QuantizedDeiT(Self.small, scheme: FullPrecisionScheme(), seed: 6)
        try model.load(fp.stateDict(), strict: true)
        fp.eval()
        model.eval()
        let x = Self.images(2, seed: 7)
        let reference = withNoGrad { fp.forwardRecordingQueriesKeys(x) }
        // Recording forces the unfused attention path.
        let recorded = withNoGrad { model.forwardRecordingQueriesKeys(x) }
        assertClose(recorded.output.logits, reference.output.logits, atol: 1e-5, rtol: 1e-4, "logits")
        assertClose(withNoGrad { model(x) }.logits, reference.output.logits, atol: 1e-5, rtol: 1e-4, "fused logits")
        assertClose(withNoGrad { fp(x) }.logits, reference.output.logits, atol: 1e-6, rtol: 1e-5, "DeiT recording path")
        for (a, b) in zip(recorded.pairs, reference.pairs) {
            assertClose(a.queries, b.queries, "queries")
            assertClose(a.keys, b.keys, "keys")
        }
    }

    @Test func dgdLossTrainsTheStudentQueries() throws {
        let teacher = try DeiT(Self.small, seed: 8)
        teacher.eval()
        let student = try QuantizedDeiT(Self.small, scheme: QViTScheme(bits: 2), seed: 9)
        student.train()
        let x = Self.images(2, seed: 10)
        let target = withNoGrad { teacher.forwardRecordingQueriesKeys(x).pairs }
        let (_, pairs) = student.forwardRecordingQueriesKeys(x)
        let loss = DistributionGuidedDistillation.loss(student: pairs, teacher: target)
        #expect(loss.item() > 0)
        loss.backward()
        #expect(student.blocks[0].attn.qkv.weight.grad != nil && student.blocks[1].attn.normQ?.weight.grad != nil)
    }

    @Test func binaryBaselineHasBinaryBlockWeightsAndNoExtraParameters() throws {
        let model = try ModelZoo.make(ModelSpec(name: "w1a1-deit-tiny-cifar", classes: 10)) as! QuantizedDeiT
        let reference = try DeiT(ViTConfig.preset("deit-tiny-cifar", classes: 10, distilled: true))
        #expect(model.parameterCount == reference.parameterCount)
        let fc1 = model.blocks[0].mlp.fc1
        #expect(fc1.inputQuantizer is SignQuantizer && model.head.weightQuantizer == nil && model.patchEmbed.proj.weightQuantizer == nil)
        let w = fc1.weightQuantizer!.quantizedValue(of: fc1.weight)
        for row in 0..<4 {
            let values = Set((0..<192).map { Swift.abs(w.data[row * 192 + $0]) })
            #expect(values.count == 1, "one magnitude per output channel")
        }
        model.train()
        let out = withNoGrad { model(randomTensor([2, 3, 32, 32], seed: 11)) }
        #expect(out.logits.shape == [2, 10] && out.logits.scalars.allSatisfy { $0.isFinite })
    }

    @Test(arguments: ["qvit-deit-tiny-cifar", "qvit-vit-mnist", "w1a1-vit-mnist"])
    func smallImagePresetsTrainOneStep(name: String) throws {
        let model = try ModelZoo.make(ModelSpec(name: name, classes: 10, options: name.hasPrefix("qvit") ? ["bits": "2"] : [:]))
        let channels = name.hasSuffix("mnist") ? 1 : 3, size = name.hasSuffix("mnist") ? 28 : 32
        model.train()
        let out = model(randomTensor([2, channels, size, size], seed: 12))
        #expect(out.logits.shape == [2, 10] && out.distillationLogits?.shape == [2, 10])
        Tensor.crossEntropy(logits: out.logits, labels: [1, 2]).backward()
        #expect(model.parameters.filter { $0.grad != nil }.count > model.parameters.count / 2)
    }

    @Test func dropoutActsOnlyInTraining() throws {
        var config = Self.small
        config.dropRate = 0.5
        let model = try QuantizedDeiT(config, scheme: FullPrecisionScheme(), seed: 13)
        let x = Self.images(2, seed: 14)
        model.eval()
        #expect(withNoGrad { model(x) }.logits.scalars == withNoGrad { model(x) }.logits.scalars)
        model.train()
        #expect(withNoGrad { model(x) }.logits.scalars != withNoGrad { model(x) }.logits.scalars)
        #expect(throws: BitViTError.self) { try ModelZoo.make(ModelSpec(name: "gsb-vit-mnist", classes: 10, dropRate: 0.1)) }
    }

    @Test func zooRejectsBadOptions() {
        #expect(throws: BitViTError.self) { try ModelZoo.make(ModelSpec(name: "qvit-vit-mnist", classes: 10, options: ["bits": "5"])) }
        #expect(throws: BitViTError.self) { try ModelZoo.make(ModelSpec(name: "qvit-vit-mnist", classes: 10, options: ["window": "7"])) }
        #expect(throws: BitViTError.self) { try ModelZoo.make(ModelSpec(name: "w1a1-vit-mnist", classes: 10, options: ["estimator": "x"])) }
        #expect(throws: BitViTError.self) { try ModelZoo.make(ModelSpec(name: "qvit-unknown", classes: 10)) }
        let noIRM = try? ModelZoo.make(ModelSpec(name: "qvit-vit-mnist", classes: 10, options: ["irm": "false"])) as? QuantizedDeiT
        #expect(noIRM?.blocks[0].attn.normQ == nil)
    }
}
