import Foundation
import XCTest
import BitViTCore
import BitViTModels
import BitViTInterop

/// Imported official checkpoints compute the official evaluation-mode logits: full precision to
/// 1e-4 of the largest logit; binary and low-bit models the same top-1 on the fixture batch
/// (their largest difference is printed).
final class OfficialLogitsTests: XCTestCase {
    enum Precision { case full, quantized }

    /// Imports `state`, runs the eval batch and compares; returns the relative difference.
    @discardableResult
    func check(_ name: String, state: [String: Tensor], precision: Precision, hints: DetectionHints = DetectionHints(),
               family: OfficialFamily, file: StaticString = #filePath, line: UInt = #line) throws -> Float {
        let imported = try CheckpointImport.load(state, options: ImportOptions(strict: true, hints: hints))
        XCTAssertEqual(imported.report.family, family, file: file, line: line)
        XCTAssertTrue(imported.report.missing.isEmpty, "\(name): missing \(imported.report.missing)", file: file, line: line)
        let eval = try InteropFixtures.safetensors(name + "_eval")
        let input = try eval.tensors["input"] ?? InteropFixtures.synthesizedInput(eval.metadata)
        let expected = try XCTUnwrap(eval.tensors["logits"])
        let model = imported.model
        model.eval()
        let logits = withNoGrad { model(input).logits }
        XCTAssertEqual(logits.shape, expected.shape, file: file, line: line)
        let d = Difference(logits, expected)
        print("\(name): \(imported.report.spec.name) \(imported.report.spec.options), largest logit difference \(d.maxAbs) (\(d.relative) of max |logit| \(d.maxReference))")
        switch precision {
        case .full:
            XCTAssertLessThanOrEqual(d.maxAbs, 1e-4 * d.maxReference, "\(name): logits differ", file: file, line: line)
        case .quantized:
            XCTAssertEqual(topClasses(logits), topClasses(expected), "\(name): top-1 differs", file: file, line: line)
        }
        return d.relative
    }

    func testTimmDeiT() throws {
        try check("deit_tiny", state: InteropFixtures.checkpoint("deit_tiny"), precision: .full,
                  hints: DetectionHints(heads: 2), family: .deit)
        try check("deit_tiny_distilled", state: InteropFixtures.checkpoint("deit_tiny_distilled"), precision: .full,
                  hints: DetectionHints(heads: 2), family: .deit)
    }

    /// A full-size DeiT-S/16 at 224 (22 M parameters, synthesized by the generator's rule),
    /// written to a safetensors file in the temporary directory and read back through
    /// `PyTorchCheckpoint`, as timm's `model.safetensors` would be.
    func testFullSizeDeiTSmall() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("deit-small-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try Safetensors.save(InteropFixtures.synthesizedCheckpoint("deit_small_224"), to: url, metadata: ["format": "pt"])
        let state = try PyTorchCheckpoint.load(url).stateDict().float32()
        let detected = try CheckpointDetection.detect(state)
        XCTAssertEqual(detected.spec.name, "deit-small")
        XCTAssertEqual(detected.spec.heads, 6)
        try check("deit_small_224", state: state, precision: .full, family: .deit)
    }

    func testGSB() throws {
        try check("gsb_stage1", state: InteropFixtures.checkpoint("gsb_stage1"), precision: .quantized, family: .gsbStage1)
        try check("gsb_stage2", state: InteropFixtures.checkpoint("gsb_stage2"), precision: .quantized, family: .gsbStage2)
    }

    func testQViTEveryBitWidth() throws {
        for bits in [2, 3, 4] {
            let state = try InteropFixtures.checkpoint("qvit_w\(bits)")
            var notes: [String] = []
            XCTAssertEqual(try CheckpointDetection.qvitBits(state, hints: DetectionHints(), notes: &notes), bits,
                           "bit width inferred from the step sizes")
            try check("qvit_w\(bits)", state: state, precision: .quantized,
                      hints: DetectionHints(officialModelName: ["twobits", "threebits", "fourbits"][bits - 2] + "_deit_small_patch16_224"),
                      family: .qvit)
        }
    }

    /// Every BHViT preset, † and fully binary (official geometry at 224, synthesized parameters).
    func testBHViTEveryPreset() throws {
        for preset in ["tiny", "small"] {
            for downsampling in ["fp", "binary"] {
                let name = "bhvit_\(preset)_\(downsampling)"
                let state = try InteropFixtures.synthesizedCheckpoint(name)
                let detected = try CheckpointDetection.detect(state)
                XCTAssertEqual(detected.spec.name, "bhvit-\(preset)")
                XCTAssertEqual(detected.spec.options["downsampling"], downsampling == "binary" ? "binary" : nil)
                try check(name, state: state, precision: .quantized, family: .bhvit)
            }
        }
    }
}
