import BitViTCore
import BitViTExport
import BitViTModels
import BitViTRuntime
import Testing

@Suite("BHViT cost")
struct BHViTCostTests {
    static func cost(_ c: BHViTConfig) -> ModelCost {
        ModelCost(parameters: 0, storage: [], products: ModelCost.products(bhvit: c), precision: "")
    }

    static func macs(_ cost: ModelCost, _ prefix: String) -> Int {
        cost.products.filter { $0.name.hasPrefix(prefix) }.reduce(0) { $0 + $1.macs }
    }

    @Test("MACs and OPs per image match docs/reference/cost.md §5 for BHViT-Tiny and -Small at 224 († and fully binary)",
          arguments: [("bhvit-tiny", 2.4225e9, 2.4995e9, 1.98e7, 1.263e8, 0.504e8),
                      ("bhvit-small", 3.9236e9, 4.0006e9, 2.81e7, 1.503e8, 0.744e8)])
    func spec(preset: String, daggerBinary: Double, binaryBinary: Double, scores: Double, daggerOPs: Double, binaryOPs: Double) throws {
        var c = try #require(BHViTConfig.presets[preset])
        let dagger = Self.cost(c)
        #expect(abs(Double(Self.macs(dagger, "MSGDC") + Self.macs(dagger, "binary linears")) / daggerBinary - 1) < 1e-3)
        #expect(abs(Double(Self.macs(dagger, "attention q̂")) / scores - 1) < 5e-3)
        #expect(abs(Double(dagger.flops) / 8.72e7 - 1) < 5e-3)
        #expect(abs(dagger.ops / daggerOPs - 1) < 2e-3, "\(dagger.ops)")
        c.downsampling = .binary
        let binary = Self.cost(c)
        #expect(abs(Double(Self.macs(binary, "MSGDC") + Self.macs(binary, "binary linears") + Self.macs(binary, "downsampling")) / binaryBinary - 1) < 1e-3)
        #expect(abs(Double(binary.flops) / 1.015e7 - 1) < 5e-3)
        #expect(abs(binary.ops / binaryOPs - 1) < 3e-3, "\(binary.ops)")
    }

    @Test("The binary convolution and linear MACs of the formula are those the model's binary layers perform",
          arguments: ["fp", "binary"])
    func measured(downsampling: String) throws {
        let spec = ModelSpec(name: "bhvit-tiny-cifar", classes: 10, options: ["downsampling": downsampling])
        let model = try #require(try ModelZoo.make(spec) as? BHViT)
        var measured = 0
        for (_, layer) in model.quantizedLayers() {
            guard let q = layer.inputQuantizer else { continue }
            q.observer = { _, x, _ in
                let w = layer.latentWeight.shape
                if let conv = layer as? QuantizedConv2d {
                    let o = conv.options
                    let outH = (x.shape[2] + 2 * o.padding.0 - o.dilation.0 * (w[2] - 1) - 1) / o.stride.0 + 1
                    let outW = (x.shape[3] + 2 * o.padding.1 - o.dilation.1 * (w[3] - 1) - 1) / o.stride.1 + 1
                    measured += x.shape[0] * outH * outW * w[0] * w[1] * w[2] * w[3]
                } else {
                    measured += x.count * w[0]     // tokens · in · out
                }
            }
        }
        model.eval()
        _ = withNoGrad { model(Tensor.zeros([1, 3, 32, 32])) }
        let cost = try ModelCost(model: model)
        let formula = Self.macs(cost, "MSGDC") + Self.macs(cost, "binary linears") + (downsampling == "binary" ? Self.macs(cost, "downsampling") : 0)
        #expect(formula == measured)
    }
}
