import BitViTDistributed
import BitViTTrain
import Foundation
import Testing

/// Data-parallel training under `mpirun --oversubscribe -np 2`: the multi-process checks, and
/// `bitvit train` end to end (the same weights as one process with the global batch, exact
/// resume, clear failures). Skipped without Open MPI's `mpirun` unless `BITVIT_REQUIRE_MPI` is
/// set (scripts/test sets it, so CI cannot skip them silently).
@Suite(.serialized, .enabled(if: MPILaunch.isAvailable, "needs Open MPI's mpirun (openmpi-bin, installed by scripts/setup)"))
struct MPILaunchTests {
    @Test func multiProcessChecksPass() throws {
        let run = try MPILaunch.run(MPILaunch.executable("bitvit-distributed-checks"), [], processes: 2)
        #expect(run.status == 0, "\(run.output)\n\(run.errors)")
        #expect(run.output.contains("passed, 0 failed"), "\(run.output)")
    }

    /// k steps of 2 processes × batch 8 give the weights of 1 process × batch 16.
    @Test func twoProcessesTrainLikeOneWithTheGlobalBatch() throws {
        let work = try MPILaunch.workspace("equivalence")
        defer { try? FileManager.default.removeItem(at: work) }
        let one = try MPILaunch.train(work, run: "one", batch: 16, processes: nil, ["model.drop_rate=0", "model.drop_path_rate=0"])
        #expect(one.status == 0, "\(one.errors)")
        let two = try MPILaunch.train(work, run: "two", batch: 8, processes: 2, ["model.drop_rate=0", "model.drop_path_rate=0"])
        #expect(two.status == 0, "\(two.errors)")
        #expect(two.output.components(separatedBy: "Done.").count == 2, "rank 0 alone prints:\n\(two.output)")
        let a = try Checkpoint.load(work.appendingPathComponent("one/last.safetensors"))
        let b = try Checkpoint.load(work.appendingPathComponent("two/last.safetensors"))
        #expect(a.state?.globalStep == 6 && b.state?.globalStep == 6)
        #expect(a.state?.worldSize == nil && b.state?.worldSize == 2 && b.state?.processRandom?.count == 2)
        for (name, t) in a.modelTensors {
            let u = try #require(b.modelTensors[name])
            let worst = zip(t.scalars, u.scalars).map { abs($0 - $1) - (1e-4 + 1e-3 * abs($0)) }.max() ?? 0
            #expect(worst <= 0, "\(name) differs by more than the tolerance (excess \(worst))")
        }
        let epochsA = try MetricsLog.read(work.appendingPathComponent("one/metrics.jsonl")).filter { $0.type == "epoch" }
        let epochsB = try MetricsLog.read(work.appendingPathComponent("two/metrics.jsonl")).filter { $0.type == "epoch" }
        #expect(epochsA.count == 2 && epochsB.count == 2, "one metrics line per epoch: rank 0 alone writes")
        for (x, y) in zip(epochsA, epochsB) {
            #expect(abs(x.trainLoss - y.trainLoss) < 1e-4 && x.valTop1 == y.valTop1, "epoch \(x.epoch): \(x) vs \(y)")
        }
        let testA = try #require(try TestReport.read(work.appendingPathComponent("one/test.json")))
        let testB = try #require(try TestReport.read(work.appendingPathComponent("two/test.json")))
        #expect(testA.last.result.count == 16 && testB.last.result.count == 16, "the sharded test split is counted once")
    }

