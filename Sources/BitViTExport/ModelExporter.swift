import BitViTCore
import BitViTModels
import BitViTQuant
import BitViTRuntime
import Foundation

/// Turns a trained model into a `.bitvit` file: metadata (architecture, preprocessing, class
/// names) and the tensors of its family's manifest.
public enum ModelExporter {
    /// The family of `model`, or a readable reason why it cannot be exported.
    public static func family(of model: any ImageClassifier) throws -> ExportFamily {
        switch model {
        case is DeiT: return .deit
        case let m as GSBDeiT:
            guard m.options.stage == .fullyBinary else {
                throw BitViTError.invalidArgument("export: GSB stage 1 is a training stage; export the stage-2 model")
            }
            guard m.options.groups == 3 else { throw BitViTError.invalidArgument("export: the engine runs GSB with 3 groups, the model has \(m.options.groups)") }
            return .gsb
        case let m as QuantizedDeiT:
            switch m.scheme {
            case let s as QViTScheme:
                guard s.edgeBits == 8 else { throw BitViTError.invalidArgument("export: Q-ViT with \(s.edgeBits)-bit first/last layers") }
                return .qvit
            case is BinaryBaselineScheme: return .binaryBaseline
            case is FullPrecisionScheme: return .deit
            default: throw BitViTError.invalidArgument("export: unsupported quantization scheme \(m.scheme.name)")
            }
        case is BHViT: return .bhvit
        default:
            throw BitViTError.invalidArgument("export: \(type(of: model)) models are not supported by the engine (DeiT, W1A1, GSB stage 2, Q-ViT, BHViT)")
        }
    }

    /// The metadata and tensors of `model` (in evaluation mode; its quantizer scales must be
    /// initialized, i.e. it has seen at least one training-mode batch or loaded a checkpoint).
    public static func export(_ model: any ImageClassifier, spec: ModelSpec, preprocessing: Preprocessing,
                              classNames: [String], source: String? = nil) throws -> (ModelFileMetadata, [ExportTensor]) {
        let family = try family(of: model)
        let uninitialized = model.quantizers().filter { !$0.quantizer.isInitialized }.map(\.name)
        guard uninitialized.isEmpty else {
            throw BitViTError.invalidArgument("export: quantizer scales are not initialized (\(uninitialized.prefix(3).joined(separator: ", "))…); "
                                              + "run a training-mode forward or load a trained checkpoint first")
        }
        guard classNames.count == model.classCount else {
            throw BitViTError.invalidArgument("export: \(classNames.count) class names for \(model.classCount) classes")
        }
        if let problem = nonFiniteTensorProblem(model.stateDict()) {
            throw BitViTError.invalidArgument("export: the model's \(problem); every weight must be finite")
        }
        var metadata = ModelFileMetadata(family: family, model: try JSONValue(encoding: spec), preprocessing: preprocessing, classNames: classNames, source: source)
        if let bhvit = model as? BHViT {
            metadata.bhvit = bhvit.config
            var exporter = BHViTExporter(model: bhvit)
            let tensors = try exporter.run()
            try selfCheck(metadata, tensors)
            return (metadata, tensors)
        }
        let vit = try architecture(of: model)
        metadata.vit = vit
        var exporter = ViTExporter(family: family, vit: vit, model: model)
        let tensors = try exporter.run()
        try selfCheck(metadata, tensors)
        return (metadata, tensors)
    }

    /// Exports and writes atomically to `url`.
    public static func write(_ model: any ImageClassifier, spec: ModelSpec, preprocessing: Preprocessing,
                             classNames: [String], source: String? = nil, to url: URL) throws {
        let (metadata, tensors) = try export(model, spec: spec, preprocessing: preprocessing, classNames: classNames, source: source)
        try ModelFileWriter.write(metadata: metadata, tensors: tensors, to: url)
    }

    static func architecture(of model: any ImageClassifier) throws -> ViTArchitecture {
        let config: ViTConfig
        var bits: Int?, irm: Bool?, thresholds: [Float]?, clip: Float?
        switch model {
        case let m as DeiT: config = m.config
        case let m as GSBDeiT:
            config = m.config
            thresholds = m.options.thresholds ?? [0.7, 0.9]
            clip = m.options.mlpClip
        case let m as QuantizedDeiT:
            config = m.config
            if let s = m.scheme as? QViTScheme {
                bits = s.bits
                irm = s.rectifiesQueriesAndKeys
            }
            clip = m.scheme.mlpHiddenClip.map { c in
                precondition(c.lowerBound == -c.upperBound, "symmetric MLP clip expected")
                return c.upperBound
            }
        default: throw BitViTError.invalidArgument("export: \(type(of: model)) is not a DeiT-style model")
        }
        return ViTArchitecture(imageSize: config.imageSize, patchSize: config.patchSize, inChannels: config.inChannels,
                               dim: config.dim, depth: config.depth, heads: config.heads, mlpHidden: config.mlpHidden,
                               classes: config.classes, distilled: config.distilled, layerNormEps: Float(config.layerNormEps),
                               bits: bits, rectifiesQueriesAndKeys: irm, groupThresholds: thresholds, mlpClip: clip)
    }

    /// The exporter must produce exactly the manifest the loader will demand.
    static func selfCheck(_ metadata: ModelFileMetadata, _ tensors: [ExportTensor]) throws {
        let manifest = try ModelManifest.expected(for: metadata)
        let written = Set(tensors.map(\.name))
        for t in tensors {
            guard let e = manifest.expectations[t.name], e.storages.contains(t.storage), e.shape == t.shape else {
                throw BitViTError.invalidArgument("export: tensor '\(t.name)' (\(t.storage.name) \(t.shape)) does not fit the \(metadata.family.rawValue) manifest")
            }
        }
        if let missing = manifest.names.first(where: { !written.contains($0) }) {
            throw BitViTError.invalidArgument("export: tensor '\(missing)' was not produced")
        }
    }
}
