import Foundation

/// A line chart: named series over a shared x axis, with axis ranges and tick values chosen
/// for reading, renderable as SVG or onto a `RasterCanvas`.
public struct LineChart {
    public struct Series {
        public var name: String
        public var color: RGB
        public var points: [(x: Double, y: Double)]
        public var dashed: Bool

        public init(name: String, color: RGB, points: [(x: Double, y: Double)], dashed: Bool = false) {
            self.name = name
            self.color = color
            self.points = points
            self.dashed = dashed
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]

    public init(title: String, xLabel: String, yLabel: String, series: [Series]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series.filter { !$0.points.isEmpty }
    }

    /// Axis ranges padded to tick boundaries, and the ticks.
    public struct Axes {
        public var x: ClosedRange<Double>, y: ClosedRange<Double>
        public var xTicks: [Double], yTicks: [Double]
    }

    public var axes: Axes {
        let xs = series.flatMap { $0.points.map(\.x) }.filter(\.isFinite)
        let ys = series.flatMap { $0.points.map(\.y) }.filter(\.isFinite)
        let xTicks = Self.ticks(xs.min() ?? 0, xs.max() ?? 1, target: 8)
        let yTicks = Self.ticks(ys.min() ?? 0, ys.max() ?? 1, target: 6)
        return Axes(x: xTicks.first!...xTicks.last!, y: yTicks.first!...yTicks.last!, xTicks: xTicks, yTicks: yTicks)
    }

    /// "Nice" tick values (steps of 1, 2 or 5 × 10ⁿ) covering `[low, high]`. Values beyond
    /// ±10³⁰⁰ (a damaged metrics file) are clamped so that the span stays finite.
    public static func ticks(_ low: Double, _ high: Double, target: Int) -> [Double] {
        guard low.isFinite, high.isFinite, low <= high else { return [0, 1] }
        var (lo, hi) = (max(low, -1e300), min(high, 1e300))
        if hi - lo < 1e-12 { lo -= 0.5 * max(abs(lo), 1e-3); hi += 0.5 * max(abs(hi), 1e-3) }
        let raw = (hi - lo) / Double(max(1, target))
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        let first = (lo / step).rounded(.down) * step, last = (hi / step).rounded(.up) * step
        return stride(from: first, through: last + step / 2, by: step).map { ($0 / step).rounded() * step }
    }

    /// A tick label: integers without decimals, others with as many as the step needs.
    static func label(_ value: Double, step: Double) -> String {
        let decimals = max(0, min(6, Int((-log10(step)).rounded(.up))))
        return String(format: "%.\(decimals)f", value == 0 ? 0 : value)
    }

    /// Whether the legend goes in the lower right corner: when the data in the right part of
    /// the plot lie mostly in its upper half (rising accuracy curves), so it covers no curve.
    var legendAtBottom: Bool {
        let a = axes
        let xCut = a.x.lowerBound + 0.6 * (a.x.upperBound - a.x.lowerBound)
        let ys = series.flatMap { $0.points }.filter { $0.x >= xCut && $0.y.isFinite }
            .map { ($0.y - a.y.lowerBound) / (a.y.upperBound - a.y.lowerBound) }
        guard !ys.isEmpty else { return false }
        return ys.reduce(0, +) / Double(ys.count) > 0.5
    }

    /// Legend box size in pixels (text 12 px per character, a 24 px line sample, padding).
    var legendSize: (width: Double, height: Double) {
        (Double(series.map(\.name.count).max() ?? 0) * 12 + 46, Double(series.count) * 18 + 10)
    }

