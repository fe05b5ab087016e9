import BitViTCore
import BitViTExport
import BitViTRuntime
import BitViTModels
import Foundation
import Testing

/// BHViT in the engine: export (manifest, 1-bit storage, folding), parity with the training
/// graph in evaluation mode for both downsampling variants (bit and float kernels), the
/// ablation switches, batch independence, and BHViT-specific malformed files.
@Suite("BHViT in the engine")
struct BHViTEngineTests {
    /// The small-image geometry (32×32, stages at 28/14/7 with MSGDC, then two MSMHA stages:
    /// 4 windows + 4 pooled tokens, then 1 + 1) with one block per stage.
    static func spec(downsampling: String, attention: String = "qd", shift: Bool = true) -> ModelSpec {
        ModelSpec(name: "bhvit-tiny-cifar", classes: 10,
                  options: ["downsampling": downsampling, "depths": "1,1,1", "attention": attention, "shift": shift ? "true" : "false"])
    }

    static let preprocessing = Preprocessing(imageSize: 32, channels: 3, mean: [0.49, 0.48, 0.45], std: [0.25, 0.24, 0.26])
    static let classNames = (0..<10).map { "class \($0)" }

    /// The model after one training-mode forward (QD's data-derived step and zero point), with
    /// every BN's running statistics, RPReLU, threshold, LayerScale (the shift branches' too,
    /// which start at exactly 0), QD and mixing parameter moved away from its initialization,
    /// as training leaves them; in evaluation mode.
    static func model(_ spec: ModelSpec, seed: UInt64 = 3) throws -> BHViT {
        let model = try #require(try ModelZoo.make(spec, seed: seed) as? BHViT)
        var rng = RandomGenerator(seed: seed &+ 11)
        model.train()
        _ = withNoGrad { model(Tensor.randn([4, 3, 32, 32], using: &rng)) }
        for (name, t) in model.stateDict().sorted(by: { $0.key < $1.key }) {
            for i in 0..<t.count {
                let z = rng.nextNormal()
                if name.hasSuffix("running_var") { t.data[i] *= Float(exp(0.4 * Double(z))) }
                else if name.hasSuffix("running_mean") { t.data[i] += 0.3 * z }
                else if name.contains("layerscale_") { t.data[i] = 0.1 * z }               // shift branches: non-zero
                else if name.hasSuffix("zero_point") { t.data[i] += 0.2 * z }
                else if name.hasSuffix("att_prob_quantizer.alpha") { t.data[i] *= 1 + 0.2 * z }
                else if name.hasSuffix("slope") || name.hasSuffix("a1") || name.hasSuffix("parm") { t.data[i] += 0.1 * z }
                else if name.hasSuffix("move") || name.hasSuffix("move1") || name.hasSuffix("move2") || name.hasSuffix("2")
                            || name.hasSuffix(".bias") { t.data[i] += 0.05 * z }
                else if name.hasSuffix("norm.weight") || name.contains("norm") && name.hasSuffix(".weight") { t.data[i] *= 1 + 0.1 * z }
            }
        }
        model.eval()
        return model
    }

    static func exported(_ model: BHViT, _ spec: ModelSpec, side: Int = 32) throws -> (ModelFileMetadata, [ExportTensor]) {
        var p = preprocessing
        p.imageSize = side
        return try ModelExporter.export(model, spec: spec, preprocessing: p, classNames: classNames)
    }

    static func file(_ model: BHViT, _ spec: ModelSpec, side: Int = 32) throws -> ModelFile {
        let (metadata, tensors) = try exported(model, spec, side: side)
        return try ModelFile(bytes: try ModelFileWriter.encode(metadata: metadata, tensors: tensors))
    }

    static func compare(_ engine: InferenceEngine, _ model: BHViT, _ images: Tensor) throws -> LogitComparison {
        let reference = withNoGrad { model(images).logits }
        let logits = try engine.logits(images)
        var c = LogitComparison()
        c.add(candidate: logits.scalars, reference: reference.data, batch: images.shape[0], classes: 10, labels: nil)
        return c
    }

