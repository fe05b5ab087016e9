import CBitKernels

/// The W1A1 product of a `QuantizedLinear` on the bit kernels (`bv_bgemm`), with its input
/// quantizer fused: one recorded op for `y = Q_in(x + shift)·Ŵᵀ + bias` where Ŵ is the output
/// of the weight quantizer (itself recorded, so its own backward rule maps dŴ to dW).
///
/// Exact where it applies: Q_in(v) is `c·sgn(v)` (GSB's SB), `c·[v/c > 0.5]` (GSB's UB) or
/// `sgn(v)` (BHViT and the W1A1 baselines), and every nonzero entry of row o of Ŵ is `±m_o`
/// (BWN, BHViT's row-centred rule). The product is then `c·m_o·Σ_k s_k·t_k` with integer
/// sums, computed exactly by XNOR/AND-popcount; the float GEMM it replaces rounds each partial
/// sum. Zeros of sgn(v) use the ternary product; a Ŵ with a zero entry takes the float path.
///
/// Backward (float GEMMs, as the reference): dX̂ = g·Ŵ, then one fused pass gives dx, the
/// step-size and shift gradients and X̂ itself (not kept from the forward), and dŴ = gᵀ·X̂.
enum BinaryLinearForward {
    /// A 1-bit input quantizer the bit kernels reproduce.
    struct Input {
        let kernel: OneTensorQuantizer
        /// `alpha` of an elastic quantizer (its gradient is returned), nil for sgn.
        let alpha: Tensor?
        let gradScale: Double
        let step: Float
        let unsigned: Bool

        init?(_ q: Quantizer, count: Int) {
            guard q.observer == nil, !q.initializesOnNextCall else { return nil }
            switch q {
            case let e as ElasticQuantizer where e.bits == 1:
                let c = GSB.floored(e.alpha.item())
                kernel = e.kernel(step: c)
                alpha = e.alpha
                gradScale = 1 / (Double(count) * Double(e.qp)).squareRoot()
                step = c
                unsigned = !e.signed
            case let s as SignQuantizer:
                kernel = SignQuantizer.kernel(s.estimator)
                alpha = nil
                gradScale = 0
                step = 1
                unsigned = false
            default:
                return nil
            }
        }
    }

    /// Whether `q` produces ±m_o rows (per row or per tensor).
    static func isBinaryWeightQuantizer(_ q: Quantizer) -> Bool {
        q is BinaryWeightQuantizer || q is RowCenteredBinaryWeightQuantizer
    }

    /// `y = Q_in(x + shift)·Ŵᵀ + bias`, or nil when Ŵ has a zero entry (the caller then runs
    /// the float product).
    static func apply(_ x: Tensor, shift: Tensor?, input: Input, weight wHat: Tensor, bias: Tensor?) -> Tensor? {
        let (out, k) = (wHat.shape[0], wHat.shape[1])
        guard let weights = PackedSignRows(wHat) else { return nil }
        let rows = x.count / k
        let y = Tensor(uninitialized: Array(x.shape.dropLast()) + [out])
        let activations = PackedActivations(x, rows: rows, k: k, shift: shift, input: input)
        var args = bv_bgemm_args()
        args.product = activations.product
        args.m = Int32(rows); args.n = Int32(out); args.k = Int32(k)
        args.a = UnsafePointer(activations.bits)
        args.a_row_stride = activations.words
        args.a_plane_stride = rows * activations.words
        args.a_planes = 1
        args.a_mask = activations.usesMask ? UnsafePointer(activations.mask) : nil
        args.a_counts = UnsafePointer(activations.counts)
        args.a_counts_plane_stride = rows
        args.b = UnsafePointer(weights.panels)
        args.b_plane_stride = weights.panelDwordCount
        args.b_panel_dwords = Int32(2 * weights.words)
        args.b_planes = 1
        args.scale = input.step * (weights.tensorScale ?? 1)
        args.col_scale = weights.tensorScale == nil ? UnsafePointer(weights.rowScales) : nil
        args.bias = bias.map { UnsafePointer($0.data) }
        args.c = y.data
        args.ldc = out
        let frozen = args, path = QuantizerKernels.path
        // Rows in whole 4-row tiles (the AVX2 and scalar tile height); K and N stay whole.
        let tiles = (rows + 3) / 4
        forEachWorkerRange(tiles, elementsPerUnit: 4 * out * Swift.max(1, k / 32)) { _, r in
            var local = frozen
            _ = bv_bgemm(&local, Int32(Swift.min(rows, 4 * r.lowerBound)), Int32(Swift.min(rows, 4 * r.upperBound)),
                         0, Int32(out), path)
        }
        withExtendedLifetime((activations, weights)) {}
        var inputs = [x]
        if let shift { inputs.append(shift) }
        if let alpha = input.alpha { inputs.append(alpha) }
        inputs.append(wHat)
        if let bias { inputs.append(bias) }
        return Autograd.record(y, op: "binaryLinear", inputs: inputs) { g in
            backward(g, x: x, shift: shift, input: input, weight: wHat, bias: bias, rows: rows)
        }
    }

