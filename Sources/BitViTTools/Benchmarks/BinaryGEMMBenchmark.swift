import BitViTCore
import BitViTExport
import BitViTRuntime
import CBitKernels
import Foundation

/// Binary, multi-plane and int8 GEMM speed against OpenBLAS sgemm on the same shapes (DeiT-S
/// layers, C = A·Bᵀ), in one process and one run, plus the core's measured instruction
/// ceilings (`bitvit bench bgemm`).
public struct BinaryGEMMBenchmark {
    public struct Ceilings: Encodable {
        public var clock_ghz: Double
        public var fma512_gmac_per_s: Double
        public var fma256_gmac_per_s: Double
        public var popcnt512_gbmac_per_s: Double
        public var popcnt_avx2_gbmac_per_s: Double
        public var vnni512_gmac_per_s: Double
        /// Binary MACs per FP32 MAC at peak: the physical ceiling of the binary speedup.
        public var binary_over_fma_ratio: Double
    }

    public struct Row: Encodable {
        public var label: String
        public var m: Int, n: Int, k: Int
        public var sgemm_gflops: Double
        public var sgemm_us: Double
        public var kernel: String
        /// 2·M·N·K / time (the float-equivalent operation rate).
        public var gops: Double
        public var us: Double
        /// gops / sgemm_gflops, both medians of the same run.
        public var ratio: Double
        /// Including packing the float activations (binary rows only).
        public var with_packing_gops: Double?
        public var with_packing_ratio: Double?
    }

    /// One thread timed in thread CPU time: the kernel's rate on a core, against the ceiling.
    public struct CoreRow: Encodable {
        public var label: String
        public var m: Int, n: Int, k: Int
        public var kernel: String
        /// Binary (or int8) multiply-accumulates per second of thread CPU time.
        public var gmac_per_s: Double
        /// gmac_per_s over the measured register-resident ceiling of the path's instructions
        /// (AVX-512 popcount or VNNI, the AVX2 nibble-table popcount); 0 when there is none here.
        public var fraction_of_ceiling: Double
    }

    /// The AVX2 table-lookup kernel against the AVX2 panel kernel on the same operands (weights
    /// packed with and without their nibble layout): one thread, thread CPU time, alternating.
    public struct LookupRow: Encodable {
        public var label: String
        public var m: Int, n: Int, k: Int
        /// Binary multiply-accumulates per second (output transform included).
        public var panel_gbmac_per_s: Double
        public var lookup_gbmac_per_s: Double
        public var ratio: Double
    }

    public struct Report: Encodable {
        /// 1-minute load average before and after the run (other processes share the cores).
        public var load_average: [Double]
        public var path: String
        public var int8_path: String
        public var threads: Int
        public var blas_core: String
        public var blas_selection: String
        public var rounds: Int
        public var seconds_per_measurement: Double
        public var ceilings: Ceilings
        public var binary: [Row]
        public var binary_min_ratio: Double
        public var multi_plane: [Row]
        public var int8: [Row]
        public var single_core: [CoreRow]
        /// Empty unless the binary path is AVX2.
        public var lookup_tables: [LookupRow]
    }

