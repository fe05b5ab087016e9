import Foundation
import BitViTModels
import BitViTQuant

/// Per-epoch diagnostics of a binary or low-bit model's training (docs/methods.md):
///
/// - **flip ratios** of every quantized layer's weights (`WeightFlipTracker`): over the whole
///   epoch (net) and in the epoch's first optimizer step;
/// - **outside-window fractions** and mean |x| of every quantizer's input (`QuantizerProbe`),
///   measured on a few fixed training batches after the epoch;
/// - the **learned scales** (every quantizer parameter, summarized).
///
/// The probe runs in evaluation mode without gradients on the same batches every epoch (the
/// first `probeBatches` of a fixed shuffle of the training set, without augmentation), so it
/// changes nothing in training: no BatchNorm statistics, random streams or quantizer
/// initialization, and a resumed run continues with the same losses. Its cost is a forward
/// pass over those batches per epoch, plus two sign snapshots of the quantized weights.
public final class TrainingDiagnostics {
    public let model: any ImageClassifier
    public let probeData: (any BatchSource)?
    public let probeBatches: Int
    /// Where the records go (nil: kept in `records` only).
    public let url: URL?
    /// Every record written by this object.
    public private(set) var records: [DiagnosticsRecord] = []

    private var epochFlips: WeightFlipTracker?
    private var stepFlips: WeightFlipTracker?
    private var stepRatios: [String: Double]?
    private var snapshotAfterFirstStep = false

    /// Diagnostics of `model`, probing `probeBatches` batches of `probeData` after every epoch.
    public init(model: any ImageClassifier, probeData: (any BatchSource)?, probeBatches: Int, url: URL?) {
        self.model = model
        self.probeData = probeData
        self.probeBatches = probeBatches
        self.url = url
    }

    /// Whether `model` has anything to diagnose (a quantizer).
    public static func applies(to model: Module) -> Bool { !model.quantizers().isEmpty }

    /// Snapshots the weight signs at the start of an epoch (or at a resume point).
    ///
    /// While a weight quantizer still waits for its lazy initialization (the first epoch of a
    /// run whose scales initialize from the first batch), its quantized values are placeholders
    /// (e.g. all zero for an LSQ step of 1), so a snapshot would count the initialization as
    /// flips. The snapshots then wait until after the first step: that epoch has no first-step
    /// ratio and its epoch ratio covers the remaining steps.
    public func epochWillStart(resumedMidEpoch: Bool = false) {
        stepRatios = nil
        snapshotAfterFirstStep = false
        guard !resumedMidEpoch else {
            epochFlips = nil
            stepFlips = nil
            return
        }
        if Self.weightQuantizersAreInitialized(model) {
            epochFlips = WeightFlipTracker(model)
            stepFlips = WeightFlipTracker(model)
        } else {
            epochFlips = nil
            stepFlips = nil
            snapshotAfterFirstStep = true
        }
    }

    /// After every optimizer step: the first step of the epoch yields the step flip ratios
    /// (or, after a lazy initialization, the epoch's start snapshot).
    public func stepDidFinish() {
        if snapshotAfterFirstStep {
            snapshotAfterFirstStep = false
            epochFlips = WeightFlipTracker(model)
            return
        }
        guard let tracker = stepFlips else { return }
        stepRatios = tracker.update()
        stepFlips = nil
    }

    static func weightQuantizersAreInitialized(_ model: Module) -> Bool {
        model.quantizedLayers().allSatisfy { $0.layer.weightQuantizer?.isInitialized ?? true }
    }

    /// Measures and records the epoch that just finished (`epoch` 1-based).
    @discardableResult
    public func epochDidFinish(epoch: Int, step: Int) throws -> DiagnosticsRecord {
        let epochRatios = epochFlips?.update()
        let layers = model.quantizedLayers().filter { $0.layer.weightQuantizer != nil }.map { name, layer in
            LayerDiagnostics(name: name, weights: layer.latentWeight.count, flipRatio: epochRatios?[name],
                             stepFlipRatio: stepRatios?[name])
        }
        let start = DispatchTime.now().uptimeNanoseconds
        let (statistics, images) = try probe()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let quantizers = model.quantizers().map { name, q in
            let s = statistics[name]
            return QuantizerDiagnostics(
                name: name, kind: String(describing: type(of: q)), outsideWindow: s?.outsideWindowFraction,
                meanAbsInput: s.map(\.meanAbsoluteInput),
                scales: q.namedParameters().map { ScaleSummary(name: $0.name, values: $0.tensor.scalars) })
        }
        let record = DiagnosticsRecord(epoch: epoch, step: step, layers: layers, quantizers: quantizers,
                                       probeImages: images, probeSeconds: seconds)
        if let url { try DiagnosticsLog.append(record, to: url) }
        records.append(record)
        return record
    }

    /// Runs the probe batches through the model in evaluation mode with observers attached.
    private func probe() throws -> (statistics: [String: QuantizerProbe.Statistics], images: Int) {
        guard let probeData, probeBatches > 0 else { return ([:], 0) }
        let wasTraining = model.isTraining
        model.eval()
        defer { if wasTraining { model.train() } }
        let probe = QuantizerProbe(model)
        defer { probe.detach() }
        let stream = try probeData.batches(epoch: 0, from: 0)
        var images = 0
        for _ in 0..<min(probeBatches, probeData.batchesPerEpoch) {
            guard let batch = try stream.next() else { break }
            _ = withNoGrad { model(batch.images) }
            images += batch.count
        }
        return (probe.statistics, images)
    }
}
