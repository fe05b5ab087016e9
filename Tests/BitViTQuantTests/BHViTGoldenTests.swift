import BitViTQuant
import BitViTTestSupport
import Testing

/// Every case of the BHViT quantizer golden files (docs/reference/bhvit.md §5–6; format in Fixtures/README.md):
/// the row-centred weight rule, the binary linear layer and QD. ApproxSign (`bhvit_sign`) and
/// RPReLU (`bhvit_rprelu`), which BHViT reuses from the baselines, are checked in
/// `BaselineGoldenTests`.
@Suite struct BHViTGoldenTests {
    @Test func rowCenteredBinaryWeight() throws {
        for c in try Golden.cases("bhvit_binweight") {
            let w = try c.leaf("w")
            let q = RowCenteredBinaryWeightQuantizer()
            try c.verify(leaves: ["w": w]) { q(w) }
        }
    }

    @Test func binaryLinear() throws {
        var rng = RandomGenerator(seed: 5)
        for c in try Golden.cases("bhvit_binlinear") {
            let x = try c.leaf("x"), w = try c.leaf("w")
            let layer = QuantizedLinear(w.shape[1], w.shape[0], bias: false,
                                        inputQuantizer: SignQuantizer(estimator: .approxSign),
                                        weightQuantizer: RowCenteredBinaryWeightQuantizer(), rng: &rng)
            layer.weight.assign(w)
            // The layer's own weight is the leaf whose gradient the case checks.
            try c.verify(leaves: ["x": x, "w": layer.weight]) { layer(x) }
        }
    }

    @Test func quantizationDecomposition() throws {
        for c in try Golden.cases("bhvit_qd") {
            let x = try c.leaf("x")
            let q = QDAttentionQuantizer(heads: x.shape[1], bits: Int(try c.param("nbits")))
            q.train()
            if !c.flag("first_call") {
                setScale(q.alpha, try c.value("alpha"))
                setScale(q.zeroPoint, try c.value("zero_point"))
                q.markScalesInitialized()
            }
            #expect(q.initializesOnNextCall == c.flag("first_call"), "\(c.id)")
            try c.verify(leaves: ["x": x, "alpha": q.alpha, "zero_point": q.zeroPoint], stored: {
                ["alpha_stored": q.alpha, "zero_point_stored": q.zeroPoint]
            }) { q(x) }
            #expect(q.initState?.item() == 1, "\(c.id): init_state set")
        }
    }
}
