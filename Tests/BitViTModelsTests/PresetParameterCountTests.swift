import BitViTModels
import Testing

/// Parameter counts of the quantized families on the other presets, from their structure:
/// each family adds known tensors to the distilled DeiT of the same geometry (whose counts
/// `DeiTStructureTests` checks against timm).
@Suite struct PresetParameterCountTests {
    static let presets = ["deit-tiny", "deit-tiny-cifar", "vit-mnist"]

    static func distilledDeiT(_ preset: String, classes: Int) throws -> (ViTConfig, Int) {
        let config = try ViTConfig.preset(preset, classes: classes, distilled: true)
        return (config, try DeiT(config).parameterCount)
    }

    @Test(arguments: presets)
    func gsbAddsShiftsAttentionBiasAndScales(preset: String) throws {
        let (c, base) = try Self.distilledDeiT(preset, classes: 10)
        let (dim, hidden, n) = (c.dim, c.mlpHidden, c.tokenCount)
        // Stage 1: fc1/fc2 input shifts, q/k/v shifts, the patch BatchNorm's affine.
        let stage1 = base + c.depth * (dim + hidden + 3 * dim) + 2 * dim
        // Stage 2: input shifts of all four linears, q/k/v shifts, B_att, 12 scalars per block;
        // per-channel patch steps; per head an input shift and two 8-bit steps.
        let stage2 = base + c.depth * (3 * dim + hidden + 3 * dim + c.heads * n * n + 12) + dim + 2 * (dim + 2)
        for (stage, expected) in [("1", stage1), ("2", stage2)] {
            let model = try ModelZoo.make(ModelSpec(name: "gsb-" + preset, classes: 10, options: ["stage": stage]))
            #expect(model.parameterCount == expected, "gsb-\(preset) stage \(stage)")
        }
    }

    @Test(arguments: presets)
    func qvitAddsRectificationAndQuantizerState(preset: String) throws {
        let (c, base) = try Self.distilledDeiT(preset, classes: 10)
        let (dim, hidden, heads) = (c.dim, c.mlpHidden, c.heads)
        let model = try ModelZoo.make(ModelSpec(name: "qvit-" + preset, classes: 10, options: ["bits": "3"]))
        // Steps and zero points per input feature, steps per output channel, a step and zero
        // point per head for q, k, v and P.
        let perBlock = (2 * dim + 3 * dim) + (2 * dim + dim) + (2 * dim + hidden) + (2 * hidden + dim) + 4 * 2 * heads
        let quantizers = c.depth * perBlock + (2 * c.inChannels + dim) + 2 * (2 * dim + c.classes)
        #expect(model.quantizerParameterCount == quantizers)
        #expect(model.parameterCount == base + c.depth * 4 * (dim / heads) + quantizers)
    }

    @Test(arguments: presets)
    func binaryBaselineAddsNothing(preset: String) throws {
        let (_, base) = try Self.distilledDeiT(preset, classes: 10)
        #expect(try ModelZoo.make(ModelSpec(name: "w1a1-" + preset, classes: 10)).parameterCount == base)
    }
}
