import BitViTQuant
import BitViTTestSupport
import Testing

/// The baselines' golden files: ApproxSign (`bhvit_sign`) and RPReLU (`bhvit_rprelu`).
@Suite struct BaselineGoldenTests {
    @Test func approxSign() throws {
        for c in try Golden.cases("bhvit_sign") {
            let x = try c.leaf("x")
            let q = SignQuantizer(estimator: .approxSign)
            try c.verify(leaves: ["x": x]) { q(x) }
        }
    }

    @Test func rprelu() throws {
        for c in try Golden.cases("bhvit_rprelu") {
            let x = try c.leaf("x")
            let layer = RPReLU(channels: x.shape[x.rank - 1])
            setScale(layer.move1, try c.value("move1"))
            setScale(layer.slope, try c.value("slope"))
            setScale(layer.move2, try c.value("move2"))
            try c.verify(leaves: ["x": x, "move1": layer.move1, "slope": layer.slope, "move2": layer.move2]) { layer(x) }
        }
    }
}
