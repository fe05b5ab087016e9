/// Geometry of a 2-D convolution or pooling window: (height, width) pairs.
public struct Conv2DOptions: Equatable, Sendable {
    public var stride: (Int, Int)
    public var padding: (Int, Int)
    public var dilation: (Int, Int)
    public var groups: Int

    public init(stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                dilation: (Int, Int) = (1, 1), groups: Int = 1) {
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
    }

    /// Square geometry.
    public init(stride: Int, padding: Int = 0, dilation: Int = 1, groups: Int = 1) {
        self.init(stride: (stride, stride), padding: (padding, padding),
                  dilation: (dilation, dilation), groups: groups)
    }

    public static func == (a: Conv2DOptions, b: Conv2DOptions) -> Bool {
        a.stride == b.stride && a.padding == b.padding && a.dilation == b.dilation && a.groups == b.groups
    }

    /// Output extent along one axis (PyTorch formula, floor mode).
    static func outputExtent(_ input: Int, kernel: Int, stride: Int, padding: Int, dilation: Int) -> Int {
        (input + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1
    }
}

/// One group's unfolding of a batch chunk: `cols[(ci·kh + ky)·kw + kx, b·L + oy·Wo + ox]`.
struct Im2Col {
    let channels: Int, height: Int, width: Int
    let kh: Int, kw: Int, oh: Int, ow: Int
    let o: Conv2DOptions

    var rows: Int { channels * kh * kw }
    var positions: Int { oh * ow }

    /// Fills `cols` ([rows, batch·positions]) from `x` images `[batch, C_total, H, W]` starting
    /// at channel `channelOffset`.
    func unfold(_ x: UnsafePointer<Float>, batch: Int, channelStride: Int, channelOffset: Int,
                into cols: UnsafeMutablePointer<Float>) {
        let cols0 = batch * positions
        Parallel.forEach(rows, minimumPerThread: Swift.max(1, 4096 / Swift.max(cols0, 1))) { row in
            let ci = row / (kh * kw), ky = (row / kw) % kh, kx = row % kw
            let dst = cols + row * cols0
            for b in 0..<batch {
                let plane = x + (b * channelStride + channelOffset + ci) * height * width
                for oy in 0..<oh {
                    let iy = oy * o.stride.0 - o.padding.0 + ky * o.dilation.0
                    let d = dst + b * positions + oy * ow
                    guard iy >= 0 && iy < height else { d.update(repeating: 0, count: ow); continue }
                    let src = plane + iy * width
                    for ox in 0..<ow {
                        let ix = ox * o.stride.1 - o.padding.1 + kx * o.dilation.1
                        d[ox] = (ix >= 0 && ix < width) ? src[ix] : 0
                    }
                }
            }
        }
    }

