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
            if let problem = vit.validate() { throw BitViTError.invalidArgument("architecture: \(problem)") }
            if metadata.family == .qvit && vit.bits == nil { throw BitViTError.invalidArgument("Q-ViT architecture without 'bits'") }
            if metadata.family == .gsb && vit.groupThresholds == nil { throw BitViTError.invalidArgument("GSB architecture without 'groupThresholds'") }
            return ViTManifest.manifest(family: metadata.family, vit)
        case .bhvit:
            guard let c = metadata.bhvit else { throw BitViTError.invalidArgument("metadata of a bhvit model has no 'bhvit' architecture") }
            if let problem = c.problem() { throw BitViTError.invalidArgument("architecture: \(problem)") }
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
        guard meta.classNames.count == meta.classes else {
            throw bad("\(meta.classNames.count) class names for \(meta.classes) classes")
        }
        let p = meta.preprocessing
        guard p.channels > 0, p.mean.count == p.channels, p.std.count == p.channels, p.std.allSatisfy({ $0 > 0 }),
              p.imageSize > 0 && p.imageSize <= 1 << 14 else {
            throw bad("preprocessing \(p) is inconsistent")
        }
        for t in file.tensors {
            guard let e = manifest.expectations[t.name] else { throw bad("unexpected tensor '\(t.name)' for a \(meta.family.rawValue) model") }
            guard e.storages.contains(t.storage) else {
                throw bad("tensor '\(t.name)' is stored as \(t.storage.name), expected \(e.storages.map(\.name).sorted().joined(separator: " or "))")
            }
            guard e.shape == t.shape else { throw bad("tensor '\(t.name)' has shape \(t.shape), the architecture needs \(e.shape)") }
        }
        for name in manifest.names where !file.contains(name) { throw bad("missing tensor '\(name)'") }
    }
}