    @Test("Both variants, bit and float kernels: engine logits follow model(x)",
          arguments: [("fp", "qd", true), ("binary", "qd", true), ("fp", "fp", false)])
    func parity(_ variant: (downsampling: String, attention: String, shift: Bool)) throws {
        let spec = Self.spec(downsampling: variant.downsampling, attention: variant.attention, shift: variant.shift)
        let model = try Self.model(spec)
        let file = try Self.file(model, spec)
        #expect(file.metadata.family == .bhvit)
        var rng = RandomGenerator(seed: 5)
        let images = Tensor.randn([6, 3, 32, 32], using: &rng)
        for floatKernels in [false, true] {
            let engine = try InferenceEngine(file, floatKernels: floatKernels)
            #expect(engine.inputShape == [3, 32, 32])
            let c = try Self.compare(engine, model, images)
            let what = "\(variant) \(floatKernels ? "float" : "bit") kernels: agreement \(c.agreements)/\(c.images), "
                + "mean |Δ| \(c.meanAbsoluteError), max |Δ| \(c.maxAbsoluteError), max |logit| \(c.maxReference)"
            // The logits must carry signal (a broken branch would not show in near-constant logits).
            #expect(c.maxReference > 0.05, "\(what)")
            #expect(c.agreements == c.images, "\(what)")
            #expect(c.maxAbsoluteError <= 1e-3 * max(1, c.maxReference), "\(what)")
        }
    }

    @Test("The 224 geometry (4×4 stem, four stages, 56×56 MSGDC, 14×14 and 7×7 MSMHA), fully binary, bit kernels")
    func imageNetGeometry() throws {
        let spec = ModelSpec(name: "bhvit-tiny", classes: 10, options: ["depths": "1,1,1,1", "downsampling": "binary"])
        let model = try #require(try ModelZoo.make(spec, seed: 4) as? BHViT)
        var rng = RandomGenerator(seed: 21)
        model.train()
        _ = withNoGrad { model(Tensor.randn([2, 3, 224, 224], using: &rng)) }
        // Sorted: a dictionary's iteration order changes from process to process.
        for (name, t) in model.stateDict().sorted(by: { $0.key < $1.key })
        where name.contains("layerscale_") || name.hasSuffix("running_mean") {
            for i in 0..<t.count { t.data[i] = 0.1 * rng.nextNormal() }
        }
        model.eval()
        let engine = try InferenceEngine(try Self.file(model, spec, side: 224))
        #expect(engine.inputShape == [3, 224, 224])
        let images = Tensor.randn([4, 3, 224, 224], using: &rng)
        let reference = withNoGrad { model(images).logits }.scalars
        let logits = try engine.logits(images).scalars
        let maxReference = reference.map(abs).max() ?? 0
        #expect(maxReference > 0.05)
        // Per image: in a fully binary network a pre-sign value within float rounding of zero
        // can take the other sign in the engine (BN folded into thresholds, other summation
        // order), which moves that image's logits by ~1e-2. A fault shows in every image, a
        // rounding flip in few: most images must match to float precision, all of them closely.
        let errors = (0..<4).map { i in
            (0..<10).map { abs(logits[i * 10 + $0] - reference[i * 10 + $0]) }.max()!
        }
        let exact = errors.filter { $0 <= 1e-5 * max(1, maxReference) }.count
        #expect(exact >= 3, "per-image max |Δ| \(errors), max |logit| \(maxReference)")
        #expect(errors.allSatisfy { $0 <= 0.02 * max(1, maxReference) }, "per-image max |Δ| \(errors), max |logit| \(maxReference)")
    }