    /// Adds `cols` back into the images (the adjoint of `unfold`). Parallel over channels, so
    /// no two threads touch the same input plane.
    func fold(_ cols: UnsafePointer<Float>, batch: Int, channelStride: Int, channelOffset: Int,
              into x: UnsafeMutablePointer<Float>) {
        let cols0 = batch * positions
        Parallel.forEach(channels) { ci in
            for ky in 0..<kh {
                for kx in 0..<kw {
                    let src = cols + ((ci * kh + ky) * kw + kx) * cols0
                    for b in 0..<batch {
                        let plane = x + (b * channelStride + channelOffset + ci) * height * width
                        for oy in 0..<oh {
                            let iy = oy * o.stride.0 - o.padding.0 + ky * o.dilation.0
                            guard iy >= 0 && iy < height else { continue }
                            let s = src + b * positions + oy * ow, d = plane + iy * width
                            for ox in 0..<ow {
                                let ix = ox * o.stride.1 - o.padding.1 + kx * o.dilation.1
                                if ix >= 0 && ix < width { d[ix] += s[ox] }
                            }
                        }
                    }
                }
            }
        }
    }
}

extension Tensor {
    /// 2-D cross-correlation (PyTorch `conv2d`) with stride, zero padding, dilation and groups.
    ///
    /// - `x`: `[B, C_in, H, W]`; `weight`: `[C_out, C_in/groups, kh, kw]`; `bias`: `[C_out]`.
    /// - Returns `[B, C_out, H_out, W_out]`.
    ///
    /// Implemented as im2col + one GEMM per group over a chunk of the batch.
    public static func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil,
                              options o: Conv2DOptions = Conv2DOptions()) -> Tensor {
        precondition(x.rank == 4 && weight.rank == 4, "conv2d: input \(x.shape), weight \(weight.shape)")
        let (b, cin, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (cout, cg, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        let groups = o.groups
        precondition(cin == cg * groups && cout % groups == 0,
                     "conv2d: \(cin) input channels, weight \(weight.shape), groups \(groups)")
        if let bias { precondition(bias.shape == [cout], "conv2d: bias \(bias.shape) for \(cout) outputs") }
        let oh = Conv2DOptions.outputExtent(h, kernel: kh, stride: o.stride.0, padding: o.padding.0, dilation: o.dilation.0)
        let ow = Conv2DOptions.outputExtent(w, kernel: kw, stride: o.stride.1, padding: o.padding.1, dilation: o.dilation.1)
        precondition(oh > 0 && ow > 0, "conv2d: empty output for input \(x.shape) and kernel \(kh)×\(kw)")
        let unfold = Im2Col(channels: cg, height: h, width: w, kh: kh, kw: kw, oh: oh, ow: ow, o: o)
        let coutG = cout / groups, k = unfold.rows, l = oh * ow
        let chunk = Swift.max(1, Swift.min(b, (8 << 20) / Swift.max(k * l, 1)))
        let out = Tensor(uninitialized: [b, cout, oh, ow])
        do {  // scratch buffers live only during the forward pass
            let cols = Tensor(uninitialized: [k * chunk * l])
            let tmp = Tensor(uninitialized: [coutG * chunk * l])
            for b0 in stride(from: 0, to: b, by: chunk) {
                let nb = Swift.min(chunk, b - b0)
                for g in 0..<groups {
                    unfold.unfold(x.data + b0 * cin * h * w, batch: nb, channelStride: cin,
                                  channelOffset: g * cg, into: cols.data)
                    BLAS.gemm(m: coutG, n: nb * l, k: k, a: weight.data + g * coutG * k, lda: k,
                              b: cols.data, ldb: nb * l, c: tmp.data, ldc: nb * l)
                    // tmp[o, j·L + p] → out[b0 + j, g·coutG + o, p] (+ bias)
                    let t = tmp.data, po = out.data, pb = bias?.data
                    Parallel.forEach(coutG * nb) { idx in
                        let oc = idx / nb, j = idx % nb
                        let src = t + oc * nb * l + j * l
                        let dst = po + ((b0 + j) * cout + g * coutG + oc) * l
                        if let pb {
                            let bv = pb[g * coutG + oc]
                            for p in 0..<l { dst[p] = src[p] + bv }
                        } else {
                            dst.update(from: src, count: l)
                        }
                    }
                }
            }
        }
        let inputs = [x, weight] + (bias.map { [$0] } ?? [])
        return Autograd.record(out, op: "conv2d", inputs: inputs) { gOut in
            let dx = x.requiresGrad ? Tensor.zeros(x.shape) : nil
            let dw = weight.requiresGrad ? Tensor.zeros(weight.shape) : nil
            let gmat = Tensor(uninitialized: [coutG * chunk * l])
            let cols = Tensor(uninitialized: [k * chunk * l])
            for b0 in stride(from: 0, to: b, by: chunk) {
                let nb = Swift.min(chunk, b - b0)
                for g in 0..<groups {
                    // Gather this group's output gradient as [coutG, nb·L].
                    let pg = gOut.data, gm = gmat.data
                    Parallel.forEach(coutG * nb) { idx in
                        let oc = idx / nb, j = idx % nb
                        (gm + oc * nb * l + j * l).update(from: pg + ((b0 + j) * cout + g * coutG + oc) * l, count: l)
                    }
                    if let dw {
                        unfold.unfold(x.data + b0 * cin * h * w, batch: nb, channelStride: cin,
                                      channelOffset: g * cg, into: cols.data)
                        BLAS.gemm(transposeB: true, m: coutG, n: k, k: nb * l, a: gmat.data, lda: nb * l,
                                  b: cols.data, ldb: nb * l, beta: 1, c: dw.data + g * coutG * k, ldc: k)
                    }
                    if let dx {
                        BLAS.gemm(transposeA: true, m: k, n: nb * l, k: coutG, a: weight.data + g * coutG * k,
                                  lda: k, b: gmat.data, ldb: nb * l, c: cols.data, ldc: nb * l)
                        unfold.fold(cols.data, batch: nb, channelStride: cin, channelOffset: g * cg,
                                    into: dx.data + b0 * cin * h * w)
                    }
                }
            }
            var grads: [Tensor?] = [dx, dw]
            if let bias {
                grads.append(bias.requiresGrad ? gOut.reshaped([b, cout, l]).sum(axes: [0, 2]) : nil)
            }
            return grads
        }
    }
}