    /// A 2-process run stopped after 4 steps and resumed on 2 processes ends with the bit-identical
    /// weights and losses of an uninterrupted one (dropout and drop path on: each process's
    /// random stream is restored); resuming on 1 process is a clear error.
    @Test func resumeAcrossAnInterruptionIsExact() throws {
        let work = try MPILaunch.workspace("resume")
        defer { try? FileManager.default.removeItem(at: work) }
        let straight = try MPILaunch.train(work, run: "straight", batch: 8, processes: 2)
        #expect(straight.status == 0, "\(straight.errors)")
        let first = try MPILaunch.train(work, run: "resumed", batch: 8, processes: 2, extra: ["--stop-at-step", "4"])
        #expect(first.status == 0 && first.output.contains("Interrupted after 4 steps"), "\(first.output)\n\(first.errors)")
        let alone = try MPILaunch.train(work, run: "resumed", batch: 8, processes: nil, extra: ["--resume"])
        #expect(alone.status != 0 && alone.errors.contains("saved by a run of 2 processes"), "\(alone.errors)")
        let second = try MPILaunch.train(work, run: "resumed", batch: 8, processes: 2, extra: ["--resume"])
        #expect(second.status == 0, "\(second.errors)")
        let a = try Checkpoint.load(work.appendingPathComponent("straight/last.safetensors"))
        let b = try Checkpoint.load(work.appendingPathComponent("resumed/last.safetensors"))
        #expect(b.state?.globalStep == 6)
        for (name, t) in a.modelTensors {
            let identical = t.scalars == b.modelTensors[name]?.scalars
            #expect(identical, "\(name) differs between the straight and the resumed run")
        }
        let losses = { (run: String) in
            try MetricsLog.read(work.appendingPathComponent("\(run)/metrics.jsonl")).filter { $0.type == "step" }.map(\.trainLoss)
        }
        #expect(try losses("straight") == losses("resumed") && (try losses("straight")).count == 6)
    }

    /// A process killed mid-run ends the job with an error instead of leaving the other waiting.
    @Test func aKilledProcessEndsTheJob() throws {
        let work = try MPILaunch.workspace("kill")
        defer { try? FileManager.default.removeItem(at: work) }
        let run = try MPILaunch.trainWhile(work, ["training.epochs=1000"]) { rank1 in kill(rank1, SIGKILL) }
        #expect(run.status != 0 && !run.timedOut, "\(run.errors)")
    }

    /// A process that stops answering (SIGSTOP) makes the other give up after
    /// `distributed.timeout_seconds` and end the job.
    @Test func aHungProcessEndsTheJobAfterTheTimeout() throws {
        let work = try MPILaunch.workspace("hang")
        defer { try? FileManager.default.removeItem(at: work) }
        let run = try MPILaunch.trainWhile(work, ["training.epochs=1000", "distributed.timeout_seconds=3"]) { rank1 in
            kill(rank1, SIGSTOP)
        }
        #expect(run.status != 0 && !run.timedOut, "\(run.errors)")
        #expect(run.errors.contains("has waited") && run.errors.contains("distributed.timeout_seconds"), "\(run.errors)")
    }
}

/// Starting BitViT's executables under mpirun from the tests.
enum MPILaunch {
    static var isAvailable: Bool {
        MPILauncher.mpirun != nil || ProcessInfo.processInfo.environment["BITVIT_REQUIRE_MPI"] != nil
    }

