import BitViTCore
import Testing

/// Expects `|got − want| ≤ atol + rtol·|want|` elementwise (NaN never passes); reports the
/// worst element.
public func assertClose(_ got: [Float], _ want: [Float], atol: Float = 1e-5, rtol: Float = 1e-4,
                        _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(got.count == want.count, "\(what): \(got.count) values, expected \(want.count)",
            sourceLocation: sourceLocation)
    var worst: (index: Int, excess: Float) = (-1, 0)
    for (i, (g, w)) in zip(got, want).enumerated() {
        let excess = g.isNaN != w.isNaN ? Float.infinity : Swift.abs(g - w) - (atol + rtol * Swift.abs(w))
        if excess > worst.excess { worst = (i, excess) }
    }
    #expect(worst.index < 0,
            "\(what): element \(worst.index) is \(worst.index >= 0 ? got[worst.index] : 0), expected \(worst.index >= 0 ? want[worst.index] : 0)",
            sourceLocation: sourceLocation)
}

/// Tensor overload: shapes must match too.
public func assertClose(_ got: Tensor, _ want: Tensor, atol: Float = 1e-5, rtol: Float = 1e-4,
                        _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(got.shape == want.shape, "\(what): shape \(got.shape), expected \(want.shape)",
            sourceLocation: sourceLocation)
    assertClose(got.scalars, want.scalars, atol: atol, rtol: rtol, what, sourceLocation: sourceLocation)
}
