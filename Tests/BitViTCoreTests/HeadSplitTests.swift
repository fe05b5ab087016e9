import BitViTCore
import BitViTTestSupport
import Testing

/// `Tensor.splitHeads` (one op with several outputs) against the reshape–permute–slice–add
/// composition it replaces, finite differences, and the multi-output autograd it relies on.
@Suite struct HeadSplitTests {
    static let (b, n, heads, d) = (2, 5, 3, 4)

    /// The composition: `[B, N, 3, H, d]` → `[3, B, H, N, d]` → slices, plus shifts.
    static func reference(_ x: Tensor, shifts: [Tensor?]) -> [Tensor] {
        let parts = x.reshaped([b, n, 3, heads, d]).permuted([2, 0, 3, 1, 4])
        return (0..<3).map { i in
            let part = parts.slice(axis: 0, i..<(i + 1)).reshaped([b, heads, n, d])
            return shifts[i].map { part + $0 } ?? part
        }
    }

    /// A loss that uses q and k but not v when `usesValue` is false.
    static func combine(_ p: [Tensor], usesValue: Bool) -> Tensor {
        let qk = Tensor.matmul(p[0], p[1], transposeB: true)
        return usesValue ? Tensor.matmul(qk, p[2]) : qk
    }

    @Test(arguments: [true, false])
    func matchesTheComposition(usesValue: Bool) {
        let x = randomTensor([Self.b, Self.n, 3 * Self.heads * Self.d], seed: 1)
        let qShift = randomTensor([Self.heads, 1, Self.d], seed: 2), vShift = randomTensor([Self.heads, 1, Self.d], seed: 3)
        func run(_ split: ([Tensor]) -> [Tensor]) -> ([Float], [[Float]]) {
            let leaves = [x.copy(), qShift.copy(), vShift.copy()]
            for t in leaves { t.requiresGrad = true }
            let parts = split(leaves)
            let out = Self.combine(parts, usesValue: usesValue)
            out.backward(randomTensor(out.shape, seed: 4))
            return (out.scalars, leaves.map { $0.grad?.scalars ?? [] })
        }
        let fused = run { t in Tensor.splitHeads(t[0], parts: 3, heads: Self.heads, shifts: [t[1], nil, t[2]]) }
        let composed = run { t in Self.reference(t[0], shifts: [t[1], nil, t[2]]) }
        #expect(fused.0 == composed.0)
        #expect(fused.1[0] == composed.1[0], "input gradient")
        assertClose(fused.1[1], composed.1[1], "query shift gradient")
        if usesValue {
            assertClose(fused.1[2], composed.1[2], "value shift gradient")
        } else {
            #expect(fused.1[2].isEmpty && composed.1[2].isEmpty, "an unused part gives its shift no gradient")
        }
    }

    @Test func gradientsMatchFiniteDifferences() {
        let x = randomTensor([Self.b, Self.n, 3 * Self.heads * Self.d], seed: 5, scale: 0.5)
        let kShift = randomTensor([Self.heads, 1, Self.d], seed: 6, scale: 0.5)
        checkGradients("splitHeads", inputs: [x, kShift], step: 1e-2) { t in
            Self.combine(Tensor.splitHeads(t[0], parts: 3, heads: Self.heads, shifts: [nil, t[1], nil]), usesValue: true)
        }
    }

    @Test func aMultiOutputOpRunsOnceAfterAllItsUsedOutputs() {
        // Two outputs of one op, consumed in an order unrelated to their creation order.
        let x = Tensor(shape: [2], scalars: [1, 2])
        x.requiresGrad = true
        var calls = 0
        let outputs = Autograd.record(outputs: [x * 1, x * 1].map { $0.detached().copy() }, op: "twice", inputs: [x]) { g in
            calls += 1
            return [(g[0] ?? Tensor.zeros([2])) + (g[1] ?? Tensor.zeros([2])) * 10]
        }
        let loss = (outputs[1] * outputs[1]).sum() + outputs[0].sum() * 3
        loss.backward()
        #expect(calls == 1)
        let expected: [Float] = [23, 43]       // 3 + 10·2·x
        #expect(x.grad!.scalars == expected)
    }
}
