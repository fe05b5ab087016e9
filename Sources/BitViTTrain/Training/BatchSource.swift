import BitViTData

/// Where the trainer gets batches: one deterministic pass per epoch.
///
/// For exact resumption, `batches(epoch:from:)` must yield the same batches for the same
/// epoch whatever `start` is (starting at `start` skips the first `start` batches) and must not
/// depend on earlier epochs having been read.
public protocol BatchSource {
    /// Batches in one epoch.
    var batchesPerEpoch: Int { get }
    /// Images in one epoch.
    var sampleCount: Int { get }
    /// The batches of `epoch` (0-based) from batch index `start` on.
    func batches(epoch: Int, from start: Int) throws -> BatchStream
}

/// A pull-based sequence of batches whose production may fail (unreadable files).
public struct BatchStream {
    private let produce: () throws -> Batch?

    public init(_ next: @escaping () throws -> Batch?) { produce = next }

    /// The next batch, nil after the last.
    public func next() throws -> Batch? { try produce() }

    /// A stream over batches already in memory.
    public init<S: Sequence>(_ batches: S) where S.Element == Batch {
        var iterator = batches.makeIterator()
        produce = { iterator.next() }
    }
}
