import BitViTPlatform

/// Builds the engine's layers from a validated file's tensors (`ViTManifest` names): packed
/// kernel operands for the bit and int8 paths, or the dequantized float weights for the float
/// path (`floatKernels`), which runs the same function with sgemm.
struct ViTLayerBuilder {
    let file: ModelFile
    let family: ExportFamily
    let floatKernels: Bool
    /// int8 digits per folded Q-ViT weight (`Int8Linear`).
    let int8Digits: Int

    func buffer(_ name: String) throws -> AlignedBuffer<Float> { AlignedBuffer(try file.floats(name)) }

    func norm(_ prefix: String) throws -> (weight: AlignedBuffer<Float>, bias: AlignedBuffer<Float>) {
        (try buffer(prefix + ".weight"), try buffer(prefix + ".bias"))
    }

    /// ±1 values of a 1-bit tensor, times `rowScales[r]` when given, row-major.
    static func signs(_ t: StoredTensor, rowScales: [Float]? = nil) -> [Float] {
        let (rows, k, words) = t.bitRows
        let p = UnsafeMutablePointer<UInt64>.allocate(capacity: rows * words)
        defer { p.deallocate() }
        t.unpackRows(into: p)
        var out = [Float](repeating: 0, count: rows * k)
        for r in 0..<rows {
            let s = rowScales?[r] ?? 1
            for j in 0..<k { out[r * k + j] = (p[r * words + j / 64] >> UInt64(j % 64)) & 1 == 1 ? -s : s }
        }
        return out
    }

    /// Integer codes times a per-row step (one step for all rows when `steps` has one entry).
    static func dequantized(_ codes: [Int8], rows: Int, steps: [Float]) -> [Float] {
        let k = codes.count / rows
        return codes.enumerated().map { i, q in Float(q) * (steps.count == 1 ? steps[0] : steps[i / k]) }
    }

    func patchEmbedding(_ v: ViTArchitecture) throws -> TokenLinear {
        let bias = try file.floats("patch_embed.bias")
        let w = try file.tensor("patch_embed.weight")
        switch family {
        case .gsb:
            // 8-bit weights on the float image (GSB never quantizes the image): sgemm on the
            // dequantized weights is exact; an integer product would need an integer image.
            return FloatLinear(weight: Self.dequantized(w.codes(), rows: v.dim, steps: try file.floats("patch_embed.weight_scale")),
                               out: v.dim, in: v.patchInputs, bias: bias)
        case .qvit:
            // The image is quantized per channel (8 bits); im2col columns are channel-major, so
            // each channel's step and zero point repeat over its p² columns: one exact int8 GEMM
            // per channel (`Int8Linear`'s runs of equal steps).
            let perColumn = v.patchSize * v.patchSize
            let step = try file.floats("patch_embed.input_step").flatMap { [Float](repeating: $0, count: perColumn) }
            let zero = try file.floats("patch_embed.input_zero").flatMap { [Float](repeating: $0, count: perColumn) }
            return try levels(codes: w.codes(), out: v.dim, in: v.patchInputs, weightScale: try file.floats("patch_embed.weight_scale"),
                              step: step, zero: zero, range: try file.floats("patch_embed.input_range"), shift: nil, bias: bias,
                              exactOnly: true)
        default:
            return FloatLinear(weight: w.floats(), out: v.dim, in: v.patchInputs, bias: bias)
        }
    }

    /// A layer whose input is quantized to integer levels (`InputEncoding.levels`): the int8
    /// GEMM, or sgemm on the dequantized weights with the float kernels — and, when
    /// `exactOnly`, also where the int8 GEMM would need folded weights (`Int8Linear`), so that
    /// an 8-bit layer stays exact.
    func levels(codes: [Int8], out: Int, in k: Int, weightScale: [Float], step: [Float], zero: [Float], range: [Float],
                shift: [Float]?, bias: [Float], exactOnly: Bool) throws -> TokenLinear {
        if !floatKernels && (!exactOnly || Int8Linear.exactRuns(step) != nil) {
            return Int8Linear(codes: codes, out: out, in: k, weightScale: weightScale, inputStep: step, inputZero: zero,
                              range: (range[0], range[1]), inputShift: shift, bias: bias, parts: int8Digits)
        }
        let s = AlignedBuffer(step), z = AlignedBuffer(zero), sh = shift.map { AlignedBuffer($0) }
        return FloatLinear(weight: Self.dequantized(codes, rows: out, steps: weightScale), out: out, in: k, bias: bias,
                           encoding: .levels(step: s.pointer, zero: z.pointer, qn: range[0], qp: range[1], shift: sh.map { UnsafePointer($0.pointer) }),
                           keepAlive: [s, z] + (sh.map { [$0] } ?? []))
    }

