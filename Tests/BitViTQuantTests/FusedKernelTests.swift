import BitViTQuant
import BitViTTestSupport
import CBitKernels
import Testing

/// The fused training kernels (`QuantizerKernels.fused`: bv_train_kernels.h and the W1A1
/// linear on the bit kernels) against the reference Swift implementations, on every
/// instruction-set path this machine has.
@Suite struct FusedKernelTests {
    /// The kernel paths to check: scalar, and each SIMD path the CPU runs.
    static var paths: [Int32] {
        var out = [Int32(BV_KPATH_SCALAR)]
        if bv_train_resolve_path(Int32(BV_KPATH_AVX2)) == BV_KPATH_AVX2 { out.append(Int32(BV_KPATH_AVX2)) }
        if bv_bgemm_resolve_path(Int32(BV_KPATH_AVX512)) == BV_KPATH_AVX512 { out.append(Int32(BV_KPATH_AVX512)) }
        if bv_bgemm_resolve_path(Int32(BV_KPATH_NEON)) == BV_KPATH_NEON { out.append(Int32(BV_KPATH_NEON)) }
        return out
    }

    /// Gaussian values with exact zeros, exact window bounds (±c, c/2) and a tail that is not a
    /// multiple of 8 lanes.
    static func input(_ shape: [Int], seed: UInt64, step c: Float) -> Tensor {
        let x = randomTensor(shape, seed: seed, scale: 1.5 * c)
        let specials: [Float] = [0, c, -c, c / 2, -c / 2, 0, 3 * c, -0.0]
        for (i, v) in specials.enumerated() where 7 * i < x.count { x.data[7 * i] = v }
        return x
    }

    /// Output and gradients of `f` on a fresh leaf copy of `x` (and `params`), for the
    /// output gradient `g`.
    static func run(_ x: Tensor, params: [Tensor], g: Tensor, _ f: (Tensor) -> Tensor)
        -> (y: [Float], dx: [Float], dParams: [[Float]]) {
        let leaf = x.copy()
        leaf.requiresGrad = true
        for p in params { p.grad = nil }
        let y = f(leaf)
        y.backward(g)
        return (y.scalars, leaf.grad!.scalars, params.map { $0.grad?.scalars ?? [] })
    }

    /// Checks `f` fused on every path against the reference mode: values and input gradients
    /// bit for bit, parameter gradients to float accumulation-order tolerance.
    static func compare(_ what: String, x: Tensor, params: [Tensor], _ f: (Tensor) -> Tensor,
                        sourceLocation: SourceLocation = #_sourceLocation) {
        let g = randomTensor(x.shape, seed: 99)
        let want = QuantizerKernels.with(.reference) { run(x, params: params, g: g, f) }
        for path in paths {
            let got = QuantizerKernels.with(.fused, path: path) { run(x, params: params, g: g, f) }
            #expect(got.y == want.y, "\(what) forward, path \(path)", sourceLocation: sourceLocation)
            #expect(got.dx == want.dx, "\(what) input gradient, path \(path)", sourceLocation: sourceLocation)
            for (a, b) in zip(got.dParams, want.dParams) {
                assertClose(a, b, atol: 1e-5, rtol: 1e-5, "\(what) parameter gradient, path \(path)",
                            sourceLocation: sourceLocation)
            }
        }
    }

    @Test func elasticQuantizersMatchTheReference() {
        for (bits, signed) in [(1, true), (1, false), (8, true), (2, false)] {
            let q = ElasticQuantizer(bits: bits, signed: signed)
            q.alpha.data[0] = 0.37
            q.markScalesInitialized()
            let x = Self.input([3, 5, 21], seed: UInt64(bits * 2 + (signed ? 1 : 0)), step: 0.37)
            Self.compare("elastic \(bits)-bit \(signed ? "signed" : "unsigned")", x: x, params: [q.alpha]) { q($0) }
        }
    }

    @Test func signQuantizersMatchTheReference() {
        for estimator in [SignQuantizer.Estimator.clippedIdentity, .approxSign] {
            let q = SignQuantizer(estimator: estimator)
            let x = Self.input([4, 37], seed: 5, step: 1)
            Self.compare("sign \(estimator)", x: x, params: []) { q($0) }
        }
    }

    @Test func lsqActivationQuantizersMatchTheReference() {
        for (bits, perFeature) in [(4, true), (4, false), (2, true), (3, false)] {
            let channels = perFeature ? 19 : 3
            let q = perFeature ? LSQActivationQuantizer.perFeature(bits: bits, features: channels)
                               : LSQActivationQuantizer.perAxis1(bits: bits, count: channels)
            let x = perFeature ? Self.input([2, 7, channels], seed: 11, step: 0.2)
                               : Self.input([2, channels, 5, 13], seed: 12, step: 0.2)
            // Lazy initialization, then distinct per-channel steps and zero points.
            q.train()
            _ = q(x)
            for c in 0..<channels {
                q.alpha.data[c] = 0.15 + 0.02 * Float(c)
                q.zeroPoint.data[c] = Float(c % 3) - 0.6
            }
            for signed in [true, false] {
                q.isSigned = signed
                Self.compare("LSQ \(bits)-bit \(perFeature ? "per feature" : "per head") \(signed ? "signed" : "unsigned")",
                             x: x, params: [q.alpha, q.zeroPoint]) { q($0) }
            }
        }
    }

    @Test func groupSuperpositionQuantizersMatchTheReference() {
        for groups in [3, 1, 4] {
            let value = GSBValueQuantizer(groups: groups)
            let attention = GSBAttentionQuantizer(groups: groups)
            for (k, s) in value.scales.enumerated() { s.data[0] = 0.4 - 0.1 * Float(k) }
            for (k, s) in attention.scales.enumerated() { s.data[0] = 0.05 + 0.1 * Float(k) }
            value.markScalesInitialized()
            attention.markScalesInitialized()
            // Values with exact zeros and ties at the mask bounds, and an attention-like tensor
            // with a small learnable-bias perturbation (negative entries, entries above c₁).
            let v = Self.input([2, 3, 7, 9], seed: UInt64(20 + groups), step: 0.4)
            let a = (randomTensor([2, 3, 7, 7], seed: 30, scale: 2).softmax() + randomTensor([2, 3, 7, 7], seed: 31, scale: 0.05)).detached()
            a.data[5] = 0.025
            Self.compare("GSB_V, \(groups) groups", x: v, params: value.scales) { value($0) }
            Self.compare("GSB_A, \(groups) groups", x: a, params: attention.scales) { attention($0) }
        }
    }

    @Test func unsignedPackingFollowsTheRoundedCode() {
        // UB fires when v/c > 0.5 after rounding the quotient; values next to c/2 decide it.
        let c: Float = 0.3
        var values: [Float] = []
        for i in -20...20 { values.append((c / 2).advanced(by: Float(i) * c.ulp / 4)) }
        values += [0, -0.0, c, 2 * c, -c]
        let k = values.count
        let bits = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
        defer { bits.deallocate() }
        for path in Self.paths {
            var count: Int32 = 0
            bv_pack_unsigned_binary(values, 1, Int32(k), nil, c, bits, 1, &count, path)
            var expected = 0
            for (j, v) in values.enumerated() {
                let code = Swift.min(Swift.max(v / c, 0), 1).rounded(.toNearestOrEven)
                #expect((bits[0] >> UInt64(j)) & 1 == (code == 1 ? 1 : 0), "value \(v), path \(path)")
                if code == 1 { expected += 1 }
            }
            #expect(Int(count) == expected)
        }
    }
}
