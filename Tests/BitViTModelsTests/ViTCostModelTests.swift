import BitViTModels
import Testing

/// qvit.md §9 and §10.1 #15: MACs, OPs, speed-ups and sizes.
@Suite struct ViTCostModelTests {
    @Test func macsMatchTheSpec() throws {
        // N = 197: the plain (one-head) architecture.
        #expect(Swift.abs(Double(ViTCostModel(try .preset("deit-small")).totalMACs) - 4.599e9) < 0.0005e9)
        #expect(Swift.abs(Double(ViTCostModel(try .preset("deit-tiny")).totalMACs) - 1.254e9) < 0.0005e9)
    }

    @Test(arguments: [("deit-tiny", 3.35e8, 2.01e8, 1.06e8, 11.87), ("deit-small", 11.93e8, 6.97e8, 3.42e8, 13.45),
                      ("deit-base", 44.78e8, 25.70e8, 12.07e8, 14.55)])
    func operationsAndSpeedUpsMatchTheTable(preset: String, w4: Double, w3: Double, w2: Double, speedUp2: Double) throws {
        let cost = ViTCostModel(try .preset(preset))
        for (bits, expected) in [(4, w4), (3, w3), (2, w2)] {
            // The table rounds to 0.01e8.
            #expect(Swift.abs(cost.operations(weightBits: bits, activationBits: bits) - expected) <= 0.0051e8, "\(preset) W\(bits)")
        }
        #expect(Swift.abs(cost.speedUp(weightBits: 2, activationBits: 2) - speedUp2) < 0.01)
    }

    /// Parameter counts of the distilled DeiTs (checked in `DeiTStructureTests`).
    @Test(arguments: [("deit-tiny", 5_910_800, 23.6, 3.47, 2.14), ("deit-small", 22_436_432, 89.7, 12.24, 6.93),
                      ("deit-base", 87_338_192, 349.4, 45.70, 24.47)])
    func sizesMatchTheTable(preset: String, parameters: Int, fp: Double, w4: Double, w2: Double) throws {
        let cost = ViTCostModel(try ViTConfig.preset(preset, distilled: true))
        #expect(Swift.abs(cost.sizeBytes(parameterCount: parameters, weightBits: nil) / 1e6 - fp) < 0.05)
        #expect(Swift.abs(cost.sizeBytes(parameterCount: parameters, weightBits: 4) / 1e6 - w4) < 0.005)
        #expect(Swift.abs(cost.sizeBytes(parameterCount: parameters, weightBits: 2) / 1e6 - w2) < 0.005)
    }
}
