import BitViTCore
import Testing

@Suite struct RandomAndMemoryTests {
    @Test func generatorIsReproducibleAndRestorable() {
        var a = RandomGenerator(seed: 42), b = RandomGenerator(seed: 42), c = RandomGenerator(seed: 43)
        let xs = (0..<5).map { _ in a.next() }
        #expect(xs == (0..<5).map { _ in b.next() })
        #expect(xs != (0..<5).map { _ in c.next() })
        let saved = a.stateWords
        let next = (0..<3).map { _ in a.nextNormal() }
        var restored = RandomGenerator(seed: 0)
        restored.stateWords = saved
        #expect(next == (0..<3).map { _ in restored.nextNormal() })
    }

    @Test func distributionsHaveTheRightMoments() {
        var rng = RandomGenerator(seed: 7)
        let n = Tensor.randn([20_000], mean: 1, std: 2, using: &rng)
        #expect(Swift.abs(n.mean().item() - 1) < 0.05)
        #expect(Swift.abs(n.variance().item().squareRoot() - 2) < 0.05)
        let u = Tensor.uniform([20_000], low: -1, high: 3, using: &rng)
        #expect(u.min().item() >= -1 && u.max().item() < 3)
        #expect(Swift.abs(u.mean().item() - 1) < 0.05)
        let t = Tensor.truncatedNormal([20_000], std: 1, low: -0.5, high: 0.5, using: &rng)
        #expect(t.min().item() >= -0.5 && t.max().item() <= 0.5)
        let k = Tensor.kaimingUniform([10_000], fanIn: 25, using: &rng)
        #expect(k.abs().max().item() <= 0.2 && k.abs().max().item() > 0.19)   // bound 1/√25
    }

    @Test func poolReusesBuffersOfTheSameSize() {
        let pool = BufferPool.shared
        _ = Tensor(uninitialized: [12_345])   // allocate and release once
        let before = pool.systemAllocations
        for _ in 0..<10 { _ = Tensor(uninitialized: [12_345]) }
        #expect(pool.systemAllocations == before)
    }

    @Test func viewsShareStorageAndCopiesDoNot() {
        let t = Tensor(shape: [4, 2], scalars: [0, 1, 2, 3, 4, 5, 6, 7])
        let rows = t.slice(axis: 0, 1..<3)
        #expect(rows.storage === t.storage && rows.scalars == [2, 3, 4, 5])
        let copy = t.copy()
        copy.data[0] = 99
        #expect(t.data[0] == 0)
    }
}
