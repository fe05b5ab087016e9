import BitViTPlatform
import CBitKernels

/// A folded BatchNorm over token channels, `y = x·scale + shift` (`[C]` each).
struct ChannelAffine {
    let scale: AlignedBuffer<Float>
    let shift: AlignedBuffer<Float>
}

/// RPReLU parameters `[C]` each: `y = (max(u, 0) + slope·min(u, 0)) + move2`, `u = x − move1`
/// (the training kernel's branch-free form, so both compute the same floats).
struct RPReLUParameters {
    let move1: AlignedBuffer<Float>
    let slope: AlignedBuffer<Float>
    let move2: AlignedBuffer<Float>

    /// From the stored `[3, C]` tensor (rows move1, slope, move2).
    init(_ rows: [Float]) {
        let c = rows.count / 3
        move1 = AlignedBuffer(Array(rows[0..<c]))
        slope = AlignedBuffer(Array(rows[c..<(2 * c)]))
        move2 = AlignedBuffer(Array(rows[(2 * c)...]))
    }
}

/// BHViT's LayerScale `y = x·alpha + move` (`[C]` each), from the stored `[2, C]` tensor.
struct LayerScaleParameters {
    let alpha: AlignedBuffer<Float>
    let move: AlignedBuffer<Float>

    init(_ rows: [Float]) {
        let c = rows.count / 2
        alpha = AlignedBuffer(Array(rows[0..<c]))
        move = AlignedBuffer(Array(rows[c...]))
    }
}

/// A BHViT binary linear layer with its BN and RPReLU: `RPReLU(BN(BinLinear(x + move)) + r)`
/// for a residual `r` supplied by the caller. The sign of `x + move` is packed by the layer's
/// encoding; the GEMM's output transform applies `output_scale` (α_o·BN scale) and
/// `output_shift` (BN shift).
struct BHViTBinaryLinear {
    let linear: RowBlockLinear
    let rprelu: RPReLUParameters
    var inFeatures: Int { linear.inFeatures }
    var outFeatures: Int { linear.outFeatures }
}

/// Builds BHViT's engine layers from a validated file (`BHViTManifest` names): packed signs for
/// the bit kernels, or the dequantized weights (±α) for the float path.
struct BHViTLayerBuilder {
    let file: ModelFile
    let floatKernels: Bool

    func buffer(_ name: String) throws -> AlignedBuffer<Float> { AlignedBuffer(try file.floats(name)) }

    func affine(_ prefix: String) throws -> ChannelAffine {
        ChannelAffine(scale: try buffer(prefix + ".scale"), shift: try buffer(prefix + ".shift"))
    }

    func rprelu(_ name: String) throws -> RPReLUParameters { RPReLUParameters(try file.floats(name)) }

    func layerScale(_ name: String) throws -> LayerScaleParameters { LayerScaleParameters(try file.floats(name)) }

    func binaryLinear(_ l: String) throws -> BHViTBinaryLinear {
        let w = try file.tensor(l + ".weight")
        let (out, k, _) = w.bitRows
        let scales = try file.floats(l + ".output_scale"), shift = try file.floats(l + ".output_shift")
        let move = try buffer(l + ".move")
        let encoding = InputEncoding.sign(shift: move.pointer, keepZeros: false)
        let linear: RowBlockLinear = floatKernels
            ? FloatLinear(weight: ViTLayerBuilder.signs(w, rowScales: scales), out: out, in: k, bias: shift, encoding: encoding,
                          keepAlive: [move])
            : BinaryLinear(signs: w, channelScales: scales, bias: shift, scale: 1, encoding: encoding, keepAlive: [move])
        return BHViTBinaryLinear(linear: linear, rprelu: try rprelu(l + ".rprelu"))
    }
}

/// Row-parallel loops over token rows of `channels` floats.
enum BHViTRows {
    /// Calls `body` with disjoint row ranges covering `0..<rows`, split across workers when the
    /// rows hold enough values to pay for waking one (`RowProducer.valuesPerWorker`).
    static func forRanges(_ rows: Int, channels: Int, _ body: (Range<Int>) -> Void) {
        Parallel.forRanges(rows, minimumPerThread: max(1, RowProducer.valuesPerWorker / max(channels, 1)), body)
    }

