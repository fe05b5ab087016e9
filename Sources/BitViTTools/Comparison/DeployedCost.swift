import BitViTModels
import BitViTQuant
import BitViTTrain

/// What a trained model costs when deployed at its bit widths, per image, in the papers'
/// convention (qvit.md §9, gsb.md §6, bhvit.md §9): BOPs = MACs·b_w·b_a of the low-bit and
/// binary products, FLOPs = the full-precision MACs (8-bit first and last layers count as
/// full precision), **OPs = BOPs/64 + FLOPs**; LayerNorm, BatchNorm, softmax, GELU and other
/// elementwise work are not counted.
///
/// The size is measured on the model: every quantized layer's weight at its quantizer's bit
/// width (1 for binary weights, b for Q-ViT's LSQ weights, 8 for the 8-bit patch embedding and
/// heads), every other parameter (LayerNorm, biases, tokens, scales, GSB's B_att, BHViT's
/// BatchNorm and stem) at 32 bits.
public struct DeployedCost: Equatable, Sendable {
    /// `W/A` bits of the model's main products, e.g. `1/1`, `4/4`, `32/32`.
    public var precision: String
    public var parameters: Int
    public var sizeBytes: Double
    public var bops: Double
    public var flops: Double
    public var ops: Double { bops / 64 + flops }

    public init(precision: String, parameters: Int, sizeBytes: Double, bops: Double, flops: Double) {
        self.precision = precision
        self.parameters = parameters
        self.sizeBytes = sizeBytes
        self.bops = bops
        self.flops = flops
    }

    /// The cost of `model`, built from `spec`.
    public static func of(_ model: any ImageClassifier, spec: ModelSpec) throws -> DeployedCost {
        let size = measuredSizeBytes(model)
        let params = model.parameterCount
        if let bhvit = model as? BHViT {
            let (bops, flops) = try bhvitOperations(bhvit)
            return DeployedCost(precision: "1/1", parameters: params, sizeBytes: size, bops: bops, flops: flops)
        }
        let (family, base) = deitFamily(spec.name)
        var geometry = spec
        if family != .fullPrecision, geometry.distilled == nil { geometry.distilled = true }
        let c = try geometry.vitConfig(base: base)
        let (n, dim, heads, depth) = (Double(c.tokenCount), Double(c.dim), Double(c.heads), Double(c.depth))
        let linear = depth * (n * dim * 3 * dim + n * dim * dim + 2 * n * dim * Double(c.mlpHidden))
        let mlp = depth * 2 * n * dim * Double(c.mlpHidden)
        let products = depth * heads * n * n * (dim / heads)                       // q·kᵀ, and again P·v
        let edge = Double(c.gridSize * c.gridSize * c.dim * c.inChannels * c.patchSize * c.patchSize)
            + Double((c.distilled ? 2 : 1) * c.dim * c.classes)
        switch family {
        case .fullPrecision:
            return DeployedCost(precision: "32/32", parameters: params, sizeBytes: size, bops: 0, flops: linear + 2 * products + edge)
        case .binaryBaseline:
            return DeployedCost(precision: "1/1", parameters: params, sizeBytes: size, bops: linear, flops: 2 * products + edge)
        case .gsb:
            if spec.options["stage"] == "1" {
                // BWN MLP weights with full-precision inputs: 1 × 32-bit products.
                return DeployedCost(precision: "1/32 (MLP)", parameters: params, sizeBytes: size, bops: 32 * mlp,
                                    flops: linear - mlp + 2 * products + edge)
            }
            // Â·v̂: three attention planes times three value planes of 1 bit (gsb.md §6).
            return DeployedCost(precision: "1/1", parameters: params, sizeBytes: size, bops: linear + products + 9 * products,
                                flops: edge)
        case .qvit:
            let b = Double(Int(spec.options["bits"] ?? "4") ?? 4)
            return DeployedCost(precision: "\(Int(b))/\(Int(b))", parameters: params, sizeBytes: size,
                                bops: b * b * (linear + 2 * products), flops: edge)
        }
    }

    enum DeiTFamily { case fullPrecision, binaryBaseline, gsb, qvit }

