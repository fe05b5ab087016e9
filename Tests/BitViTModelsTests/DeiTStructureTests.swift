import BitViTModels
import Testing

@Suite struct DeiTStructureTests {
    /// timm's counts for 1000 classes (plain / distilled).
    @Test(arguments: [("deit-tiny", 5_717_416, 5_910_800),
                      ("deit-small", 22_050_664, 22_436_432),
                      ("deit-base", 86_567_656, 87_338_192)])
    func parameterCountsMatchTimm(preset: String, plain: Int, distilled: Int) throws {
        #expect(try DeiT(.preset(preset)).parameterCount == plain)
        #expect(try DeiT(.preset(preset, distilled: true)).parameterCount == distilled)
    }

    @Test func parameterNamesFollowTimm() throws {
        let names = try DeiT(.preset("deit-tiny", distilled: true)).namedParameters().map(\.name)
        for n in ["cls_token", "dist_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias",
                  "blocks.0.norm1.weight", "blocks.3.attn.qkv.weight", "blocks.11.attn.proj.bias",
                  "blocks.5.mlp.fc1.weight", "blocks.5.mlp.fc2.bias", "norm.weight", "head.weight", "head_dist.bias"] {
            #expect(names.contains(n), "\(n) missing")
        }
        #expect(Set(names).count == names.count)
    }

    @Test func smallImagePresetsProduceClassScores() throws {
        for (preset, channels, size) in [("deit-tiny-cifar", 3, 32), ("vit-mnist", 1, 28)] {
            let model = try DeiT(.preset(preset))
            model.eval()
            var rng = RandomGenerator(seed: 1)
            let out = withNoGrad { model(Tensor.randn([2, channels, size, size], using: &rng)) }
            #expect(out.logits.shape == [2, 10])
            #expect(out.logits.scalars.allSatisfy { $0.isFinite })
        }
    }

    @Test func invalidGeometryIsRejected() {
        #expect(throws: BitViTError.self) { try DeiT(ViTConfig(imageSize: 30, patchSize: 4, dim: 64, depth: 1, heads: 2)) }
        #expect(throws: BitViTError.self) { try DeiT(ViTConfig(imageSize: 32, patchSize: 4, dim: 65, depth: 1, heads: 2)) }
        #expect(throws: BitViTError.self) { try ViTConfig.preset("deit-huge") }
    }
}
