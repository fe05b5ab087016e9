import BitViTPlatform
import Foundation

/// `bitvit bench compare`: BitViT's engine against the float and int8 CPU runtimes people use
/// (PyTorch eager, ONNX Runtime FP32 and int8, OpenVINO FP32: `../shared/bench/strong_infer.py`,
/// and `scripts/anchor-memory.py` for their resident memory), measured alternately in the same
/// run with pinned threads. Every measurement is a child process (`taskset` pins it to the first
/// 1 or 2 CPUs), so the runtimes never share a process and each one's memory is its own.
public struct RuntimeComparison {
    /// A BitViT model of the table: its name and `.bitvit` file.
    public struct Model: Sendable {
        public var name: String
        public var file: String
        public init(name: String, file: String) { self.name = name; self.file = file }
    }

    /// One line of `strong_infer.py`: `<runtime> batch=<b> median_ms=<f> p90_ms=<f> img/s=<f>`.
    public struct AnchorTiming: Equatable, Sendable {
        public var runtime: String
        public var batch: Int
        public var medianMs: Double
        public var imagesPerSecond: Double
        public init(runtime: String, batch: Int, medianMs: Double, imagesPerSecond: Double) {
            (self.runtime, self.batch, self.medianMs, self.imagesPerSecond) = (runtime, batch, medianMs, imagesPerSecond)
        }
    }

    /// One line of `anchor-memory.py`: `<runtime> rss_before_mb=<f> peak_rss_mb=<f> engine_mb=<f>`.
    public struct AnchorMemory: Equatable, Sendable {
        public var runtime: String
        public var peakMB: Double
        public var engineMB: Double
        public init(runtime: String, peakMB: Double, engineMB: Double) {
            (self.runtime, self.peakMB, self.engineMB) = (runtime, peakMB, engineMB)
        }
    }

    /// The measurements of one runtime or model (one entry per round).
    public struct Row: Sendable {
        public var name: String
        public var kind: String
        public var msOneThread: [Double] = []
        public var msTwoThreads: [Double] = []
        public var imagesPerSecondBatch16: [Double] = []
        public var peakMB: Double?
        public var engineMB: Double?
        public init(name: String, kind: String) { self.name = name; self.kind = kind }
    }

    /// Key-value fields of a line (`key=value` words after the first).
    static func fields(_ line: Substring) -> (String, [String: String])? {
        let words = line.split(separator: " ")
        guard let first = words.first else { return nil }
        var values: [String: String] = [:]
        for w in words.dropFirst() {
            let parts = w.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
        }
        return (String(first), values)
    }

    /// The timing lines of `strong_infer.py`'s output (other lines are ignored).
    public static func parseTimings(_ output: String) -> [AnchorTiming] {
        output.split(separator: "\n").compactMap { line in
            guard let (name, v) = fields(line), let b = v["batch"].flatMap({ Int($0) }), let ms = v["median_ms"].flatMap({ Double($0) }),
                  let rate = v["img/s"].flatMap({ Double($0) }) else { return nil }
            return AnchorTiming(runtime: name, batch: b, medianMs: ms, imagesPerSecond: rate)
        }
    }

    /// The memory lines of `anchor-memory.py`'s output.
    public static func parseMemory(_ output: String) -> [AnchorMemory] {
        output.split(separator: "\n").compactMap { line in
            guard let (name, v) = fields(line), let peak = v["peak_rss_mb"].flatMap({ Double($0) }),
                  let engine = v["engine_mb"].flatMap({ Double($0) }) else { return nil }
            return AnchorMemory(runtime: name, peakMB: peak, engineMB: engine)
        }
    }