    static func deitFamily(_ name: String) -> (DeiTFamily, String) {
        for (prefix, family) in [("gsb-", DeiTFamily.gsb), ("qvit-", .qvit), ("w1a1-", .binaryBaseline)] where name.hasPrefix(prefix) {
            return (family, String(name.dropFirst(prefix.count)))
        }
        return (.fullPrecision, name)
    }

    /// Bytes of `model` with quantized weights at their bit widths and the rest in float32.
    public static func measuredSizeBytes(_ model: Module) -> Double {
        var bits = 0.0, quantized = 0
        for (_, layer) in model.quantizedLayers() {
            guard let q = layer.weightQuantizer, let b = weightBits(q) else { continue }
            bits += Double(layer.latentWeight.count * b)
            quantized += layer.latentWeight.count
        }
        return (bits + Double(model.parameterCount - quantized) * 32) / 8
    }

    /// Bits per weight a weight quantizer deploys to (nil: unknown, counted as 32).
    static func weightBits(_ q: Quantizer) -> Int? {
        switch q {
        case is BinaryWeightQuantizer, is RowCenteredBinaryWeightQuantizer: return 1
        case let lsq as LSQWeightQuantizer: return lsq.bits
        case let elastic as ElasticQuantizer: return elastic.bits
        default: return nil
        }
    }

    /// BHViT: the binary convolutions and linears measured on one image (their input
    /// quantizers observed), the attention products from the window geometry (q̂·k̂ᵀ binary;
    /// QD's Â·v̂ as three binary planes, or full precision with `attention: fp`), and the
    /// full-precision stem, downsamplings (†) and classifier.
    static func bhvitOperations(_ model: BHViT) throws -> (bops: Double, flops: Double) {
        let c = model.config
        var binary = 0.0
        var observed: [(quantizer: Quantizer, previous: QuantizerObserver?)] = []
        for (_, layer) in model.quantizedLayers() {
            guard let q = layer.inputQuantizer else { continue }
            observed.append((q, q.observer))
            q.observer = { _, x, _ in binary += macs(layer, input: x) }
        }
        defer { for entry in observed { entry.quantizer.observer = entry.previous } }
        let wasTraining = model.isTraining
        model.eval()
        defer { if wasTraining { model.train() } }
        _ = withNoGrad { model(Tensor.zeros([1, c.inChannels, c.imageSize, c.imageSize])) }

        var bops = binary, flops = 0.0
        let r0 = Double(c.resolution(stage: 0))
        flops += r0 * r0 * Double(c.stages[0].width * c.inChannels * c.stemKernel * c.stemKernel)
        for (i, s) in c.stages.enumerated() {
            let r = c.resolution(stage: i)
            if i + 1 < c.stages.count, c.downsampling == .fullPrecision {
                let next = Double(c.resolution(stage: i + 1))
                flops += next * next * Double(c.stages[i + 1].width * s.width * 4)
            }
            guard s.mixer == .attention else { continue }
            let windows = Double((r / BHViTConfig.windowSize) * (r / BHViTConfig.windowSize))
            let tokens = Double(BHViTConfig.windowSize * BHViTConfig.windowSize) + windows
            let product = windows * Double(s.heads) * tokens * tokens * Double(s.width / s.heads) * Double(s.depth)
            bops += product
            if c.attentionProbabilities == .quantizationDecomposition { bops += 3 * product } else { flops += product }
        }
        flops += Double(c.stages.last!.width * c.classes)
        return (bops, flops)
    }

    /// Multiply-accumulates of a quantized linear or convolution layer for one input.
    static func macs(_ layer: any QuantizedLayer, input x: Tensor) -> Double {
        let w = layer.latentWeight.shape
        if let conv = layer as? QuantizedConv2d {
            let (h, wd) = (x.shape[2], x.shape[3])
            let o = conv.options
            let outH = (h + 2 * o.padding.0 - o.dilation.0 * (w[2] - 1) - 1) / o.stride.0 + 1
            let outW = (wd + 2 * o.padding.1 - o.dilation.1 * (w[3] - 1) - 1) / o.stride.1 + 1
            return Double(x.shape[0] * outH * outW * w[0] * w[1] * w[2] * w[3])
        }
        return Double(x.count / w[1] * w[0])
    }
}
