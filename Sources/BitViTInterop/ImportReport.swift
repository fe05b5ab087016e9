import BitViTModels

/// What an import did with every state entry.
public struct ImportReport: Sendable {
    /// An official entry copied into the model.
    public struct Mapped: Sendable, Equatable {
        public var official: String
        public var bitvit: String
        /// Source and destination shapes when they differed by a reshape (`[1]` flags to rank 0,
        /// an old 2-D patch weight to 4-D, a plain DeiT's `pos_embed` widened by the distillation-token row).
        public var reshaped: (from: [Int], to: [Int])?

        public init(official: String, bitvit: String, reshaped: (from: [Int], to: [Int])? = nil) {
            self.official = official
            self.bitvit = bitvit
            self.reshaped = reshaped
        }

        public static func == (a: Mapped, b: Mapped) -> Bool {
            a.official == b.official && a.bitvit == b.bitvit && a.reshaped?.from == b.reshaped?.from
                && a.reshaped?.to == b.reshaped?.to
        }
    }

    public var family: OfficialFamily
    /// The BitViT model the checkpoint was loaded into.
    public var spec: ModelSpec
    /// How detection decided what names and shapes leave open.
    public var notes: [String]
    public var mapped: [Mapped]
    /// Official entries (or whole checkpoint sections, e.g. `optimizer`, `model_ema`) left
    /// out, with the reason.
    public var ignored: [(name: String, reason: String)]
    /// BitViT tensors the checkpoint does not provide (they keep their fresh initialization).
    public var missing: [String]
    /// Head tensors left freshly initialized because the class count changed.
    public var reinitialized: [String]

    /// A human-readable summary: counts, then every ignored, missing and re-initialized name.
    public var summary: String {
        var lines = ["\(family.rawValue) checkpoint → \(spec.name) (\(spec.classes) classes): \(mapped.count) tensors mapped, "
                     + "\(ignored.count) ignored, \(missing.count) missing, \(reinitialized.count) re-initialized"]
        lines += notes.map { "  note: \($0)" }
        lines += ignored.map { "  ignored \($0.name): \($0.reason)" }
        lines += missing.map { "  missing \($0)" }
        lines += reinitialized.map { "  re-initialized \($0)" }
        return lines.joined(separator: "\n")
    }
}
