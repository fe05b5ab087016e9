import BitViTQuant
import BitViTTestSupport
import Foundation
import Testing

/// Checkpointing of quantizer state and the inspection API.
@Suite struct QuantizerStateTests {
    /// A linear layer per quantizer family, as a model would hold them.
    final class Stack: Module {
        let gsb: QuantizedLinear, groups: GSBValueQuantizer, lsq: QuantizedLinear

        init(seed: UInt64) {
            var rng = RandomGenerator(seed: seed)
            gsb = QuantizedLinear(6, 4, inputShift: true, inputQuantizer: ElasticQuantizer.signedBinary(),
                                  weightQuantizer: BinaryWeightQuantizer(), rng: &rng)
            groups = GSBValueQuantizer()
            lsq = QuantizedLinear(4, 3, inputQuantizer: LSQActivationQuantizer.perFeature(bits: 3, features: 4),
                                  weightQuantizer: LSQWeightQuantizer(bits: 3, outChannels: 3), rng: &rng)
            super.init()
            child("gsb", gsb)
            child("groups", groups)
            child("lsq", lsq)
        }

        func callAsFunction(_ x: Tensor) -> Tensor { lsq(groups(gsb(x))) }
    }

    @Test func stateSurvivesASafetensorsRoundTrip() throws {
        let x = randomTensor([2, 5, 6], seed: 1)
        let original = Stack(seed: 1)
        original.train()
        #expect(!original.quantizersAreInitialized)
        _ = original(x)
        #expect(original.quantizersAreInitialized)
        let names = Set(original.stateNames)
        for n in ["gsb.input_shift", "gsb.input_quantizer.alpha", "groups.alpha1", "groups.alpha3",
                  "lsq.input_quantizer.alpha", "lsq.input_quantizer.zero_point", "lsq.input_quantizer.init_state",
                  "lsq.input_quantizer.signed", "lsq.weight_quantizer.alpha", "lsq.weight_quantizer.init_state"] {
            #expect(names.contains(n), "\(n) missing")
        }

        let url = FileManager.default.temporaryDirectory.appendingPathComponent("quantizer-state-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try Safetensors.save(original.stateDict(), to: url)
        let restored = Stack(seed: 99)
        try restored.load(Safetensors.load(url).tensors, strict: true)
        restored.train()
        #expect(restored.quantizersAreInitialized)
        #expect(restored.quantizers().allSatisfy { !$0.quantizer.initializesOnNextCall }, "no re-initialization after loading")
        original.eval()
        restored.eval()
        let y0 = withNoGrad { original(x) }, y1 = withNoGrad { restored(x) }
        #expect(y0.scalars == y1.scalars)
        #expect(restored.lsq.inputQuantizer.map { ($0 as! LSQActivationQuantizer).isSigned } == true)
    }

    @Test func fullPrecisionStateLeavesQuantizersToInitialize() throws {
        let source = Stack(seed: 2)
        // Only the float weights, as from a full-precision checkpoint.
        let floats = source.stateDict().filter { $0.key.hasSuffix(".weight") || $0.key.hasSuffix(".bias") }
        let target = Stack(seed: 3)
        let report = try target.load(floats, strict: false)
        #expect(report.unexpected.isEmpty && report.missing.contains("lsq.input_quantizer.init_state"))
        target.train()
        #expect(target.quantizers().filter { $0.quantizer.scaleInitialization != .none }
            .allSatisfy { $0.quantizer.initializesOnNextCall })
    }

    @Test func probeReportsWindowsAndFlipTrackerCountsSignChanges() {
        let model = Stack(seed: 4)
        model.train()
        let x = randomTensor([2, 5, 6], seed: 5, scale: 3)
        let probe = QuantizerProbe(model)
        _ = model(x)
        probe.detach()
        let sb = probe.statistics["gsb.input_quantizer"]
        #expect(sb?.calls == 1 && sb?.elements == 60)
        // SB's window after initialization is |x| ≤ 2·mean|x|.
        let alpha = (model.gsb.inputQuantizer as! ElasticQuantizer).alpha.item()
        let outside = Double(x.scalars.filter { Swift.abs($0) > alpha }.count) / 60
        #expect(Swift.abs((sb?.outsideWindowFraction ?? -1) - outside) < 1e-9)
        #expect(probe.statistics["gsb.weight_quantizer"]?.outsideWindowFraction == nil, "BWN has no window")
        _ = model(x)
        #expect(probe.statistics["gsb.input_quantizer"]?.calls == 1, "detached probes record nothing")
        #expect(QuantizerProbe.scaleValues(of: model)["groups.alpha2"]?.count == 1)

        let flips = WeightFlipTracker(model)
        #expect(flips.layerNames == ["gsb", "lsq"])
        model.gsb.weight.data[0] = -model.gsb.weight.data[0] * 50
        let ratios = flips.update()
        #expect(ratios["gsb"].map { $0 > 0 } == true)
        #expect(ratios["lsq"] == 0)
    }

    @Test func queryKeyRecorderCollectsInOrder() {
        final class Tap: Module, QueryKeyRecording {
            var queryKeyRecorder: QueryKeyRecorder?
            let scale: Float
            init(_ scale: Float) { self.scale = scale }
            func callAsFunction(_ x: Tensor) -> Tensor {
                queryKeyRecorder?.record(queries: x * scale, keys: x)
                return x
            }
        }
        final class Two: Module {
            let a = Tap(1), b = Tap(2)
            override init() { super.init(); child("a", a); child("b", b) }
        }
        let model = Two()
        let x = randomTensor([1, 2, 3, 4], seed: 1)
        let (_, pairs) = model.recordingQueriesKeys { model.b(model.a(x)) }
        #expect(pairs.count == 2)
        #expect(pairs[1].queries.scalars == (x * 2).scalars)
        #expect(model.a.queryKeyRecorder == nil, "recorder detached afterwards")
    }
}
