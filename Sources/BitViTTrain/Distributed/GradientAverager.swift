import Foundation

/// Averages the gradients of a model's parameters over a process group after every backward
/// pass, as PyTorch's DistributedDataParallel does.
///
/// The parameters are packed, in reverse registration order (the order in which a backward
/// pass finishes their gradients, roughly), into buckets of at most `bucketBytes`. With
/// `overlaps`, a bucket's sum starts as soon as the backward pass has completed the gradients of
/// all its parameters (`gradientIsReady`, the `backward(onLeafGradient:)` hook), so
/// communication runs while the rest of the gradients are computed; `finishStep` starts the
/// buckets still waiting, waits for all of them, divides by the world size and gives every
/// parameter that has a gradient a new gradient tensor with the average (gradients are never
/// modified in place: two leaves may share one gradient tensor).
///
/// A parameter without a gradient contributes zeros and keeps no gradient; the graph, and so
/// which parameters get gradients, is the same on every process.
public final class GradientAverager {
    private struct Bucket {
        /// Indices into `parameters`, and each one's offset in `storage`.
        var members: [Int]
        var offsets: [Int]
        var storage: UnsafeMutableBufferPointer<Float>
        var ready = 0
        var request: CollectiveRequest?
    }

    public let group: any ProcessGroup
    public let overlaps: Bool
    private let parameters: [Tensor]
    private var buckets: [Bucket] = []
    private var location: [ObjectIdentifier: (bucket: Int, member: Int)] = [:]
    /// Per parameter: copied into its bucket this step, and whether it had a gradient.
    private var packed: [Bool]
    private var hasGradient: [Bool]
    /// Seconds `finishStep` spent waiting for sums to complete (communication not hidden
    /// behind the backward pass), since the last `resetTimers()`.
    public private(set) var waitSeconds = 0.0

    /// Buckets for `parameters` (`bucketBytes` ≥ 4; PyTorch's default is 25 MB).
    public init(parameters: [Tensor], group: any ProcessGroup, bucketBytes: Int, overlaps: Bool = true) {
        precondition(bucketBytes >= MemoryLayout<Float>.size, "a bucket holds at least one value")
        self.group = group
        self.overlaps = overlaps
        self.parameters = parameters
        packed = [Bool](repeating: false, count: parameters.count)
        hasGradient = packed
        let capacity = bucketBytes / MemoryLayout<Float>.size
        var members: [Int] = [], offsets: [Int] = [], size = 0
        func close() {
            guard !members.isEmpty else { return }
            let storage = UnsafeMutableBufferPointer<Float>.allocate(capacity: size)
            storage.initialize(repeating: 0)
            buckets.append(Bucket(members: members, offsets: offsets, storage: storage))
            members = []; offsets = []; size = 0
        }
        for index in parameters.indices.reversed() {
            let count = parameters[index].count
            if size > 0 && size + count > capacity { close() }
            location[ObjectIdentifier(parameters[index])] = (buckets.count, members.count)
            members.append(index)
            offsets.append(size)
            size += count
        }
        close()
    }

    deinit {
        for b in buckets { b.storage.deallocate() }
    }

    /// Number of buckets, and the parameter values each one sums.
    public var bucketSizes: [Int] { buckets.map(\.storage.count) }

    public func resetTimers() { waitSeconds = 0 }

    /// Forgets the previous step; call before the backward pass.
    public func beginStep() {
        for b in buckets.indices {
            buckets[b].ready = 0
            buckets[b].request = nil
        }
        for i in parameters.indices { packed[i] = false; hasGradient[i] = false }
    }

    /// The backward hook: `tensor`'s gradient is complete for this pass.
    public func gradientIsReady(_ tensor: Tensor) {
        guard overlaps, let (b, m) = location[ObjectIdentifier(tensor)] else { return }
        pack(bucket: b, member: m)
        buckets[b].ready += 1
        if buckets[b].ready == buckets[b].members.count { launch(b) }
    }

    /// Starts the buckets not started yet, waits for all sums and replaces every gradient by
    /// the average over the processes.
    public func finishStep() {
        for b in buckets.indices where buckets[b].request == nil {
            for m in buckets[b].members.indices where !packed[buckets[b].members[m]] {
                pack(bucket: b, member: m)
            }
            launch(b)
        }
        let start = DispatchTime.now().uptimeNanoseconds
        for b in buckets { b.request!.wait() }
        waitSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let scale = 1 / Float(group.worldSize)
        for b in buckets {
            for (m, index) in b.members.enumerated() where hasGradient[index] {
                let p = parameters[index]
                let average = Tensor(uninitialized: p.shape)
                let source = b.storage.baseAddress! + b.offsets[m]
                for i in 0..<p.count { average.data[i] = source[i] * scale }
                p.grad = average
            }
        }
    }

    /// Copies one parameter's gradient (zeros without one) into its bucket.
    private func pack(bucket b: Int, member m: Int) {
        let index = buckets[b].members[m]
        let p = parameters[index]
        let target = buckets[b].storage.baseAddress! + buckets[b].offsets[m]
        packed[index] = true
        if let g = p.grad {
            target.update(from: g.data, count: p.count)
            hasGradient[index] = true
        } else {
            target.update(repeating: 0, count: p.count)
        }
    }

    private func launch(_ b: Int) {
        buckets[b].request = group.startSum(buckets[b].storage)
    }
}
