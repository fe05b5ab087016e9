import BitViTQuant

/// Multi-head self-attention whose projections, per-head operands and probabilities are
/// quantized as a `QuantizationScheme` says; with a window it is Swin's window attention
/// (relative position bias, optional shifted-window mask).
///
/// Per call, with `x` `[B', N, C]` and head dimension `d = C/H`:
/// 1. `qkv` (rows ordered q|k|v × head × dim, timm's layout) → q, k, v `[B', H, N, d]`;
/// 2. IRM on q and k when the scheme rectifies (`norm_q`, `norm_k`);
/// 3. per-head quantizers on q, k, v (`q_quantizer`, `k_quantizer`, `v_quantizer`);
/// 4. `softmax(q·kᵀ·d^(−1/2) + relative bias + mask)`, quantized per head (`attn_quantizer`);
/// 5. `P·v` → `[B', N, C]` → `proj`.
///
/// State names follow timm (`qkv`, `proj`, `relative_position_bias_table`) and Q-ViT
/// (`norm_q`, `norm_k`). With no quantizer, no window and no recorder attached it runs the
/// fused full-precision kernel.
public final class QuantizableAttention: Module, Layer, QueryKeyRecording {
    public let heads: Int
    public let headDim: Int
    public let scale: Float
    public let qkv: QuantizedLinear
    public let proj: QuantizedLinear
    public let normQ: InformationRectification?
    public let normK: InformationRectification?
    public let queryQuantizer: Quantizer?
    public let keyQuantizer: Quantizer?
    public let valueQuantizer: Quantizer?
    public let probabilityQuantizer: Quantizer?
    /// Swin's learnable bias per relative offset and head, `[(2w−1)², H]`.
    public let relativePositionBiasTable: Tensor?
    /// Row of `relativePositionBiasTable` for each (query, key) pair of a window, `N·N` entries.
    public let relativePositionIndex: [Int]
    /// Dropout after the output projection (timm's `proj_drop`).
    public let projDrop: Dropout
    public var queryKeyRecorder: QueryKeyRecorder?

    /// - `window`: the side of Swin's square attention windows (N = window²), or nil for global
    ///   attention without position bias.
    /// - `projDrop`: dropout probability after the projection (draws from `random`).
    public init(dim: Int, heads: Int, scheme: any QuantizationScheme, qkvBias: Bool = true, window: Int? = nil,
                projDrop: Float = 0, random: RandomSource, rng: inout RandomGenerator) {
        precondition(dim % heads == 0, "attention width \(dim) is not divisible by \(heads) heads")
        self.heads = heads
        headDim = dim / heads
        scale = 1 / Float(headDim).squareRoot()
        if let window {
            relativePositionBiasTable = Tensor.truncatedNormal([(2 * window - 1) * (2 * window - 1), heads], std: 0.02, using: &rng)
            relativePositionIndex = Self.relativePositionIndex(window: window)
        } else {
            relativePositionBiasTable = nil
            relativePositionIndex = []
        }
        qkv = QuantizedLinear(dim, 3 * dim, bias: qkvBias,
                              inputQuantizer: scheme.inputQuantizer(for: .qkv, inChannels: dim),
                              weightQuantizer: scheme.weightQuantizer(for: .qkv, outChannels: 3 * dim), rng: &rng)
        proj = QuantizedLinear(dim, dim,
                               inputQuantizer: scheme.inputQuantizer(for: .attentionProjection, inChannels: dim),
                               weightQuantizer: scheme.weightQuantizer(for: .attentionProjection, outChannels: dim), rng: &rng)
        normQ = scheme.rectifiesQueriesAndKeys ? InformationRectification(headDim: dim / heads) : nil
        normK = scheme.rectifiesQueriesAndKeys ? InformationRectification(headDim: dim / heads) : nil
        queryQuantizer = scheme.attentionQuantizer(for: .queries, heads: heads)
        keyQuantizer = scheme.attentionQuantizer(for: .keys, heads: heads)
        valueQuantizer = scheme.attentionQuantizer(for: .values, heads: heads)
        probabilityQuantizer = scheme.attentionQuantizer(for: .probabilities, heads: heads)
        self.projDrop = Dropout(projDrop, random: random)
        super.init()
        if let relativePositionBiasTable { parameter("relative_position_bias_table", relativePositionBiasTable) }
        child("qkv", qkv)
        child("proj", proj)
        if let normQ { child("norm_q", normQ) }
        if let normK { child("norm_k", normK) }
        if let queryQuantizer { child("q_quantizer", queryQuantizer) }
        if let keyQuantizer { child("k_quantizer", keyQuantizer) }
        if let valueQuantizer { child("v_quantizer", valueQuantizer) }
        if let probabilityQuantizer { child("attn_quantizer", probabilityQuantizer) }
        child("proj_drop", self.projDrop)
    }

