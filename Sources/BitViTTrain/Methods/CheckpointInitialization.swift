import Foundation
import BitViTModels
import BitViTInterop

/// What initializing a model from another run's checkpoint loaded and skipped.
///
/// This is the non-strict load of GSB's stage 2 from stage 1 (docs/reference/gsb.md §5.4: the stage-1
/// patch-embedding BatchNorm is unexpected and dropped; B_att and every quantizer scale are
/// missing and start fresh) and of Q-ViT from a full-precision DeiT (docs/reference/qvit.md §7.3: the
/// quantizer scales, zero points and `init_state` flags and the IRM parameters are missing, so
/// the scales initialize lazily from the first training batch).
public struct InitializationReport: Equatable, Sendable {
    /// The checkpoint read.
    public var source: String
    /// Model tensors that took the checkpoint's values.
    public var loaded: Int
    /// Model tensors the checkpoint lacks (they keep their initialization).
    public var missing: [String]
    /// Checkpoint tensors the model lacks (ignored).
    public var unexpected: [String]
    /// Head tensors that keep their initialization because the checkpoint has another class
    /// count (official checkpoints: fine-tuning to a new label set).
    public var reinitialized: [String] = []
    /// How an official checkpoint was read: its format and family, the sections not read.
    public var notes: [String] = []

    /// `names` with every numeric path component replaced by `*`, each pattern once with its
    /// count, in first-appearance order: `blocks.*.attn.q_quantizer.alpha (×6)`.
    public static func grouped(_ names: [String]) -> [String] {
        var order: [String] = [], counts: [String: Int] = [:]
        for name in names {
            let pattern = name.split(separator: ".", omittingEmptySubsequences: false)
                .map { $0.allSatisfy(\.isNumber) && !$0.isEmpty ? "*" : String($0) }.joined(separator: ".")
            if counts[pattern] == nil { order.append(pattern) }
            counts[pattern, default: 0] += 1
        }
        return order.map { counts[$0]! > 1 ? "\($0) (×\(counts[$0]!))" : $0 }
    }

    /// The report as log lines: counts, then the grouped missing and unexpected names.
    public var lines: [String] {
        var out = ["initialized from \(source): \(loaded) tensors loaded, \(missing.count) missing, \(unexpected.count) unexpected"]
        out += notes.map { "  " + $0 }
        if !reinitialized.isEmpty {
            out.append("  re-initialized (another class count): " + Self.grouped(reinitialized).joined(separator: ", "))
        }
        if !missing.isEmpty { out.append("  missing (keep their initialization): " + Self.grouped(missing).joined(separator: ", ")) }
        if !unexpected.isEmpty { out.append("  unexpected (ignored): " + Self.grouped(unexpected).joined(separator: ", ")) }
        return out
    }
}

extension Trainer {
    /// Loads the weights of the checkpoint at `url` into the model non-strictly: tensors whose
    /// names exist in both are copied (shapes must agree), the rest is reported. Call before
    /// training; a resumed run restores its own checkpoint instead. The optimizer state of a
    /// `last.safetensors` is not read.
    ///
    /// An official PyTorch checkpoint (a `.pth` file, timm's safetensors; `WeightsFile`) is
    /// imported the same way through its family's name map, and with another class count its
    /// heads keep their initialization (GSB's stage 1 from an ImageNet DeiT-S with a new
    /// 100-class head; Q-ViT's paper initialization from the distilled DeiT-S).
    @discardableResult
    public func initializeWeights(from url: URL) throws -> InitializationReport {
        let file = try WeightsFile(path: url.path, field: "training.init_checkpoint", otherwise: WeightsFile.withoutInitialization)
        if file.kind == .official { return try initializeWeights(fromOfficial: url) }
        let checkpoint = try Checkpoint.load(url, modelSpec: config.model)
        let result: Module.LoadReport
        do { result = try model.load(checkpoint.modelTensors, strict: false) } catch {
            throw BitViTError.invalidArgument("cannot initialize \(config.model.name) from \(url.path): \(error)")
        }
        let report = InitializationReport(source: url.path, loaded: model.stateDict().count - result.missing.count,
                                          missing: result.missing, unexpected: result.unexpected)
        for line in report.lines { observer?.note(line) }
        return report
    }

    private func initializeWeights(fromOfficial url: URL) throws -> InitializationReport {
        let file = try OfficialCheckpointFile.read(url)
        let imported: ImportReport
        do { imported = try CheckpointImport.initialize(model, spec: config.model, from: file) } catch let error as BitViTError {
            throw BitViTError.invalidArgument("cannot initialize \(config.model.name) from \(url.path): \(error.message)")
        }
        let sections = Set(file.droppedSections.map(\.name))
        var notes = ["\(file.format.rawValue) in \(imported.family.rawValue) names, imported through its name map (docs/interop.md)"]
        notes += imported.notes
        if !sections.isEmpty { notes.append("not read: " + file.droppedSections.map(\.name).joined(separator: ", ")) }
        let report = InitializationReport(source: url.path, loaded: imported.mapped.count, missing: imported.missing,
                                          unexpected: imported.ignored.map(\.name).filter { !sections.contains($0) },
                                          reinitialized: imported.reinitialized, notes: notes)
        for line in report.lines { observer?.note(line) }
        return report
    }
}
