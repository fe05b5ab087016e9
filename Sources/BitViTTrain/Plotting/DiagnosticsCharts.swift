import Foundation
import BitViTCore

/// The quantizer diagnostics of a run (`diagnostics.jsonl`) as four panels, written by
/// `bitvit plot` and at the end of training into `diagnostics.svg` and `diagnostics.png`:
///
/// 1. mean weight flip ratio per epoch (over the epoch, and in its first step), in percent;
/// 2. the per-layer flip ratio over the epoch as a heatmap (layers × epochs);
/// 3. the fraction of quantizer inputs outside the straight-through window, per role
///    (quantizers with the same path up to block indices, averaged);
/// 4. the mean learned scale per role relative to its value after the first epoch.
public struct DiagnosticsCharts: Figure {
    public var flips: LineChart
    public var flipHeatmap: Heatmap
    public var outsideWindow: LineChart
    public var scales: LineChart
    public var title: String

    package static let palette = [RGB(31, 119, 180), RGB(214, 39, 40), RGB(44, 160, 44), RGB(255, 127, 14), RGB(148, 103, 189),
                          RGB(140, 86, 75), RGB(227, 119, 194), RGB(127, 127, 127), RGB(188, 189, 34), RGB(23, 190, 207)]
    /// At most this many roles get a line (the first ones in model order).
    static let maxRoles = palette.count

    public init(records: [DiagnosticsRecord], title: String) {
        self.title = title
        let epochs = records.map { Double($0.epoch) }
        flips = LineChart(title: "Weight flip ratio", xLabel: "epoch", yLabel: "percent of weights", series: [
            .init(name: "over the epoch", color: Self.palette[0],
                  points: records.compactMap { r in r.meanFlipRatio.map { (Double(r.epoch), 100 * $0) } }),
            .init(name: "first step", color: Self.palette[1],
                  points: records.compactMap { r in r.meanStepFlipRatio.map { (Double(r.epoch), 100 * $0) } }, dashed: true),
        ])
        let layerNames = records.last?.layers.map(\.name) ?? []
        flipHeatmap = Heatmap(
            title: "Flip ratio per layer", xLabel: "epoch", rows: layerNames, columns: epochs,
            values: layerNames.map { name in
                records.map { r in r.layers.first { $0.name == name }?.flipRatio.map { 100 * $0 } }
            },
            scaleLabel: "%")
        let roles = Self.roles(records.last?.quantizers.map(\.name) ?? [])
        outsideWindow = LineChart(
            title: "Inputs outside the STE window", xLabel: "epoch", yLabel: "percent of inputs",
            series: roles.enumerated().map { i, role in
                .init(name: role, color: Self.palette[i], points: records.compactMap { r in
                    Self.mean(r.quantizers.filter { Self.role(of: $0.name) == role }.compactMap(\.outsideWindow))
                        .map { (Double(r.epoch), 100 * $0) }
                })
            })
        let first = records.first
        scales = LineChart(
            title: "Learned scales (mean, relative to epoch \(first?.epoch ?? 1))", xLabel: "epoch", yLabel: "ratio",
            series: roles.enumerated().map { i, role in
                func meanScale(_ r: DiagnosticsRecord) -> Double? {
                    Self.mean(r.quantizers.filter { Self.role(of: $0.name) == role }.compactMap { $0.scales.first?.mean })
                }
                let reference = first.flatMap(meanScale)
                return .init(name: role, color: Self.palette[i], points: records.compactMap { r in
                    guard let reference, reference != 0, let m = meanScale(r) else { return nil }
                    return (Double(r.epoch), m / reference)
                })
            })
    }

    /// A quantizer's role: its path without numeric components and the `_quantizer` suffix,
    /// last three components (`blocks.3.attn.qkv.input_quantizer` → `attn.qkv.input`).
    public static func role(of name: String) -> String {
        let parts = name.split(separator: ".").filter { !$0.allSatisfy(\.isNumber) }.map(String.init)
        return parts.suffix(3).joined(separator: ".").replacingOccurrences(of: "_quantizer", with: "")
    }

    /// Distinct roles in first-appearance order, at most `maxRoles`.
    static func roles(_ names: [String]) -> [String] {
        var seen: [String] = []
        for n in names.map(role(of:)) where !seen.contains(n) { seen.append(n) }
        return Array(seen.prefix(maxRoles))
    }

    static func mean(_ values: [Double]) -> Double? {
        values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }

    static let panelWidth = 640, panelHeight = 440, headerHeight = 36

    public func svg() -> String {
        let (w, h, top) = (Self.panelWidth, Self.panelHeight, Self.headerHeight)
        var out = flips.svg(x: 0, y: Double(top), width: Double(w), height: Double(h))
        out += flipHeatmap.svg(x: Double(w), y: Double(top), width: w, height: h)
        out += outsideWindow.svg(x: 0, y: Double(top + h), width: Double(w), height: Double(h))
        out += scales.svg(x: Double(w), y: Double(top + h), width: Double(w), height: Double(h))
        return svgDocument(width: 2 * w, height: 2 * h + top, panels: out)
    }

    public func raster() -> RasterCanvas {
        let (w, h, top) = (Self.panelWidth, Self.panelHeight, Self.headerHeight)
        var canvas = titledCanvas(width: 2 * w, height: 2 * h + top)
        flips.draw(on: &canvas, x: 0, y: top, width: w, height: h)
        flipHeatmap.draw(on: &canvas, x: w, y: top, width: w, height: h)
        outsideWindow.draw(on: &canvas, x: 0, y: top + h, width: w, height: h)
        scales.draw(on: &canvas, x: w, y: top + h, width: w, height: h)
        return canvas
    }

    /// Writes `diagnostics.svg` and `diagnostics.png` into `directory`; returns their URLs.
    @discardableResult
    public func write(to directory: URL) throws -> [URL] {
        try writeFiles(to: directory, baseName: "diagnostics")
    }
}