    private static func backward(_ g: Tensor, x: Tensor, shift: Tensor?, input: Input, weight wHat: Tensor,
                                 bias: Tensor?, rows: Int) -> [Tensor?] {
        let (out, k) = (wHat.shape[0], wHat.shape[1])
        let dValue = Tensor(uninitialized: x.shape)
        BLAS.gemm(m: rows, n: k, k: out, a: g.data, lda: out, b: wHat.data, ldb: k, c: dValue.data, ldc: k)
        let r = input.kernel.backward(x, shift: shift, gradient: dValue, wantsValue: wHat.requiresGrad,
                                      overwritingGradient: true)
        var grads: [Tensor?] = [r.dx]
        if shift != nil { grads.append(r.shiftGradient) }
        if input.alpha != nil { grads.append(Tensor(Float(r.stepSum * input.gradScale))) }
        if let value = r.value {
            let dw = Tensor(uninitialized: wHat.shape)
            BLAS.gemm(transposeA: true, m: out, n: k, k: rows, a: g.data, lda: out, b: value.data, ldb: k,
                      c: dw.data, ldc: k)
            grads.append(dw)
        } else {
            grads.append(nil)
        }
        if let bias { grads.append(bias.requiresGrad ? g.reshaped([rows, out]).sum(axis: 0) : nil) }
        return grads
    }
}

/// Rows of a binary weight Ŵ `[out, k]` as sign bits in GEMM panels, with their scales.
private final class PackedSignRows {
    let words: Int
    let panels: UnsafeMutablePointer<UInt32>
    let panelDwordCount: Int
    /// `m` when every row has the same scale (per-tensor BWN), else nil and `rowScales`.
    let tensorScale: Float?
    let rowScales: UnsafeMutablePointer<Float>

    /// Nil when an entry is 0 or a row mixes magnitudes.
    init?(_ w: Tensor) {
        let (out, k) = (w.shape[0], w.shape[1])
        let p = w.data
        var scales = [Float](repeating: 0, count: out)
        for o in 0..<out {
            let row = p + o * k
            let m = Swift.abs(row[0])
            var uniform = m > 0
            for j in 0..<k where Swift.abs(row[j]) != m { uniform = false }
            guard uniform else { return nil }
            scales[o] = m
        }
        words = (k + 63) / 64
        let bits = UnsafeMutablePointer<UInt64>.allocate(capacity: out * words)
        defer { bits.deallocate() }
        bv_pack_signs(p, k, 1, Int32(out), Int32(k), nil, bits, words, nil, nil, QuantizerKernels.path)
        panelDwordCount = (out + 15) / 16 * 16 * 2 * words
        panels = UnsafeMutableRawPointer.allocate(byteCount: panelDwordCount * 4, alignment: 64)
            .bindMemory(to: UInt32.self, capacity: panelDwordCount)
        bv_pack_panels(bits, words, Int32(out), Int32(words), panels)
        tensorScale = scales.allSatisfy { $0 == scales[0] } ? scales[0] : nil
        rowScales = .allocate(capacity: out)
        rowScales.initialize(from: scales, count: out)
    }

    deinit {
        panels.deallocate()
        rowScales.deallocate()
    }
}

/// The quantized input of a binary linear as row-packed bits (transient: the backward pass
/// recomputes what it needs from x).
private final class PackedActivations {
    let words: Int
    let bits: UnsafeMutablePointer<UInt64>
    let mask: UnsafeMutablePointer<UInt64>
    let counts: UnsafeMutablePointer<Int32>
    let product: Int32
    let usesMask: Bool

    init(_ x: Tensor, rows: Int, k: Int, shift: Tensor?, input: BinaryLinearForward.Input) {
        words = (k + 63) / 64
        bits = .allocate(capacity: rows * words)
        mask = .allocate(capacity: input.unsigned ? 1 : rows * words)
        counts = .allocate(capacity: rows)
        let (src, s, path) = (x.data, shift?.data, QuantizerKernels.path)
        let (bits, mask, counts, words, unsigned, c) = (bits, mask, counts, words, input.unsigned, input.step)
        forEachWorkerRange(rows, elementsPerUnit: k) { _, r in
            let lo = r.lowerBound
            if unsigned {
                bv_pack_unsigned_binary(src + lo * k, Int32(r.count), Int32(k), s, c, bits + lo * words, words,
                                        counts + lo, path)
            } else {
                bv_pack_signs(src + lo * k, k, 1, Int32(r.count), Int32(k), s, bits + lo * words, words,
                              mask + lo * words, counts + lo, path)
            }
        }
        if unsigned {
            product = Int32(BV_PROD_01_PM1)
            usesMask = false
        } else {
            var nonzero = 0
            for r in 0..<rows { nonzero += Int(counts[r]) }
            usesMask = nonzero != rows * k
            product = Int32(usesMask ? BV_PROD_TERNARY_PM1 : BV_PROD_PM1_PM1)
        }
    }

    deinit {
        bits.deallocate()
        mask.deallocate()
        counts.deallocate()
    }
}
