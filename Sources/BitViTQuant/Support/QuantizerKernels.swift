import CBitKernels

/// Which implementation the quantizers and quantized layers run, per thread (like `GradMode`).
///
/// `.fused` (default): single-pass C kernels (`bv_train_kernels.h`) for the activation
/// quantizers, and the W1A1 linear layers' forward products on the bit kernels. `.reference`:
/// the straightforward Swift kernels and the float products, element for element the
/// formulas of docs/quantization.md; the tests check the fused kernels against them.
public enum QuantizerKernels {
    public enum Mode: Sendable { case fused, reference }

    /// The calling thread's mode.
    public static var mode: Mode {
        get { bv_train_reference_mode() != 0 ? .reference : .fused }
        set { bv_train_set_reference_mode(newValue == .reference ? 1 : 0) }
    }

    /// The instruction-set path the calling thread's fused kernels use (`BV_KPATH_*`; 0 = the
    /// best the CPU has). Tests force each path the machine has.
    public static var path: Int32 {
        get { Int32(bv_train_forced_path()) }
        set { bv_train_set_forced_path(newValue) }
    }

    static var isFused: Bool { bv_train_reference_mode() == 0 }

    /// Runs `body` in `mode` on the calling thread.
    public static func with<R>(_ mode: Mode, path: Int32 = 0, _ body: () throws -> R) rethrows -> R {
        let (savedMode, savedPath) = (self.mode, self.path)
        self.mode = mode
        self.path = path
        defer { self.mode = savedMode; self.path = savedPath }
        return try body()
    }
}

/// The per-tensor quantizers of `bv_quant1_forward`/`bv_quant1_backward`.
enum OneTensorQuantizer {
    case signStep(c: Float)
    case levels(c: Float, qn: Float, qp: Float)
    case signClipped
    case signApprox

    var kind: Int32 {
        switch self {
        case .signStep: return Int32(BV_Q1_SIGN_STEP)
        case .levels: return Int32(BV_Q1_LEVELS)
        case .signClipped: return Int32(BV_Q1_SIGN_CLIPPED)
        case .signApprox: return Int32(BV_Q1_SIGN_APPROX)
        }
    }

    var parameters: (c: Float, qn: Float, qp: Float) {
        switch self {
        case .signStep(let c): return (c, -1, 1)
        case .levels(let c, let qn, let qp): return (c, qn, qp)
        case .signClipped, .signApprox: return (1, -1, 1)
        }
    }
}

extension OneTensorQuantizer {
    /// The quantized value of `x + shift` (`shift` `[k]` over the last axis, or nil).
    func forward(_ x: Tensor, shift: Tensor?) -> Tensor {
        let k = shift?.count ?? x.count, rows = x.count / Swift.max(k, 1)
        let y = Tensor(uninitialized: x.shape)
        let (c, qn, qp) = parameters
        let src = x.data, dst = y.data, s = shift?.data, kind = kind, path = QuantizerKernels.path
        forEachWorkerRange(rows, elementsPerUnit: k) { _, r in
            bv_quant1_forward(src + r.lowerBound * k, Int32(r.count), Int32(k), s, c, qn, qp, kind,
                              dst + r.lowerBound * k, path)
        }
        return y
    }

    /// The backward pass at `x + shift` for the output gradient `g`: the input gradient, the
    /// forward value when `wantsValue`, the sum of the step terms and, with a shift, its
    /// gradient (column sums of the input gradient). With `overwritingGradient` the input
    /// gradient is written over `g` (a tensor the caller owns).
    func backward(_ x: Tensor, shift: Tensor?, gradient g: Tensor, wantsValue: Bool = false,
                  overwritingGradient: Bool = false)
        -> (dx: Tensor, value: Tensor?, stepSum: Double, shiftGradient: Tensor?) {
        let k = shift?.count ?? x.count, rows = x.count / Swift.max(k, 1)
        let dx = overwritingGradient ? g : Tensor(uninitialized: x.shape)
        let value = wantsValue ? Tensor(uninitialized: x.shape) : nil
        let (c, qn, qp) = parameters
        let workers = workerCount(units: rows, elementsPerUnit: k)
        var stepSums = [Double](repeating: 0, count: workers)
        var shiftSums = [Double](repeating: 0, count: shift == nil ? 0 : workers * k)
        let src = x.data, gp = g.data, d = dx.data, v = value?.data, s = shift?.data, kind = kind
        let path = QuantizerKernels.path
        stepSums.withUnsafeMutableBufferPointer { steps in
            shiftSums.withUnsafeMutableBufferPointer { shifts in
                let stepBase = steps.baseAddress!, shiftBase = shift == nil ? nil : shifts.baseAddress
                forEachWorkerRange(rows, elementsPerUnit: k) { w, r in
                    let lo = r.lowerBound
                    bv_quant1_backward(src + lo * k, gp + lo * k, Int32(r.count), Int32(k), s, c, qn, qp, kind,
                                       d + lo * k, v.map { $0 + lo * k }, stepBase + w,
                                       shiftBase.map { $0 + w * k }, path)
                }
            }
        }
        var shiftGradient: Tensor?
        if let shift {
            let t = Tensor(uninitialized: shift.shape)
            for (j, total) in sumOverWorkers(shiftSums, workers: workers, width: k).enumerated() { t.data[j] = Float(total) }
            shiftGradient = t
        }
        return (dx, value, stepSums.reduce(0, +), shiftGradient)
    }
}

/// Q-ViT's per-channel LSQ activation quantizer on a tensor viewed as `[outer, channels, inner]`.
struct ChannelLSQ {
    let layout: ChannelLayout
    let steps: Tensor
    let zeros: Tensor
    let qn: Float
    let qp: Float

