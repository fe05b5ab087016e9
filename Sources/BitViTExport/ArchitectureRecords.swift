import BitViTModels
import BitViTRuntime

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
