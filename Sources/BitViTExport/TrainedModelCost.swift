import BitViTCore
import BitViTModels
import BitViTQuant
import BitViTRuntime

extension ModelCost {
    /// The cost of a trained model deployed at its bit widths: the weight of every quantized
    /// layer at its weight quantizer's `bitWidth` (1-bit binary weights, b-bit LSQ weights, 8-bit
    /// patch embeddings and heads), every other parameter (LayerNorm, biases, tokens, scales,
    /// GSB's B_att, BHViT's BatchNorm and stem) as fp32; the products of its architecture. GSB
    /// stage 1, a training stage with no file family, has binary MLP weights on full-precision
    /// inputs and everything else in full precision.
    public init(model: any ImageClassifier) throws {
        let storage = Self.storage(of: model)
        let parameters = model.parameterCount
        if let bhvit = model as? BHViT {
            self.init(parameters: parameters, storage: storage, products: Self.products(bhvit: bhvit.config),
                      precision: "1/1")
            return
        }
        if let gsb = model as? GSBDeiT, gsb.options.stage == .binaryMLPWeights {
            let m = ViTMACs(try ModelExporter.architecture(of: model))
            let products = [Product(name: "attention linears (fp)", macs: m.attentionLinears),
                            Product(name: "MLP linears (W1, fp inputs)", macs: m.mlpLinears, weightBits: 1),
                            Product(name: "attention q·kᵀ, P·v (fp)", macs: m.scores + m.context)] + m.edges
            self.init(parameters: parameters, storage: storage, products: products, precision: "1/32 (MLP)")
            return
        }
        let family = try ModelExporter.family(of: model)
        let v = try ModelExporter.architecture(of: model)
        self.init(parameters: parameters, storage: storage, products: Self.products(family: family, v),
                  precision: Self.precisionLabel(family: family, v))
    }

    /// The parameters of `model` grouped by the precision they deploy at.
    static func storage(of model: any ImageClassifier) -> [Storage] {
        var deployedBits: [ObjectIdentifier: Int] = [:]
        for (_, layer) in model.quantizedLayers() {
            if let q = layer.weightQuantizer { deployedBits[ObjectIdentifier(layer.latentWeight)] = q.bitWidth }
        }
        var byBits: [Int: Storage] = [:]
        for (name, tensor) in model.namedParameters() {
            let bits = deployedBits[ObjectIdentifier(tensor)] ?? 32
            byBits[bits, default: Storage(name: StorageKind.allCases.first { $0.bits == bits }?.name ?? "\(bits)-bit", bits: bits)]
                .add(name, values: tensor.count, bytes: (tensor.count * bits + 7) / 8)
        }
        // In `StorageKind` order (fp32, fp16, 1-bit, int8, int4, …), widths without a kind last.
        let order = StorageKind.allCases.map(\.bits)
        return byBits.keys.sorted { (order.firstIndex(of: $0) ?? order.count, $0) < (order.firstIndex(of: $1) ?? order.count, $1) }
            .map { byBits[$0]! }
    }
}
