import XCTest
import BitViTCore
import BitViTModels
import BitViTInterop

/// Detection, the import report, strict mode, head re-initialization and the name maps.
final class CheckpointImportTests: XCTestCase {
    func testDetectionReadsFamilyAndGeometry() throws {
        let gsb = try CheckpointDetection.detect(InteropFixtures.checkpoint("gsb_stage2"))
        XCTAssertEqual(gsb.family, .gsbStage2)
        XCTAssertEqual(gsb.spec.name, "gsb-deit-tiny")
        XCTAssertEqual([gsb.spec.imageSize, gsb.spec.patchSize, gsb.spec.dim, gsb.spec.depth, gsb.spec.heads, gsb.spec.classes],
                       [16, 4, 24, 2, 2, 10])
        XCTAssertEqual(gsb.spec.distilled, true)
        XCTAssertEqual(try CheckpointDetection.family(of: InteropFixtures.checkpoint("gsb_stage1")), .gsbStage1)
        XCTAssertEqual(try CheckpointDetection.detect(InteropFixtures.checkpoint("qvit_w3")).spec.options["bits"], "3")
        let deit = try CheckpointDetection.detect(InteropFixtures.checkpoint("deit_tiny_distilled"), hints: DetectionHints(heads: 2))
        XCTAssertEqual(deit.family, .deit)
        XCTAssertEqual(deit.spec.distilled, true)
        // A width without a DeiT preset and not a multiple of 64 has no inferable head count.
        XCTAssertThrowsError(try CheckpointDetection.detect(InteropFixtures.checkpoint("deit_tiny")))
        XCTAssertThrowsError(try CheckpointDetection.detect(["foo.weight": Tensor.zeros([2])]))
    }

    func testBHViTDepthsAndSwitches() throws {
        var state = try InteropFixtures.synthesizedCheckpoint("bhvit_tiny_binary")
        let detected = try CheckpointDetection.detect(state)
        XCTAssertEqual(detected.spec.name, "bhvit-tiny")
        XCTAssertEqual(detected.spec.options, ["downsampling": "binary"])
        // Without the shift branches' LayerScales the model has none.
        state = state.filter { !$0.key.contains("layerscale_") }
        XCTAssertEqual(try CheckpointDetection.detect(state).spec.options["shift"], "false")
    }

    func testReportListsMappedIgnoredAndMissing() throws {
        var state = try InteropFixtures.checkpoint("gsb_stage1")
        let imported = try CheckpointImport.load(state, options: ImportOptions(droppedSections: [("optimizer", "optimizer state"), ("model_ema", "EMA copy")]))
        let report = imported.report
        XCTAssertTrue(report.mapped.contains(ImportReport.Mapped(official: "blocks.0.attn.move_q.bias", bitvit: "blocks.0.attn.q_shift")))
        XCTAssertTrue(report.ignored.contains { $0.name == "blocks.0.mlp.fc1.weight_clip_val" })
        XCTAssertTrue(report.ignored.contains { $0.name == "model_ema" })
        XCTAssertTrue(report.missing.isEmpty)
        XCTAssertTrue(report.summary.contains("ignored blocks.1.mlp.fc2.weight_clip_val"))

        // A missing tensor is reported, and strict mode refuses it.
        state["blocks.1.norm2.weight"] = nil
        XCTAssertEqual(try CheckpointImport.load(state).report.missing, ["blocks.1.norm2.weight"])
        XCTAssertThrowsError(try CheckpointImport.load(state, options: ImportOptions(strict: true)))
        // So does an entry the model cannot hold.
        var extra = try InteropFixtures.checkpoint("gsb_stage1")
        extra["blocks.7.norm1.weight"] = Tensor.ones([24])
        XCTAssertThrowsError(try CheckpointImport.load(extra, options: ImportOptions(strict: true)))
        XCTAssertTrue(try CheckpointImport.load(extra).report.ignored.contains { $0.name == "blocks.7.norm1.weight" })
    }

    func testQuantizerStateAndStatisticsAreImported() throws {
        let state = try InteropFixtures.checkpoint("qvit_w2")
        let model = try CheckpointImport.load(state, options: ImportOptions(strict: true)).model
        let mine = model.stateDict()
        XCTAssertEqual(mine["blocks.0.attn.q_quantizer.alpha"]?.scalars, state["blocks.0.attn.q_act.alpha"]?.scalars)
        XCTAssertEqual(mine["blocks.0.attn.q_quantizer.init_state"]?.shape, [])
        XCTAssertEqual(mine["blocks.0.attn.q_quantizer.init_state"]?.item(), 1)
        XCTAssertEqual(mine["blocks.1.mlp.fc2.input_quantizer.signed"]?.item(), state["blocks.1.mlp.fc2.act.signed"]?.item())
        let gsb = try InteropFixtures.checkpoint("gsb_stage1")
        let stage1 = try CheckpointImport.load(gsb).model.stateDict()
        XCTAssertEqual(stage1["patch_embed.norm.running_var"]?.scalars, gsb["patch_embed.norm.running_var"]?.scalars)
        XCTAssertEqual(stage1["patch_embed.norm.num_batches_tracked"]?.item(), 5)
    }

