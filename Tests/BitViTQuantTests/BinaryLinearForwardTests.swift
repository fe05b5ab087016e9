import BitViTQuant
import BitViTTestSupport
import Testing

/// W1A1 `QuantizedLinear` layers with their forward product on the bit kernels, against the
/// reference (shift add, quantizer, float GEMM as separate ops), on every kernel path.
@Suite struct BinaryLinearForwardTests {
    enum Kind: CaseIterable { case gsbSigned, gsbUnsigned, bhvit, baseline }

    static func layer(_ kind: Kind, inFeatures: Int = 70, outFeatures: Int = 37) -> QuantizedLinear {
        var rng = RandomGenerator(seed: 3)
        let l: QuantizedLinear
        switch kind {
        case .gsbSigned, .gsbUnsigned:
            let q = kind == .gsbSigned ? ElasticQuantizer.signedBinary() : ElasticQuantizer.unsignedBinary()
            q.alpha.data[0] = 0.6
            q.markScalesInitialized()
            l = QuantizedLinear(inFeatures, outFeatures, inputShift: true, inputQuantizer: q,
                                weightQuantizer: BinaryWeightQuantizer(scaling: .perTensor), rng: &rng)
            l.inputShift!.assign(randomTensor([inFeatures], seed: 4, scale: 0.2))
            l.bias!.assign(randomTensor([outFeatures], seed: 5, scale: 0.1))
        case .bhvit:
            l = QuantizedLinear(inFeatures, outFeatures, bias: false, inputQuantizer: SignQuantizer(estimator: .approxSign),
                                weightQuantizer: RowCenteredBinaryWeightQuantizer(), initializer: .pytorchDefault, rng: &rng)
        case .baseline:
            l = QuantizedLinear(inFeatures, outFeatures, inputQuantizer: SignQuantizer(estimator: .clippedIdentity),
                                weightQuantizer: BinaryWeightQuantizer(scaling: .perOutputChannel), rng: &rng)
        }
        return l
    }

    /// Inputs `[2, 9, in]` whose shifted value is exactly 0 in a few places (the ternary
    /// product) unless `withZeros` is false.
    static func input(for l: QuantizedLinear, withZeros: Bool) -> Tensor {
        let x = randomTensor([2, 9, l.inFeatures], seed: 6, scale: 0.8)
        if withZeros {
            for i in stride(from: 0, to: x.count, by: 29) {
                x.data[i] = -(l.inputShift?.data[i % l.inFeatures] ?? 0)
            }
        }
        return x
    }

    static func run(_ l: QuantizedLinear, _ x: Tensor, g: Tensor) -> [String: [Float]] {
        let leaf = x.copy()
        leaf.requiresGrad = true
        l.zeroGrad()
        let y = l(leaf)
        y.backward(g)
        var out = ["y": y.scalars, "dx": leaf.grad!.scalars]
        for (name, p) in l.namedParameters() { out[name] = p.grad?.scalars ?? [] }
        return out
    }

    @Test(arguments: Kind.allCases)
    func matchesTheReferenceOnEveryPath(_ kind: Kind) {
        let l = Self.layer(kind)
        for withZeros in [true, false] {
            let x = Self.input(for: l, withZeros: withZeros)
            let g = randomTensor([2, 9, l.outFeatures], seed: 7)
            let want = QuantizerKernels.with(.reference) { Self.run(l, x, g: g) }
            for path in FusedKernelTests.paths {
                let got = QuantizerKernels.with(.fused, path: path) { Self.run(l, x, g: g) }
                #expect(Set(got.keys) == Set(want.keys))
                // The products differ only by the float GEMM's rounding of partial sums.
                assertClose(got["y"]!, want["y"]!, atol: 1e-5, rtol: 1e-5, "\(kind) forward, path \(path)")
                #expect(got["dx"]! == want["dx"]!, "\(kind) input gradient, path \(path)")
                for key in want.keys where key != "y" && key != "dx" {
                    assertClose(got[key]!, want[key]!, atol: 1e-5, rtol: 1e-5, "\(kind) \(key) gradient, path \(path)")
                }
            }
        }
    }

    @Test func weightsWithAZeroEntryTakeTheFloatProduct() {
        // An all-zero weight binarizes to 0 everywhere (sgn(0) = 0): not a ±m matrix.
        let l = Self.layer(.gsbSigned)
        l.weight.assign(Tensor.zeros(l.weight.shape))
        let x = Self.input(for: l, withZeros: false)
        let g = randomTensor([2, 9, l.outFeatures], seed: 8)
        let want = QuantizerKernels.with(.reference) { Self.run(l, x, g: g) }
        let got = Self.run(l, x, g: g)
        #expect(got["y"]! == want["y"]!)
        #expect(got["input_shift"]! == want["input_shift"]!)
    }

    @Test func biasGradientMatchesFiniteDifferences() {
        let l = Self.layer(.gsbUnsigned)
        let x = Self.input(for: l, withZeros: true)
        checkGradients("binary linear bias", inputs: [l.bias!], step: 1e-2) { _ in l(x) }
    }
}
