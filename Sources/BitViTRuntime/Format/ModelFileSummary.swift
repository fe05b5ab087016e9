/// What a `.bitvit` file stores, by storage kind, and what its model costs per image in the
/// papers' convention (deployment.md §5, qvit.md §9, gsb.md §6): BOPs = MACs·b_w·b_a of the
/// low-bit matrix products, FLOPs = the remaining full-precision MACs (8-bit first and last
/// layers count as full precision), OPs = BOPs/64 + FLOPs. LayerNorm, softmax, GELU and
/// elementwise operations are not counted.
public struct ModelFileSummary: Sendable {
    public struct StorageTotal: Sendable, Codable {
        public var storage: String
        public var tensors: Int
        public var values: Int
        public var bytes: Int
        /// Tensor roles, block index removed (`attn.qkv.weight`, `pos_embed`, …).
        public var roles: [String]
    }

    public var byStorage: [StorageTotal]
    public var fileBytes: Int
    public var cost: ModelCost

    public init(_ file: ModelFile) {
        var totals: [StorageKind: StorageTotal] = [:]
        for t in file.tensors {
            var total = totals[t.storage] ?? StorageTotal(storage: t.storage.name, tensors: 0, values: 0, bytes: 0, roles: [])
            total.tensors += 1
            total.values += t.count
            total.bytes += t.byteCount
            // `blocks.3.attn.qkv.weight` → `attn.qkv.weight`.
            let parts = t.name.split(separator: ".")
            let role = t.name.hasPrefix("blocks.") ? parts.dropFirst(2).joined(separator: ".") : t.name
            if !total.roles.contains(role) { total.roles.append(role) }
            totals[t.storage] = total
        }
        byStorage = StorageKind.allCases.compactMap { totals[$0] }
        fileBytes = file.fileSize
        cost = file.metadata.vit.map { ModelCost(family: file.metadata.family, $0) }
            ?? file.metadata.bhvit.map { ModelCost(bhvit: $0) } ?? ModelCost(macs: [])
    }
}

/// Multiply-accumulates of one image by precision, and the derived BOPs/FLOPs/OPs.
public struct ModelCost: Sendable, Codable, Equatable {
    public struct Part: Sendable, Codable, Equatable {
        public var name: String
        public var macs: Int
        /// Weight and activation bits (nil: full precision, counted as FLOPs).
        public var weightBits: Int?
        public var activationBits: Int?
        /// Binary products per MAC beyond b_w·b_a (GSB's Â·V̂: 3 × 3 plane pairs of 1 bit).
        public var planePairs: Int = 1

        public var bops: Int { weightBits.map { $0 * (activationBits ?? 32) * planePairs * macs } ?? 0 }
        public var flops: Int { weightBits == nil ? macs : 0 }
    }

    public var parts: [Part]

    init(macs parts: [Part]) { self.parts = parts }

    public var bops: Int { parts.reduce(0) { $0 + $1.bops } }
    public var flops: Int { parts.reduce(0) { $0 + $1.flops } }
    public var ops: Double { Double(bops) / 64 + Double(flops) }

    /// The cost of a DeiT-style model of `family` (per image, `tokens` = N with cls/dist tokens).
    public init(family: ExportFamily, _ v: ViTArchitecture) {
        let (n, c, h, d) = (v.tokens, v.dim, v.heads, v.headDim)
        let depth = v.depth
        let linear = depth * (n * c * 3 * c + n * c * c + 2 * n * c * v.mlpHidden)
        let scores = depth * h * n * n * d, context = depth * h * n * n * d
        let edge = [Part(name: "patch embedding", macs: v.patches * c * v.patchInputs),
                    Part(name: "heads", macs: (v.distilled ? 2 : 1) * c * v.classes)]
        switch family {
        case .binaryBaseline:
            parts = [Part(name: "block linears (W1A1)", macs: linear, weightBits: 1, activationBits: 1),
                     Part(name: "attention q·kᵀ, P·v (fp)", macs: scores + context)] + edge
        case .gsb:
            parts = [Part(name: "block linears (W1A1)", macs: linear, weightBits: 1, activationBits: 1),
                     Part(name: "attention q̂·k̂ᵀ (1×1 bit)", macs: scores, weightBits: 1, activationBits: 1),
                     Part(name: "attention Â·v̂ (3×3 planes)", macs: context, weightBits: 1, activationBits: 1, planePairs: 9)] + edge
        case .qvit:
            let b = v.bits ?? 8
            parts = [Part(name: "block linears (W\(b)A\(b))", macs: linear, weightBits: b, activationBits: b),
                     Part(name: "attention q·kᵀ, P·v (\(b)×\(b) bit)", macs: scores + context, weightBits: b, activationBits: b)] + edge
        default:
            parts = [Part(name: "block linears (fp)", macs: linear), Part(name: "attention (fp)", macs: scores + context)] + edge
        }
    }
}
