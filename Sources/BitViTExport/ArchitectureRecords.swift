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
    /// The recorded training description as a `ModelSpec`.
    public func modelSpec() throws -> ModelSpec {
        do { return try model.decoded(as: ModelSpec.self) } catch {
            throw BitViTError.invalidArgument("the file's model description is not a model spec: \(error)")
        }
    }
}
