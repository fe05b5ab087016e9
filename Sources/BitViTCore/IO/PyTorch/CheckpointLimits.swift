/// Bounds on everything a checkpoint file can make the reader allocate or recurse into. A file
/// that exceeds one is refused with an error naming the limit; nothing is read past it.
///
/// The defaults admit real checkpoints (a ViT-H with AdamW state and an EMA copy holds about
/// 2.6 G values) while keeping a hostile file from exhausting memory or the stack; raise
/// `maxTensorElements` for larger ones.
public struct CheckpointLimits: Sendable {
    /// Entries in a zip archive (a `torch.save` file has one per storage plus five).
    public var maxZipEntries = 1 << 20
    /// Bytes a compressed zip entry may inflate to (stored entries are read in place).
    public var maxInflatedBytes = 1 << 34
    /// Bytes of one pickle stream (`data.pkl`; a state dict's pickle is a few hundred kB).
    public var maxPickleBytes = 1 << 28
    /// Entries in the pickle memo.
    public var maxMemoEntries = 1 << 22
    /// Values on the pickle stack at once.
    public var maxStackDepth = 1 << 20
    /// Open MARKs (the pickle's own container nesting while it is built).
    public var maxMarkDepth = 1 << 10
    /// Containers, records, tensors and storages one pickle may create.
    public var maxObjects = 1 << 24
    /// Items stored in containers while a pickle runs, counting every copy an operation makes
    /// (`set(list)`, `OrderedDict(pairs)` copy their argument).
    public var maxItems = 1 << 26
    /// Containers nested in one another in the decoded value tree (a training checkpoint
    /// nests about 5).
    public var maxNesting = 100
    /// Values in the decoded tree, counting a value each time it is referenced.
    public var maxValues = 1 << 26
    /// Bytes of an integer wider than 64 bits (LONG1/LONG4, text LONG).
    public var maxBigIntBytes = 1 << 10
    /// Axes of one tensor.
    public var maxRank = 32
    /// Elements of all tensors together, counting a tensor each time it is referenced: float32
    /// copies of every tensor (`StateDict.float32()`) take at most 4 bytes times this (16 GiB).
    public var maxTensorElements = 1 << 32

    public init() {}

    /// Small bounds for fuzzing and mutation tests: a few MB of memory per input at most.
    public static var fuzzing: CheckpointLimits {
        var limits = CheckpointLimits()
        limits.maxZipEntries = 1 << 12
        limits.maxInflatedBytes = 1 << 24
        limits.maxPickleBytes = 1 << 22
        limits.maxMemoEntries = 1 << 16
        limits.maxStackDepth = 1 << 16
        limits.maxMarkDepth = 256
        limits.maxObjects = 1 << 18
        limits.maxItems = 1 << 20
        limits.maxValues = 1 << 20
        limits.maxTensorElements = 1 << 22
        return limits
    }
}
