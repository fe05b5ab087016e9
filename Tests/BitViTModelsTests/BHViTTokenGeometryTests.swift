import BitViTModels
import BitViTTestSupport
import Testing

/// MSMHA's token geometry (docs/reference/bhvit.md §3.6): windows, pooled tokens
/// with the pad-3 quirk, the coarse-to-fine split back.
@Suite struct BHViTTokenGeometryTests {
    @Test func averagePoolingOfOnesShowsThePaddingQuirk() {
        let (max14, average14) = WindowTokens.pool(Tensor.ones([1, 1, 14, 14]))
        assertClose(average14.scalars, [16.0 / 49, 28.0 / 49, 28.0 / 49, 1], "14×14: cells cover [0,4) and [4,11)")
        #expect(max14.scalars == [1, 1, 1, 1], "the max ignores padding")
        let (_, average7) = WindowTokens.pool(Tensor.ones([1, 1, 7, 7]))
        assertClose(average7.scalars, [16.0 / 49], "7×7: only the top-left 4×4 is pooled")
    }

    @Test func rowsElevenToThirteenAreNeverPooled() {
        // A spike in the unpooled corner changes no pooled value; one inside cell (1, 1) does.
        var values = [Float](repeating: 0, count: 196)
        values[12 * 14 + 12] = 100
        let (maxCorner, averageCorner) = WindowTokens.pool(Tensor(shape: [1, 1, 14, 14], scalars: values))
        #expect(maxCorner.scalars == [0, 0, 0, 0] && averageCorner.scalars == [0, 0, 0, 0])
        values[12 * 14 + 12] = 0
        values[10 * 14 + 10] = 49
        let (maxInside, averageInside) = WindowTokens.pool(Tensor(shape: [1, 1, 14, 14], scalars: values))
        #expect(maxInside.scalars == [0, 0, 0, 49] && averageInside.scalars == [0, 0, 0, 1])
    }

    @Test func windowPartitionAndReverse() {
        let map = Tensor(shape: [1, 14, 14, 1], scalars: (0..<196).map(Float.init))   // value 14i + j
        let windows = WindowTokens.partition(map)
        #expect(windows.shape == [4, 49, 1])
        #expect(Array(windows.scalars[49..<52]) == [7, 8, 9], "window 1 starts at column 7")
        #expect(Array(windows.scalars[98..<101]) == [98, 99, 100], "window 2 starts at row 7")
        let batch = randomTensor([2, 14, 14, 3], seed: 2)
        #expect(WindowTokens.reverse(WindowTokens.partition(batch), side: 14).scalars == batch.scalars)
    }

    @Test func nearestUpsamplingReadsTheCoveringCell() {
        let cells = Tensor(shape: [1, 2, 2, 1], scalars: [1, 2, 3, 4])
        let up = WindowTokens.upsampleNearest(cells)
        #expect(up.shape == [1, 14, 14, 1])
        for i in 0..<14 { for j in 0..<14 { #expect(up[0, i, j, 0] == cells[0, i / 7, j / 7, 0]) } }
    }

    @Test func attentionTokensAreWindowsPlusPooledCopies() {
        for (side, perWindow, windows) in [(14, 53, 4), (7, 50, 1)] {
            let tokens = PooledWindowTokens(channels: 8, side: side)
            let u = randomTensor([2, side * side, 8], seed: UInt64(side))
            let t = tokens(u)
            #expect(t.shape == [2 * windows, perWindow, 8])
            // Every window of an image carries the same pooled tokens (before the LayerNorm too).
            let pooled = tokens.pooledTokens(u)
            #expect(pooled.shape == [2, windows, 8])
            for w in 0..<windows {
                let copy = t.slice(axis: 0, w..<(w + 1)).slice(axis: 1, 49..<perWindow).scalars
                let first = t.slice(axis: 0, 0..<1).slice(axis: 1, 49..<perWindow).scalars
                #expect(copy == first, "side \(side): window \(w) of image 0")
            }
        }
    }
}