    func forward(_ x: Tensor) -> Tensor {
        let y = Tensor(uninitialized: x.shape)
        let (ch, inner) = (Int32(layout.channels), Int32(layout.inner))
        let src = x.data, dst = y.data, a = steps.data, z = zeros.data, path = QuantizerKernels.path
        let (qn, qp) = (qn, qp)
        forEachWorkerRange(layout.outer, elementsPerUnit: layout.channels * layout.inner) { _, r in
            bv_lsq_forward(src, Int32(r.lowerBound), Int32(r.upperBound), ch, inner, a, z, qn, qp, dst, path)
        }
        return y
    }

    /// The input gradient and the per-channel sums of the step and zero-point terms.
    func backward(_ x: Tensor, gradient g: Tensor) -> (dx: Tensor, stepSums: [Double], zeroSums: [Double]) {
        let channels = layout.channels
        let dx = Tensor(uninitialized: x.shape)
        let workers = workerCount(units: layout.outer, elementsPerUnit: channels * layout.inner)
        var stepPartials = [Double](repeating: 0, count: workers * channels)
        var zeroPartials = [Double](repeating: 0, count: workers * channels)
        let src = x.data, gp = g.data, d = dx.data, a = steps.data, z = zeros.data, path = QuantizerKernels.path
        let (qn, qp, inner) = (qn, qp, Int32(layout.inner))
        stepPartials.withUnsafeMutableBufferPointer { sp in
            zeroPartials.withUnsafeMutableBufferPointer { zp in
                let sBase = sp.baseAddress!, zBase = zp.baseAddress!
                forEachWorkerRange(layout.outer, elementsPerUnit: channels * layout.inner) { w, r in
                    bv_lsq_backward(src, gp, Int32(r.lowerBound), Int32(r.upperBound), Int32(channels), inner, a, z,
                                    qn, qp, d, sBase + w * channels, zBase + w * channels, path)
                }
            }
        }
        return (dx, sumOverWorkers(stepPartials, workers: workers, width: channels),
                sumOverWorkers(zeroPartials, workers: workers, width: channels))
    }
}

/// GSB's value and attention quantizers on the fused kernels (`bv_gsb_*`), flat over the tensor.
enum GroupSuperpositionKernels {
    /// Runs `body(worker, lo, count)` over contiguous element ranges, one per worker.
    private static func split(_ n: Int, _ body: (_ worker: Int, _ lo: Int, _ count: Int) -> Void) -> Int {
        forEachWorkerRange(n) { w, r in body(w, r.lowerBound, r.count) }
    }

    static func extremes(_ x: Tensor) -> (max: Float, min: Float) {
        let workers = workerCount(units: x.count, elementsPerUnit: 1)
        var hi = [Float](repeating: -.infinity, count: workers), lo = [Float](repeating: .infinity, count: workers)
        let p = x.data, path = QuantizerKernels.path
        hi.withUnsafeMutableBufferPointer { h in
            lo.withUnsafeMutableBufferPointer { l in
                let (hb, lb) = (h.baseAddress!, l.baseAddress!)
                _ = split(x.count) { w, start, n in bv_extremes(p + start, n, hb + w, lb + w, path) }
            }
        }
        return (hi.max() ?? -.infinity, lo.min() ?? .infinity)
    }

    static func valueForward(_ v: Tensor, scales c: [Float], upper: [Float], lower: [Float]) -> Tensor {
        let y = Tensor(uninitialized: v.shape)
        let (src, dst, k, path) = (v.data, y.data, Int32(c.count), QuantizerKernels.path)
        _ = split(v.count) { _, start, n in
            bv_gsb_value_forward(src + start, n, c, upper, lower, k, dst + start, path)
        }
        return y
    }

    static func attentionForward(_ a: Tensor, scales c: [Float], upper: [Float]) -> Tensor {
        let y = Tensor(uninitialized: a.shape)
        let (src, dst, k, path) = (a.data, y.data, Int32(c.count), QuantizerKernels.path)
        _ = split(a.count) { _, start, n in
            bv_gsb_attention_forward(src + start, n, c, upper, k, dst + start, path)
        }
        return y
    }

    /// The input gradient, and per group the summed terms and member counts (counts[0] unused).
    static func backward(value: Bool, _ x: Tensor, gradient g: Tensor, scales c: [Float], upper: [Float],
                         lower: [Float]) -> (dx: Tensor, sums: [Double], counts: [Double]) {
        let k = c.count, workers = workerCount(units: x.count, elementsPerUnit: 1)
        let dx = Tensor(uninitialized: x.shape)
        var sums = [Double](repeating: 0, count: workers * k), counts = sums
        let (src, gp, d, path) = (x.data, g.data, dx.data, QuantizerKernels.path)
        sums.withUnsafeMutableBufferPointer { s in
            counts.withUnsafeMutableBufferPointer { n in
                let (sb, nb) = (s.baseAddress!, n.baseAddress!)
                _ = split(x.count) { w, start, count in
                    if value {
                        bv_gsb_value_backward(src + start, gp + start, count, c, upper, lower, Int32(k), d + start,
                                              sb + w * k, nb + w * k, path)
                    } else {
                        bv_gsb_attention_backward(src + start, gp + start, count, c, upper, Int32(k), d + start,
                                                  sb + w * k, nb + w * k, path)
                    }
                }
            }
        }
        return (dx, sumOverWorkers(sums, workers: workers, width: k), sumOverWorkers(counts, workers: workers, width: k))
    }
}

/// Per-worker partial sums laid out `[workers, width]`, summed over the workers in worker order.
private func sumOverWorkers(_ partials: [Double], workers: Int, width: Int) -> [Double] {
    var total = [Double](repeating: 0, count: width)
    for w in 0..<workers {
        for j in 0..<width { total[j] += partials[w * width + j] }
    }
    return total
}
