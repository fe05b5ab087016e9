import Foundation
import BitViTCore

/// The loss and accuracy curves of a run (train and validation per epoch), as the two charts
/// `bitvit plot` draws side by side into `curves.svg` and `curves.png`.
public struct TrainingCurves: Figure {
    public var loss: LineChart
    public var accuracy: LineChart
    public var title: String

    static let trainColor = RGB(31, 119, 180), validationColor = RGB(214, 39, 40), top5Color = RGB(44, 160, 44)

    /// Curves from a run's metrics records (epoch lines; step lines are ignored).
    public init(records: [MetricsRecord], title: String) {
        let epochs = records.filter { $0.type == "epoch" }
        func points(_ value: (MetricsRecord) -> Double?) -> [(x: Double, y: Double)] {
            epochs.compactMap { r in value(r).flatMap { $0.isFinite ? (Double(r.epoch), $0) : nil } }
        }
        self.title = title
        loss = LineChart(title: "Loss", xLabel: "epoch", yLabel: "cross-entropy", series: [
            .init(name: "train", color: Self.trainColor, points: points { $0.trainLoss }),
            .init(name: "validation", color: Self.validationColor, points: points { $0.valLoss }),
        ])
        accuracy = LineChart(title: "Accuracy", xLabel: "epoch", yLabel: "percent", series: [
            .init(name: "train top-1", color: Self.trainColor, points: points { $0.trainTop1.map { 100 * $0 } }),
            .init(name: "val top-1", color: Self.validationColor, points: points { $0.valTop1.map { 100 * $0 } }),
            .init(name: "val top-5", color: Self.top5Color, points: points { $0.valTop5.map { 100 * $0 } }, dashed: true),
        ])
    }

    static let panelWidth = 560, panelHeight = 400, headerHeight = 36

    /// The figure as a standalone SVG document.
    public func svg() -> String {
        let (w, h, top) = (Self.panelWidth, Self.panelHeight, Self.headerHeight)
        return svgDocument(width: 2 * w, height: h + top,
                           panels: loss.svg(x: 0, y: Double(top), width: Double(w), height: Double(h))
                               + accuracy.svg(x: Double(w), y: Double(top), width: Double(w), height: Double(h)))
    }

    /// The figure rasterized.
    public func raster() -> RasterCanvas {
        let (w, h, top) = (Self.panelWidth, Self.panelHeight, Self.headerHeight)
        var canvas = titledCanvas(width: 2 * w, height: h + top)
        loss.draw(on: &canvas, x: 0, y: top, width: w, height: h)
        accuracy.draw(on: &canvas, x: w, y: top, width: w, height: h)
        return canvas
    }

    /// Writes `curves.svg` and `curves.png` into `directory` (atomically); returns their URLs.
    @discardableResult
    public func write(to directory: URL) throws -> [URL] {
        try writeFiles(to: directory, baseName: "curves")
    }
}
