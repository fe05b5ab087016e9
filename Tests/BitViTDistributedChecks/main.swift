// Checks of data-parallel training that need real processes: run under
// `mpirun --oversubscribe -np 2` (Tests/BitViTDistributedTests starts it). Every process runs
// every check; rank 0 prints the failures of all processes and the closing
// "N passed, N failed" line, and the job exits with status 1 when any check failed.

import BitViTDistributed
import BitViTTrain
import Foundation

let group = try MPIProcessGroup(timeoutSeconds: 120)
let rank = group.rank, world = group.worldSize
guard world == 2 else {
    if rank == 0 { print("the distributed checks split batches in halves: run them on 2 processes, not \(world)") }
    group.finish()
    exit(2)
}
var passed = 0
var failures: [String] = []

func check(_ condition: Bool, _ what: @autoclosure () -> String) {
    if condition { passed += 1 } else { failures.append("rank \(rank): \(what())") }
}

/// Largest `|a − b| − (atol + rtol·|b|)` over the elements (≤ 0 when all are close).
func excess(_ a: [Float], _ b: [Float], atol: Float = 1e-5, rtol: Float = 1e-4) -> Float {
    guard a.count == b.count else { return .infinity }
    return zip(a, b).map { abs($0 - $1) - (atol + rtol * abs($1)) }.max() ?? 0
}

/// Every process's `values` (any lengths), rank by rank.
func gatherVariable(_ values: [Int]) -> [[Int]] {
    let counts = group.allGather([UInt64(values.count)]).map { Int($0[0]) }
    let longest = counts.max() ?? 0
    let padded = values.map { UInt64($0) } + [UInt64](repeating: 0, count: longest - values.count)
    return group.allGather(padded).enumerated().map { r, words in words.prefix(counts[r]).map { Int($0) } }
}

// MARK: Collectives

func checkCollectives() throws {
    var floats = (0..<1000).map { Float(rank * 1000 + $0) }
    group.sum(&floats)
    check(floats == (0..<1000).map { i in Float((0..<world).reduce(0) { $0 + $1 * 1000 + i }) }, "float sums")
    var doubles = [Double(rank) + 0.5, -Double(rank)]
    group.sum(&doubles)
    let ranks = Double((0..<world).reduce(0, +))
    check(doubles == [ranks + 0.5 * Double(world), -ranks], "double sums \(doubles)")
    check(group.anyTrue(rank == world - 1) && !group.anyTrue(false), "anyTrue")
    check(group.allGather([UInt64(rank), UInt64(rank * 2)]) == (0..<world).map { [UInt64($0), UInt64($0 * 2)] }, "allGather")
    let message = group.broadcast(rank == 1 ? Data("from rank 1".utf8) : Data(), root: 1)
    check(String(decoding: message, as: UTF8.self) == "from rank 1", "broadcast from rank 1")
    let tensors = [Tensor(shape: [3], repeating: Float(rank)), Tensor(shape: [2, 2], repeating: Float(rank + 7))]
    group.broadcast(tensors, root: 0)
    check(tensors[0].scalars == [0, 0, 0] && tensors[1].scalars == [7, 7, 7, 7], "tensor broadcast")
    // Collectives in flight together complete in order with their own results.
    var buffers = (0..<3).map { k in [Float](repeating: Float(k + rank), count: 50_000) }
    let requests = (0..<3).map { k in buffers[k].withUnsafeMutableBufferPointer { group.startSum($0) } }
    for request in requests.reversed() { request.wait() }
    for k in 0..<3 {
        let want = Float((0..<world).reduce(0) { $0 + k + $1 })
        check(buffers[k].allSatisfy { $0 == want }, "overlapping sum \(k)")
    }
    // A file read by rank 0 alone.
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("bitvit-checks-\(getppid()).bin")
    if rank == 0 { try Data("weights".utf8).write(to: file) }
    let bytes = try group.broadcastFile(rank == 0 ? file : nil)
    check(bytes.map { String(decoding: $0, as: UTF8.self) } == "weights", "broadcastFile")
    if rank == 0 { try FileManager.default.removeItem(at: file) }
    check(try group.broadcastFile(rank == 0 ? file : nil) == nil, "broadcastFile of a missing file")
}

