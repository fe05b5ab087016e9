import BitViTCore
import BitViTTestSupport
import Testing

@Suite struct LinearAlgebraGradientTests {
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func matmulTransposes(transposeA: Bool, transposeB: Bool) {
        let a = randomTensor(transposeA ? [4, 3] : [3, 4], seed: 31)
        let b = randomTensor(transposeB ? [5, 4] : [4, 5], seed: 32)
        checkGradients("matmul", inputs: [a, b]) {
            Tensor.matmul($0[0], $0[1], transposeA: transposeA, transposeB: transposeB)
        }
    }

    @Test func batchedAndSharedMatmul() {
        checkGradients("batched", inputs: [randomTensor([2, 3, 3, 4], seed: 33), randomTensor([2, 3, 4, 2], seed: 34)]) {
            Tensor.matmul($0[0], $0[1])
        }
        checkGradients("shared right matrix", inputs: [randomTensor([2, 3, 4], seed: 35), randomTensor([4, 5], seed: 36)]) {
            Tensor.matmul($0[0], $0[1])
        }
        checkGradients("shared right matrix, transposed A", inputs: [randomTensor([2, 4, 3], seed: 37), randomTensor([5, 4], seed: 38)]) {
            Tensor.matmul($0[0], $0[1], transposeA: true, transposeB: true)
        }
    }

    @Test func linear() {
        let x = randomTensor([2, 3, 6], seed: 39), w = randomTensor([4, 6], seed: 40), b = randomTensor([4], seed: 41)
        checkGradients("linear", inputs: [x, w, b]) { Tensor.linear($0[0], weight: $0[1], bias: $0[2]) }
        checkGradients("linear without bias", inputs: [x, w]) { Tensor.linear($0[0], weight: $0[1]) }
    }

    @Test func matmulValuesMatchANaiveProduct() {
        let a = randomTensor([37, 19], seed: 42), b = randomTensor([19, 23], seed: 43)
        var want = [Float](repeating: 0, count: 37 * 23)
        for i in 0..<37 { for j in 0..<23 { for k in 0..<19 { want[i * 23 + j] += a[i, k] * b[k, j] } } }
        assertClose(Tensor.matmul(a, b).scalars, want, atol: 1e-4, "matmul")
        // Large enough to be split across threads: rows and (wide) columns.
        for (m, n) in [(300, 40), (40, 300)] {
            let p = randomTensor([m, 64], seed: 44), q = randomTensor([64, n], seed: 45)
            var ref = [Float](repeating: 0, count: m * n)
            for i in 0..<m { for k in 0..<64 { let v = p[i, k]; for j in 0..<n { ref[i * n + j] += v * q[k, j] } } }
            assertClose(Tensor.matmul(p, q).scalars, ref, atol: 1e-3, "split matmul \(m)×\(n)")
        }
    }
}
