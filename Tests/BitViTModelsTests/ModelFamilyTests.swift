import BitViTModels
import Testing

@Suite("Model families")
struct ModelFamilyTests {
    @Test("Every model name maps back to its family and preset; the families list ModelZoo's names")
    func roundTrip() throws {
        #expect(ModelZoo.names == ModelFamily.allCases.flatMap(\.modelNames))
        #expect(Set(ModelZoo.names).count == ModelZoo.names.count)
        for family in ModelFamily.allCases {
            for preset in family.presets {
                let parsed = try #require(ModelFamily.of(modelName: family.prefix + preset))
                #expect(parsed.family == family && parsed.preset == preset)
            }
        }
        #expect(ModelFamily.of(modelName: "gsb-swin-tiny") == nil)
        #expect(ModelFamily.of(modelName: "qvit-") == nil)
        #expect(ModelFamily.of(modelName: "deit-huge") == nil)
        #expect(ModelSpec(name: "w1a1-deit-tiny", classes: 10).family?.family == .binaryBaseline)
    }

    @Test("An unknown name is an error listing the known ones")
    func unknown() {
        #expect {
            _ = try ModelZoo.make(ModelSpec(name: "deit-huge", classes: 10))
        } throws: { error in
            "\(error)".contains("unknown model 'deit-huge'") && "\(error)".contains("qvit-deit-small")
        }
    }
}