    @Test("Export: 1 bit per binary weight, BN folded, the shift LayerScales and QD parameters as trained")
    func export() throws {
        let spec = Self.spec(downsampling: "binary")
        let model = try Self.model(spec)
        let (metadata, tensors) = try Self.exported(model, spec)
        #expect(metadata.bhvit == model.config)
        let byName = Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0) })
        // Every latent binary weight is stored as 1-bit signs, exactly one bit each.
        let binary = model.namedParameters().filter { $0.name.hasSuffix("weight") && ($0.name.contains(".cov") || $0.name.contains("dense")
            || $0.name.contains("query") || $0.name.contains("key") || $0.name.contains("value") || $0.name.contains("encoder.patch_embed") && $0.name.contains("proj")) }
        let stored = tensors.filter { $0.storage == .bits1 }
        #expect(stored.count == binary.count)
        #expect(stored.reduce(0) { $0 + $1.shape.reduce(1, *) } == binary.reduce(0) { $0 + $1.tensor.count })
        for t in stored { #expect(t.bytes.count == (t.shape.reduce(1, *) + 7) / 8) }
        // The first MLP: signs of W − mean_row W, α_o·BN scale.
        let w = model.vit.encoder.layerA[0].intermediate.dense.weight
        let bn = model.vit.encoder.layerA[0].intermediate.norm
        let fc1 = try #require(byName["blocks.0.mlp.fc1.weight"])
        let scale = try #require(byName["blocks.0.mlp.fc1.output_scale"])
        let k = w.shape[1]
        for row in [0, 5] {
            let values = Array(w.scalars[(row * k)..<((row + 1) * k)])
            let mean = values.reduce(0, +) / Float(k), alpha = values.map(abs).reduce(0, +) / Float(k)
            for j in 0..<k {
                let bit = (fc1.bytes[(row * k + j) / 8] >> UInt8((row * k + j) % 8)) & 1
                #expect(bit == (values[j] - mean < 0 ? 1 : 0))
            }
            let folded = alpha * bn.weight.data[row] / (bn.runningVariance.data[row] + 1e-5).squareRoot()
            let got = scale.bytes.withUnsafeBytes { $0.load(fromByteOffset: 4 * row, as: Float.self) }
            #expect(abs(got - folded) <= 1e-4 * abs(folded))
        }
        // The shift LayerScales were perturbed away from zero and are stored as they are.
        let shift = try #require(byName["blocks.0.shift.scale"])
        let h3 = model.stateDict()["vit.encoder.layerA.0.layerscale_h3.alpha"]!.scalars
        let storedH3 = shift.bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self).prefix(h3.count)) }
        #expect(storedH3 == h3 && h3.contains { $0 != 0 })
        #expect(byName["blocks.1.attn.qd.step"]?.shape == [2])
    }

    @Test("Per-image logits do not depend on the rest of the batch")
    func batchIndependence() throws {
        let spec = Self.spec(downsampling: "fp")
        let engine = try InferenceEngine(try Self.file(try Self.model(spec), spec))
        var rng = RandomGenerator(seed: 9)
        let images = Tensor.randn([3, 3, 32, 32], using: &rng)
        let together = try engine.logits(images)
        for i in 0..<3 {
            let alone = try engine.logits(images.slice(axis: 0, i..<(i + 1)).copy())
            for j in 0..<10 { #expect(abs(alone.data[j] - together.data[i * 10 + j]) <= 1e-5 * max(1, abs(alone.data[j]))) }
        }
    }

    @Test("Malformed BHViT files: missing architecture, impossible geometry, wrong QD and shift tensors")
    func malformed() throws {
        let spec = Self.spec(downsampling: "binary")
        let (metadata, tensors) = try Self.exported(try Self.model(spec), spec)
        func rejected(_ m: ModelFileMetadata, _ t: [ExportTensor], _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let bytes = try ModelFileWriter.encode(metadata: m, tensors: t)
            do {
                _ = try ModelFile(bytes: bytes)
                Issue.record("accepted a file that should fail with '\(fragment)'", sourceLocation: sourceLocation)
            } catch let BitViTError.malformed(_, reason) {
                #expect(reason.contains(fragment), "reason '\(reason)' lacks '\(fragment)'", sourceLocation: sourceLocation)
            }
        }
        var noArchitecture = metadata
        noArchitecture.bhvit = nil
        try rejected(noArchitecture, tensors, "no 'bhvit' architecture")
        var badWidth = metadata
        badWidth.bhvit!.stages[0].width = 30
        try rejected(badWidth, tensors, "not a multiple of 4")
        var badWindow = metadata
        badWindow.bhvit!.imageSize = 36
        try rejected(badWindow, tensors, "architecture")
        var absurd = metadata
        absurd.bhvit!.stages[2].depth = 1 << 20
        try rejected(absurd, tensors, "is 1048576; allowed 1…256")
        // QD parameters of the wrong shape, the shift LayerScales missing, a binary weight stored as floats.
        try rejected(metadata, tensors.map { $0.name == "blocks.2.attn.qd.step" ? ExportTensor($0.name, floats: [1, 1, 1], shape: [3]) : $0 },
                     "blocks.2.attn.qd.step")
        try rejected(metadata, tensors.filter { $0.name != "blocks.1.shift.scale" }, "missing tensor 'blocks.1.shift.scale'")
        try rejected(metadata, tensors.map {
            $0.name == "downsample.1.weight" ? ExportTensor($0.name, floats: [Float](repeating: 1, count: $0.shape.reduce(1, *)), shape: $0.shape) : $0
        }, "downsample.1.weight")
        // A file of the † variant does not satisfy the fully binary architecture.
        var variant = metadata
        variant.bhvit!.downsampling = .fullPrecision
        try rejected(variant, tensors, "downsample.1")
        var noQD = metadata
        noQD.bhvit!.attentionProbabilities = .fullPrecision
        try rejected(noQD, tensors, "unexpected tensor")
    }
}