    static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let s = values.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// The Markdown table (LCE-style): per row the median over rounds and the range.
    public static func markdownTable(_ rows: [Row]) -> String {
        func cell(_ values: [Double], _ format: String) -> String {
            guard let m = median(values) else { return "—" }
            let lo = values.min()!, hi = values.max()!
            return values.count > 1 && lo != hi ? String(format: format, m) + " (" + String(format: format, lo) + "–" + String(format: format, hi) + ")"
                : String(format: format, m)
        }
        var lines = ["| model / runtime | kind | ms, batch 1, 1 thread | ms, batch 1, 2 threads | images/s, batch 16, 2 threads | peak RSS (MB) | engine RSS (MB) |",
                     "|---|---|---:|---:|---:|---:|---:|"]
        for r in rows {
            lines.append("| \(r.name) | \(r.kind) | \(cell(r.msOneThread, "%.1f")) | \(cell(r.msTwoThreads, "%.1f")) | "
                         + "\(cell(r.imagesPerSecondBatch16, "%.1f")) | \(r.peakMB.map { String(format: "%.0f", $0) } ?? "—") | "
                         + "\(r.engineMB.map { String(format: "%.0f", $0) } ?? "—") |")
        }
        return lines.joined(separator: "\n")
    }

    /// Per round, the fastest FP32 anchor and ONNX Runtime int8 over each BitViT model at
    /// batch 1 and 2 threads (`anchor ms / model ms`).
    public static func ratios(_ rows: [Row], fp32: [String] = ["torch-eager", "onnxruntime-fp32", "openvino-fp32"],
                              int8: String = "onnxruntime-int8") -> [String] {
        let anchors = Dictionary(rows.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let rounds = rows.map(\.msTwoThreads.count).max() ?? 0
        var lines: [String] = []
        for r in rows where r.kind != "anchor" {
            var parts: [String] = []
            for i in 0..<min(rounds, r.msTwoThreads.count) {
                let best = fp32.compactMap { anchors[$0]?.msTwoThreads }.compactMap { $0.indices.contains(i) ? $0[i] : nil }.min()
                let q = anchors[int8].flatMap { $0.msTwoThreads.indices.contains(i) ? $0.msTwoThreads[i] : nil }
                let m = r.msTwoThreads[i]
                parts.append("round \(i + 1): " + (best.map { String(format: "%.2f× best FP32", $0 / m) } ?? "no FP32 anchor")
                             + (q.map { String(format: ", %.2f× ORT int8", $0 / m) } ?? ""))
            }
            lines.append("\(r.name): " + parts.joined(separator: "; "))
        }
        return lines
    }
}

/// Runs the comparison: child processes of the `bitvit` executable and of the anchors' python.
public struct RuntimeComparisonRunner {
    /// The `bitvit` executable measuring the models (`bench infer --json`).
    public var executable: String
    /// The anchors' python (`../shared/bench/setup-anchors.sh` prints it); nil: BitViT alone.
    public var python: String?
    /// The folder of `strong_infer.py`.
    public var anchorsDirectory: String
    /// `scripts/anchor-memory.py`.
    public var memoryScript: String
    public var models: [RuntimeComparison.Model]
    public var rounds = 3
    /// Receives progress lines.
    public var log: (String) -> Void = { _ in }

    public init(executable: String, python: String?, anchorsDirectory: String, memoryScript: String,
                models: [RuntimeComparison.Model]) {
        self.executable = executable
        self.python = python
        self.anchorsDirectory = anchorsDirectory
        self.memoryScript = memoryScript
        self.models = models
    }

