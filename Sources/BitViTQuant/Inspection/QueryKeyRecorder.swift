/// One attention block's per-head queries and keys, `[B', H, N, d]` each (B' = batch, or
/// batch × windows for window attention). They stay in the autograd graph, so a loss on them
/// (DGD) trains the student.
public struct QueryKeyPair {
    public let queries: Tensor
    public let keys: Tensor

    public init(queries: Tensor, keys: Tensor) {
        precondition(queries.shape == keys.shape && queries.rank == 4,
                     "QueryKeyPair: queries \(queries.shape) and keys \(keys.shape) must both be [B, H, N, d]")
        self.queries = queries
        self.keys = keys
    }
}

/// Where an attention block taps its queries and keys.
public enum QueryKeyTap: String, Sendable {
    /// After the IRM (or the per-head biases) and before the activation quantizer: Q-ViT's
    /// q̃, k̃ (docs/reference/qvit.md §6.2 default). Full-precision models tap their plain q, k.
    case beforeQuantizer
    /// The dequantized Q_a(q̃), Q_a(k̃); gradients then also reach the quantizer scales.
    case afterQuantizer
}

/// Collects queries and keys from attention blocks during a forward pass, in block order.
public final class QueryKeyRecorder {
    public let tap: QueryKeyTap
    public private(set) var pairs: [QueryKeyPair] = []

    public init(tap: QueryKeyTap = .beforeQuantizer) { self.tap = tap }

    /// Called by an attention block with its tapped queries and keys.
    public func record(queries: Tensor, keys: Tensor) {
        pairs.append(QueryKeyPair(queries: queries, keys: keys))
    }

    public func reset() { pairs = [] }
}

/// An attention module that reports its queries and keys to a recorder while one is attached.
public protocol QueryKeyRecording: Module {
    var queryKeyRecorder: QueryKeyRecorder? { get set }
}

extension Module {
    /// Runs `body` (a forward pass) with one recorder attached to every `QueryKeyRecording`
    /// attention module in the tree and returns its result with the recorded pairs, one per
    /// attention block in execution order. Fails if the tree has no such module.
    public func recordingQueriesKeys<T>(tap: QueryKeyTap = .beforeQuantizer,
                                        _ body: () throws -> T) rethrows -> (result: T, pairs: [QueryKeyPair]) {
        let blocks = namedModules().compactMap { $0.module as? any QueryKeyRecording }
        precondition(!blocks.isEmpty, "\(type(of: self)) has no attention module that records queries and keys")
        let recorder = QueryKeyRecorder(tap: tap)
        for b in blocks { b.queryKeyRecorder = recorder }
        defer { for b in blocks { b.queryKeyRecorder = nil } }
        let result = try body()
        return (result, recorder.pairs)
    }
}