    /// A product built beside the test bundle (`swift build --build-tests` builds them all).
    static func executable(_ name: String) throws -> String {
        var candidates = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        if let main = Bundle.main.executableURL { candidates.append(main.deletingLastPathComponent()) }
        candidates += candidates.map { $0.deletingLastPathComponent() }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates += ["release", "debug"].map { root.appendingPathComponent(".build/\($0)") }
        for directory in candidates {
            let url = directory.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: url.path) { return url.path }
        }
        throw BitViTError.missing("the built executable '\(name)' (run swift build --build-tests first)")
    }

    struct Outcome {
        var status: Int32
        var output: String
        var errors: String
        var timedOut = false
    }

    /// Runs `executable arguments` (under mpirun when `processes` is given), at most `timeout` s.
    static func run(_ executable: String, _ arguments: [String], processes: Int?, in directory: URL? = nil,
                    timeout: Double = 240, whileRunning: ((Process) throws -> Void)? = nil) throws -> Outcome {
        let process: Process
        if let processes {
            // Shared-memory transfers without the single-copy mechanism (CMA), which containers
            // often forbid.
            var launcher = MPILauncher(processes: processes)
            launcher.options += ["--mca", "btl_vader_single_copy_mechanism", "none"]
            process = try launcher.process(executable: executable, arguments: arguments)
        } else {
            process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        process.currentDirectoryURL = directory
        let outputFile = FileManager.default.temporaryDirectory.appendingPathComponent("bitvit-mpi-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: outputFile.path + ".out", contents: nil)
        FileManager.default.createFile(atPath: outputFile.path + ".err", contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: outputFile.path + ".out")
            try? FileManager.default.removeItem(atPath: outputFile.path + ".err")
        }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outputFile.path + ".out"))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: outputFile.path + ".err"))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        do { try whileRunning?(process) } catch {
            process.terminate()
            process.waitUntilExit()
            throw error
        }
        while process.isRunning {
            if Date() > deadline {
                timedOut = true
                kill(process.processIdentifier, SIGKILL)
                break
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        process.waitUntilExit()
        let read = { (suffix: String) in (try? String(contentsOfFile: outputFile.path + suffix, encoding: .utf8)) ?? "" }
        return Outcome(status: process.terminationStatus, output: read(".out"), errors: read(".err"), timedOut: timedOut)
    }

    /// A directory with a small image-folder data set (`data/`: 4 classes of 8×8 gray images,
    /// 16 training and 4 test images each).
    static func workspace(_ name: String) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("bitvit-mpi-\(name)-\(UUID().uuidString)")
        var rng = RandomGenerator(seed: 5)
        for (split, count) in [("train", 16), ("test", 4)] {
            for c in 0..<4 {
                let folder = root.appendingPathComponent("data/\(split)/class\(c)")
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                for i in 0..<count {
                    // Noise plus a class-dependent brightness, so the model learns something.
                    let pixels = (0..<64).map { _ in UInt8(min(255, rng.nextInt(below: 128) + 40 * c)) }
                    try Data(try Image(height: 8, width: 8, channels: 1, pixels: pixels).pngData())
                        .write(to: folder.appendingPathComponent(String(format: "%02d.png", i)))
                }
            }
        }
        return root
    }

    /// `bitvit train` of a tiny ViT on the workspace's data: 56 training images (8 carved for
    /// validation), 2 epochs of 3 steps at a global batch of 16, per-step metrics.
    static func train(_ work: URL, run: String, batch: Int, processes: Int?, _ overrides: [String] = [],
                      extra: [String] = [], whileRunning: ((Process) throws -> Void)? = nil) throws -> Outcome {
        let settings = [
            "name=\(run)", "model.name=vit-mnist", "model.classes=4", "model.image_size=8", "model.patch_size=4",
            "model.in_channels=1", "model.dim=16", "model.depth=2", "model.heads=2", "model.mlp_ratio=2",
            "model.drop_rate=0.1", "model.drop_path_rate=0.1",
            "data.dataset=image-folder", "data.root=\(work.appendingPathComponent("data").path)", "data.batch_size=\(batch)",
            "data.validation.size=2", "data.normalization=mnist", "data.augmentation.horizontal_flip=true",
            "optimizer.lr=3e-3", "optimizer.lr_batch_reference=16", "optimizer.clip_grad_norm=1",
            "schedule.warmup_epochs=1", "schedule.stepping=iteration",
            "training.epochs=2", "training.seed=3", "training.log_every=1", "training.output=\(work.path)",
        ] + overrides
        return try self.run(try executable("bitvit"), ["train"] + settings.flatMap { ["--set", $0] } + extra,
                            processes: processes, in: work, whileRunning: whileRunning)
    }

    /// Starts a long 2-process run, waits until it has taken a step, does `act` to rank 1's
    /// process id, and returns how the job ended.
    static func trainWhile(_ work: URL, _ overrides: [String], act: @escaping (pid_t) -> Void) throws -> Outcome {
        try train(work, run: "long", batch: 8, processes: 2, overrides, whileRunning: { mpirun in
            let metrics = work.appendingPathComponent("long/metrics.jsonl")
            let deadline = Date().addingTimeInterval(120)
            while (try? String(contentsOf: metrics, encoding: .utf8))?.contains("\"step\"") != true {
                guard mpirun.isRunning, Date() < deadline else { throw BitViTError.io("the run did not start training") }
                Thread.sleep(forTimeInterval: 0.05)
            }
            guard let rank1 = processOfRank(1, launchedBy: mpirun.processIdentifier) else {
                throw BitViTError.missing("rank 1's process among mpirun's children")
            }
            act(rank1)
        })
    }

    /// The child of `parent` whose environment says it is MPI rank `rank` (Linux /proc).
    static func processOfRank(_ rank: Int, launchedBy parent: pid_t) -> pid_t? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        for entry in entries {
            guard let pid = pid_t(entry),
                  let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, pid_t(fields[1]) == parent,
                  let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { continue }
            let variables = environment.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if variables.contains("OMPI_COMM_WORLD_RANK=\(rank)") { return pid }
        }
        return nil
    }
}
