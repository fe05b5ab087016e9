import BitViTQuant
import BitViTTestSupport
import Testing

/// Every case of the GSB golden files (docs/reference/gsb.md §4; format in Fixtures/README.md).
@Suite struct GSBGoldenTests {
    @Test func binaryWeight() throws {
        for c in try Golden.cases("gsb_bwn") {
            let w = try c.leaf("w")
            let q = BinaryWeightQuantizer(scaling: .perTensor)
            try c.verify(leaves: ["w": w]) { q(w) }
        }
    }

    @Test(arguments: [("gsb_sb", true), ("gsb_ub", false)])
    func oneBitActivation(op: String, signed: Bool) throws {
        for c in try Golden.cases(op) {
            try verifyElastic(c, ElasticQuantizer(bits: 1, signed: signed))
        }
    }

    @Test func eightBitPerTensor() throws {
        for c in try Golden.cases("gsb_lsq8_tensor") {
            try verifyElastic(c, ElasticQuantizer(bits: Int(try c.param("bits")), signed: true))
        }
    }

    @Test func eightBitPerChannel() throws {
        for c in try Golden.cases("gsb_lsq8_channel") {
            let w = try c.leaf("w")
            let q = LSQWeightQuantizer(bits: Int(try c.param("bits")), outChannels: w.shape[0])
            if !c.flag("first_call") {
                setScale(q.alpha, try c.value("alpha"))
                q.markScalesInitialized()
            }
            #expect(q.initializesOnNextCall == c.flag("first_call"), "\(c.id)")
            try c.verify(leaves: ["w": w, "alpha": q.alpha], stored: { ["alpha_stored": q.alpha] }) { q(w) }
        }
    }

    @Test func valueGroups() throws {
        for c in try Golden.cases("gsb_v") {
            let v = try c.leaf("v")
            let q = GSBValueQuantizer(subtractsOnFirstCall: c.flag("first_call_subtract"))
            try verifyGroups(c, q, scales: q.scales, input: ("v", v)) { q(v) }
        }
    }

    @Test func attentionGroups() throws {
        for c in try Golden.cases("gsb_a") {
            let a = try c.leaf("attn")
            let q = GSBAttentionQuantizer(subtractsOnFirstCall: c.flag("first_call_subtract"))
            try verifyGroups(c, q, scales: q.scales, input: ("attn", a)) { q(a) }
        }
    }

    private func verifyElastic(_ c: GoldenCase, _ q: ElasticQuantizer) throws {
        let x = try c.leaf("x")
        if !c.flag("first_call") {
            setScale(q.alpha, try c.value("alpha"))
            q.markScalesInitialized()
        }
        #expect(q.initializesOnNextCall == c.flag("first_call"), "\(c.id)")
        try c.verify(leaves: ["x": x, "alpha": q.alpha], stored: { ["alpha_stored": q.alpha] }) { q(x) }
        #expect(!q.initializesOnNextCall, "\(c.id): initializes only once")
    }

    private func verifyGroups(_ c: GoldenCase, _ q: Quantizer, scales: [Tensor], input: (String, Tensor),
                              _ forward: () -> Tensor) throws {
        let names = ["alpha1", "alpha2", "alpha3"]
        if !c.flag("first_call") {
            for (s, n) in zip(scales, names) { setScale(s, try c.value(n)) }
            q.markScalesInitialized()
        }
        #expect(q.initializesOnNextCall == c.flag("first_call"), "\(c.id)")
        var leaves = [input.0: input.1]
        for (s, n) in zip(scales, names) { leaves[n] = s }
        try c.verify(leaves: leaves, stored: {
            Dictionary(uniqueKeysWithValues: zip(names.map { $0 + "_stored" }, scales))
        }, forward)
    }
}
