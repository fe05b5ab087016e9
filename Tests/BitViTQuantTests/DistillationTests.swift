import BitViTQuant
import BitViTTestSupport
import Testing

/// The properties and the worked example of docs/reference/qvit.md §6.2, and gradient checks of the DGD loss.
@Suite struct DistillationTests {
    static func pair(_ q: Tensor) -> [QueryKeyPair] { [QueryKeyPair(queries: q, keys: q)] }

    static let student = Tensor(shape: [1, 1, 3, 2], scalars: [1, 0, 0, 1, 1, 1])

    @Test func scaledTeacherGivesZeroLoss() {
        let loss = DistributionGuidedDistillation.loss(student: Self.pair(Self.student), teacher: Self.pair(Self.student * 2))
        #expect(Swift.abs(loss.item()) < 1e-6)
    }

    @Test func specExampleTerm() {
        let teacher = Tensor(shape: [1, 1, 3, 2], scalars: [1, 0, 1, 0, 0, 1])
        // Keys equal the queries here, so the loss is twice the q-term 0.932003.
        let loss = DistributionGuidedDistillation.loss(student: Self.pair(Self.student), teacher: Self.pair(teacher))
        #expect(Swift.abs(loss.item() - 2 * 0.932003) < 1e-5)
    }

    @Test func termsAreBoundedSymmetricAndPermutationInvariant() {
        let s = randomTensor([2, 3, 5, 4], seed: 1), t = randomTensor([2, 3, 5, 8], seed: 2)
        let t4 = randomTensor([2, 3, 5, 4], seed: 3)
        let forward = DistributionGuidedDistillation.loss(student: Self.pair(s), teacher: Self.pair(t)).item()
        // Per (sample, head) term in [0, 2]: the batch mean of 6 heads, q and k: ≤ 2·6·2.
        #expect(forward >= 0 && forward <= 24)
        let a = DistributionGuidedDistillation.loss(student: Self.pair(s), teacher: Self.pair(t4)).item()
        let b = DistributionGuidedDistillation.loss(student: Self.pair(t4), teacher: Self.pair(s)).item()
        #expect(Swift.abs(a - b) < 1e-5)
        let order = [3, 0, 4, 1, 2]
        let permuted = DistributionGuidedDistillation.loss(
            student: Self.pair(s.indexSelect(axis: 2, indices: order)),
            teacher: Self.pair(t.indexSelect(axis: 2, indices: order))).item()
        #expect(Swift.abs(forward - permuted) < 1e-5)
    }

    @Test(arguments: [DistributionGuidedDistillation.Normalization.perSampleHead, .perLayer])
    func gradientsMatchFiniteDifferences(normalization: DistributionGuidedDistillation.Normalization) {
        let teacher = [QueryKeyPair(queries: randomTensor([2, 2, 4, 3], seed: 10), keys: randomTensor([2, 2, 4, 3], seed: 11)),
                       QueryKeyPair(queries: randomTensor([2, 2, 4, 5], seed: 12), keys: randomTensor([2, 2, 4, 5], seed: 13))]
        let inputs = (0..<4).map { randomTensor([2, 2, 4, 3], seed: 20 + UInt64($0)) }
        checkGradients("DGD \(normalization)", inputs: inputs, step: 1e-2, tolerance: 3e-2) { t in
            DistributionGuidedDistillation.loss(
                student: [QueryKeyPair(queries: t[0], keys: t[1]), QueryKeyPair(queries: t[2], keys: t[3])],
                teacher: teacher, normalization: normalization)
        }
    }

    @Test func normGradientIsZeroWhereTheNormIsZero() {
        let x = Tensor(shape: [2, 3], scalars: [0, 0, 0, 3, 4, 0])
        x.requiresGrad = true
        let n = x.l2Norm(axes: [1])
        #expect(n.scalars == [0, 5])
        n.sum().backward()
        #expect(x.grad!.scalars == [0, 0, 0, 0.6, 0.8, 0])
        checkGradients("l2Norm", inputs: [randomTensor([3, 4, 5], seed: 30)]) { $0[0].l2Norm(axes: [0, 2], keepDims: true) }
    }
}