@Suite("BHViT grouped dilated convolution")
struct GroupedDilatedConvolutionTests {
    /// α_o·dot + bias with one fused multiply-add on the exact dot over in-image taps, from the
    /// float signs (sgn(0) = +1, as the packed input).
    static func reference(_ input: [Float], _ w: [Float], side: Int, channels c: Int, dilation d: Int,
                          scales: [Float], bias: [Float]) -> [Float] {
        let cg = c / 4
        var out = [Float](repeating: 0, count: side * side * c)
        for y in 0..<side {
            for x in 0..<side {
                for o in 0..<c {
                    let g = o / cg
                    var dot = 0
                    for t in 0..<9 {
                        let yy = y + (t / 3 - 1) * d, xx = x + (t % 3 - 1) * d
                        guard yy >= 0 && yy < side && xx >= 0 && xx < side else { continue }
                        for ci in 0..<cg {
                            let a: Int = input[(yy * side + xx) * c + g * cg + ci] < 0 ? -1 : 1
                            let b: Int = w[(o * cg + ci) * 9 + t] < 0 ? -1 : 1
                            dot += a * b
                        }
                    }
                    out[(y * side + x) * c + o] = bias[o].addingProduct(Float(dot), scales[o])
                }
            }
        }
        return out
    }

    @Test("The direct kernel equals the reference on every path, and BinaryConvolution.dilated3x3 up to rounding",
          arguments: [(14, 64, 1), (14, 64, 5), (7, 128, 3), (9, 32, 5), (8, 96, 3), (7, 256, 1), (4, 64, 5), (5, 128, 5),
                      (6, 20, 1)])
    func equality(_ geometry: (side: Int, channels: Int, dilation: Int)) {
        let (side, c, d) = geometry
        var rng = RandomGenerator(seed: UInt64(side * 1000 + c + d))
        let x = (0..<(side * side * c)).map { _ in rng.nextNormal() }
        let w = (0..<(c * c / 4 * 9)).map { _ in rng.nextNormal() }
        let scales = (0..<c).map { _ in 1 + 0.1 * rng.nextNormal() }
        let bias = (0..<c).map { _ in rng.nextNormal() }
        #expect(GroupedConvolutionWeights.supports(channels: c, groups: 4) == ((c / 4) % 8 == 0 && c / 4 <= 64))
        guard GroupedConvolutionWeights.supports(channels: c, groups: 4) else { return }
        let lanes = w.withUnsafeBufferPointer {
            GroupedConvolutionWeights(weight: $0.baseAddress!, channels: c, groups: 4, channelScales: scales)
        }
        let input = x.withUnsafeBufferPointer { BinaryPack.signs($0.baseAddress!, rows: side * side, k: c) }
        let expected = Self.reference(x, w, side: side, channels: c, dilation: d, scales: scales, bias: bias)
        #expect(expected.contains { $0 != 0 })
        for path in BinaryKernels.supportedPaths {
            let direct = withOutput(side * side * c) { out in
                bias.withUnsafeBufferPointer {
                    GroupedDilatedConvolution.run(input, side: side, weights: lanes, dilation: d, bias: $0.baseAddress, into: out,
                                                  path: path)
                }
            }
            #expect(direct == expected, "path \(path)")
        }
        let weights = w.withUnsafeBufferPointer {
            BinaryConvWeights(weight: $0.baseAddress!, outChannels: c, inChannels: c, groups: 4, kernel: 3, channelScales: scales)
        }
        let im2col = withOutput(side * side * c) { out in
            bias.withUnsafeBufferPointer {
                BinaryConvolution.dilated3x3(input, height: side, width: side, weights: weights, dilation: d, into: out,
                                             transform: OutputTransform(bias: $0.baseAddress))
            }
        }
        // The GEMM's transform adds terms up to α·9·cg in float; a dot off by one would differ by 2α.
        let worst = zip(im2col, expected).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= 1e-6 * Float(9 * c / 4) * 2)
    }
}