    /// GSB's stage 1 starts from an ImageNet DeiT-S with a new head: a class-count change
    /// re-initializes the heads on request and fails otherwise.
    func testHeadReinitializationForFineTuning() throws {
        let state = try InteropFixtures.checkpoint("deit_tiny_distilled")
        XCTAssertThrowsError(try CheckpointImport.load(state, options: ImportOptions(classes: 7, hints: DetectionHints(heads: 2))))
        let imported = try CheckpointImport.load(state, options: ImportOptions(strict: true, classes: 7, reinitializeHeads: true,
                                                                               hints: DetectionHints(heads: 2)))
        XCTAssertEqual(imported.model.classCount, 7)
        XCTAssertEqual(Set(imported.report.reinitialized), ["head.weight", "head.bias", "head_dist.weight", "head_dist.bias"])
        XCTAssertTrue(imported.report.missing.isEmpty)
        XCTAssertEqual(imported.model.stateDict()["blocks.1.mlp.fc1.weight"]?.scalars, state["blocks.1.mlp.fc1.weight"]?.scalars)

        // Into another family (`--model`): a DeiT's weights start GSB's stage 1 with new heads.
        var spec = try CheckpointDetection.detect(state, hints: DetectionHints(heads: 2)).spec
        spec.name = "gsb-deit-tiny"
        spec.options = ["stage": "1"]
        spec.classes = 100
        let gsb = try CheckpointImport.load(state, options: ImportOptions(model: spec, reinitializeHeads: true))
        XCTAssertTrue(gsb.model is GSBDeiT)
        XCTAssertEqual(gsb.report.family, .deit)
        XCTAssertTrue(gsb.report.reinitialized.contains("head.weight"))
        XCTAssertTrue(gsb.report.missing.contains("blocks.0.attn.q_shift"), "GSB's own parameters start fresh")
    }

    /// The official scripts' `.pth` files through the checkpoint reader: the `model` entry
    /// imports strictly, the other sections reach the report, and Facebook's release layout
    /// (`{"model": …}` alone) imports the same way.
    func testGenuineCheckpointsThroughTheReader() throws {
        let (state, dropped) = try InteropFixtures.pytorch("deit_tiny_distilled")
        XCTAssertEqual(Set(dropped.map(\.name)), ["optimizer", "lr_scheduler", "epoch", "model_ema", "scaler", "args"])
        let imported = try CheckpointImport.load(state, options: ImportOptions(strict: true, hints: DetectionHints(heads: 2),
                                                                               droppedSections: dropped))
        XCTAssertTrue(imported.report.ignored.contains { $0.name == "model_ema" && $0.reason.contains("state dict") })
        XCTAssertTrue(imported.report.summary.contains("ignored optimizer"))
        let release = try InteropFixtures.pytorch("deit_tiny_distilled_release")
        XCTAssertTrue(release.dropped.isEmpty)
        XCTAssertEqual(Set(release.state.keys), Set(state.keys))
        XCTAssertNoThrow(try CheckpointImport.load(release.state, options: ImportOptions(strict: true, hints: DetectionHints(heads: 2))))
    }

    /// timm's earliest ViTs stored the patch embedding as a `[D, C·p·p]` linear.
    func testOldTwoDimensionalPatchWeight() throws {
        var state = try InteropFixtures.checkpoint("deit_tiny")
        let w = try XCTUnwrap(state["patch_embed.proj.weight"])
        state["patch_embed.proj.weight"] = w.reshaped([w.shape[0], w.count / w.shape[0]])
        let imported = try CheckpointImport.load(state, options: ImportOptions(strict: true, hints: DetectionHints(heads: 2)))
        XCTAssertEqual(imported.model.stateDict()["patch_embed.proj.weight"]?.scalars, w.scalars)
        XCTAssertTrue(imported.report.notes.contains { $0.contains("2-D patch_embed") })
    }

    func testNameMapsRoundTrip() throws {
        for family in OfficialFamily.allCases {
            let map = NameMap(family)
            for name in ["blocks.3.attn.qkv.weight", "head.bias", "blocks.0.attn.move_q.bias", "blocks.0.mlp.fc1.move.bias",
                         "blocks.2.attn.clip_value2", "patch_embed.proj.alpha", "blocks.1.attn.k_act.zero_point",
                         "blocks.1.mlp.fc2.act.signed", "head_dist.alpha",
                         "vit.encoder.layerB.0.attention.output.rprelu.prelu.weight"] {
                guard let bitvit = map.bitvitName(name) else { continue }
                XCTAssertEqual(map.officialName(bitvit), name, "\(family): \(name) → \(bitvit)")
            }
        }
        XCTAssertEqual(NameMap(.gsbStage2).bitvitName("blocks.0.attn.clip_attn3"), "blocks.0.attn.attn_quantizer.alpha3")
        XCTAssertEqual(NameMap(.qvit).bitvitName("blocks.0.attn.qkv.alpha"), "blocks.0.attn.qkv.weight_quantizer.alpha")
        XCTAssertEqual(NameMap(.qvit).bitvitName("patch_embed.proj.act.alpha"), "patch_embed.proj.input_quantizer.alpha")
        XCTAssertEqual(NameMap(.bhvit).bitvitName("vit.encoder.patch_embed1.rprelu.prelu.weight"), "vit.encoder.patch_embed1.rprelu.slope")
    }
}
