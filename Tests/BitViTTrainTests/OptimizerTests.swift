import Foundation
import Testing
import BitViTTestSupport
import BitViTTrain

/// A parameter `[2]` with a fixed gradient, named `w`.
private func parameter(_ values: [Float], grad: [Float]) -> (name: String, tensor: Tensor) {
    let p = Tensor(shape: [values.count], scalars: values)
    p.requiresGrad = true
    p.grad = Tensor(shape: [grad.count], scalars: grad)
    return ("w", p)
}

@Suite struct OptimizerTests {
    @Test func sgdPlainAndWeightDecay() {
        let w = parameter([1, -2], grad: [0.5, 0.25])
        let sgd = SGD(groups: [ParameterGroup(parameters: [w], weightDecay: 0.1)], learningRate: 0.1, momentum: 0)
        sgd.step()
        // p − lr·(g + wd·p): 1 − 0.1·(0.5 + 0.1) = 0.94; −2 − 0.1·(0.25 − 0.2) = −2.005
        assertClose(w.tensor.scalars, [0.94, -2.005], atol: 1e-6, "SGD step")
    }

    @Test func sgdMomentumAndNesterov() {
        for nesterov in [false, true] {
            let w = parameter([1], grad: [1])
            let sgd = SGD(groups: [ParameterGroup(parameters: [w], weightDecay: 0)], learningRate: 0.1,
                          momentum: 0.9, nesterov: nesterov)
            sgd.step()
            // step 1: b = 1; plain p = 1 − 0.1 = 0.9; Nesterov p = 1 − 0.1·(1 + 0.9) = 0.81
            #expect(abs(w.tensor.data[0] - (nesterov ? 0.81 : 0.9)) < 1e-6)
            w.tensor.grad = Tensor(shape: [1], scalars: [0.5])
            sgd.step()
            // step 2: b = 0.9·1 + 0.5 = 1.4; plain −0.14 → 0.76; Nesterov −0.1·(0.5 + 1.26) → 0.81 − 0.176 = 0.634
            #expect(abs(w.tensor.data[0] - (nesterov ? 0.634 : 0.76)) < 1e-6)
        }
    }

    @Test func adamFirstStepsByHand() {
        let w = parameter([1, -1], grad: [0.2, -0.4])
        let adam = Adam(groups: [ParameterGroup(parameters: [w], weightDecay: 0)], learningRate: 0.01)
        adam.step()
        // Step 1: m̂ = g, v̂ = g², update = g/(|g| + eps) ≈ sign(g): p = 1 − 0.01, −1 + 0.01.
        assertClose(w.tensor.scalars, [0.99, -0.99], atol: 1e-6, "Adam step 1")
        w.tensor.grad = Tensor(shape: [2], scalars: [0.1, 0.4])
        adam.step()
        // Step 2 for element 0: m = 0.9·0.02 + 0.1·0.1 = 0.028 → m̂ = 0.028/0.19;
        // v = 0.999·0.00004 + 0.001·0.01 = 0.00004996 → v̂ = v/(1 − 0.999²).
        let m0 = 0.028 / 0.19, v0 = 0.00004996 / (1 - 0.999 * 0.999)
        let m1 = (0.9 * 0.04 * -1 + 0.1 * 0.4) / 0.19, v1 = (0.999 * 0.16 * 0.001 + 0.001 * 0.16) / (1 - 0.999 * 0.999)
        let want = [0.99 - 0.01 * m0 / (v0.squareRoot() + 1e-8), -0.99 - 0.01 * m1 / (v1.squareRoot() + 1e-8)]
        assertClose(w.tensor.scalars, want.map(Float.init), atol: 1e-6, "Adam step 2")
    }

    @Test func adamCouplesWeightDecayAdamWDecouplesIt() {
        let a = parameter([2], grad: [0.5]), b = parameter([2], grad: [0.5])
        let adam = Adam(groups: [ParameterGroup(parameters: [a], weightDecay: 0.1)], learningRate: 0.1)
        let adamw = AdamW(groups: [ParameterGroup(parameters: [b], weightDecay: 0.1)], learningRate: 0.1)
        adam.step()
        adamw.step()
        // Adam: g = 0.5 + 0.1·2 = 0.7, first update ≈ sign(g) → 2 − 0.1 = 1.9.
        #expect(abs(a.tensor.data[0] - 1.9) < 1e-6)
        // AdamW: 2 − 0.1·(1 + 0.1·2) = 1.88.
        #expect(abs(b.tensor.data[0] - 1.88) < 1e-6)
    }

