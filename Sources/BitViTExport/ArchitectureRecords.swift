import BitViTModels
import BitViTRuntime

extension BHViTArchitecture {
    /// The architecture record of a BHViT configuration (same geometry, same JSON keys).
    public init(_ c: BHViTConfig) {
        self.init(imageSize: c.imageSize, inChannels: c.inChannels, stemKernel: c.stemKernel, stemStride: c.stemStride,
                  stages: c.stages.map {
                      Stage(mixer: Mixer(rawValue: $0.mixer.rawValue)!, width: $0.width, depth: $0.depth,
                            mlpRatio: $0.mlpRatio, heads: $0.heads)
                  },
                  classes: c.classes, downsampling: Downsampling(rawValue: c.downsampling.rawValue)!,
                  shiftBranches: c.shiftBranches,
                  attentionProbabilities: AttentionProbabilities(rawValue: c.attentionProbabilities.rawValue)!,
                  recu: c.recu, dropPathRate: c.dropPathRate)
    }
}

extension ModelFileMetadata {
    /// The recorded training description as a `ModelSpec`, checked as every model description
    /// is (`ModelZoo.validate`, within `ModelLimits`) and against the architecture's classes.
    public func modelSpec() throws -> ModelSpec {
        let spec: ModelSpec
        do { spec = try model.decoded(as: ModelSpec.self) } catch {
            throw BitViTError.invalidArgument("metadata 'model' is not a model description: \(ReadableError.decoding(error))")
        }
        do { try ModelZoo.validate(spec) } catch let e as BitViTError { throw BitViTError.invalidArgument("metadata 'model': \(e.message)") }
        guard spec.classes == classes else {
            throw BitViTError.invalidArgument("metadata 'model' has \(spec.classes) classes, the architecture \(classes)")
        }
        return spec
    }
}