// MARK: Sharding

/// An image-folder data set (written by rank 0) read through `TrainingData.make` on every
/// process: every epoch's shards, and the evaluation shards, cover the images as specified.
func checkSharding() throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("bitvit-checks-folders-\(getppid())")
    let perClass = ["train": 13, "test": 5]
    if rank == 0 {
        var rng = RandomGenerator(seed: 3)
        for (split, count) in perClass {
            for c in 0..<4 {
                let folder = root.appendingPathComponent("\(split)/class\(c)")
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                for i in 0..<count {
                    let pixels = (0..<64).map { _ in UInt8(rng.nextInt(below: 256)) }
                    try Data(try Image(height: 8, width: 8, channels: 1, pixels: pixels).pngData())
                        .write(to: folder.appendingPathComponent(String(format: "%03d.png", i)))
                }
            }
        }
    }
    _ = group.anyTrue(false)  // the folders exist
    defer { if rank == 0 { try? FileManager.default.removeItem(at: root) } }
    for (batch, validation) in [(4, "4"), (5, "none")] {
        let config = try TrainConfig.resolve(recipeText: """
            model: {name: vit-mnist, classes: 4, image_size: 8, patch_size: 4, dim: 8, depth: 1, heads: 2, in_channels: 1}
            data: {dataset: image-folder, root: \(root.path), batch_size: \(batch), validation: {source: \(validation == "none" ? "none" : "train"), size: \(validation == "none" ? "0.1" : validation)}}
            """)
        let data = try TrainingData.make(config, rank: rank, worldSize: world)
        let n = data.train.dataset.count
        for epoch in 0..<2 {
            let shards = gatherVariable(data.train.loader(epoch: epoch).draws.map(\.index))
            let visited = shards.joined()
            check(shards.allSatisfy { $0.count == (n + world - 1) / world }, "equal shard lengths (n \(n))")
            check(Set(visited) == Set(0..<n), "epoch \(epoch) visits every training image (n \(n))")
            check(visited.count - n == (world - n % world) % world, "DistributedSampler padding (n \(n))")
            if n % world == 0 {
                check(visited.sorted() == Array(0..<n), "epoch \(epoch): every image exactly once (n \(n))")
                // The batches delivered, when the shards split into whole batches.
                if (n / world) % batch == 0 {
                    var indices: [Int] = []
                    let stream = try data.train.batches(epoch: epoch, from: 0)
                    while let b = try stream.next() { indices += b.indices }
                    check(gatherVariable(indices).joined().sorted() == Array(0..<n), "epoch \(epoch) batches cover the images once")
                }
            }
            let order = EpochSampler.permutation(count: n, seed: UInt64(config.training.seed), epoch: epoch)
            check(shards[rank] == stride(from: rank, to: shards[rank].count * world, by: world).map { order[$0 % n] },
                  "rank \(rank) takes every \(world)-th image of the shared permutation")
        }
        for (name, source) in [("test", Optional(data.test)), ("validation", data.validation)] {
            guard let source else { continue }
            let shards = gatherVariable(source.loader(epoch: 0).draws.map(\.index))
            check(shards.joined().sorted() == Array(0..<source.dataset.count), "\(name) shards: every image exactly once")
        }
    }
}

// MARK: Gradient averaging

