import BitViTRuntime
import Foundation

/// What `bitvit info <model.bitvit>` prints: architecture, preprocessing, storage by kind, and
/// the cost in the papers' convention (OPs = BOPs/64 + FLOPs). Loading validates the file.
public func modelFileInfo(_ path: String) throws -> String {
    let file = try ModelFile(contentsOf: URL(fileURLWithPath: path))
    var lines: [String] = []
    let meta = file.metadata
    let cost = ModelCost(file: file)
    lines.append("\(path): .bitvit version \(ModelFileLayout.version), \(meta.family.rawValue) model '\(meta.modelName)', "
                 + "\(grouped(file.fileSize)) bytes, \(file.tensors.count) tensors" + (meta.source.map { ", from \($0)" } ?? ""))
    if let v = meta.vit {
        var line = "  geometry: \(v.imageSize)×\(v.imageSize)×\(v.inChannels) images, patch \(v.patchSize) (\(v.tokens) tokens), "
            + "width \(v.dim), depth \(v.depth), \(v.heads) heads, MLP \(v.mlpHidden), \(v.classes) classes"
        if v.distilled { line += ", distillation head" }
        if let b = v.bits { line += ", W\(b)A\(b)" + (v.rectifiesQueriesAndKeys == true ? " with IRM" : "") }
        if let t = v.groupThresholds { line += ", GSB thresholds \(t)" }
        lines.append(line)
    }
    if let c = meta.bhvit {
        let stages = c.stages.enumerated().map { i, s in
            "\(c.resolution(stage: i))²×\(s.width) \(s.mixer == .convolution ? "MSGDC" : "MSMHA/\(s.heads)") ×\(s.depth)"
        }
        lines.append("  geometry: \(c.imageSize)×\(c.imageSize)×\(c.inChannels) images, \(c.stemKernel)×\(c.stemKernel)/\(c.stemStride) stem; "
                     + stages.joined(separator: ", ") + "; \(c.downsampling == .fullPrecision ? "FP (†)" : "binary") downsampling, "
                     + "attention \(c.attentionProbabilities.rawValue), shift branches \(c.shiftBranches ? "on" : "off"), \(c.classes) classes")
    }
    let p = meta.preprocessing
    lines.append("  preprocessing: resize to \(p.imageSize)×\(p.imageSize) (bicubic), mean \(p.mean), std \(p.std); classes: "
                 + meta.classNames.prefix(10).joined(separator: ", ") + (meta.classNames.count > 10 ? ", …" : ""))
    lines.append("")
    lines.append(storageTable(cost))
    lines.append("")
    lines.append("cost per image (OPs = BOPs/64 + FLOPs; 8-bit first/last layers count as FLOPs):")
    for part in cost.products {
        let bits = part.weightBits.map { "\($0)×\(part.activationBits ?? 32) bit" + (part.planePairs > 1 ? ", \(part.planePairs) plane pairs" : "") } ?? "fp"
        lines.append("  " + part.name.padding(toLength: 34, withPad: " ", startingAt: 0) + rightAligned(grouped(part.macs), 15) + " MACs  (\(bits))")
    }
    lines.append(String(format: "  BOPs %.4g, FLOPs %.4g, OPs %.4g", Double(cost.bops), Double(cost.flops), cost.ops))
    return lines.joined(separator: "\n")
}
