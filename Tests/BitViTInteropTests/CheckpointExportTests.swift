import XCTest
import BitViTCore
import BitViTModels
import BitViTInterop

/// Export under the official names: exactly the official state dict's names and shapes (what
/// a strict `load_state_dict` checks), and export → import returns every tensor bit for bit.
final class CheckpointExportTests: XCTestCase {
    /// Official state dicts of every family (committed and synthesized).
    static let cases: [(name: String, synthesized: Bool, hints: DetectionHints)] = [
        ("deit_tiny", false, DetectionHints(heads: 2)), ("deit_tiny_distilled", false, DetectionHints(heads: 2)),
        ("gsb_stage1", false, DetectionHints()), ("gsb_stage2", false, DetectionHints()),
        ("qvit_w2", false, DetectionHints(bits: 2)), ("qvit_w3", false, DetectionHints(bits: 3)),
        ("qvit_w4", false, DetectionHints(bits: 4)),
        ("bhvit_tiny_fp", true, DetectionHints()), ("bhvit_tiny_binary", true, DetectionHints()),
    ]

    func official(_ c: (name: String, synthesized: Bool, hints: DetectionHints)) throws -> [String: Tensor] {
        c.synthesized ? try InteropFixtures.synthesizedCheckpoint(c.name) : try InteropFixtures.checkpoint(c.name)
    }

    func testExportHasTheOfficialNamesAndShapes() throws {
        for c in Self.cases {
            let state = try official(c)
            let imported = try CheckpointImport.load(state, options: ImportOptions(strict: true, hints: c.hints))
            let family = try CheckpointExport.family(of: imported.model, spec: imported.report.spec)
            XCTAssertEqual(family, imported.report.family, c.name)
            let exported = CheckpointExport.officialState(of: imported.model, family: family)
            XCTAssertEqual(Set(exported.keys), Set(state.keys), "\(c.name): names differ: extra \(Set(exported.keys).subtracting(state.keys).sorted().prefix(5)), missing \(Set(state.keys).subtracting(exported.keys).sorted().prefix(5))")
            for (name, t) in state {
                XCTAssertEqual(exported[name]?.shape, t.shape, "\(c.name): shape of \(name)")
                // Every value the model holds comes back unchanged (stage 1's unused clipping
                // buffers are the code's constant).
                if let e = exported[name], !name.hasSuffix("weight_clip_val") || c.name != "gsb_stage1" {
                    XCTAssertEqual(e.scalars, t.scalars, "\(c.name): value of \(name)")
                }
            }
        }
    }

    func testExportImportRoundTripIsExact() throws {
        for c in Self.cases {
            let imported = try CheckpointImport.load(try official(c), options: ImportOptions(strict: true, hints: c.hints))
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("interop-\(c.name)-\(UUID().uuidString).safetensors")
            defer { try? FileManager.default.removeItem(at: url) }
            try CheckpointExport.write(imported.model, family: imported.report.family, to: url)
            let file = try Safetensors.load(url)
            XCTAssertEqual(file.metadata["format"], "pt")
            let again = try CheckpointImport.load(file.tensors, options: ImportOptions(strict: true, hints: c.hints))
            XCTAssertEqual(again.report.spec, imported.report.spec, c.name)
            let before = imported.model.stateDict(), after = again.model.stateDict()
            XCTAssertEqual(Set(before.keys), Set(after.keys), c.name)
            for (name, t) in before { XCTAssertEqual(after[name]?.scalars, t.scalars, "\(c.name): \(name)") }
        }
    }

    /// A model trained here (no official checkpoint behind it) exports under the names its
    /// family's official model loads.
    func testFreshModelsExportToTheirFamily() throws {
        let cases: [(ModelSpec, OfficialFamily)] = [
            (ModelSpec(name: "deit-tiny", classes: 10, imageSize: 16, patchSize: 4, dim: 24, depth: 1, heads: 2), .deit),
            (ModelSpec(name: "gsb-deit-tiny", classes: 10, imageSize: 16, patchSize: 4, dim: 24, depth: 1, heads: 2,
                       options: ["stage": "1"]), .gsbStage1),
            (ModelSpec(name: "qvit-deit-tiny", classes: 10, imageSize: 16, patchSize: 4, dim: 24, depth: 1, heads: 2,
                       options: ["bits": "3"]), .qvit),
        ]
        for (spec, family) in cases {
            let model = try ModelZoo.make(spec)
            XCTAssertEqual(try CheckpointExport.family(of: model), family)
            let exported = CheckpointExport.officialState(of: model, family: family)
            let back = try CheckpointImport.load(exported, options: ImportOptions(strict: true, model: spec))
            XCTAssertTrue(back.report.missing.isEmpty, "\(spec.name): \(back.report.missing)")
        }
        XCTAssertThrowsError(try CheckpointExport.family(of: ModelZoo.make(ModelSpec(name: "w1a1-deit-tiny", classes: 10))))
    }
}
