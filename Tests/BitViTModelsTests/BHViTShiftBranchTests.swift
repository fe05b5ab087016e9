import BitViTModels
import BitViTTestSupport
import Foundation
import Testing

/// BHViT's six shift branches against every golden case (outputs and exact adjoint
/// gradients) and the index maps of docs/reference/bhvit.md §4.
@Suite struct BHViTShiftBranchTests {
    static let golden = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/golden")

    /// NCHW: rows on axis 2, columns on axis 3, channels on axis 1.
    private func apply(_ branch: ShiftBranch, _ x: Tensor) -> Tensor {
        branch(x, heightAxis: 2, widthAxis: 3, channelAxis: 1)
    }

    @Test(arguments: ShiftBranch.allCases)
    func goldenCases(branch: ShiftBranch) throws {
        let cases = try GoldenOp.load("bhvit_shift_\(branch.rawValue)", in: Self.golden).cases
        #expect(!cases.isEmpty)
        for c in cases {
            let x = try #require(c.inputs["x"]).copy()
            x.requiresGrad = true
            let y = apply(branch, x)
            assertClose(y, try #require(c.outputs["y"]), "\(branch) \(c.id) y")
            y.backward(try #require(c.gradOutput["y"]))
            assertClose(try #require(x.grad), try #require(c.grads["x"]), "\(branch) \(c.id) dx")
        }
    }

    /// One channel, U[i, j] = 4i + j on a 4×4 map.
    private var indexMap: Tensor { Tensor(shape: [1, 1, 4, 4], scalars: (0..<16).map(Float.init)) }

    @Test func verticalAndHorizontalAveragesWrapAround() {
        let h3 = apply(.h3, indexMap)
        assertClose(Array(h3.scalars[0..<4]), [16 / 3, 19 / 3, 22 / 3, 25 / 3], "h3 row 0 averages rows 3, 0, 1")
        assertClose([apply(.w3, indexMap).scalars[0]], [(0 + 3 + 1) / 3], "w3 (0, 0) averages columns 3, 0, 1")
        assertClose(Array(apply(.w5, indexMap).scalars[0..<4]), [1.6, 1.8, 1.2, 1.4], "w5 row 0")
    }

    @Test func mixedShiftMovesEachQuarterItsOwnWay() {
        // Four channels, one per quarter, each the 4×4 index map.
        let x = Tensor(shape: [1, 4, 4, 4], scalars: (0..<64).map { Float($0 % 16) })
        let y = apply(.ch3, x)
        func row(_ t: Tensor, _ c: Int, _ i: Int) -> [Float] { (0..<4).map { t[0, c, i, $0] } }
        func column(_ t: Tensor, _ c: Int, _ j: Int) -> [Float] { (0..<4).map { t[0, c, $0, j] } }
        #expect(row(y, 0, 0) == row(x, 0, 3), "q0 moves down: row 0 reads row 3")
        #expect(row(y, 1, 0) == row(x, 1, 1), "q1 moves up: row 0 reads row 1")
        #expect(column(y, 2, 0) == column(x, 2, 3), "q2 moves right: column 0 reads column 3")
        #expect(column(y, 3, 0) == column(x, 3, 1), "q3 moves left: column 0 reads column 1")
    }

    @Test func constantMapsAreFixedPoints() {
        let x = Tensor(shape: [2, 4, 5, 3], repeating: 0.75)
        for branch in [ShiftBranch.h3, .w3, .h5, .w5] {
            #expect(apply(branch, x).scalars.allSatisfy { Swift.abs($0 - 0.75) < 1e-6 }, "\(branch)")
        }
        let random = randomTensor([2, 8, 5, 6], seed: 4)
        for branch in [ShiftBranch.ch3, .ch5] {
            let y = apply(branch, random)
            // A permutation of the input: same multiset of values per channel.
            for c in 0..<8 {
                let a = random.slice(axis: 1, c..<(c + 1)).scalars.sorted(), b = y.slice(axis: 1, c..<(c + 1)).scalars.sorted()
                #expect(a == b, "\(branch) channel \(c) is a rearrangement")
            }
        }
    }

    @Test func channelsLastLayoutMatchesChannelsFirst() {
        let x = randomTensor([2, 8, 7, 7], seed: 9)
        let nhwc = x.permuted([0, 2, 3, 1])
        for branch in ShiftBranch.allCases {
            let a = apply(branch, x)
            let b = branch(nhwc, heightAxis: 1, widthAxis: 2, channelAxis: 3).permuted([0, 3, 1, 2])
            #expect(a.scalars == b.scalars, "\(branch)")
        }
    }
}
