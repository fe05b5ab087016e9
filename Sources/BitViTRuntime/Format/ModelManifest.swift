import BitViTPlatform

/// The tensors a `.bitvit` file of each family must hold, with their storage kinds and shapes
/// derived from the stored architecture. The exporter writes exactly these; the loader rejects
/// a file with a missing, extra, mis-stored or mis-shaped tensor (docs/format.md lists them).
public struct ModelManifest {
    public struct Expectation: Equatable {
        public var storages: Set<StorageKind>
        public var shape: [Int]
    }

    /// Expected tensors by name, in export order.
    public private(set) var names: [String] = []
    public private(set) var expectations: [String: Expectation] = [:]

    static let floatKinds: Set<StorageKind> = [.float32, .float16]

    mutating func add(_ name: String, _ shape: [Int], _ storages: Set<StorageKind> = floatKinds) {
        precondition(expectations[name] == nil, "manifest: \(name) twice")
        names.append(name)
        expectations[name] = Expectation(storages: storages, shape: shape)
    }

    /// The manifest of `metadata`'s family and architecture, or a reason why there is none.
    public static func expected(for metadata: ModelFileMetadata) throws -> ModelManifest {
        switch metadata.family {
        case .deit, .binaryBaseline, .gsb, .qvit:
            guard let vit = metadata.vit else { throw BitViTError.invalidArgument("metadata of a \(metadata.family.rawValue) model has no 'vit' architecture") }
            if let problem = vit.validate(family: metadata.family) { throw BitViTError.invalidArgument("architecture: \(problem)") }
            if metadata.family == .qvit && vit.bits == nil { throw BitViTError.invalidArgument("Q-ViT architecture without 'bits'") }
            if metadata.family == .gsb && vit.groupThresholds == nil { throw BitViTError.invalidArgument("GSB architecture without 'groupThresholds'") }
            return ViTManifest.manifest(family: metadata.family, vit)
        case .bhvit:
            guard let c = metadata.bhvit else { throw BitViTError.invalidArgument("metadata of a bhvit model has no 'bhvit' architecture") }
            do { try c.validate(FieldRules(prefix: "bhvit.")) } catch let e as BitViTError {
                throw BitViTError.invalidArgument("architecture: \(e.message)")
            }
            return BHViTManifest.manifest(c)
        }
    }

    /// Throws `.malformed` unless `file` holds exactly the expected tensors.
    static func check(_ file: ModelFile) throws {
        func bad(_ reason: String) -> BitViTError { .malformed(file: file.path, reason: reason) }
        let meta = file.metadata
        let manifest: ModelManifest
        do { manifest = try expected(for: meta) } catch let e as BitViTError {
            if case .invalidArgument(let m) = e { throw bad(m) }
            throw e
        }
        // The training description is recorded, not interpreted here (BitViTExport's
        // `ModelFileMetadata.modelSpec()` validates it before anything builds a model from it).
        guard case .object(let description) = meta.model, description["name"]?.string != nil else {
            throw bad("metadata 'model' is not a model description (an object with a name)")
        }
        if let classes = description["classes"], classes != .integer(meta.classes) {
            throw bad("metadata 'model' has classes \(classes), the architecture \(meta.classes)")
        }
        guard meta.classNames.count == meta.classes else {
            throw bad("\(meta.classNames.count) class names for \(meta.classes) classes")
        }
        let p = meta.preprocessing
        let input = meta.vit.map { ($0.imageSize, $0.inChannels) } ?? meta.bhvit.map { ($0.imageSize, $0.inChannels) }
        if let (side, channels) = input, p.imageSize != side || p.channels != channels {
            throw bad("preprocessing makes \(p.imageSize)×\(p.imageSize)×\(p.channels) inputs, the model takes \(side)×\(side)×\(channels)")
        }
        guard p.mean.count == p.channels, p.std.count == p.channels,
              p.mean.allSatisfy({ $0.isFinite }), p.std.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw bad("preprocessing mean \(p.mean) and std \(p.std) need \(p.channels) finite values each, std positive")
        }
        for t in file.tensors {
            guard let e = manifest.expectations[t.name] else { throw bad("unexpected tensor '\(t.name)' for a \(meta.family.rawValue) model") }
            guard e.storages.contains(t.storage) else {
                throw bad("tensor '\(t.name)' is stored as \(t.storage.name), expected \(e.storages.map(\.name).sorted().joined(separator: " or "))")
            }
            guard e.shape == t.shape else { throw bad("tensor '\(t.name)' has shape \(t.shape), the architecture needs \(e.shape)") }
        }
        for name in manifest.names where !file.contains(name) { throw bad("missing tensor '\(name)'") }
        for t in file.tensors { if let problem = valueProblem(t) { throw bad("tensor '\(t.name)' \(problem)") } }
    }

    /// Why the values of `t` cannot be used, or nil: every float must be finite; a
    /// quantization step (a divisor: `*step`, `input_threshold`) must not be 0; a Q-ViT zero
    /// point (`input_zero`, `*_quantizer.zero`) must be an integer; a code range
    /// (`*range`: Qn, Qp) must hold integers with Qn < Qp spanning at most 255 levels.
    static func valueProblem(_ t: StoredTensor) -> String? {
        guard t.storage == .float32 || t.storage == .float16 else { return nil }
        let values = t.floats()
        if let i = values.firstIndex(where: { !$0.isFinite }) { return "holds \(values[i]) at index \(i); every value must be finite" }
        let last = t.name.split(separator: ".").last.map(String.init) ?? t.name
        if last.hasSuffix("step") || last == "input_threshold", let i = values.firstIndex(of: 0) {
            return "holds the step 0 at index \(i); a quantization step must not be 0"
        }
        if t.name.hasSuffix("_quantizer.zero") || last == "input_zero",
           let i = values.firstIndex(where: { $0 != $0.rounded() || abs($0) > 65_536 }) {
            return "holds the zero point \(values[i]) at index \(i); a zero point is an integer (a code) of magnitude at most 65536"
        }
        if last.hasSuffix("range") {
            guard values.count == 2, values.allSatisfy({ $0 == $0.rounded() && abs($0) <= 255 }),
                  values[0] < values[1], values[1] - values[0] <= 255 else {
                return "is \(values); a code range is two integers Qn < Qp at most 255 apart"
            }
        }
        return nil
    }
}
