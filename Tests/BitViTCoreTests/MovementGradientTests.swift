import BitViTCore
import BitViTTestSupport
import Testing

@Suite struct MovementGradientTests {
    let x = randomTensor([2, 3, 4], seed: 21)

    @Test func reshapeAndPermute() {
        checkGradients("reshape", inputs: [x]) { $0[0].reshaped([6, -1]) * Tensor.arange(0, 4) }
        checkGradients("permute", inputs: [x]) { $0[0].permuted([2, 0, 1]) }
        checkGradients("transpose", inputs: [x]) { $0[0].transposed(0, 2) }
        checkGradients("flatten/unsqueeze/squeeze", inputs: [x]) { $0[0].flattened(from: 1).unsqueezed(1).squeezed(1) }
        checkGradients("expand", inputs: [randomTensor([3, 1], seed: 22)]) { $0[0].expanded(to: [2, 3, 5]) }
    }

    @Test func sliceConcatenateSplit() {
        checkGradients("slice inner axis", inputs: [x]) { $0[0].slice(axis: 2, 1..<3) }
        checkGradients("slice leading axis (view)", inputs: [x]) { $0[0].slice(axis: 0, 1..<2) }
        let y = randomTensor([2, 5, 4], seed: 23)
        checkGradients("concatenate", inputs: [x, y]) { Tensor.concatenate([$0[0], $0[1]], axis: 1) }
        checkGradients("stack", inputs: [x, randomTensor([2, 3, 4], seed: 24)]) { Tensor.stack([$0[0], $0[1]], axis: 1) }
        checkGradients("split", inputs: [y]) { t in
            let parts = t[0].split(sizes: [2, 3], axis: 1)
            return parts[0].sum(axis: 1) * parts[1].sum(axis: 1)
        }
    }

    @Test func gatherAndIndexSelect() {
        checkGradients("indexSelect", inputs: [x]) { $0[0].indexSelect(axis: 1, indices: [2, 0, 2]) }
        checkGradients("gather", inputs: [x]) {
            $0[0].gather(axis: 2, indices: [3, 0, 1, 1, 2, 0, 0, 0, 3, 2, 1, 3], indexShape: [2, 3, 2])
        }
    }

    @Test func roll() {
        checkGradients("roll", inputs: [x]) { $0[0].rolled(by: -1, axis: 1) * Tensor.arange(0, 4) }
        let t = Tensor(shape: [5], scalars: [0, 1, 2, 3, 4])
        #expect(t.rolled(by: 2, axis: 0).scalars == [3, 4, 0, 1, 2])   // out[i] = in[i − 2]
        #expect(t.rolled(by: -1, axis: 0).scalars == [1, 2, 3, 4, 0])
        #expect(t.rolled(by: 7, axis: 0).scalars == t.rolled(by: 2, axis: 0).scalars)
    }

    @Test func valuesOfMovementOps() {
        let t = Tensor(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5])
        #expect(t.transposed().scalars == [0, 3, 1, 4, 2, 5])
        #expect(t.slice(axis: 1, 1..<3).scalars == [1, 2, 4, 5])
        #expect(Tensor.concatenate([t, t], axis: 0).shape == [4, 3])
        #expect(t.indexSelect(axis: 1, indices: [2, 0]).scalars == [2, 0, 5, 3])
        #expect(t.gather(axis: 1, indices: [2, 2, 0, 1], indexShape: [2, 2]).scalars == [2, 2, 3, 4])
        #expect(t.expanded(to: [2, 2, 3]).scalars == [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5])
        #expect(t.reshaped([3, 2]).storage === t.storage)   // reshape is a view
    }
}
