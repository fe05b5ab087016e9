/// What a model stores and what one image through it costs, in the papers' convention
/// (docs/reference/cost.md §2): BOPs = MACs·b_w·b_a of the low-bit
/// and binary matrix products (times their plane pairs), FLOPs = the full-precision MACs (8-bit
/// first and last layers count as full precision), **OPs = BOPs/64 + FLOPs**. LayerNorm,
/// BatchNorm, softmax, GELU and other elementwise work are not counted.
///
/// One type for every report: a `.bitvit` file (`init(file:)`: its tensors as stored), a trained
/// model at its quantizers' bit widths (BitViTExport's `ModelCost(model:)`), and the products
/// of an architecture (`products(family:_:)`, `products(bhvit:)`).
public struct ModelCost: Sendable, Codable, Equatable {
    /// The multiply-accumulates of one kind of matrix product per image, at one precision.
    public struct Product: Sendable, Codable, Equatable {
        public var name: String
        public var macs: Int
        /// Weight and activation bits (weight nil: full precision, counted as FLOPs; activation
        /// nil with a weight width: full-precision inputs, 32 bits).
        public var weightBits: Int?
        public var activationBits: Int?
        /// Binary products per MAC beyond b_w·b_a (GSB's Â·V̂: 3 × 3 plane pairs of 1 bit).
        public var planePairs: Int

        public init(name: String, macs: Int, weightBits: Int? = nil, activationBits: Int? = nil, planePairs: Int = 1) {
            self.name = name
            self.macs = macs
            self.weightBits = weightBits
            self.activationBits = activationBits
            self.planePairs = planePairs
        }

        public var bops: Int { weightBits.map { $0 * (activationBits ?? 32) * planePairs * macs } ?? 0 }
        public var flops: Int { weightBits == nil ? macs : 0 }
    }

    /// The values stored at one precision.
    public struct Storage: Sendable, Codable, Equatable {
        /// `fp32`, `fp16`, `1-bit`, `int8`, `int4`, … (`StorageKind.name`).
        public var name: String
        /// Bits per value.
        public var bits: Int
        public var tensors: Int
        public var values: Int
        public var bytes: Int
        /// Tensor roles, block index removed (`attn.qkv.weight`, `pos_embed`, …).
        public var roles: [String]

        public init(name: String, bits: Int, tensors: Int = 0, values: Int = 0, bytes: Int = 0, roles: [String] = []) {
            self.name = name
            self.bits = bits
            self.tensors = tensors
            self.values = values
            self.bytes = bytes
            self.roles = roles
        }

        /// Adds a tensor called `name` of `values` values taking `bytes` bytes.
        public mutating func add(_ name: String, values: Int, bytes: Int) {
            tensors += 1
            self.values += values
            self.bytes += bytes
            let role = Self.role(of: name)
            if !roles.contains(role) { roles.append(role) }
        }

        /// `blocks.3.attn.qkv.weight` → `attn.qkv.weight`; other names unchanged.
        public static func role(of name: String) -> String {
            name.hasPrefix("blocks.") ? name.split(separator: ".").dropFirst(2).joined(separator: ".") : name
        }
    }

    /// Learned values: the model's parameters, or the values a file stores.
    public var parameters: Int
    /// Stored values by precision, in `StorageKind` order (fp32, fp16, 1-bit, int8, int4, int3, int2).
    public var storage: [Storage]
    public var products: [Product]
    /// `W/A` bits of the model's main products, e.g. `1/1`, `4/4`, `32/32`, `1/32 (MLP)`.
    public var precision: String

    public init(parameters: Int, storage: [Storage], products: [Product], precision: String) {
        self.parameters = parameters
        self.storage = storage
        self.products = products
        self.precision = precision
    }

    public var sizeBytes: Int { storage.reduce(0) { $0 + $1.bytes } }
    public var bops: Int { products.reduce(0) { $0 + $1.bops } }
    public var flops: Int { products.reduce(0) { $0 + $1.flops } }
    public var ops: Double { Double(bops) / 64 + Double(flops) }

    /// The cost of a loaded file: its tensors as stored, its architecture's products.
    public init(file: ModelFile) {
        var totals: [StorageKind: Storage] = [:]
        for t in file.tensors {
            totals[t.storage, default: Storage(name: t.storage.name, bits: t.storage.bits)].add(t.name, values: t.count, bytes: t.byteCount)
        }
        let storage = StorageKind.allCases.compactMap { totals[$0] }
        let m = file.metadata
        let (products, precision): ([Product], String)
        if let v = m.vit {
            (products, precision) = (Self.products(family: m.family, v), Self.precisionLabel(family: m.family, v))
        } else if let c = m.bhvit {
            (products, precision) = (Self.products(bhvit: c), "1/1")
        } else {
            (products, precision) = ([], "")
        }
        self.init(parameters: storage.reduce(0) { $0 + $1.values }, storage: storage, products: products, precision: precision)
    }
}