    /// The human-readable report.
    public static func text(_ r: Report) -> String {
        var lines: [String] = []
        let c = r.ceilings
        lines.append(String(format: "ceilings (1 thread, CPU time, %.2f GHz): FMA zmm %.1f GMAC/s, xor+popcnt+add zmm %.0f GbMAC/s (ratio %.1f×), AVX2 popcount %.0f GbMAC/s, vpdpbusd zmm %.0f GMAC/s",
                            c.clock_ghz, c.fma512_gmac_per_s, c.popcnt512_gbmac_per_s, c.binary_over_fma_ratio,
                            c.popcnt_avx2_gbmac_per_s, c.vnni512_gmac_per_s))
        lines.append("path \(r.path) (int8 \(r.int8_path)), \(r.threads) threads, sgemm OpenBLAS \(r.blas_core) [\(r.blas_selection)], medians of \(r.rounds) rounds"
                     + String(format: ", load average %.1f → %.1f", r.load_average[0], r.load_average[1]))
        func table(_ title: String, _ rows: [Row]) {
            lines.append(title)
            for row in rows {
                var s = row.label.padding(toLength: 26, withPad: " ", startingAt: 0)
                s += String(format: " M=%-4d N=%-5d K=%-5d sgemm %6.1f GFLOPS %7.1f µs | %@ %7.0f GOPS %6.1f µs  ×%.1f",
                            row.m, row.n, row.k, row.sgemm_gflops, row.sgemm_us, row.kernel, row.gops, row.us, row.ratio)
                if let g = row.with_packing_gops, let q = row.with_packing_ratio {
                    s += String(format: "  (with packing %.0f GOPS ×%.1f)", g, q)
                }
                lines.append(s)
            }
        }
        table("binary W1A1 (XNOR-popcount), GOPS = 2·M·N·K/t:", r.binary)
        lines.append(String(format: "  minimum binary/sgemm ratio: %.1f×", r.binary_min_ratio))
        table("multi-plane:", r.multi_plane)
        table("int8 (u8×s8→s32):", r.int8)
        lines.append("one thread, thread CPU time (kernel rate on a core vs the measured loop of its path: AVX-512 popcount or VNNI, AVX2 nibble-table popcount):")
        for row in r.single_core {
            lines.append(row.label.padding(toLength: 26, withPad: " ", startingAt: 0)
                + String(format: " M=%-4d N=%-5d K=%-5d %@ %6.0f GMAC/s", row.m, row.n, row.k, row.kernel, row.gmac_per_s)
                + (row.fraction_of_ceiling > 0 ? String(format: "  %3.0f%% of ceiling", 100 * row.fraction_of_ceiling) : ""))
        }
        if !r.lookup_tables.isEmpty {
            lines.append("AVX2 table lookup vs panel kernel (1 thread, thread CPU time, alternating):")
            for row in r.lookup_tables {
                lines.append(row.label.padding(toLength: 26, withPad: " ", startingAt: 0)
                    + String(format: " M=%-4d N=%-5d K=%-5d panel %6.1f GbMAC/s  table lookup %6.1f GbMAC/s  ×%.2f",
                             row.m, row.n, row.k, row.panel_gbmac_per_s, row.lookup_gbmac_per_s, row.ratio))
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Seconds per measurement.
    public var seconds: Double
    /// Alternating rounds per shape; medians are reported.
    public var rounds: Int
    /// A forced kernel path (nil: the best for the CPU).
    public var path: BinaryKernelPath?
    /// Seconds per instruction-ceiling loop.
    public var ceilingSeconds: Double
    var rng = RandomGenerator(seed: 7)

    public init(seconds: Double = 0.1, rounds: Int = 7, path: BinaryKernelPath? = nil, ceilingSeconds: Double = 0.15) {
        self.seconds = seconds
        self.rounds = max(1, rounds)
        self.path = path
        self.ceilingSeconds = ceilingSeconds
    }

    /// DeiT-S linear layers at 197 tokens.
    static let deitSmall: [(label: String, n: Int, k: Int)] = [
        ("DeiT-S qkv", 1152, 384), ("DeiT-S proj", 384, 384), ("DeiT-S fc1", 1536, 384), ("DeiT-S fc2", 384, 1536),
    ]

    /// Mean seconds per call of `body`, over at least `seconds` (after one warm-up call). Calls
    /// run on the spinning worker pool, as the inference engine runs its kernels
    /// (`Parallel.withSpinningWorkers`), for sgemm and the bit kernels alike: at these sizes
    /// (30–100 µs per call) a sleeping worker's wake-up would otherwise be a large part of the time.
    func time(_ body: () -> Void) -> Double {
        Parallel.withSpinningWorkers { secondsPerCall(atLeast: seconds, body) }
    }

    /// Median over `rounds` of the thread CPU seconds per call of `body` (one thread).
    func cpuTime(_ body: () -> Void) -> Double {
        func now() -> Double {
            var t = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
            return Double(t.tv_sec) + 1e-9 * Double(t.tv_nsec)
        }
        body()
        var samples: [Double] = []
        for _ in 0..<rounds {
            var n = 0
            let start = now()
            var elapsed = 0.0
            repeat { body(); n += 1; elapsed = now() - start } while elapsed < seconds
            samples.append(elapsed / Double(n))
        }
        return median(samples)
    }


    /// Medians over `rounds` of the thread CPU seconds per call of `a` and of `b`, one thread,
    /// the two measured alternately in every round.
    func alternatingCPUTime(_ a: () -> Void, _ b: () -> Void) -> (Double, Double) {
        var ta: [Double] = [], tb: [Double] = []
        let saved = rounds
        for _ in 0..<saved {
            var one = self
            one.rounds = 1
            ta.append(one.cpuTime(a))
            tb.append(one.cpuTime(b))
        }
        return (median(ta), median(tb))
    }

    /// BHViT-Tiny's MLP linears at 224 (M = tokens of the stage) and DeiT-S's qkv.
    static let lookupShapes: [(label: String, m: Int, n: Int, k: Int)] = [
        ("BHViT stage-1 fc1", 3136, 512, 64), ("BHViT stage-2 fc1", 784, 1024, 128), ("BHViT stage-3 fc1", 196, 1024, 256),
        ("BHViT stage-3 fc2", 196, 256, 1024), ("BHViT stage-4 fc1", 49, 2048, 512), ("DeiT-S qkv", 197, 1152, 384),
        ("N = 128", 3136, 128, 512),
    ]

    /// Alternates sgemm and the candidate(s) `rounds` times and returns median times.
    func compare(m: Int, n: Int, k: Int, _ candidates: [() -> Void]) -> (sgemm: Double, others: [Double]) {
        var r = rng
        let a = Tensor.randn([m, k], using: &r), b = Tensor.randn([n, k], using: &r)
        let c = Tensor(uninitialized: [m, n])
        let sgemm = {
            BLAS.gemm(transposeB: true, m: m, n: n, k: k, a: a.data, lda: k, b: b.data, ldb: k, c: c.data, ldc: n)
        }
        var ts: [Double] = [], os = [[Double]](repeating: [], count: candidates.count)
        for _ in 0..<rounds {
            ts.append(time(sgemm))
            for (i, f) in candidates.enumerated() { os[i].append(time(f)) }
        }
        return (median(ts), os.map(median))
    }

    func row(_ label: String, m: Int, n: Int, k: Int, kernel: String, sgemm: Double, t: Double,
             withPacking: Double? = nil) -> Row {
        let ops = 2 * Double(m) * Double(n) * Double(k)
        let sg = ops / sgemm / 1e9
        return Row(label: label, m: m, n: n, k: k, sgemm_gflops: sg, sgemm_us: sgemm * 1e6,
                                   kernel: kernel, gops: ops / t / 1e9, us: t * 1e6, ratio: sgemm / t,
                                   with_packing_gops: withPacking.map { ops / $0 / 1e9 },
                                   with_packing_ratio: withPacking.map { sgemm / $0 })
    }

    /// Runs every measurement; `load_average` holds the 1-minute load average before and after.
    public mutating func run() -> Report {
        let before = loadAverage().first ?? 0
        BLAS.configure()
        var cl = bv_ceilings()
        bv_measure_ceilings(ceilingSeconds, &cl)
        let ceilings = Ceilings(
            clock_ghz: cl.clock_hz / 1e9, fma512_gmac_per_s: cl.fma512_mac_per_s / 1e9,
            fma256_gmac_per_s: cl.fma256_mac_per_s / 1e9, popcnt512_gbmac_per_s: cl.popcnt512_bmac_per_s / 1e9,
            popcnt_avx2_gbmac_per_s: cl.popcnt_avx2_bmac_per_s / 1e9, vnni512_gmac_per_s: cl.vnni512_mac_per_s / 1e9,
            binary_over_fma_ratio: cl.fma512_mac_per_s > 0 ? cl.popcnt512_bmac_per_s / cl.fma512_mac_per_s : 0)
        let m = 197

        // W1A1 linear layers: signs of activations (+ per-channel shift) × signs of weights, with
        // BWN channel scales and a bias fused into the output transform.
        var binary: [Row] = []
        for s in Self.deitSmall {
            let x = Tensor.randn([m, s.k], using: &rng), w = Tensor.randn([s.n, s.k], using: &rng)
            let shift = Tensor.randn([s.k], using: &rng), bias = Tensor.randn([s.n], using: &rng)
            let pw = PackedBinaryWeights(signsOf: w, channelScales: [Float](repeating: 0.05, count: s.n))
            let pa = BinaryPack.signs(x.data, rows: m, k: s.k, shift: shift.data, path: path)
            let out = Tensor(uninitialized: [m, s.n])
            let transform = OutputTransform(scale: 0.7, bias: UnsafePointer(bias.data))
            let p = path
            let gemm = { _ = BinaryGEMM.multiply(pa, pw, into: out.data, transform: transform, path: p) }
            let packAndGemm = {
                BinaryPack.signs(x.data, rowStride: s.k, shift: shift.data, into: pa, path: p)
                _ = BinaryGEMM.multiply(pa, pw, into: out.data, transform: transform, path: p)
            }
            let (sg, o) = compare(m: m, n: s.n, k: s.k, [gemm, packAndGemm])
            binary.append(row(s.label, m: m, n: s.n, k: s.k, kernel: "W1A1", sgemm: sg, t: o[0], withPacking: o[1]))
        }

        var multi: [Row] = []
        do {
            // One attention head of GSB (Â 3 planes × V̂ 3 planes) and of BHViT's QD (3 nested
            // planes × signs), at DeiT-S geometry: 198 queries × 64 dims × 198 keys.
            let (t, d) = (198, 64)
            let att = Tensor.uniform([t, t], low: 0, high: 0.02, using: &rng), v = Tensor.randn([t, d], using: &rng)
            let gsbA = BinaryPack.thresholds(att.data, rows: t, k: t, thresholds: [0.004, 0.014, 0.018],
                                             planeScales: [0.01, 0.02, 0.03], path: path)
            let gsbV = PackedBinaryWeights(BinaryPack.gsbSignedPlanes(v.data, rows: d, k: t, rowStride: 1, kStride: d,
                                                                     alphas: (0.5, 0.3, 0.2), t1: (1.5, -1.5), t2: (2.2, -2.2)))
            let qdA = BinaryPack.quantizedPlanes(att.data, rows: t, k: t, alpha: 0.005, qmax: 3, encoding: .thermometer)
            let vSigns = PackedBinaryWeights(BinaryPack.signs(v.data, rows: d, k: t, rowStride: 1, kStride: d))
            let out = Tensor(uninitialized: [t, d])
            let p = path
            let (sg, o) = compare(m: t, n: d, k: t, [
                { _ = BinaryGEMM.multiply(gsbA, gsbV, into: out.data, path: p) },
                { _ = BinaryGEMM.multiply(qdA, vSigns, into: out.data, path: p) },
            ])
            multi.append(row("GSB Â·V̂ (3×3 planes)", m: t, n: d, k: t, kernel: "planes", sgemm: sg, t: o[0]))
            multi.append(row("BHViT QD Â·V (3 fused)", m: t, n: d, k: t, kernel: "planes", sgemm: sg, t: o[1]))
        }
        // Q-ViT-style b-bit × b-bit at DeiT-S fc1: bit planes (b×b binary products) vs int8 VNNI.
        var int8: [Row] = []
        for bits in [2, 4] {
            let (n, k) = (1536, 384)
            let ac = (0..<(m * k)).map { _ in Int32(rng.nextInt(below: 1 << bits)) }
            let wc = (0..<(n * k)).map { _ in Int32(rng.nextInt(below: 1 << bits) - (1 << (bits - 1))) }
            let planesA = BinaryPack.codePlanes(ac, rows: m, k: k, bits: bits, signed: false)
            let planesW = PackedBinaryWeights(BinaryPack.codePlanes(wc, rows: n, k: k, bits: bits, signed: true))
            let qa = QuantizedInt8Matrix(codes: ac.map { UInt8($0) }, rows: m, k: k)
            let qw = wc.map { Int8($0) }.withUnsafeBufferPointer { PackedInt8Weights(codes: $0.baseAddress!, rows: n, k: k) }
            let out = Tensor(uninitialized: [m, n])
            let p = path
            let (sg, o) = compare(m: m, n: n, k: k, [
                { _ = BinaryGEMM.multiply(planesA, planesW, into: out.data, path: p) },
                { _ = Int8GEMM.multiply(qa, qw, into: out.data, path: p) },
            ])
            multi.append(row("W\(bits)A\(bits) DeiT-S fc1 planes", m: m, n: n, k: k, kernel: "\(bits * bits) planes",
                             sgemm: sg, t: o[0]))
            int8.append(row("W\(bits)A\(bits) DeiT-S fc1 int8", m: m, n: n, k: k, kernel: "int8", sgemm: sg, t: o[1]))
        }
        // 8-bit layers: DeiT-S patch embedding (196 patches × 384 × 768) and the linear shapes.
        let eightBitShapes = [("DeiT-S patch embed", 196, 384, 768)] + Self.deitSmall.map { ($0.label, m, $0.n, $0.k) }
        for (label, mm, n, k) in eightBitShapes {
            let qa = QuantizedInt8Matrix(codes: (0..<(mm * k)).map { _ in UInt8(rng.nextInt(below: 256)) }, rows: mm, k: k,
                                         scale: 0.02, zeroPoints: [Int32](repeating: 128, count: mm))
            let qw = (0..<(n * k)).map { _ in Int8(rng.nextInt(below: 256) - 128) }.withUnsafeBufferPointer {
                PackedInt8Weights(codes: $0.baseAddress!, rows: n, k: k, channelScales: [Float](repeating: 0.01, count: n))
            }
            let out = Tensor(uninitialized: [mm, n])
            let p = path
            let (sg, o) = compare(m: mm, n: n, k: k, [{ _ = Int8GEMM.multiply(qa, qw, into: out.data, path: p) }])
            int8.append(row(label, m: mm, n: n, k: k, kernel: "int8", sgemm: sg, t: o[0]))
        }

        // Kernel rate per core, free of scheduling noise: one thread, thread CPU time.
        var single: [CoreRow] = []
        let binaryCeiling = BinaryKernels.resolve(path) == .avx512 ? ceilings.popcnt512_gbmac_per_s
            : BinaryKernels.resolve(path) == .avx2 ? ceilings.popcnt_avx2_gbmac_per_s : 0
        let int8Ceiling = BinaryKernels.resolveInt8(path) == .avx512 ? ceilings.vnni512_gmac_per_s : 0
        func fraction(_ rate: Double, _ ceiling: Double) -> Double { ceiling > 0 ? rate / ceiling : 0 }
        Parallel.onCallingThread {
            for s in Self.deitSmall + [("K = 8192", 384, 8192)] {
                let x = Tensor.randn([m, s.k], using: &rng), w = Tensor.randn([s.n, s.k], using: &rng)
                let pa = BinaryPack.signs(x.data, rows: m, k: s.k, path: path), pw = PackedBinaryWeights(signsOf: w)
                let out = Tensor(uninitialized: [m, s.n])
                let p = path
                let t = cpuTime { _ = BinaryGEMM.multiply(pa, pw, into: out.data, path: p) }
                let rate = Double(m * s.n * s.k) / t / 1e9
                single.append(CoreRow(label: s.0, m: m, n: s.n, k: s.k, kernel: "W1A1", gmac_per_s: rate,
                                      fraction_of_ceiling: fraction(rate, binaryCeiling)))
            }
            for s in Self.deitSmall {
                let qa = QuantizedInt8Matrix(codes: (0..<(m * s.k)).map { _ in UInt8(rng.nextInt(below: 256)) }, rows: m, k: s.k)
                let qw = (0..<(s.n * s.k)).map { _ in Int8(rng.nextInt(below: 256) - 128) }.withUnsafeBufferPointer {
                    PackedInt8Weights(codes: $0.baseAddress!, rows: s.n, k: s.k)
                }
                let out = Tensor(uninitialized: [m, s.n])
                let p = path
                let t = cpuTime { _ = Int8GEMM.multiply(qa, qw, into: out.data, path: p) }
                let rate = Double(m * s.n * s.k) / t / 1e9
                single.append(CoreRow(label: s.label, m: m, n: s.n, k: s.k, kernel: "int8", gmac_per_s: rate,
                                      fraction_of_ceiling: fraction(rate, int8Ceiling)))
            }
        }

        var lookup: [LookupRow] = []
        if BinaryKernels.resolve(path) == .avx2 {
            Parallel.onCallingThread {
                for s in Self.lookupShapes {
                    let x = Tensor.randn([s.m, s.k], using: &rng), w = Tensor.randn([s.n, s.k], using: &rng)
                    let pa = BinaryPack.signs(x.data, rows: s.m, k: s.k, path: path)
                    let scales = [Float](repeating: 0.05, count: s.n)
                    let panel = PackedBinaryWeights(signsOf: w, channelScales: scales, lookupTables: false)
                    let tables = PackedBinaryWeights(signsOf: w, channelScales: scales, lookupTables: true)
                    let out = Tensor(uninitialized: [s.m, s.n])
                    let (tp, tl) = alternatingCPUTime({ _ = BinaryGEMM.multiply(pa, panel, into: out.data, path: .avx2) },
                                                      { _ = BinaryGEMM.multiply(pa, tables, into: out.data, path: .avx2) })
                    let macs = Double(s.m * s.n * s.k)
                    lookup.append(LookupRow(label: s.label, m: s.m, n: s.n, k: s.k, panel_gbmac_per_s: macs / tp / 1e9,
                                            lookup_gbmac_per_s: macs / tl / 1e9, ratio: tp / tl))
                }
            }
        }

        return Report(
            load_average: [before, loadAverage().first ?? 0], path: BinaryKernels.resolve(path).description, int8_path: BinaryKernels.resolveInt8(path).description,
            threads: Parallel.threadCount, blas_core: BLAS.coreName, blas_selection: BLAS.coreSelection,
            rounds: rounds, seconds_per_measurement: seconds, ceilings: ceilings,
            binary: binary, binary_min_ratio: binary.map(\.ratio).min() ?? 0, multi_plane: multi, int8: int8,
            single_core: single, lookup_tables: lookup)
    }
}
