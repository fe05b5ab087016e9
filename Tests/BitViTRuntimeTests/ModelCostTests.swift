import BitViTCore
import BitViTExport
import BitViTModels
import BitViTRuntime
import Testing

/// OPs in the papers' convention against the figures of docs/reference/cost.md.
@Suite("Model cost (BOPs, FLOPs, OPs)")
struct ModelCostTests {
    static func deit(_ preset: String, distilled: Bool, bits: Int? = nil, classes: Int? = nil) throws -> ViTArchitecture {
        let c = try ViTConfig.preset(preset, classes: classes, distilled: distilled)
        return ViTArchitecture(imageSize: c.imageSize, patchSize: c.patchSize, inChannels: c.inChannels, dim: c.dim, depth: c.depth,
                               heads: c.heads, mlpHidden: c.mlpHidden, classes: c.classes, distilled: distilled, layerNormEps: 1e-12,
                               bits: bits, rectifiesQueriesAndKeys: bits == nil ? nil : true, groupThresholds: nil, mlpClip: 10)
    }

    static func cost(_ family: ExportFamily, _ v: ViTArchitecture) -> ModelCost {
        ModelCost(parameters: 0, storage: [], products: ModelCost.products(family: family, v), precision: "")
    }

    @Test("GSB DeiT-S (198 tokens): docs/reference/gsb.md §7 per-image MACs")
    func gsb() throws {
        let cost = Self.cost(.gsb, try Self.deit("deit-small", distilled: true, classes: 100))
        let products = Dictionary(uniqueKeysWithValues: cost.products.map { ($0.name, $0) })
        #expect(products["block linears (W1A1)"]!.macs == 12 * 350_355_456)
        #expect(products["attention q̂·k̂ᵀ (1×1 bit)"]!.macs == 12 * 15_054_336)
        #expect(products["attention Â·v̂ (3×3 planes)"]!.bops == 9 * 12 * 15_054_336)
        #expect(products["patch embedding"]!.macs == 57_802_752)
        #expect(cost.flops == 57_802_752 + 2 * 384 * 100)
        #expect(cost.bops == 12 * 350_355_456 + 10 * 12 * 15_054_336)
    }

    @Test("DeiT MACs per image (197 tokens): docs/reference/cost.md §3, 4.599e9 (S) and 1.254e9 (Ti)")
    func macs() throws {
        for (preset, macs) in [("deit-small", 4.599e9), ("deit-tiny", 1.254e9)] {
            let cost = Self.cost(.deit, try Self.deit(preset, distilled: false))
            #expect(abs(Double(cost.flops) - macs) < 0.0005e9, "\(preset)")
            #expect(cost.bops == 0)
        }
    }

    @Test("Q-ViT OPs and speed-ups: docs/reference/cost.md §4's table", arguments: [
        ("deit-tiny", 3.35e8, 2.01e8, 1.06e8, 11.87), ("deit-small", 11.93e8, 6.97e8, 3.42e8, 13.45),
        ("deit-base", 44.78e8, 25.70e8, 12.07e8, 14.55),
    ])
    func qvit(preset: String, w4: Double, w3: Double, w2: Double, speedUp2: Double) throws {
        let fp = Self.cost(.deit, try Self.deit(preset, distilled: false))
        for (bits, ops) in [(4, w4), (3, w3), (2, w2)] {
            let cost = Self.cost(.qvit, try Self.deit(preset, distilled: false, bits: bits))
            // The table rounds to 0.01e8.
            #expect(abs(cost.ops - ops) <= 0.0051e8, "\(preset) W\(bits)A\(bits): \(cost.ops)")
            if bits == 2 { #expect(abs(fp.ops / cost.ops - speedUp2) < 0.01) }
        }
    }

    @Test("Model size at the deployed bit widths: docs/reference/cost.md §4's table (distilled Q-ViT DeiTs, quantizer scales aside)",
          arguments: [("deit-tiny", 5_910_800, 23.6, 3.47, 2.14), ("deit-small", 22_436_432, 89.7, 12.24, 6.93)])
    func qvitSizes(preset: String, plainParameters: Int, fp: Double, w4: Double, w2: Double) throws {
        let plain = try ModelCost(model: try ModelZoo.make(ModelSpec(name: preset, classes: 1000, distilled: true)))
        #expect(plain.parameters == plainParameters)
        #expect(abs(Double(plain.sizeBytes) / 1e6 - fp) < 0.05)
        for (bits, size) in [(4, w4), (2, w2)] {
            let model = try ModelZoo.make(ModelSpec(name: "qvit-" + preset, classes: 1000, options: ["bits": "\(bits)"]))
            let cost = try ModelCost(model: model)
            // The table counts a plain DeiT's parameters; the quantizer steps and IRM norms are fp32 extras.
            let extra = 4 * (cost.parameters - plainParameters)
            #expect(abs(Double(cost.sizeBytes - extra) / 1e6 - size) < 0.005, "\(preset) W\(bits)")
            #expect(cost.storage.map(\.name) == ["fp32", "int8", "int\(bits)"])
            #expect(cost.precision == "\(bits)/\(bits)")
        }
    }

    @Test("Storage of a file: every tensor counted once, at its stored precision")
    func fileStorage() throws {
        let spec = EngineTestModels.spec("gsb-vit-mnist")
        let file = try ModelFile(bytes: try EngineTestModels.export(try EngineTestModels.model(spec), spec))
        let cost = ModelCost(file: file)
        #expect(cost.storage.map(\.name) == ["fp32", "1-bit", "int8"])
        #expect(cost.storage.reduce(0) { $0 + $1.tensors } == file.tensors.count)
        #expect(cost.sizeBytes == file.tensors.reduce(0) { $0 + $1.byteCount })
        #expect(cost.parameters == file.tensors.reduce(0) { $0 + $1.count })
        #expect(cost.products == ModelCost.products(family: .gsb, file.metadata.vit!))
        #expect(cost.precision == "1/1")
    }
}
