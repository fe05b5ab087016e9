import Foundation

/// A heatmap: one row per named item, one column per x value, cells shaded from white (0) to
/// a dark colour (the largest value), renderable as SVG or onto a `RasterCanvas`.
public struct Heatmap {
    public var title: String
    public var xLabel: String
    /// Row labels, top to bottom.
    public var rows: [String]
    /// Column x values (e.g. epochs), left to right.
    public var columns: [Double]
    /// `values[row][column]`; nil cells are drawn grey.
    public var values: [[Double?]]
    /// Text under the colour bar, e.g. the unit.
    public var scaleLabel: String

    public init(title: String, xLabel: String, rows: [String], columns: [Double], values: [[Double?]], scaleLabel: String) {
        precondition(values.count == rows.count && values.allSatisfy { $0.count == columns.count },
                     "Heatmap: values must be rows × columns")
        self.title = title
        self.xLabel = xLabel
        self.rows = rows
        self.columns = columns
        self.values = values
        self.scaleLabel = scaleLabel
    }

    /// The largest finite value (the darkest colour).
    public var maximum: Double {
        values.flatMap { $0.compactMap { $0 } }.filter(\.isFinite).max() ?? 0
    }

    /// The colour of `value` on the white → dark-red scale.
    public func color(_ value: Double?) -> RGB {
        guard let value, value.isFinite else { return RGB(200, 200, 200) }
        let t = maximum > 0 ? min(max(value / maximum, 0), 1) : 0
        func mix(_ a: Double, _ b: Double) -> UInt8 { UInt8((a + (b - a) * t).rounded()) }
        return RGB(mix(255, 140), mix(255, 10), mix(255, 20))
    }

    /// Label column width, title band and x-axis band in pixels.
    static let labelWidth = 150, headerHeight = 40, footerHeight = 56, rightMargin = 20

    private func cellGeometry(width: Int, height: Int) -> (left: Int, top: Int, cellWidth: Double, cellHeight: Double) {
        let plotWidth = width - Self.labelWidth - Self.rightMargin, plotHeight = height - Self.headerHeight - Self.footerHeight
        return (Self.labelWidth, Self.headerHeight, Double(plotWidth) / Double(max(columns.count, 1)),
                Double(plotHeight) / Double(max(rows.count, 1)))
    }

    /// Column labels: every column when they fit, else about eight.
    private var labelledColumns: [Int] {
        let stride = max(1, Int((Double(columns.count) / 8).rounded(.up)))
        return Array(Swift.stride(from: 0, to: columns.count, by: stride))
    }

    private func columnLabel(_ i: Int) -> String {
        columns[i] == columns[i].rounded() ? String(Int(columns[i])) : String(format: "%.1f", columns[i])
    }

    private var footer: String { "\(xLabel);  darkest = \(String(format: "%.3g", maximum)) \(scaleLabel)" }

    func svg(x ox: Double, y oy: Double, width: Int, height: Int) -> String {
        let g = cellGeometry(width: width, height: height)
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var out = "<g>\n"
        out += "<text x=\"\(f(ox + Double(width) / 2))\" y=\"\(f(oy + 24))\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">\(escape(title))</text>\n"
        let fontSize = min(12, max(6, g.cellHeight - 1))
        for (r, name) in rows.enumerated() {
            let y = oy + Double(g.top) + Double(r) * g.cellHeight
            out += "<text x=\"\(f(ox + Double(g.left) - 6))\" y=\"\(f(y + g.cellHeight / 2 + fontSize / 3))\" text-anchor=\"end\" font-size=\"\(f(fontSize))\">\(escape(name))</text>\n"
            for c in columns.indices {
                let x = ox + Double(g.left) + Double(c) * g.cellWidth
                out += "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(g.cellWidth + 0.5))\" height=\"\(f(g.cellHeight + 0.5))\" fill=\"\(color(values[r][c]).hex)\"/>\n"
            }
        }
        let bottom = oy + Double(g.top) + Double(rows.count) * g.cellHeight
        for c in labelledColumns {
            let x = ox + Double(g.left) + (Double(c) + 0.5) * g.cellWidth
            out += "<text x=\"\(f(x))\" y=\"\(f(bottom + 16))\" text-anchor=\"middle\" font-size=\"12\">\(columnLabel(c))</text>\n"
        }
        out += "<text x=\"\(f(ox + Double(g.left) + Double(width - g.left) / 2))\" y=\"\(f(bottom + 36))\" text-anchor=\"middle\" font-size=\"13\">\(escape(footer))</text>\n"
        return out + "</g>\n"
    }

    func draw(on canvas: inout RasterCanvas, x ox: Int, y oy: Int, width: Int, height: Int) {
        let g = cellGeometry(width: width, height: height)
        let ink = RGB(40, 40, 40)
        canvas.text(title, x: ox + width / 2 - RasterCanvas.textWidth(title) / 2, y: oy + 12, color: ink)
        let labelScale = g.cellHeight >= 16 ? 2 : 1
        for (r, name) in rows.enumerated() {
            let y0 = Double(oy + g.top) + Double(r) * g.cellHeight
            if g.cellHeight >= 8 {
                let label = String(name.suffix((g.left - 10) / ((BitmapFont.width + 1) * labelScale)))
                canvas.text(label, x: ox + g.left - 6 - RasterCanvas.textWidth(label, scale: labelScale),
                            y: Int(y0 + g.cellHeight / 2) - BitmapFont.height * labelScale / 2, color: ink, scale: labelScale)
            }
            for c in columns.indices {
                let x0 = Double(ox + g.left) + Double(c) * g.cellWidth
                canvas.fill(x: Int(x0.rounded()), y: Int(y0.rounded()), width: Int((x0 + g.cellWidth).rounded() - x0.rounded()),
                            height: Int((y0 + g.cellHeight).rounded() - y0.rounded()), color: color(values[r][c]))
            }
        }
        let bottom = oy + g.top + Int((Double(rows.count) * g.cellHeight).rounded())
        for c in labelledColumns {
            let label = columnLabel(c)
            let x = ox + g.left + Int((Double(c) + 0.5) * g.cellWidth)
            canvas.text(label, x: x - RasterCanvas.textWidth(label) / 2, y: bottom + 8, color: ink)
        }
        canvas.text(footer, x: ox + g.left + (width - g.left) / 2 - RasterCanvas.textWidth(footer) / 2, y: bottom + 30, color: ink)
    }
}
