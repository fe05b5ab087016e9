import BitViTQuant
import BitViTTestSupport
import Testing

/// The quantizers' properties (docs/reference/qvit.md §3.1–3.3): grid membership, idempotence, range,
/// straight-through and step gradients, initialization, gradient-scale constants; the IRM
/// (docs/reference/qvit.md §4).
@Suite struct QViTPropertyTests {
    static func initializedWeightQuantizer(bits: Int, _ w: Tensor) -> LSQWeightQuantizer {
        let q = LSQWeightQuantizer(bits: bits, outChannels: w.shape[0])
        q.train()
        _ = q(w)
        // Let the channels diverge as they do in training.
        for c in 0..<q.alpha.count { q.alpha.data[c] *= 1 + 0.1 * Float(c) }
        return q
    }

    static func initializedActivationQuantizer(bits: Int, _ x: Tensor) -> LSQActivationQuantizer {
        let q = LSQActivationQuantizer.perFeature(bits: bits, features: x.shape[x.rank - 1])
        q.train()
        _ = q(x)
        for c in 0..<q.alpha.count {
            q.alpha.data[c] *= 1 + 0.05 * Float(c)
            q.zeroPoint.data[c] = Float(c % 3) - 1
        }
        return q
    }

    @Test(arguments: [2, 3, 4, 8])
    func weightCodesLieOnTheGridAndRequantizeToThemselves(bits: Int) {
        let w = randomTensor([6, 10], seed: UInt64(bits), scale: 0.5)
        let q = Self.initializedWeightQuantizer(bits: bits, w)
        let y = q.quantizedValue(of: w)
        let (qn, qp) = (-Float(1 << (bits - 1)), Float((1 << (bits - 1)) - 1))
        for c in 0..<6 {
            let codes = (0..<10).map { y.data[c * 10 + $0] / q.alpha.data[c] }
            #expect(codes.allSatisfy { Swift.abs($0 - $0.rounded()) < 1e-4 && $0 >= qn && $0 <= qp })
            #expect(Set(codes.map { $0.rounded() }).count <= 1 << bits)
        }
        if bits == 2 {
            #expect(Set(y.scalars.enumerated().map { ($0.element / q.alpha.data[$0.offset / 10]).rounded() })
                .isSubset(of: [-2, -1, 0, 1]))
        }
        assertClose(q.quantizedValue(of: y), y, atol: 1e-6, rtol: 1e-6, "idempotent")
    }

    @Test(arguments: [2, 3, 4, 8])
    func activationCodesLieOnTheGridWithinTheRange(bits: Int) {
        let x = randomTensor([3, 5, 6], seed: 10 + UInt64(bits))
        let q = Self.initializedActivationQuantizer(bits: bits, x)
        #expect(q.isSigned)
        let y = q.quantizedValue(of: x)
        let (qn, qp) = q.range
        for i in 0..<y.count {
            let c = i % 6
            let zr = q.zeroPoint.data[c].rounded(.toNearestOrEven)
            let code = y.data[i] / q.alpha.data[c] + zr
            #expect(Swift.abs(code - code.rounded()) < 1e-3 && code >= qn - 1e-3 && code <= qp + 1e-3)
        }
        assertClose(q.quantizedValue(of: y), y, atol: 1e-6, rtol: 1e-5, "idempotent")
    }

    @Test func softmaxInputsUseTheUnsignedGrid() {
        let p = randomTensor([2, 3, 4, 4], seed: 5, scale: 2).softmax().detached()
        let q = LSQActivationQuantizer.perAxis1(bits: 3, count: 3)
        q.train()
        let y = q(p)
        #expect(!q.isSigned)
        #expect(q.range == (0, 7))
        #expect(q.zeroPoint.scalars.allSatisfy { $0.rounded(.toNearestOrEven) == 0 })
        for (i, v) in y.scalars.enumerated() {
            let code = v / q.alpha.data[(i / 16) % 3]
            #expect(Swift.abs(code - code.rounded()) < 1e-4 && code >= 0 && code <= 7)
        }
    }

    @Test func gradientsFollowTheStraightThroughWindow() {
        let x = randomTensor([3, 5, 6], seed: 20, scale: 1.5)
        let q = Self.initializedActivationQuantizer(bits: 2, x)
        let leaf = x.copy()
        leaf.requiresGrad = true
        let g = randomTensor(x.shape, seed: 21)
        q(leaf).backward(g)
        let (qn, qp) = q.range
        let scale = 1 / (Double(x.count) * Double(qp)).squareRoot()
        var stepSums = [Double](repeating: 0, count: 6), zeroSums = [Double](repeating: 0, count: 6)
        var outside = 0
        for i in 0..<x.count {
            let c = i % 6
            let (a, zr) = (q.alpha.data[c], q.zeroPoint.data[c].rounded(.toNearestOrEven))
            let u = x.data[i] / a + zr
            let inside = u >= qn && u <= qp
            // The input gradient is exactly g inside and exactly 0 outside.
            #expect(leaf.grad!.data[i] == (inside ? g.data[i] : 0))
            // Zero-point and step terms per element.
            let q = (u.clamped(qn, qp)).rounded(.toNearestOrEven)
            stepSums[c] += Double(g.data[i]) * Double(inside ? (q - zr) - x.data[i] / a : (u < qn ? qn - zr : qp - zr))
            zeroSums[c] += inside ? 0 : -Double(g.data[i]) * Double(a)
            if !inside { outside += 1 }
        }
        #expect(outside > 0, "the test data must reach the clipping range")
        assertClose(q.alpha.grad!.scalars, stepSums.map { Float($0 * scale) }, "step gradient")
        assertClose(q.zeroPoint.grad!.scalars, zeroSums.map { Float($0 * scale) }, "zero-point gradient")
    }

    @Test func initializationFollowsTheFormulasOnceAndNeverInEvaluation() {
        let x = randomTensor([4, 7, 5], seed: 30, scale: 2) + 0.5
        let q = LSQActivationQuantizer.perFeature(bits: 4, features: 5)
        q.eval()
        _ = q(x)
        #expect(q.alpha.scalars.allSatisfy { $0 == 1 } && q.initState?.item() == 0, "evaluation never initializes")
        q.train()
        _ = q(x)
        let meanAbs = x.scalars.reduce(0) { $0 + Double(Swift.abs($1)) } / Double(x.count)
        let minimum = x.scalars.min()!
        let alpha = Float(2 * meanAbs / Double(7).squareRoot())
        #expect(q.isSigned == (minimum < -1e-5))
        assertClose(q.alpha.scalars, [Float](repeating: alpha, count: 5), "alpha")
        assertClose(q.zeroPoint.scalars, [Float](repeating: 0.1 * (minimum + alpha * 8), count: 5), "zero point")
        _ = q(x * 3)
        assertClose(q.alpha.scalars, [Float](repeating: alpha, count: 5), "second call keeps alpha")

        let w = randomTensor([4, 9], seed: 31)
        let wq = LSQWeightQuantizer(bits: 3, outChannels: 4)
        wq.train()
        _ = wq(w)
        let wAlpha = Float(2 * (w.scalars.reduce(0) { $0 + Double(Swift.abs($1)) } / 36) / Double(3).squareRoot())
        assertClose(wq.alpha.scalars, [Float](repeating: wAlpha, count: 4), "weight alpha, equal across channels")
    }

    @Test func stepGradientScaleMatchesTheDeiTSmallExample() {
        // A W4 qkv weight 1152×384 has g = 1/√(442368·7) = 5.6828e−4. Every element
        // clips at Qp, so each channel's step gradient (dy = 1) is g·Qp·384.
        let q = LSQWeightQuantizer(bits: 4, outChannels: 1152)
        q.markScalesInitialized()
        let w = Tensor(shape: [1152, 384], repeating: 100)
        q(w).sum().backward()
        let g = Double(q.alpha.grad!.data[0]) / (7 * 384)
        #expect(Swift.abs(g - 5.6828e-4) < 1e-7)
    }

    @Test func rectifiedQueriesHaveZeroMeanUnitVarianceAndIgnoreRowScale() {
        let q = randomTensor([2, 3, 5, 16], seed: 40, scale: 3) + 1.5
        let irm = InformationRectification(headDim: 16)
        let y = irm(q)
        for row in 0..<(y.count / 16) {
            let r = (0..<16).map { Double(y.data[row * 16 + $0]) }
            let mean = r.reduce(0, +) / 16
            let variance = r.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 16
            #expect(Swift.abs(mean) < 1e-5 && Swift.abs(variance - 1) < 1e-3)
        }
        assertClose(irm(q * 2.5 + 0.75), y, atol: 1e-4, rtol: 1e-4, "positive scale and shift")
    }

    @Test func rectificationGradientsMatchFiniteDifferences() {
        let irm = InformationRectification(headDim: 6)
        irm.weight.assign(randomTensor([6], seed: 50) + 1)
        irm.bias.assign(randomTensor([6], seed: 51))
        checkGradients("IRM", inputs: [randomTensor([2, 2, 3, 6], seed: 52), irm.weight, irm.bias],
                       step: 1e-2, tolerance: 2e-2) { t in
            t[0].layerNorm(weight: t[1], bias: t[2], eps: irm.eps)
        }
    }
}

private extension Float {
    func clamped(_ low: Float, _ high: Float) -> Float { Swift.min(Swift.max(self, low), high) }
}
