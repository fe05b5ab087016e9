import BitViTNN
import BitViTQuant

/// MSMHA's attention core, the official `BHViTSelfAttention` (docs/reference/bhvit.md §3.6 steps 1–5):
///
///     T   = token_FA(U)                                   [B·nW, T, C]: windows + pooled tokens, LN
///     M_j = RPReLU_j(BN_j(BinLinear_j(T + m_j)) + T)      j ∈ {q, k, v}
///     S_j = sgn(M_j + m2_j)                               ±1, ApproxSign gradient
///     A   = softmax(S_q·S_kᵀ/√d) per window and head;  Â = QD(3·A)  (or A without QD)
///     O   = RPReLU_ctx(BN_ctx(Â·S_v) + M_q + M_k + M_v)   the "+Q+K+V" shortcuts
///     out = π ⊙ windows(O) + (1 − π) ⊙ Up(mean over copies of pooled(O))
///
/// Channel `c` belongs to head `⌊c/d⌋`, `d = C/heads`. State (official names): `token_FA.*`,
/// `move{q,k,v}`, `{query,key,value}.weight` `[C, C]`, `norm{q,k,v}.*`, `rprelu{q,k,v}.*`,
/// `move{q,k,v}2`, `att_prob_quantizer.{alpha,zero_point,init_state}` (with QD),
/// `norm_context.*`, `rprelu_context.*`, `parm` `[1, C, 1, 1]` (π, init 0.5).
/// Tokens `[B, R·R, C]` in and out.
public final class MSMHASelfAttention: Module, Layer {
    /// One of the Q/K/V paths: threshold, binary projection, BN, residual RPReLU, threshold,
    /// sign. Its parameters are registered on the attention module under the code's names.
    struct Projection {
        let move: Tensor
        let linear: QuantizedLinear
        let norm: BatchNorm
        let rprelu: RPReLU
        let move2: Tensor
        let sign: SignQuantizer

        init(channels: Int, recu: Bool, rng: inout RandomGenerator) {
            move = Tensor.zeros([channels])
            linear = BHViTBinary.linear(channels, channels, recu: recu, rng: &rng)
            norm = tokenBatchNorm(channels)
            rprelu = RPReLU(channels: channels)
            move2 = Tensor.zeros([channels])
            sign = SignQuantizer(estimator: .approxSign)
        }

        func register(on owner: Module, role: String, suffix: String) {
            owner.parameter("move\(suffix)", move)
            owner.child(role, linear)
            owner.child("norm\(suffix)", norm)
            owner.child("rprelu\(suffix)", rprelu)
            owner.parameter("move\(suffix)2", move2)
            owner.child("\(role)_sign", sign)
        }

        /// The mixed (real-valued) layer `M` and its binarization `S`.
        func callAsFunction(_ t: Tensor) -> (mixed: Tensor, binary: Tensor) {
            let mixed = rprelu(norm(linear(t.addingChannelBias(move))) + t)
            return (mixed, sign(mixed.addingChannelBias(move2)))
        }
    }

    public let heads: Int
    public let headDim: Int
    public let tokenFA: PooledWindowTokens
    let query: Projection
    let key: Projection
    let value: Projection
    /// Quantizes `3·softmax`; nil when the attention probabilities stay full precision.
    public let attentionQuantizer: QDAttentionQuantizer?
    public let normContext: BatchNorm
    public let rpreluContext: RPReLU
    /// π of the coarse-to-fine mix, `[1, C, 1, 1]`.
    public let parm: Tensor

    public init(channels: Int, heads: Int, side: Int, probabilities: BHViTAttentionProbabilities, recu: Bool,
                rng: inout RandomGenerator) {
        precondition(channels % heads == 0, "MSMHA: \(channels) channels for \(heads) heads")
        self.heads = heads
        headDim = channels / heads
        tokenFA = PooledWindowTokens(channels: channels, side: side)
        query = Projection(channels: channels, recu: recu, rng: &rng)
        key = Projection(channels: channels, recu: recu, rng: &rng)
        value = Projection(channels: channels, recu: recu, rng: &rng)
        attentionQuantizer = probabilities == .quantizationDecomposition ? QDAttentionQuantizer(heads: heads) : nil
        normContext = tokenBatchNorm(channels)
        rpreluContext = RPReLU(channels: channels)
        parm = Tensor(shape: [1, channels, 1, 1], repeating: 0.5)
        super.init()
        child("token_FA", tokenFA)
        query.register(on: self, role: "query", suffix: "q")
        key.register(on: self, role: "key", suffix: "k")
        value.register(on: self, role: "value", suffix: "v")
        if let attentionQuantizer { child("att_prob_quantizer", attentionQuantizer) }
        child("norm_context", normContext)
        child("rprelu_context", rpreluContext)
        parameter("parm", parm)
    }

