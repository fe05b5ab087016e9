import BitViTCore
import BitViTModels
import Testing

@Suite("Model options from key=value assignments")
struct ModelSpecAssignmentTests {
    @Test("assignments become options; the last one of a key wins; values may hold '='")
    func parses() throws {
        let options = try ModelSpec.options(fromAssignments: ["downsampling=fp", "shift=false", "downsampling=binary", "depths=2,2,6,2", "x=a=b"])
        #expect(options == ["downsampling": "binary", "shift": "false", "depths": "2,2,6,2", "x": "a=b"])
        #expect(try ModelSpec.options(fromAssignments: []).isEmpty)
    }

    @Test("a fully binary BHViT spec from assignments", arguments: ["binary", "fp"])
    func bhvit(_ downsampling: String) throws {
        let spec = ModelSpec(name: "bhvit-tiny", classes: 10, options: try ModelSpec.options(fromAssignments: ["downsampling=\(downsampling)"]))
        #expect(try BHViTConfig(spec: spec).downsampling.rawValue == downsampling)
    }

    @Test("malformed assignments name the text and the expected form", arguments: ["binary", "=binary", ""])
    func rejects(_ text: String) {
        #expect { try ModelSpec.options(fromAssignments: [text]) } throws: { error in
            "\(error)".contains("'\(text)'") && "\(error)".contains("key=value")
        }
    }
}