    func linear(_ l: String, _ v: ViTArchitecture) throws -> TokenLinear {
        let (out, k) = ViTManifest.linearShape(String(l.split(separator: ".", maxSplits: 2).last!), v)
        let bias = try file.floats(l + ".bias")
        let w = try file.tensor(l + ".weight")
        let isContraction = l.hasSuffix("mlp.fc2")
        switch family {
        case .deit, .bhvit:
            return FloatLinear(weight: w.floats(), out: out, in: k, bias: bias)
        case .binaryBaseline:
            let scales = try file.floats(l + ".weight_scale")
            // GELU outputs underflow to exactly 0, and sgn(0) = 0: fc2's input keeps a mask.
            let encoding = InputEncoding.sign(shift: nil, keepZeros: isContraction)
            if floatKernels { return FloatLinear(weight: Self.signs(w, rowScales: scales), out: out, in: k, bias: bias, encoding: encoding) }
            return BinaryLinear(signs: w, channelScales: scales, bias: bias, scale: 1, encoding: encoding,
                                geluSigns: isContraction ? GELUThresholds.signBounds(clip: v.mlpClip) : nil)
        case .gsb:
            let shift = try buffer(l + ".input_shift")
            let scale = try file.scalar(l + ".output_scale")
            let encoding: InputEncoding = isContraction
                ? .threshold(shift: shift.pointer, threshold: try file.scalar(l + ".input_threshold"))
                : .sign(shift: shift.pointer, keepZeros: false)
            if floatKernels {
                return FloatLinear(weight: Self.signs(w), out: out, in: k, bias: bias, alpha: scale, encoding: encoding, keepAlive: [shift])
            }
            let fold = isContraction
                ? GELUThresholds.make(shift: shift.array, step: 2 * (try file.scalar(l + ".input_threshold")), clip: v.mlpClip)
                : nil
            return BinaryLinear(signs: w, channelScales: nil, bias: bias, scale: scale, encoding: encoding, geluFold: fold,
                                keepAlive: [shift])
        case .qvit:
            return try levels(codes: w.codes(), out: out, in: k, weightScale: try file.floats(l + ".weight_scale"),
                              step: try file.floats(l + ".input_step"), zero: try file.floats(l + ".input_zero"),
                              range: try file.floats(l + ".input_range"), shift: nil, bias: bias, exactOnly: false)
        }
    }

    func attention(_ a: String, _ g: AttentionGeometry, _ v: ViTArchitecture) throws -> AttentionCore {
        switch family {
        case .gsb:
            return GSBPackedAttention(g, queryShift: try file.floats(a + "q_shift"), keyShift: try file.floats(a + "k_shift"),
                                valueShift: try file.floats(a + "v_shift"), scoreScale: try file.scalar(a + "score_scale"),
                                attentionBias: try file.floats(a + "attention_bias"),
                                attentionScales: try file.floats(a + "attn_scales"), valueScales: try file.floats(a + "value_scales"),
                                thresholds: v.groupThresholds ?? [0.7, 0.9], floatKernels: floatKernels)
        case .qvit:
            func quantizer(_ q: String) throws -> HeadQuantizer {
                let range = try file.floats(a + q + "_quantizer.range")
                return HeadQuantizer(step: try file.floats(a + q + "_quantizer.step"), zero: try file.floats(a + q + "_quantizer.zero"),
                                     qn: range[0], qp: range[1])
            }
            func irm(_ n: String) throws -> (weight: [Float], bias: [Float])? {
                v.rectifiesQueriesAndKeys == true ? (try file.floats(a + n + ".weight"), try file.floats(a + n + ".bias")) : nil
            }
            return QViTAttention(g, normQ: try irm("norm_q"), normK: try irm("norm_k"), q: try quantizer("q"), k: try quantizer("k"),
                                 v: try quantizer("v"), p: try quantizer("attn"), floatKernels: floatKernels)
        default:
            return FloatAttention(g)
        }
    }

    func head(_ h: String, _ v: ViTArchitecture) throws -> TokenLinear {
        let bias = try file.floats(h + ".bias")
        let w = try file.tensor(h + ".weight")
        switch family {
        case .gsb:
            // 8-bit input (per tensor, after the shift) and 8-bit weight (per tensor): exact on
            // the int8 GEMM.
            return try levels(codes: w.codes(), out: v.classes, in: v.dim, weightScale: [Float](repeating: try file.scalar(h + ".weight_scale"), count: v.classes),
                              step: [Float](repeating: try file.scalar(h + ".input_step"), count: v.dim),
                              zero: [Float](repeating: 0, count: v.dim), range: [-128, 127], shift: try file.floats(h + ".input_shift"),
                              bias: bias, exactOnly: true)
        case .qvit:
            // Per-channel input steps: exact on the int8 GEMM only while they are a few runs
            // (as initialized); trained steps keep the head on sgemm (about 0.4 M MACs per token).
            return try levels(codes: w.codes(), out: v.classes, in: v.dim, weightScale: try file.floats(h + ".weight_scale"),
                              step: try file.floats(h + ".input_step"), zero: try file.floats(h + ".input_zero"),
                              range: try file.floats(h + ".input_range"), shift: nil, bias: bias, exactOnly: true)
        default:
            return FloatLinear(weight: w.floats(), out: v.classes, in: v.dim, bias: bias)
        }
    }
}
