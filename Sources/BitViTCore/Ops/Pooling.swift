extension Tensor {
    /// Average pooling over `[B, C, H, W]` with PyTorch semantics (floor mode). With
    /// `countIncludePad` the divisor counts padded positions inside the padded extent.
    public func avgPool2d(kernel: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0),
                          countIncludePad: Bool = true) -> Tensor {
        let p = PoolGeometry(self, kernel: kernel, stride: stride ?? kernel, padding: padding)
        let out = Tensor(uninitialized: [p.b, p.c, p.oh, p.ow])
        let x = data, y = out.data
        Parallel.forEach(p.b * p.c) { plane in
            let src = x + plane * p.h * p.w, dst = y + plane * p.oh * p.ow
            for oy in 0..<p.oh {
                for ox in 0..<p.ow {
                    let win = p.window(oy, ox)
                    var s: Float = 0
                    for iy in win.y { for ix in win.x { s += src[iy * p.w + ix] } }
                    dst[oy * p.ow + ox] = s / Float(countIncludePad ? win.paddedSize : Swift.max(win.y.count * win.x.count, 1))
                }
            }
        }
        return Autograd.record(out, op: "avgPool2d", inputs: [self]) { g in
            let dx = Tensor.zeros(self.shape)
            let pg = g.data, pd = dx.data
            Parallel.forEach(p.b * p.c) { plane in
                let src = pg + plane * p.oh * p.ow, dst = pd + plane * p.h * p.w
                for oy in 0..<p.oh {
                    for ox in 0..<p.ow {
                        let win = p.window(oy, ox)
                        let v = src[oy * p.ow + ox] / Float(countIncludePad ? win.paddedSize : Swift.max(win.y.count * win.x.count, 1))
                        for iy in win.y { for ix in win.x { dst[iy * p.w + ix] += v } }
                    }
                }
            }
            return [dx]
        }
    }

    /// Max pooling over `[B, C, H, W]` with PyTorch semantics: padding acts as −∞, floor mode;
    /// the gradient goes to the first maximal element of each window.
    public func maxPool2d(kernel: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0)) -> Tensor {
        let p = PoolGeometry(self, kernel: kernel, stride: stride ?? kernel, padding: padding)
        let out = Tensor(uninitialized: [p.b, p.c, p.oh, p.ow])
        var argmax = [Int32](repeating: -1, count: out.count)
        let x = data, y = out.data
        argmax.withUnsafeMutableBufferPointer { am in
            let amp = am.baseAddress!
            Parallel.forEach(p.b * p.c) { plane in
                let src = x + plane * p.h * p.w
                for oy in 0..<p.oh {
                    for ox in 0..<p.ow {
                        let win = p.window(oy, ox)
                        var best = -Float.infinity, at = -1
                        for iy in win.y {
                            for ix in win.x where src[iy * p.w + ix] > best || at < 0 {
                                best = src[iy * p.w + ix]
                                at = iy * p.w + ix
                            }
                        }
                        let o = plane * p.oh * p.ow + oy * p.ow + ox
                        y[o] = best
                        amp[o] = Int32(at)
                    }
                }
            }
        }
        return Autograd.record(out, op: "maxPool2d", inputs: [self]) { g in
            let dx = Tensor.zeros(self.shape)
            for plane in 0..<(p.b * p.c) {
                for j in 0..<(p.oh * p.ow) {
                    let o = plane * p.oh * p.ow + j
                    if argmax[o] >= 0 { dx.data[plane * p.h * p.w + Int(argmax[o])] += g.data[o] }
                }
            }
            return [dx]
        }
    }
}

/// Window arithmetic shared by the pooling ops (PyTorch's `pool2d` index rules).
struct PoolGeometry {
    let b, c, h, w, oh, ow: Int
    let kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)

    init(_ x: Tensor, kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)) {
        precondition(x.rank == 4, "pooling needs [B, C, H, W], got \(x.shape)")
        precondition(padding.0 * 2 <= kernel.0 && padding.1 * 2 <= kernel.1,
                     "pooling padding must be at most half the kernel")
        (b, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        oh = (h + 2 * padding.0 - kernel.0) / stride.0 + 1
        ow = (w + 2 * padding.1 - kernel.1) / stride.1 + 1
        precondition(oh > 0 && ow > 0, "pooling: empty output for input \(x.shape)")
    }

    /// Valid input rows/cols of output cell (oy, ox) and the padded window size.
    @inline(__always)
    func window(_ oy: Int, _ ox: Int) -> (y: Range<Int>, x: Range<Int>, paddedSize: Int) {
        let y0 = oy * stride.0 - padding.0, x0 = ox * stride.1 - padding.1
        let y1 = Swift.min(y0 + kernel.0, h + padding.0), x1 = Swift.min(x0 + kernel.1, w + padding.1)
        let padded = (y1 - y0) * (x1 - x0)
        return (Swift.max(y0, 0)..<Swift.min(y1, h), Swift.max(x0, 0)..<Swift.min(x1, w), padded)
    }
}
