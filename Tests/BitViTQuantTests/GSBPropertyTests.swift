import BitViTQuant
import BitViTTestSupport
import Testing

/// Structural properties of GSB_V and GSB_A (docs/reference/gsb.md §4.4–4.5) and the configurable group count.
@Suite struct GSBPropertyTests {
    /// Softmax-like attention plus a small learnable-bias perturbation, [2, 3, 6, 6].
    static func attention(seed: UInt64) -> Tensor {
        (randomTensor([2, 3, 6, 6], seed: seed, scale: 2).softmax() + randomTensor([2, 3, 6, 6], seed: seed + 1, scale: 0.02)).detached()
    }

    static func scaled(_ q: Quantizer, _ scales: [Tensor], _ values: [Float]) {
        for (s, v) in zip(scales, values) { s.data[0] = v }
        q.markScalesInitialized()
    }

    /// Values of `y` ordered by `x`: checks monotonicity.
    static func isMonotone(_ x: Tensor, _ y: Tensor) -> Bool {
        let order = (0..<x.count).sorted { x.data[$0] < x.data[$1] }
        return zip(order, order.dropFirst()).allSatisfy { y.data[$0.0] <= y.data[$0.1] }
    }

    @Test func attentionOutputHasAtMostSixNonNegativeMonotoneLevels() {
        let q = GSBAttentionQuantizer()
        Self.scaled(q, q.scales, [0.05, 0.3, 0.2])
        let a = Self.attention(seed: 3)
        let y = q.quantizedValue(of: a)
        #expect(Set(y.scalars).count <= 6)
        #expect(y.scalars.allSatisfy { $0 >= 0 })
        #expect(Self.isMonotone(a, y))
    }

    @Test func valueOutputUsesTheSevenSignedLevelsMonotonically() {
        let q = GSBValueQuantizer()
        Self.scaled(q, q.scales, [0.4, 0.3, 0.2])
        let v = randomTensor([2, 3, 5, 4], seed: 11)
        let y = q.quantizedValue(of: v)
        let levels: Set<Float> = [0, 0.4, -0.4, 0.4 + 0.3, -(0.4 + 0.3), 0.4 + 0.3 + 0.2, -(0.4 + 0.3 + 0.2)]
        #expect(Set(y.scalars).isSubset(of: levels))
        #expect(Self.isMonotone(v, y))
    }

    @Test func secondAttentionScaleGradientIsTheMaskedGradientSum() {
        let a = Self.attention(seed: 5)
        let g = randomTensor(a.shape, seed: 6)
        let m = a.scalars.max()!
        let t1 = a.scalars.map { $0 > Float(0.7) * m }
        let expected = zip(t1, g.scalars).reduce(0) { $0 + ($1.0 ? Double($1.1) : 0) }
            / Double(t1.filter { $0 }.count).squareRoot()
        // Other values inside the same mask give the same gradient.
        let moved = a.map { $0 > Float(0.7) * m && $0 < m ? 0.85 * m : $0 }
        for input in [a, moved] {
            let q = GSBAttentionQuantizer()
            Self.scaled(q, q.scales, [0.05, 0.3, 0.2])
            q(input).backward(g)
            #expect(Swift.abs(Double(q.scales[1].grad!.item()) - expected) < 1e-5)
        }
    }

    @Test func oneBitWindowsBlockTheGradientOutside() {
        let x = randomTensor([4, 25], seed: 21, scale: 2)
        for signed in [true, false] {
            let q = ElasticQuantizer(bits: 1, signed: signed)
            Self.scaled(q, [q.alpha], [0.8])
            let leaf = x.copy()
            leaf.requiresGrad = true
            q(leaf).backward(Tensor.ones(x.shape))
            for (xi, gi) in zip(x.scalars, leaf.grad!.scalars) {
                let r = xi / 0.8
                let inside = signed ? Swift.abs(r) <= 1 : (r >= 0 && r <= 1)
                #expect(gi == (inside ? 1 : 0))
            }
        }
    }