    /// The binary-projection layers (query, key, value), for inspection.
    public var projections: [QuantizedLinear] { [query.linear, key.linear, value.linear] }

    public func callAsFunction(_ u: Tensor) -> Tensor {
        let t = tokenFA(u)
        let (bw, n, c) = (t.shape[0], t.shape[1], t.shape[2])
        let (mq, sq) = query(t), (mk, sk) = key(t), (mv, sv) = value(t)
        func perHead(_ s: Tensor) -> Tensor { s.reshaped([bw, n, heads, headDim]).permuted([0, 2, 1, 3]) }
        let scores = Tensor.matmul(perHead(sq), perHead(sk), transposeB: true)          // [B·nW, h, T, T]
        let probabilities = scores.softmax(scale: 1 / Float(headDim).squareRoot())
        let weights = attentionQuantizer.map { $0(probabilities * 3) } ?? probabilities
        let context = Tensor.matmul(weights, perHead(sv)).permuted([0, 2, 1, 3]).reshaped([bw, n, c])
        let o = rpreluContext(normContext(context) + mq + mk + mv)
        return tokenFA.merge(o, mix: parm.reshaped([c]))
    }
}

/// MSMHA's output projection, the official `BHViTSelfOutput` (docs/reference/bhvit.md §3.6):
/// `LayerScale_0.1(RPReLU(BN(BinLinear_{C→C}(A + move)) + A))`.
/// State: `dense.weight`, `move`, `norm.*`, `rprelu.*`, `layerscale.*`. Tokens in and out.
public final class MSMHAOutput: Module, Layer {
    public let move: Tensor
    public let dense: QuantizedLinear
    public let norm: BatchNorm
    public let rprelu: RPReLU
    public let layerscale: LayerScale

    public init(channels: Int, recu: Bool, rng: inout RandomGenerator) {
        move = Tensor.zeros([channels])
        dense = BHViTBinary.linear(channels, channels, recu: recu, rng: &rng)
        norm = tokenBatchNorm(channels)
        rprelu = RPReLU(channels: channels)
        layerscale = LayerScale(channels: channels, initialScale: 0.1)
        super.init()
        child("dense", dense)
        parameter("move", move)
        child("norm", norm)
        child("rprelu", rprelu)
        child("layerscale", layerscale)
    }

    public func callAsFunction(_ a: Tensor) -> Tensor {
        layerscale(rprelu(norm(dense(a.addingChannelBias(move))) + a))
    }
}

/// The attention branch of an MSMHA block, the official `BHViTAttention`: children
/// `attention` (`MSMHASelfAttention`) and `output` (`MSMHAOutput`).
public final class MSMHAttention: Module, Layer {
    public let attention: MSMHASelfAttention
    public let output: MSMHAOutput

    public init(channels: Int, heads: Int, side: Int, probabilities: BHViTAttentionProbabilities, recu: Bool,
                rng: inout RandomGenerator) {
        attention = MSMHASelfAttention(channels: channels, heads: heads, side: side, probabilities: probabilities,
                                       recu: recu, rng: &rng)
        output = MSMHAOutput(channels: channels, recu: recu, rng: &rng)
        super.init()
        child("attention", attention)
        child("output", output)
    }

    public func callAsFunction(_ u: Tensor) -> Tensor { output(attention(u)) }
}

/// A block of the attention stages, the official `BHViTLayer` (docs/reference/bhvit.md §3.6): the mixer is
/// `MSMHAttention` under `attention`, plus `BHViTBlock`'s state.
public final class MSMHABlock: BHViTBlock {
    public let attention: MSMHAttention

    override init(stage: BHViTStage, side: Int, config: BHViTConfig, dropPath: Float, random: RandomSource,
         rng: inout RandomGenerator) {
        attention = MSMHAttention(channels: stage.width, heads: stage.heads, side: side,
                                  probabilities: config.attentionProbabilities, recu: config.recu, rng: &rng)
        super.init(stage: stage, side: side, config: config, dropPath: dropPath, random: random, rng: &rng)
        child("attention", attention)
    }

    public override func mix(_ u: Tensor) -> Tensor { attention(u) }
}
