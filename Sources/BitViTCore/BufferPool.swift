import Foundation

/// Recycles float buffers by exact size so that a training loop, which allocates the same
/// shapes every step, stops calling `malloc` after its first step.
///
/// Buffers are 64-byte aligned. Cached (free) buffers are kept until `cacheLimitBytes` would be
/// exceeded, then the cache is emptied. All methods are thread-safe.
public final class BufferPool: @unchecked Sendable {
    /// The pool every `Tensor` allocates from.
    public static let shared = BufferPool()

    /// Upper bound on the bytes held in free buffers.
    public var cacheLimitBytes: Int {
        get { lock.withLock { limit } }
        set { lock.withLock { limit = newValue } }
    }

    private let lock = NSLock()
    private var freeLists: [Int: [UnsafeMutablePointer<Float>]] = [:]
    private var limit = 4 << 30
    private var cached = 0
    private var live = 0
    private var peakLive = 0
    private var fresh = 0

    /// Bytes currently held by live tensors.
    public var liveBytes: Int { lock.withLock { live } }
    /// Highest `liveBytes` since the last `resetPeak()`.
    public var peakLiveBytes: Int { lock.withLock { peakLive } }
    /// Number of buffers obtained from the system allocator (not reused) so far.
    public var systemAllocations: Int { lock.withLock { fresh } }
    /// Bytes held in free buffers awaiting reuse.
    public var cachedBytes: Int { lock.withLock { cached } }

    public func resetPeak() { lock.withLock { peakLive = live } }

    /// Returns a buffer of at least `count` floats (contents undefined).
    func acquire(_ count: Int) -> (UnsafeMutablePointer<Float>, Int) {
        let capacity = Self.roundedCapacity(count)
        let bytes = capacity * MemoryLayout<Float>.stride
        let reused: UnsafeMutablePointer<Float>? = lock.withLock {
            live += bytes
            peakLive = Swift.max(peakLive, live)
            guard var list = freeLists[capacity], let p = list.popLast() else { fresh += 1; return nil }
            freeLists[capacity] = list
            cached -= bytes
            return p
        }
        if let p = reused { return (p, capacity) }
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, Swift.max(bytes, 64)) == 0, let raw else {
            fatalError("BitViT: out of memory allocating \(bytes) bytes")
        }
        return (raw.bindMemory(to: Float.self, capacity: capacity), capacity)
    }

    func release(_ pointer: UnsafeMutablePointer<Float>, capacity: Int) {
        let bytes = capacity * MemoryLayout<Float>.stride
        let evicted: [UnsafeMutablePointer<Float>] = lock.withLock {
            live -= bytes
            var evicted: [UnsafeMutablePointer<Float>] = []
            if cached + bytes > limit {
                evicted = freeLists.values.flatMap { $0 }
                freeLists.removeAll(keepingCapacity: true)
                cached = 0
            }
            freeLists[capacity, default: []].append(pointer)
            cached += bytes
            return evicted
        }
        for p in evicted { free(p) }
    }

    /// Frees every cached buffer.
    public func trim() {
        let all: [UnsafeMutablePointer<Float>] = lock.withLock {
            let all = freeLists.values.flatMap { $0 }
            freeLists.removeAll()
            cached = 0
            return all
        }
        for p in all { free(p) }
    }

    /// Sizes are rounded to 16 floats (one cache line) so near-equal shapes share buffers.
    static func roundedCapacity(_ count: Int) -> Int { Swift.max(16, (count + 15) & ~15) }
}

/// A reference-counted float buffer owned by one or more tensors (views share it).
public final class TensorStorage: @unchecked Sendable {
    /// First element of the buffer.
    public let base: UnsafeMutablePointer<Float>
    /// Number of floats the buffer holds.
    public let capacity: Int

    /// Allocates uninitialized storage for `count` floats.
    public init(count: Int) {
        (base, capacity) = BufferPool.shared.acquire(count)
    }

    deinit { BufferPool.shared.release(base, capacity: capacity) }
}
