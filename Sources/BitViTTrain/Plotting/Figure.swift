import Foundation

/// A titled figure of chart panels, drawn twice: as SVG markup and on a `RasterCanvas` for the
/// PNG. Training curves, quantizer diagnostics and comparison curves are figures.
package protocol Figure {
    var title: String { get }
    /// The standalone SVG document.
    func svg() -> String
    /// The same drawing rasterized.
    func raster() -> RasterCanvas
}

extension Figure {
    /// The SVG document around `panels`: `width`×`height` pixels on white, the title centred on top.
    package func svgDocument(width: Int, height: Int, panels: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" "
            + "viewBox=\"0 0 \(width) \(height)\" font-family=\"Helvetica, Arial, sans-serif\">\n"
            + "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
            + "<text x=\"\(width / 2)\" y=\"24\" text-anchor=\"middle\" font-size=\"18\">\(escape(title))</text>\n"
            + panels + "</svg>\n"
    }

    /// A white canvas of `width`×`height` pixels with the title centred on top, at the largest
    /// text scale up to `maxScale` at which it fits (cut with "..." where it fits at none).
    package func titledCanvas(width: Int, height: Int, maxScale: Int = 3) -> RasterCanvas {
        var canvas = RasterCanvas(width: width, height: height)
        let limit = width - 16
        let scale = (1...maxScale).reversed().first { RasterCanvas.textWidth(title, scale: $0) <= limit } ?? 1
        var text = title
        if RasterCanvas.textWidth(text, scale: scale) > limit {
            while !text.isEmpty && RasterCanvas.textWidth(text + "...", scale: scale) > limit { text.removeLast() }
            text += "..."
        }
        canvas.text(text, x: max(0, (width - RasterCanvas.textWidth(text, scale: scale)) / 2), y: 8,
                    color: RGB(20, 20, 20), scale: scale)
        return canvas
    }

    /// Writes `<baseName>.svg` and `<baseName>.png` into `directory` (atomically); returns their URLs.
    package func writeFiles(to directory: URL, baseName: String) throws -> [URL] {
        let svgURL = directory.appendingPathComponent(baseName + ".svg"), pngURL = directory.appendingPathComponent(baseName + ".png")
        try AtomicFile.write(svg(), to: svgURL)
        try AtomicFile.write(try PNGEncoder.encode(raster()), to: pngURL)
        return [svgURL, pngURL]
    }
}
