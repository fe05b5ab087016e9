import BitViTQuant
import BitViTTestSupport
import Testing

/// Every case of the Q-ViT golden files (docs/reference/qvit.md §3, §4, §6.2; format in Fixtures/README.md).
@Suite struct QViTGoldenTests {
    @Test func weightQuantizer() throws {
        for c in try Golden.cases("qvit_weight_lsq") {
            let w = try c.leaf("w")
            // Single-channel cases are the per-tensor variant (Fixtures/README.md).
            let q = LSQWeightQuantizer(bits: Int(try c.param("bits")), outChannels: w.shape[0] == 1 ? nil : w.shape[0])
            q.train()
            if !c.flag("first_call") {
                setScale(q.alpha, try c.value("alpha"))
                q.markScalesInitialized()
            }
            #expect(q.initializesOnNextCall == c.flag("first_call"), "\(c.id)")
            try c.verify(leaves: ["w": w, "alpha": q.alpha], stored: { ["alpha_stored": q.alpha] }) { q(w) }
            #expect(q.initState?.item() == 1, "\(c.id): init_state set")
        }
    }

    @Test func activationQuantizer() throws {
        for c in try Golden.cases("qvit_act_lsq") {
            let x = try c.leaf("x")
            // Channel axis: last for rank 3 [B, N, K], 1 for rank 2 [B, K] and rank 4.
            let axis = x.rank == 3 ? -1 : 1
            let q = LSQActivationQuantizer(bits: Int(try c.param("bits")), channels: x.shape[x.rank == 3 ? 2 : 1],
                                           channelAxis: axis)
            q.train()
            if !c.flag("first_call") {
                setScale(q.alpha, try c.value("alpha"))
                setScale(q.zeroPoint, try c.value("zero_point"))
                q.isSigned = c.flag("signed")
                q.markScalesInitialized()
            }
            try c.verify(leaves: ["x": x, "alpha": q.alpha, "zero_point": q.zeroPoint], stored: {
                ["alpha_stored": q.alpha, "zero_point_stored": q.zeroPoint, "signed_stored": q.signedFlag]
            }) { q(x) }
        }
    }

    @Test func informationRectification() throws {
        for c in try Golden.cases("qvit_irm") {
            let x = try c.leaf("x")
            let irm = InformationRectification(headDim: x.shape[3], eps: Float(try c.param("eps")))
            setScale(irm.weight, try c.value("gamma"))
            setScale(irm.bias, try c.value("beta"))
            try c.verify(leaves: ["x": x, "gamma": irm.weight, "beta": irm.bias]) { irm(x) }
        }
    }

    @Test func distributionGuidedDistillation() throws {
        for c in try Golden.cases("qvit_dgd") {
            let qs = try c.leaf("q_s"), ks = try c.leaf("k_s")
            let qt = try c.value("q_t"), kt = try c.value("k_t")
            func layers(_ q: Tensor, _ k: Tensor) -> [QueryKeyPair] {
                (0..<q.shape[0]).map { l in
                    QueryKeyPair(queries: q.slice(axis: 0, l..<(l + 1)).squeezed(0),
                                 keys: k.slice(axis: 0, l..<(l + 1)).squeezed(0))
                }
            }
            try c.verify(leaves: ["q_s": qs, "k_s": ks]) {
                DistributionGuidedDistillation.loss(student: layers(qs, ks), teacher: layers(qt, kt),
                                                    eps: Float(c.params["norm_eps"] ?? 1e-12))
            }
        }
    }
}
