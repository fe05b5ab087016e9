import BitViTModels
import BitViTTestSupport
import Foundation
import Testing

/// Whole-model check against PyTorch: `Fixtures/vit_reference` (see its README) holds a tiny
/// DeiT's weights, inputs, logits, loss and every parameter gradient.
@Suite struct DeiTReferenceTests {
    static let fixtures = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/vit_reference")

    static func config(distilled: Bool) -> ViTConfig {
        ViTConfig(imageSize: 16, patchSize: 4, dim: 32, depth: 2, heads: 2, classes: 5, distilled: distilled)
    }

    @Test(arguments: [false, true])
    func reproducesLogitsLossAndGradients(distilled: Bool) throws {
        let stem = distilled ? "deit_distilled" : "deit"
        let weights = try Safetensors.load(Self.fixtures.appendingPathComponent("\(stem)_weights.safetensors")).tensors
        let io = try Safetensors.load(Self.fixtures.appendingPathComponent("\(stem)_io.safetensors")).tensors
        let grads = try Safetensors.load(Self.fixtures.appendingPathComponent("\(stem)_grads.safetensors")).tensors

        let model = try DeiT(Self.config(distilled: distilled))
        let report = try model.load(weights, strict: true)
        #expect(report.missing.isEmpty && report.unexpected.isEmpty)
        model.train()

        let input = try #require(io["input"]), labels = try #require(io["labels"]).scalars.map { Int($0) }
        let out = model(input)
        let expected = try #require(io["logits"])
        let heads = distilled ? [out.logits, try #require(out.distillationLogits)] : [out.logits]
        #expect(expected.shape == [heads.count] + out.logits.shape)
        let got = heads.flatMap(\.scalars)
        assertClose(got, expected.scalars, atol: 1e-5, rtol: 1e-4, "logits")

        var loss = Tensor.crossEntropy(logits: out.logits, labels: labels)
        if distilled {
            let teacher = try #require(io["teacher_labels"]).scalars.map { Int($0) }
            loss = loss * 0.5 + Tensor.crossEntropy(logits: heads[1], labels: teacher) * 0.5
        }
        assertClose([loss.item()], try #require(io["loss"]).scalars, atol: 1e-6, rtol: 1e-4, "loss")

        loss.backward()
        #expect(Set(grads.keys) == Set(model.namedParameters().map(\.name)))
        for (name, p) in model.namedParameters() {
            let want = try #require(grads[name], "no reference gradient for \(name)")
            let g = try #require(p.grad, "no gradient for \(name)")
            #expect(g.shape == want.shape, "\(name)")
            assertClose(g.scalars, want.scalars, atol: 1e-5, rtol: 1e-3, name)
        }
    }

    @Test func evalModeAveragesTheTwoHeads() throws {
        let weights = try Safetensors.load(Self.fixtures.appendingPathComponent("deit_distilled_weights.safetensors")).tensors
        let io = try Safetensors.load(Self.fixtures.appendingPathComponent("deit_distilled_io.safetensors")).tensors
        let model = try DeiT(Self.config(distilled: true))
        try model.load(weights)
        model.eval()
        let out = withNoGrad { model(io["input"]!) }
        #expect(out.distillationLogits == nil)
        let ref = io["logits"]!.scalars
        let half = ref.count / 2
        let mean = (0..<half).map { (ref[$0] + ref[half + $0]) / 2 }
        assertClose(out.logits.scalars, mean, atol: 1e-5, rtol: 1e-4, "eval logits")
    }
}