    @Test func gradientScaleMultipliesGradients() {
        let a = parameter([1, 1], grad: [2, -4]), b = parameter([1, 1], grad: [1, -2])
        let sa = SGD(groups: [ParameterGroup(parameters: [a], weightDecay: 0)], learningRate: 0.1, momentum: 0.9)
        let sb = SGD(groups: [ParameterGroup(parameters: [b], weightDecay: 0)], learningRate: 0.1, momentum: 0.9)
        sa.gradientScale = 0.5
        sa.step()
        sb.step()
        assertClose(a.tensor.scalars, b.tensor.scalars, atol: 0, "scaled step")
        #expect(a.tensor.grad!.scalars == [2, -4], "gradients are left untouched")
    }

    @Test func lambTrustRatio() {
        // ‖p‖ = 5 (p = [3, 4]); first step u = sign(g) + wd·p = [1 + 0.3, −1 + 0.4] = [1.3, −0.6].
        let w = parameter([3, 4], grad: [1, -1])
        let lamb = LAMB(groups: [ParameterGroup(parameters: [w], weightDecay: 0.1)], learningRate: 0.01, eps: 1e-8)
        lamb.step()
        let u: [Double] = [1.3, -0.6]
        let ratio = 5 / (u[0] * u[0] + u[1] * u[1]).squareRoot()
        #expect(abs(Double(lamb.lastTrustRatios["w"]!) - ratio) < 1e-5)
        assertClose(w.tensor.scalars, [Float(3 - 0.01 * ratio * u[0]), Float(4 - 0.01 * ratio * u[1])],
                    atol: 1e-6, "LAMB step")
    }

    @Test func fusedLambWithoutDecayIsAdam() {
        let a = parameter([3, 4], grad: [0.3, -0.1]), b = parameter([3, 4], grad: [0.3, -0.1])
        let lamb = LAMB(groups: [ParameterGroup(parameters: [a], weightDecay: 0)], learningRate: 0.01,
                        eps: 1e-8, trustRatioPolicy: .decayedGroupsOnly)
        let adam = Adam(groups: [ParameterGroup(parameters: [b], weightDecay: 0)], learningRate: 0.01)
        for g in [[0.3, -0.1], [-0.2, 0.5]] as [[Float]] {
            a.tensor.grad = Tensor(shape: [2], scalars: g)
            b.tensor.grad = Tensor(shape: [2], scalars: g)
            lamb.step()
            adam.step()
        }
        assertClose(a.tensor.scalars, b.tensor.scalars, atol: 1e-6, "apex FusedLAMB with wd 0 = Adam")
        #expect(lamb.lastTrustRatios["w"] == 1)
    }

    @Test func stateRoundTripContinuesIdentically() throws {
        for make in [
            { (g: [ParameterGroup]) -> any Optimizer in SGD(groups: g, learningRate: 0.1, momentum: 0.9, nesterov: true) },
            { Adam(groups: $0, learningRate: 0.1) }, { AdamW(groups: $0, learningRate: 0.1) },
            { LAMB(groups: $0, learningRate: 0.1) },
        ] {
            let a = parameter([1, 2], grad: [0.5, -0.3])
            let opt = make([ParameterGroup(parameters: [a], weightDecay: 0.01)])
            opt.step()
            let saved = opt.state().mapValues { $0.copy() }
            let b = parameter(a.tensor.scalars, grad: [0.5, -0.3])
            let fresh = make([ParameterGroup(parameters: [b], weightDecay: 0.01)])
            try fresh.loadState(saved)
            #expect(fresh.stepCount == 1)
            for o in [opt, fresh] { o.step() }
            #expect(a.tensor.scalars == b.tensor.scalars, "\(type(of: opt)) after restore")
        }
    }

    @Test func missingStateIsAnError() {
        let a = parameter([1], grad: [1])
        let adam = AdamW(groups: [ParameterGroup(parameters: [a], weightDecay: 0)])
        #expect(throws: BitViTError.self) { try adam.loadState(["step": Tensor(1)]) }
    }

    @Test func globalNormClipping() {
        let a = parameter([0, 0], grad: [3, 0]), b = parameter([0], grad: [4])
        let norm = GradientClipping.globalNorm([a.tensor, b.tensor])
        #expect(abs(norm - 5) < 1e-12)
        #expect(abs(GradientClipping.scale(maxNorm: 1, globalNorm: norm) - Float(1 / (5 + 1e-6))) < 1e-7)
        #expect(GradientClipping.scale(maxNorm: 10, globalNorm: norm) == 1)
    }
}