/// The averaged gradient of half batches equals the gradient of the whole batch, with and
/// without overlap, in one bucket or many.
func checkGradientAveraging() throws {
    let config = ViTConfig(imageSize: 8, patchSize: 4, inChannels: 1, dim: 16, depth: 2, heads: 2, mlpRatio: 2, classes: 4)
    let model = try DeiT(config, seed: 5)
    var rng = RandomGenerator(seed: 9)
    let images = Tensor.randn([8, 1, 8, 8], using: &rng)
    let labels = (0..<8).map { _ in rng.nextInt(below: 4) }
    model.zeroGrad()
    Tensor.crossEntropy(logits: model(images).logits, labels: labels).backward()
    let reference = model.parameters.map { $0.grad!.scalars }
    let per = 8 / world
    let mine = images.slice(axis: 0, (rank * per)..<((rank + 1) * per))
    let myLabels = Array(labels[(rank * per)..<((rank + 1) * per)])
    for (bucketBytes, overlaps) in [(25_000_000, true), (2_000, true), (2_000, false)] {
        let averager = GradientAverager(parameters: model.parameters, group: group, bucketBytes: bucketBytes, overlaps: overlaps)
        model.zeroGrad()
        averager.beginStep()
        Tensor.crossEntropy(logits: model(mine).logits, labels: myLabels)
            .backward(onLeafGradient: overlaps ? averager.gradientIsReady : nil)
        averager.finishStep()
        let worst = zip(model.parameters, reference).map { excess($0.grad!.scalars, $1) }.max()!
        check(worst <= 0, "averaged gradients (bucket \(bucketBytes) bytes, \(averager.bucketSizes.count) buckets, overlap \(overlaps)) exceed the tolerance by \(worst)")
    }
}

// MARK: Synchronized BatchNorm

/// Synchronized BatchNorm on each process's part of a batch computes what one BatchNorm does on
/// the whole batch: outputs, input gradients, summed affine gradients, running statistics.
func checkSynchronizedBatchNorm() {
    for (shape, axis) in [([4, 3, 6], -1), ([4, 6, 2, 2], 1)] {
        let channels = shape[axis < 0 ? shape.count - 1 : axis]
        var rng = RandomGenerator(seed: 13)
        let x = Tensor.randn(shape, mean: 0.5, std: 2, using: &rng)
        let upstream = Tensor.randn(shape, using: &rng)
        func run(_ input: Tensor, _ weights: Tensor, sync: Bool) -> (y: Tensor, dx: Tensor, layer: BatchNorm) {
            let layer = BatchNorm(channels, channelAxis: axis)
            withNoGrad {
                layer.weight.assign(Tensor(shape: [channels], scalars: (0..<channels).map { 1 + Float($0) / 10 }))
                layer.bias.assign(Tensor(shape: [channels], scalars: (0..<channels).map { Float($0) / 5 }))
            }
            if sync { layer.statisticsSum = { group.sum(&$0) } }
            let leaf = Tensor(shape: input.shape, scalars: input.scalars)
            leaf.requiresGrad = true
            let y = layer(leaf)
            (y * weights).sum().backward()
            return (y, leaf.grad!, layer)
        }
        let whole = run(x, upstream, sync: false)
        let per = shape[0] / world
        let rows = (rank * per)..<((rank + 1) * per)
        let part = run(x.slice(axis: 0, rows), upstream.slice(axis: 0, rows), sync: true)
        check(excess(part.y.scalars, whole.y.slice(axis: 0, rows).scalars) <= 0, "synchronized BatchNorm output \(shape)")
        check(excess(part.dx.scalars, whole.dx.slice(axis: 0, rows).scalars) <= 0, "synchronized BatchNorm input gradient \(shape)")
        var affine = part.layer.weight.grad!.scalars + part.layer.bias.grad!.scalars
        group.sum(&affine)
        check(excess(affine, whole.layer.weight.grad!.scalars + whole.layer.bias.grad!.scalars) <= 0,
              "synchronized BatchNorm affine gradients summed over the processes \(shape)")
        check(excess(part.layer.runningMean.scalars + part.layer.runningVariance.scalars,
                     whole.layer.runningMean.scalars + whole.layer.runningVariance.scalars) <= 0,
              "synchronized BatchNorm running statistics \(shape)")
    }
}

// MARK: Trainer

