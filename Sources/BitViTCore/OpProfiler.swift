import Dispatch
import Foundation

/// Per-op time accounting for recorded (differentiable) ops.
///
/// When enabled, the forward time of an op is the time since the previous recorded op finished
/// (ops run one after another, so this is the op's own time plus any glue between ops), and
/// the backward time is measured around each op's backward rule, including the accumulation
/// of its input gradients. Only ops that record a graph node are seen, so profile a training
/// step (or a forward with gradients enabled).
///
/// `clock` chooses what is measured: wall time (default), or the CPU time of the whole
/// process (all threads), which other processes sharing the cores do not inflate — the
/// figure to compare ops by on a busy machine. With N busy workers an op's CPU time is about
/// N times its wall time.
public enum OpProfiler {
    public enum Clock: String, Sendable { case wall, processCPU = "cpu" }
    public struct Entry: Codable {
        public var op: String
        public var calls: Int
        public var forwardSeconds: Double
        public var backwardSeconds: Double
    }

    nonisolated(unsafe) public static var isEnabled = false
    nonisolated(unsafe) public static var clock = Clock.wall
    nonisolated(unsafe) static var stats: [String: Entry] = [:]
    nonisolated(unsafe) static var lastEvent: UInt64 = 0

    /// Clears the statistics and starts the forward clock.
    public static func reset() {
        stats = [:]
        lastEvent = now
    }

    /// The current reading of `clock` in nanoseconds.
    static var now: UInt64 {
        switch clock {
        case .wall: return DispatchTime.now().uptimeNanoseconds
        case .processCPU:
            var t = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
            return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
        }
    }

    /// Entries sorted by total time, largest first.
    public static var entries: [Entry] {
        stats.values.sorted { $0.forwardSeconds + $0.backwardSeconds > $1.forwardSeconds + $1.backwardSeconds }
    }

    static func forwardRecorded(_ op: String) {
        let now = now
        stats[op, default: Entry(op: op, calls: 0, forwardSeconds: 0, backwardSeconds: 0)].calls += 1
        stats[op]!.forwardSeconds += Double(now &- lastEvent) / 1e9
        lastEvent = now
    }

    static func backwardTimed(_ op: String, since start: UInt64) {
        let now = now
        stats[op, default: Entry(op: op, calls: 0, forwardSeconds: 0, backwardSeconds: 0)].backwardSeconds += Double(now - start) / 1e9
        lastEvent = now
    }

    /// A table of the entries (milliseconds per call of `perSteps` repetitions).
    public static func table(perSteps steps: Int = 1) -> String {
        var lines = ["op                      calls   forward ms  backward ms"]
        for e in entries {
            let name = e.op.padding(toLength: 22, withPad: " ", startingAt: 0)
            lines.append(name + "  " + String(format: "%5d  %11.2f  %11.2f", e.calls / max(steps, 1),
                                              e.forwardSeconds * 1000 / Double(max(steps, 1)),
                                              e.backwardSeconds * 1000 / Double(max(steps, 1))))
        }
        return lines.joined(separator: "\n")
    }
}