    /// `y = x·scale + shift` per channel (`y` may be `x`).
    static func affine(_ x: UnsafePointer<Float>, _ a: ChannelAffine, rows: Int, channels c: Int, into y: UnsafeMutablePointer<Float>) {
        let s = a.scale.pointer, t = a.shift.pointer
        forRanges(rows, channels: c) { range in
            bv_bhvit_affine_rows(x + range.lowerBound * c, Int32(range.count), Int32(c), s, t, y + range.lowerBound * c)
        }
    }

    /// `y = RPReLU(y + Tile(source))` in place, where row r of `source` is `sourceChannels` wide
    /// and output channel k reads its channel `k % sourceChannels` (with `sourceChannels == c`, a
    /// plain residual).
    static func residualRPReLU(_ y: UnsafeMutablePointer<Float>, rows: Int, channels c: Int, _ p: RPReLUParameters,
                               source: UnsafePointer<Float>, sourceChannels sc: Int) {
        forRanges(rows, channels: c) { range in
            tileRPReLU(y + range.lowerBound * c, rows: range.count, channels: c, p, source: source + range.lowerBound * sc,
                       sourceChannels: sc, into: y + range.lowerBound * c)
        }
    }

    /// `out = RPReLU(y + Tile(source))` for `rows` rows on the calling thread (`out` may be `y`),
    /// and with `groupMeans`, GroupMean(out) (`c/ratio` means per row, summed in channel order).
    static func tileRPReLU(_ y: UnsafePointer<Float>, rows: Int, channels c: Int, _ p: RPReLUParameters,
                           source: UnsafePointer<Float>, sourceChannels sc: Int, into out: UnsafeMutablePointer<Float>,
                           groupMeans: (ratio: Int, into: UnsafeMutablePointer<Float>)? = nil) {
        bv_bhvit_tile_rprelu_rows(y, Int32(rows), Int32(c), source, Int32(sc), p.move1.pointer, p.slope.pointer, p.move2.pointer, out,
                                  Int32(groupMeans?.ratio ?? 1), groupMeans?.into)
    }

    /// `y = x + v` with a per-channel `v`.
    static func addChannels(_ x: UnsafePointer<Float>, _ v: UnsafePointer<Float>, rows: Int, channels c: Int,
                            into y: UnsafeMutablePointer<Float>) {
        forRanges(rows, channels: c) { range in
            for r in range {
                let xr = x + r * c, yr = y + r * c
                for k in 0..<c { yr[k] = xr[k] + v[k] }
            }
        }
    }

    /// `sgn(x + shift)` as floats (sgn(0) = 0, as the training graph), `[rows, c]`.
    static func signs(_ x: UnsafePointer<Float>, shift: UnsafePointer<Float>, rows: Int, channels c: Int,
                      into y: UnsafeMutablePointer<Float>) {
        forRanges(rows, channels: c) { range in
            for r in range {
                let xr = x + r * c, yr = y + r * c
                for k in 0..<c {
                    let v = xr[k] + shift[k]
                    yr[k] = v < 0 ? -1 : (v > 0 ? 1 : 0)
                }
            }
        }
    }
}

extension SIMD8 where Scalar == Float {
    /// Eight floats from `p + k` (no alignment needed).
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ k: Int) -> SIMD8<Float> {
        UnsafeRawPointer(p + k).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func load(_ p: UnsafeMutablePointer<Float>, _ k: Int) -> SIMD8<Float> { load(UnsafePointer(p), k) }

    /// Stores the eight floats at `p + k` (no alignment needed).
    @inline(__always)
    func store(_ p: UnsafeMutablePointer<Float>, _ k: Int) {
        UnsafeMutableRawPointer(p + k).storeBytes(of: self, as: SIMD8<Float>.self)
    }
}
