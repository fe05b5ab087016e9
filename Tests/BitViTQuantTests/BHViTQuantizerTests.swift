import BitViTQuant
import Foundation
import BitViTTestSupport
import Testing

/// Properties of BHViT's quantizers beyond the golden cases: the ReCU estimator against an
/// autograd composition of its definition, and QD's level structure and data-dependent
/// initialization (docs/reference/bhvit.md §5.2, §6.3).
@Suite struct BHViTQuantizerTests {
    /// ReCU's backward is the gradient of `clamp(k·Wc/σ, −τ, τ)` through the row
    /// standardisation and centring; built here from differentiable core ops.
    @Test func recuGradientFollowsTheStandardisation() {
        for shape in [[5, 7], [4, 2, 3, 3]] {
            let w = randomTensor(shape, seed: 11, scale: 0.4)
            let g = randomTensor(shape, seed: 12)
            let q = RowCenteredBinaryWeightQuantizer(estimator: .recu)
            let latent = w.copy()
            latent.requiresGrad = true
            let y = q(latent)
            y.backward(g)

            let reference = w.copy()
            reference.requiresGrad = true
            let rows = shape[0]
            let flat = reference.reshaped([rows, -1])
            let centred = flat - flat.mean(axis: 1, keepDims: true)
            let sigma = (centred.variance(axes: [1], correction: 1, keepDims: true) + 1e-5).sqrt()
            let standardized = centred * (2 * Float(2).squareRoot()) / sigma
            let tau = withNoGrad { standardized.abs().mean().item() } * Float(-log(2 - 2 * 0.92))
            (standardized.clamped(min: -tau, max: tau) * g.reshaped([rows, -1])).sum().backward()
            assertClose(latent.grad!, reference.grad!, atol: 1e-5, rtol: 1e-3, "ReCU gradient \(shape)")

            let clipped = RowCenteredBinaryWeightQuantizer().quantizedValue(of: w)
            #expect(y.scalars == clipped.scalars, "ReCU forward equals the clipped rule's")
        }
    }

    @Test func recuWindowIsWiderThanTheUnitWindowForSmallWeights() {
        // PyTorch-default-sized weights have |Wc| ≪ 1: the unit window passes everything, ReCU's
        // standardised window about 92 % (its design point).
        let w = randomTensor([64, 64], seed: 3, scale: 0.05)
        let unit = RowCenteredBinaryWeightQuantizer().straightThroughFraction(of: w)!
        let recu = RowCenteredBinaryWeightQuantizer(estimator: .recu).straightThroughFraction(of: w)!
        #expect(unit == 1)
        #expect(recu > 0.85 && recu < 0.99)
    }

    /// `3·softmax` of random scores, `[B', heads, T, T]`.
    private func attentionInput(windows: Int, heads: Int, tokens: Int, seed: UInt64) -> Tensor {
        randomTensor([windows, heads, tokens, tokens], seed: seed, scale: 2).softmax() * 3
    }

    @Test func levelsAreNestedPlanesOfTheHeadStep() {
        let q = QDAttentionQuantizer(heads: 3)
        q.train()
        let x = attentionInput(windows: 2, heads: 3, tokens: 9, seed: 1)
        let y = q(x)
        let tokensPerHead = 9 * 9
        var levelCounts = [Int](repeating: 0, count: 4)
        for i in 0..<y.count {
            let h = (i / tokensPerHead) % 3
            let level = y.data[i] / q.alpha.data[h]
            let rounded = level.rounded()
            #expect(Swift.abs(level - rounded) < 1e-5 && rounded >= 0 && rounded <= 3, "value \(y.data[i]) of head \(h)")
            let q = Int(rounded)
            levelCounts[q] += 1
            // The decomposition: Σ_σ [q ≥ σ] planes, nested Â³ ⊆ Â² ⊆ Â¹.
            let planes = (1...3).map { q >= $0 }
            #expect(planes.filter { $0 }.count == q)
            #expect(zip(planes, planes.dropFirst()).allSatisfy { $0 || !$1 })
        }
        #expect(levelCounts.allSatisfy { $0 > 0 }, "random attention reaches every level: \(levelCounts)")
    }

    @Test func firstTrainingCallSetsTheStepFromTheTokenCount() {
        for tokens in [53, 50] {
            let q = QDAttentionQuantizer(heads: 2)
            q.train()
            let x = attentionInput(windows: 3, heads: 2, tokens: tokens, seed: UInt64(tokens))
            _ = q(x)
            // Rows of softmax sum to 1, so mean|3A| = 3/T and alpha = 2·(3/T)/√3 = 2√3/T.
            let expected = 2 * Float(3).squareRoot() / Float(tokens)
            assertClose(q.alpha.scalars, [expected, expected], atol: 1e-6, rtol: 1e-4, "alpha for T = \(tokens)")
            for h in 0..<2 {
                let minimum = x.slice(axis: 1, h..<(h + 1)).min().item()
                #expect(Swift.abs(q.zeroPoint.data[h] - 0.1 * minimum) < 1e-7)
                #expect(q.zeroPoint.data[h] >= 0)
            }
            #expect(!q.initializesOnNextCall)
        }
    }

    @Test func evaluationBeforeTrainingKeepsUnitSteps() {
        let q = QDAttentionQuantizer(heads: 1)
        q.eval()
        let x = attentionInput(windows: 1, heads: 1, tokens: 50, seed: 9)
        let y = q(x)
        #expect(q.alpha.scalars == [1] && q.zeroPoint.scalars == [0] && !q.isInitialized)
        // round(3A) with A ≈ 1/50: almost every entry is level 0.
        let zeros = y.scalars.filter { $0 == 0 }.count
        #expect(Double(zeros) / Double(y.count) > 0.9)
    }
}