    /// CPU model, the instruction-set features the kernels use, and the load average.
    public static func machineDescription() -> String {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = info.split(separator: "\n").first { $0.hasPrefix("model name") }.map { $0.split(separator: ":", maxSplits: 1).last!.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
        let flags = Set(info.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").map(String.init) ?? [])
        let wanted = ["popcnt", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vpopcntdq", "avx512_vnni", "avx512_bf16", "avx_vnni"]
        let load = InferenceBenchmark.loadAverage().map { String(format: "%.2f", $0) }.joined(separator: " ")
        return "\(model), \(ProcessInfo.processInfo.activeProcessorCount) CPUs; features: "
            + wanted.filter(flags.contains).joined(separator: " ") + "; load average \(load)"
    }

    /// Runs `arguments` pinned to the first `threads` CPUs with `threads` worker threads; its stdout.
    func child(_ arguments: [String], threads: Int) throws -> String {
        let p = Process()
        let taskset = "/usr/bin/taskset"
        if FileManager.default.isExecutableFile(atPath: taskset) {
            p.executableURL = URL(fileURLWithPath: taskset)
            p.arguments = ["-c", (0..<threads).map(String.init).joined(separator: ",")] + arguments
        } else {
            p.executableURL = URL(fileURLWithPath: arguments[0])
            p.arguments = Array(arguments.dropFirst())
        }
        var environment = ProcessInfo.processInfo.environment
        for key in ["BITVIT_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"] { environment[key] = "\(threads)" }
        p.environment = environment
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.standardError
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw BitViTError.invalidArgument("bench compare: `\(arguments.joined(separator: " "))` exited with status \(p.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    func infer(_ model: RuntimeComparison.Model, threads: Int, _ options: [String]) throws -> InferenceBenchmark.Report {
        let output = try child([executable, "bench", "infer", model.file, "--bit-only", "--json", "--threads", "\(threads)"] + options, threads: threads)
        return try JSONDecoder().decode(InferenceBenchmark.Report.self, from: Data(output.utf8))
    }

    public func run() throws -> [RuntimeComparison.Row] {
        var rows: [RuntimeComparison.Row] = []
        func update(_ name: String, kind: String, _ change: (inout RuntimeComparison.Row) -> Void) {
            if let i = rows.firstIndex(where: { $0.name == name }) { change(&rows[i]); return }
            var r = RuntimeComparison.Row(name: name, kind: kind)
            change(&r)
            rows.append(r)
        }
        let strongInfer = anchorsDirectory + "/strong_infer.py"
        let anchors = python != nil && FileManager.default.fileExists(atPath: strongInfer)
        if !anchors { log("anchors skipped: " + (python == nil ? "no anchors python (--anchors-python or BITVIT_ANCHORS_PY)" : "\(strongInfer) not found")) }
        for round in 1...max(1, rounds) {
            for threads in [1, 2] {
                log("round \(round), \(threads) thread(s), batch 1; load \(InferenceBenchmark.loadAverage().first.map { String(format: "%.2f", $0) } ?? "?")")
                if anchors, let python {
                    for t in RuntimeComparison.parseTimings(try child([python, strongInfer, "--batch", "1", "--threads", "\(threads)", "--iters", "20"], threads: threads)) {
                        update(t.runtime, kind: "anchor") { threads == 1 ? $0.msOneThread.append(t.medianMs) : $0.msTwoThreads.append(t.medianMs) }
                    }
                }
                for m in models {
                    let r = try infer(m, threads: threads, ["--rounds", "2", "--iters", "10", "--batch-iters", "0"])
                    update(m.name, kind: r.family) { threads == 1 ? $0.msOneThread.append(r.bit_kernels.latency_ms_median)
                                                                  : $0.msTwoThreads.append(r.bit_kernels.latency_ms_median) }
                }
            }
            log("round \(round), 2 threads, batch 16")
            if anchors, let python {
                for t in RuntimeComparison.parseTimings(try child([python, strongInfer, "--batch", "16", "--threads", "2", "--iters", "5"], threads: 2)) {
                    update(t.runtime, kind: "anchor") { $0.imagesPerSecondBatch16.append(t.imagesPerSecond) }
                }
            }
            for m in models {
                let r = try infer(m, threads: 2, ["--rounds", "1", "--iters", "1", "--batch", "16", "--batch-iters", "2"])
                if let rate = r.bit_kernels.throughput_images_per_s { update(m.name, kind: r.family) { $0.imagesPerSecondBatch16.append(rate) } }
            }
        }
        log("resident memory, batch 1, 2 threads")
        if anchors, let python, FileManager.default.fileExists(atPath: memoryScript) {
            for a in RuntimeComparison.parseMemory(try child([python, memoryScript, "--threads", "2"], threads: 2)) {
                update(a.runtime, kind: "anchor") { $0.peakMB = a.peakMB; $0.engineMB = a.engineMB }
            }
        }
        for m in models {
            let r = try infer(m, threads: 2, ["--rounds", "1", "--iters", "10", "--batch", "1", "--batch-iters", "0"])
            update(m.name, kind: r.family) {
                $0.peakMB = Double(r.peak_resident_bytes) / 1e6
                $0.engineMB = Double(r.peak_resident_bytes - r.resident_bytes_before_load) / 1e6
            }
        }
        return rows
    }
}