    /// The plot area inside a panel of `width × height`: left, top, right, bottom margins.
    static let margins = (left: 100.0, top: 40.0, right: 20.0, bottom: 56.0)
}

extension LineChart {
    /// The chart as an SVG `<g>` group placed at (`x`, `y`), `width × height` pixels.
    package func svg(x ox: Double, y oy: Double, width: Double, height: Double) -> String {
        let a = axes, m = Self.margins
        let (left, top, right, bottom) = (ox + m.left, oy + m.top, ox + width - m.right, oy + height - m.bottom)
        func px(_ v: Double) -> Double { left + (v - a.x.lowerBound) / (a.x.upperBound - a.x.lowerBound) * (right - left) }
        func py(_ v: Double) -> Double { bottom - (v - a.y.lowerBound) / (a.y.upperBound - a.y.lowerBound) * (bottom - top) }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var out = "<g>\n"
        out += "<text x=\"\(f((left + right) / 2))\" y=\"\(f(oy + 24))\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">\(escape(title))</text>\n"
        let xStep = a.xTicks.count > 1 ? a.xTicks[1] - a.xTicks[0] : 1
        let yStep = a.yTicks.count > 1 ? a.yTicks[1] - a.yTicks[0] : 1
        for t in a.yTicks {
            out += "<line x1=\"\(f(left))\" y1=\"\(f(py(t)))\" x2=\"\(f(right))\" y2=\"\(f(py(t)))\" stroke=\"#e4e4e4\"/>\n"
            out += "<text x=\"\(f(left - 6))\" y=\"\(f(py(t) + 4))\" text-anchor=\"end\" font-size=\"12\">\(Self.label(t, step: yStep))</text>\n"
        }
        for t in a.xTicks {
            out += "<line x1=\"\(f(px(t)))\" y1=\"\(f(top))\" x2=\"\(f(px(t)))\" y2=\"\(f(bottom))\" stroke=\"#f0f0f0\"/>\n"
            out += "<text x=\"\(f(px(t)))\" y=\"\(f(bottom + 16))\" text-anchor=\"middle\" font-size=\"12\">\(Self.label(t, step: xStep))</text>\n"
        }
        out += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(right - left))\" height=\"\(f(bottom - top))\" fill=\"none\" stroke=\"#444\"/>\n"
        out += "<text x=\"\(f((left + right) / 2))\" y=\"\(f(bottom + 36))\" text-anchor=\"middle\" font-size=\"13\">\(escape(xLabel))</text>\n"
        out += "<text transform=\"translate(\(f(ox + 18)) \(f((top + bottom) / 2))) rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">\(escape(yLabel))</text>\n"
        for s in series {
            let points = s.points.filter { $0.y.isFinite }.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
            let dash = s.dashed ? " stroke-dasharray=\"6 4\"" : ""
            out += "<polyline points=\"\(points)\" fill=\"none\" stroke=\"\(s.color.hex)\" stroke-width=\"2\"\(dash)/>\n"
            if s.points.count == 1 { out += "<circle cx=\"\(f(px(s.points[0].x)))\" cy=\"\(f(py(s.points[0].y)))\" r=\"3\" fill=\"\(s.color.hex)\"/>\n" }
        }
        let (lw, lh) = legendSize
        let (lx, ly0) = (right - lw - 8, legendAtBottom ? bottom - lh - 8 : top + 8)
        out += "<rect x=\"\(f(lx))\" y=\"\(f(ly0))\" width=\"\(f(lw))\" height=\"\(f(lh))\" fill=\"white\" fill-opacity=\"0.9\" stroke=\"#bbb\"/>\n"
        for (i, s) in series.enumerated() {
            let ly = ly0 + 19 + Double(i) * 18
            out += "<line x1=\"\(f(lx + 8))\" y1=\"\(f(ly - 4))\" x2=\"\(f(lx + 32))\" y2=\"\(f(ly - 4))\" stroke=\"\(s.color.hex)\" stroke-width=\"3\"\(s.dashed ? " stroke-dasharray=\"6 4\"" : "")/>\n"
            out += "<text x=\"\(f(lx + 38))\" y=\"\(f(ly))\" font-size=\"12\">\(escape(s.name))</text>\n"
        }
        return out + "</g>\n"
    }

    /// Draws the chart into `canvas` at (`x`, `y`), `width × height` pixels.
    package func draw(on canvas: inout RasterCanvas, x ox: Int, y oy: Int, width: Int, height: Int) {
        let a = axes, m = Self.margins
        let (left, top) = (Double(ox) + m.left, Double(oy) + m.top)
        let (right, bottom) = (Double(ox + width) - m.right, Double(oy + height) - m.bottom)
        func px(_ v: Double) -> Double { left + (v - a.x.lowerBound) / (a.x.upperBound - a.x.lowerBound) * (right - left) }
        func py(_ v: Double) -> Double { bottom - (v - a.y.lowerBound) / (a.y.upperBound - a.y.lowerBound) * (bottom - top) }
        let ink = RGB(40, 40, 40)
        canvas.text(title, x: Int((left + right) / 2) - RasterCanvas.textWidth(title) / 2, y: oy + 12, color: ink)
        let xStep = a.xTicks.count > 1 ? a.xTicks[1] - a.xTicks[0] : 1
        let yStep = a.yTicks.count > 1 ? a.yTicks[1] - a.yTicks[0] : 1
        for t in a.yTicks {
            canvas.line(left, py(t).rounded() + 0.5, right, py(t).rounded() + 0.5, color: RGB(228, 228, 228))
            let label = Self.label(t, step: yStep)
            canvas.text(label, x: Int(left) - 6 - RasterCanvas.textWidth(label), y: Int(py(t)) - 7, color: ink)
        }
        for t in a.xTicks {
            canvas.line(px(t).rounded() + 0.5, top, px(t).rounded() + 0.5, bottom, color: RGB(240, 240, 240))
            let label = Self.label(t, step: xStep)
            canvas.text(label, x: Int(px(t)) - RasterCanvas.textWidth(label) / 2, y: Int(bottom) + 12, color: ink)
        }
        for (x0, y0, x1, y1) in [(left, top, right, top), (right, top, right, bottom), (left, bottom, right, bottom), (left, top, left, bottom)] {
            canvas.line(x0, y0, x1, y1, color: RGB(68, 68, 68))
        }
        canvas.text(xLabel, x: Int((left + right) / 2) - RasterCanvas.textWidth(xLabel) / 2, y: Int(bottom) + 34, color: ink)
        canvas.text(yLabel, x: ox + 10, y: Int((top + bottom) / 2) + RasterCanvas.textWidth(yLabel) / 2, color: ink, vertical: true)
        for s in series {
            let points = s.points.filter { $0.y.isFinite }.map { (px($0.x), py($0.y)) }
            if s.dashed {
                for (p, q) in zip(points, points.dropFirst()) { dashedLine(&canvas, p, q, color: s.color) }
            } else {
                canvas.polyline(points, color: s.color, thickness: 2)
            }
        }
        let (lw, lh) = legendSize
        let (lx, ly0) = (right - lw - 8, legendAtBottom ? bottom - lh - 8 : top + 8)
        canvas.fill(x: Int(lx), y: Int(ly0), width: Int(lw), height: Int(lh), color: .white)
        for (x0, y0, x1, y1) in [(lx, ly0, lx + lw, ly0), (lx + lw, ly0, lx + lw, ly0 + lh),
                                 (lx, ly0 + lh, lx + lw, ly0 + lh), (lx, ly0, lx, ly0 + lh)] {
            canvas.line(x0, y0, x1, y1, color: RGB(187, 187, 187))
        }
        for (i, s) in series.enumerated() {
            let ly = ly0 + 14 + Double(i) * 18
            if s.dashed { dashedLine(&canvas, (lx + 8, ly), (lx + 32, ly), color: s.color) } else {
                canvas.line(lx + 8, ly, lx + 32, ly, color: s.color, thickness: 3)
            }
            canvas.text(s.name, x: Int(lx) + 38, y: Int(ly) - 7, color: ink)
        }
    }

    private func dashedLine(_ canvas: inout RasterCanvas, _ p: (Double, Double), _ q: (Double, Double), color: RGB) {
        let length = ((q.0 - p.0) * (q.0 - p.0) + (q.1 - p.1) * (q.1 - p.1)).squareRoot()
        guard length > 0 else { return }
        var t = 0.0
        while t < length {
            let t1 = min(length, t + 6)
            canvas.line(p.0 + (q.0 - p.0) * t / length, p.1 + (q.1 - p.1) * t / length,
                        p.0 + (q.0 - p.0) * t1 / length, p.1 + (q.1 - p.1) * t1 / length, color: color, thickness: 2)
            t += 10
        }
    }
}

/// Escapes text for SVG.
func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}