    @Test func valueInputGradientIsAtLeastTwiceTheUpstreamOutsideTheFirstMask() {
        let v = randomTensor([2, 3, 5, 4], seed: 31)
        let leaf = v.copy()
        leaf.requiresGrad = true
        let q = GSBValueQuantizer()
        Self.scaled(q, q.scales, [0.4, 0.3, 0.2])
        q(leaf).backward(Tensor.ones(v.shape))
        let (hi, lo) = (v.scalars.max()!, v.scalars.min()!)
        for (x, g) in zip(v.scalars, leaf.grad!.scalars) where !(x > Float(0.7) * hi || x < Float(0.7) * lo) {
            #expect(g >= 2)
        }
    }

    @Test func oneGroupIsThePlainBinarizer() {
        let v = randomTensor([3, 8], seed: 41)
        let a = Self.attention(seed: 42)
        let g = randomTensor([3, 8], seed: 43), ga = randomTensor(a.shape, seed: 44)
        let pairs: [(Quantizer, [Tensor], ElasticQuantizer, Tensor, Tensor)] = {
            let gv = GSBValueQuantizer(groups: 1), ga1 = GSBAttentionQuantizer(groups: 1)
            return [(gv, gv.scales, .signedBinary(), v, g), (ga1, ga1.scales, .unsignedBinary(), a, ga)]
        }()
        for (group, scales, plain, x, upstream) in pairs {
            Self.scaled(group, scales, [0.3])
            Self.scaled(plain, [plain.alpha], [0.3])
            let x1 = x.copy(), x2 = x.copy()
            x1.requiresGrad = true
            x2.requiresGrad = true
            let y1 = group(x1), y2 = plain(x2)
            assertClose(y1, y2, "forward")
            y1.backward(upstream)
            y2.backward(upstream)
            assertClose(x1.grad!, x2.grad!, "input gradient")
            assertClose(scales[0].grad!, plain.alpha.grad!, "scale gradient")
        }
    }

    @Test func groupCountAndThresholdsAreConfigurable() {
        let q = GSBAttentionQuantizer(groups: 4, thresholds: [0.5, 0.7, 0.9])
        #expect(q.scales.count == 4)
        #expect(q.namedParameters().map(\.name) == ["alpha1", "alpha2", "alpha3", "alpha4"])
        Self.scaled(q, q.scales, [0.05, 0.1, 0.2, 0.4])
        let a = Self.attention(seed: 51)
        let y = q.quantizedValue(of: a)
        let m = a.scalars.max()!
        // The top element lies in every mask and above the first group's rounding point.
        let top = a.scalars.firstIndex(of: m)!
        #expect(Swift.abs(y.data[top] - (0.05 + 0.1 + 0.2 + 0.4)) < 1e-6)
        #expect(Self.isMonotone(a, y))
    }

    @Test func initializationHappensOnceAndFollowsTheScaleValue() {
        let q = GSBAttentionQuantizer()
        q.eval()
        #expect(q.initializesOnNextCall, "GSB initializes in evaluation mode too")
        _ = q(Self.attention(seed: 61))
        let first = q.scales.map { $0.item() }
        #expect(!q.initializesOnNextCall)
        _ = q(Self.attention(seed: 62))
        #expect(q.scales.map { $0.item() } == first)
        // A fresh quantizer whose scales were set to other values does not initialize.
        let loaded = GSBAttentionQuantizer()
        loaded.scales[0].data[0] = 0.02
        #expect(!loaded.initializesOnNextCall)
        #expect(loaded.isInitialized)
    }

    @Test func attentionScaleInitializesToFourOverTheTokenCount() {
        // docs/reference/gsb.md §4.5: softmax rows sum to 1, so α1 = 4·mean|A| = 4/N.
        let q = GSBAttentionQuantizer()
        _ = q(randomTensor([2, 3, 11, 11], seed: 71, scale: 3).softmax().detached())
        #expect(Swift.abs(q.scales[0].item() - 4 / 11) < 1e-6)
    }
}
