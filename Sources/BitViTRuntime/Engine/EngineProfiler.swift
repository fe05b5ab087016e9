import Foundation

/// Wall time per engine operation, accumulated over calls while `isEnabled` (the per-op
/// breakdown of `bitvit bench infer`). Operations are coarse (a whole layer's GEMM, a
/// softmax over all heads), so timing each costs nothing measurable.
public final class EngineProfiler: @unchecked Sendable {
    /// One operation's totals.
    public struct Entry: Codable, Sendable {
        public var op: String
        public var calls: Int
        public var seconds: Double
    }

    public var isEnabled = false
    private var totals: [String: (calls: Int, seconds: Double)] = [:]
    private var order: [String] = []

    public init() {}

    /// Runs `body`, charging its wall time to `op` when enabled.
    @inline(__always)
    public func measure<R>(_ op: String, _ body: () throws -> R) rethrows -> R {
        guard isEnabled else { return try body() }
        let start = DispatchTime.now().uptimeNanoseconds
        let result = try body()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if totals[op] == nil { order.append(op) }
        totals[op, default: (0, 0)].calls += 1
        totals[op, default: (0, 0)].seconds += seconds
        return result
    }

    public func reset() {
        totals = [:]
        order = []
    }

    /// Totals in first-seen order.
    public var entries: [Entry] { order.map { Entry(op: $0, calls: totals[$0]!.calls, seconds: totals[$0]!.seconds) } }
}
