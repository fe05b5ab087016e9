import BitViTQuant

/// GSB's attention (docs/reference/gsb.md §5.2 steps 1–7; §5.3 for stage 1).
///
/// Per call on `x` `[B, N, C]`:
/// 1. `qkv` → q, k, v `[B, H, N, d]` (timm's row layout), plus the learnable per-head shifts
///    `q_shift`, `k_shift`, `v_shift` (`[H, 1, d]`, init 0);
/// 2. stage 2: `q̂ = SB(q)`, `k̂ = SB(k)` (`q_quantizer`, `k_quantizer`), `v̂ = GSB_V(v)`
///    (`v_quantizer`);
/// 3. `P = softmax(q̂·k̂ᵀ·d^(−1/2))` in full precision;
/// 4. stage 2: `Â = GSB_A(P + B_att)` with the learnable `attention_bias` B_att `[H, N, N]`
///    (init 0) added **after** the softmax (`attn_quantizer`);
/// 5. `Â·v̂` → `[B, N, C]` → `proj`.
///
/// In stage 2 `qkv` and `proj` are W1A1 binary linears (per-input-channel `input_shift`, SB
/// inputs, BWN weights); in stage 1 they are full precision.
public final class GSBAttention: Module, Layer, QueryKeyRecording {
    public let heads: Int
    public let headDim: Int
    public let scale: Float
    public let qkv: QuantizedLinear
    public let proj: QuantizedLinear
    public let queryShift: Tensor
    public let keyShift: Tensor
    public let valueShift: Tensor
    /// B_att `[H, N, N]` (stage 2).
    public let attentionBias: Tensor?
    public let queryQuantizer: ElasticQuantizer?
    public let keyQuantizer: ElasticQuantizer?
    public let valueQuantizer: GSBValueQuantizer?
    public let attentionQuantizer: GSBAttentionQuantizer?
    public var queryKeyRecorder: QueryKeyRecorder?

    public init(dim: Int, heads: Int, tokens: Int, options: GSBOptions, rng: inout RandomGenerator) {
        precondition(dim % heads == 0, "attention width \(dim) is not divisible by \(heads) heads")
        self.heads = heads
        headDim = dim / heads
        scale = 1 / Float(headDim).squareRoot()
        let binary = options.stage == .fullyBinary
        qkv = GSBAttention.linear(dim, 3 * dim, binary: binary, rng: &rng)
        proj = GSBAttention.linear(dim, dim, binary: binary, rng: &rng)
        queryShift = Tensor.zeros([heads, 1, dim / heads])
        keyShift = Tensor.zeros([heads, 1, dim / heads])
        valueShift = Tensor.zeros([heads, 1, dim / heads])
        attentionBias = binary ? Tensor.zeros([heads, tokens, tokens]) : nil
        queryQuantizer = binary ? .signedBinary() : nil
        keyQuantizer = binary ? .signedBinary() : nil
        valueQuantizer = binary ? GSBValueQuantizer(groups: options.groups, thresholds: options.thresholds,
                                                    subtractsOnFirstCall: options.subtractsOnFirstCall) : nil
        attentionQuantizer = binary ? GSBAttentionQuantizer(groups: options.groups, thresholds: options.thresholds,
                                                            subtractsOnFirstCall: options.subtractsOnFirstCall) : nil
        super.init()
        child("qkv", qkv)
        child("proj", proj)
        parameter("q_shift", queryShift)
        parameter("k_shift", keyShift)
        parameter("v_shift", valueShift)
        if let attentionBias { parameter("attention_bias", attentionBias) }
        if let queryQuantizer { child("q_quantizer", queryQuantizer) }
        if let keyQuantizer { child("k_quantizer", keyQuantizer) }
        if let valueQuantizer { child("v_quantizer", valueQuantizer) }
        if let attentionQuantizer { child("attn_quantizer", attentionQuantizer) }
    }

    /// A block linear: W1A1 "BL" in stage 2 (shift, SB input, BWN weight), plain otherwise.
    static func linear(_ inFeatures: Int, _ outFeatures: Int, binary: Bool, rng: inout RandomGenerator) -> QuantizedLinear {
        QuantizedLinear(inFeatures, outFeatures, inputShift: binary,
                        inputQuantizer: binary ? ElasticQuantizer.signedBinary() : nil,
                        weightQuantizer: binary ? BinaryWeightQuantizer(scaling: .perTensor) : nil, rng: &rng)
    }

    /// `x`: `[B, N, C]` → `[B, N, C]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.rank == 3, "attention expects [B, N, C], got \(x.shape)")
        let (b, n, c) = (x.shape[0], x.shape[1], x.shape[2])
        let parts = qkv(x).reshaped([b, n, 3, heads, headDim]).permuted([2, 0, 3, 1, 4])     // [3, B, H, N, d]
        func part(_ i: Int) -> Tensor { parts.slice(axis: 0, i..<(i + 1)).reshaped([b, heads, n, headDim]) }
        var q = part(0) + queryShift, k = part(1) + keyShift, v = part(2) + valueShift
        if queryKeyRecorder?.tap == .beforeQuantizer { queryKeyRecorder?.record(queries: q, keys: k) }
        q = queryQuantizer?(q) ?? q
        k = keyQuantizer?(k) ?? k
        v = valueQuantizer?(v) ?? v
        if queryKeyRecorder?.tap == .afterQuantizer { queryKeyRecorder?.record(queries: q, keys: k) }
        var attention = Tensor.matmul(q, k, transposeB: true).softmax(scale: scale)            // [B, H, N, N]
        if let attentionBias {
            precondition(attentionBias.shape == [heads, n, n], "GSB attention built for \(attentionBias.shape[1]) tokens, got \(n)")
            attention = attention + attentionBias
        }
        attention = attentionQuantizer?(attention) ?? attention
        return proj(Tensor.matmul(attention, v).permuted([0, 2, 1, 3]).reshaped([b, n, c]))
    }
}