/// k steps of 2 processes with batch B/2 each match 1 process with batch B (no dropout, no
/// batch-coupled op), with the linear learning-rate rule counting the global batch.
func checkTrainerMatchesOneProcess() throws {
    var rng = RandomGenerator(seed: 21)
    let n = 64
    let dataset = try InMemoryDataset(height: 8, width: 8, channels: 1,
                                      pixels: (0..<(n * 64)).map { _ in UInt8(rng.nextInt(below: 256)) },
                                      labels: (0..<n).map { $0 % 4 }, classNames: ["a", "b", "c", "d"])
    let transform = TransformPipeline([RandomHorizontalFlip()], normalization: Normalization(mean: [0.5], std: [0.25]))
    let global = 16
    func config(batch: Int) throws -> TrainConfig {
        try TrainConfig.resolve(recipeText: """
            model: {name: vit-mnist, classes: 4, image_size: 8, patch_size: 4, dim: 16, depth: 2, heads: 2, mlp_ratio: 2, in_channels: 1}
            data: {batch_size: \(batch)}
            optimizer: {name: adamw, lr: 3e-3, lr_batch_reference: 16, clip_grad_norm: 1}
            schedule: {warmup_epochs: 1, stepping: iteration}
            training: {epochs: 2, seed: 4}
            """)
    }
    func source(batch: Int, rank: Int, world: Int) -> LoaderBatchSource {
        var s = LoaderBatchSource(dataset: dataset, transform: transform, batchSize: batch,
                                  sampler: EpochSampler(.shuffled, rank: rank, worldSize: world), dropLast: true, seed: 4)
        s.workerCount = 0
        return s
    }
    let single = try Trainer(config: try config(batch: global), trainData: source(batch: global, rank: 0, world: 1),
                             validationData: nil, runDirectory: nil)
    let singleSummary = try single.fit()
    let shared = try Trainer(config: try config(batch: global / world), trainData: source(batch: global / world, rank: rank, world: world),
                             validationData: nil, runDirectory: nil, group: group)
    let sharedSummary = try shared.fit()
    check(sharedSummary.steps == singleSummary.steps && sharedSummary.steps == 8, "steps \(sharedSummary.steps) vs \(singleSummary.steps)")
    check(shared.learningRate == single.learningRate, "the learning rate counts the global batch")
    let worst = zip(shared.model.parameters, single.model.parameters).map { excess($0.scalars, $1.scalars, atol: 1e-4, rtol: 1e-3) }.max()!
    check(worst <= 0, "weights after 8 steps of 2 × B/2 vs 1 × B exceed the tolerance by \(worst)")
    let bits = shared.model.parameters.flatMap { $0.scalars.map { UInt64($0.bitPattern) } }
    let fingerprint = bits.reduce(UInt64(0xCBF2_9CE4_8422_2325)) { ($0 ^ $1) &* 0x0000_0100_0000_01B3 }
    check(Set(group.allGather([fingerprint])).count == 1, "every process holds the same weights")
}

for (name, body) in [("collectives", checkCollectives), ("sharding", checkSharding),
                     ("gradient averaging", checkGradientAveraging), ("synchronized BatchNorm", { checkSynchronizedBatchNorm() }),
                     ("trainer", checkTrainerMatchesOneProcess)] as [(String, () throws -> Void)] {
    do { try body() } catch { failures.append("rank \(rank): \(name) threw \(error)") }
}

// Rank 0 reports every process's failures.
var counts = [Double](repeating: 0, count: 2 * world)
counts[2 * rank] = Double(passed)
counts[2 * rank + 1] = Double(failures.count)
group.sum(&counts)
for r in 1..<world {
    let text = group.broadcast(rank == r ? Data(failures.joined(separator: "\n").utf8) : Data(), root: r)
    if rank == 0 && !text.isEmpty { print(String(decoding: text, as: UTF8.self)) }
}
let totalPassed = stride(from: 0, to: counts.count, by: 2).reduce(0) { $0 + Int(counts[$1]) }
let totalFailed = stride(from: 1, to: counts.count, by: 2).reduce(0) { $0 + Int(counts[$1]) }
if rank == 0 {
    for f in failures { print(f) }
    print("distributed checks on \(world) processes: \(totalPassed) passed, \(totalFailed) failed")
}
fflush(stdout)
group.finish()
exit(totalFailed == 0 ? 0 : 1)
