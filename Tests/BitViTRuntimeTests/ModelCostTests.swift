import BitViTRuntime
import BitViTModels
import Testing

/// OPs in the papers' convention against the specs' worked numbers.
@Suite("Model cost (BOPs, FLOPs, OPs)")
struct ModelCostTests {
    static func deitSmall(distilled: Bool, bits: Int? = nil) -> ViTArchitecture {
        ViTArchitecture(imageSize: 224, patchSize: 16, inChannels: 3, dim: 384, depth: 12, heads: 6, mlpHidden: 1536,
                        classes: distilled ? 100 : 1000, distilled: distilled, layerNormEps: 1e-12, bits: bits,
                        rectifiesQueriesAndKeys: bits == nil ? nil : true, groupThresholds: nil, mlpClip: 10)
    }

    @Test("GSB DeiT-S (198 tokens): gsb.md §6 per-image MACs")
    func gsb() {
        let cost = ModelCost(family: .gsb, Self.deitSmall(distilled: true))
        let parts = Dictionary(uniqueKeysWithValues: cost.parts.map { ($0.name, $0) })
        #expect(parts["block linears (W1A1)"]!.macs == 12 * 350_355_456)
        #expect(parts["attention q̂·k̂ᵀ (1×1 bit)"]!.macs == 12 * 15_054_336)
        #expect(parts["attention Â·v̂ (3×3 planes)"]!.bops == 9 * 12 * 15_054_336)
        #expect(parts["patch embedding"]!.macs == 57_802_752)
        #expect(cost.flops == 57_802_752 + 2 * 384 * 100)
        #expect(cost.bops == 12 * 350_355_456 + 10 * 12 * 15_054_336)
    }

    @Test("Q-ViT DeiT-S (197 tokens): qvit.md §9 OPs 11.93e8 (W4A4), 6.97e8 (W3A3), 3.42e8 (W2A2), 45.99e8 MACs")
    func qvit() {
        for (bits, ops) in [(4, 11.93e8), (3, 6.97e8), (2, 3.42e8)] {
            let cost = ModelCost(family: .qvit, Self.deitSmall(distilled: false, bits: bits))
            #expect(abs(cost.ops - ops) < 0.006e8, "W\(bits)A\(bits): \(cost.ops)")
        }
        let fp = ModelCost(family: .deit, Self.deitSmall(distilled: false))
        #expect(abs(fp.ops - 45.99e8) < 0.006e8)
        #expect(fp.bops == 0)
        let check = ViTCostModel(ViTConfig.deitSmall)
        #expect(Double(fp.flops) == check.operations(weightBits: nil, activationBits: nil))
    }
}