    private var isPlain: Bool {
        normQ == nil && queryQuantizer == nil && keyQuantizer == nil && valueQuantizer == nil
            && probabilityQuantizer == nil && relativePositionBiasTable == nil && queryKeyRecorder == nil
    }

    /// `x`: `[B, N, C]` → `[B, N, C]`, attention over all N tokens.
    public func callAsFunction(_ x: Tensor) -> Tensor { self(x, mask: nil) }

    /// `x`: `[B', N, C]`; `mask`: `[nW, N, N]` additive logits for B' = B·nW windows (Swin's
    /// shifted windows), or nil. Returns `[B', N, C]`.
    public func callAsFunction(_ x: Tensor, mask: Tensor?) -> Tensor {
        precondition(x.rank == 3, "attention expects [B, N, C], got \(x.shape)")
        let (b, n, c) = (x.shape[0], x.shape[1], x.shape[2])
        let packed = qkv(x)
        if isPlain && mask == nil {
            return projDrop(proj(Tensor.attention(qkv: packed, heads: heads, scale: scale)))
        }
        let parts = Tensor.splitHeads(packed, parts: 3, heads: heads, shifts: [nil, nil, nil])   // 3 × [B', H, N, d]
        var q = parts[0], k = parts[1], v = parts[2]
        if let normQ, let normK {
            q = normQ(q)
            k = normK(k)
        }
        if queryKeyRecorder?.tap == .beforeQuantizer { queryKeyRecorder?.record(queries: q, keys: k) }
        q = queryQuantizer?(q) ?? q
        k = keyQuantizer?(k) ?? k
        v = valueQuantizer?(v) ?? v
        if queryKeyRecorder?.tap == .afterQuantizer { queryKeyRecorder?.record(queries: q, keys: k) }

        let scores = Tensor.matmul(q, k, transposeB: true)                                  // [B', H, N, N]
        var probabilities: Tensor
        if relativePositionBiasTable == nil && mask == nil {
            probabilities = scores.softmax(scale: scale)
        } else {
            var logits = scores * scale
            if let bias = relativePositionBias(tokens: n) { logits = logits + bias }
            if let mask {
                let windows = mask.shape[0]
                precondition(b % windows == 0 && mask.shape == [windows, n, n], "attention mask \(mask.shape) for \(x.shape)")
                logits = (logits.reshaped([b / windows, windows, heads, n, n]) + mask.reshaped([1, windows, 1, n, n]))
                    .reshaped([b, heads, n, n])
            }
            probabilities = logits.softmax()
        }
        probabilities = probabilityQuantizer?(probabilities) ?? probabilities
        let mixed = Tensor.matmul(probabilities, v).permuted([0, 2, 1, 3]).reshaped([b, n, c])
        return projDrop(proj(mixed))
    }

    /// `[H, N, N]` gathered from the table, or nil without a window.
    private func relativePositionBias(tokens n: Int) -> Tensor? {
        guard let table = relativePositionBiasTable else { return nil }
        precondition(relativePositionIndex.count == n * n, "window attention over \(n) tokens, window has \(relativePositionIndex.count)")
        return table.indexSelect(axis: 0, indices: relativePositionIndex).reshaped([n, n, heads]).permuted([2, 0, 1])
    }

    /// Swin's index: for query (y1, x1) and key (y2, x2) of a w×w window,
    /// `(y1 − y2 + w − 1)·(2w − 1) + (x1 − x2 + w − 1)`.
    static func relativePositionIndex(window w: Int) -> [Int] {
        var index: [Int] = []
        index.reserveCapacity(w * w * w * w)
        for i in 0..<(w * w) {
            for j in 0..<(w * w) {
                let dy = i / w - j / w + w - 1, dx = i % w - j % w + w - 1
                index.append(dy * (2 * w - 1) + dx)
            }
        }
        return index
    }
}
