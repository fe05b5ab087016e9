import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import BitViTTrain

@Suite struct PlotTests {
    /// A plausible run: falling losses, rising accuracies.
    let records: [MetricsRecord] = {
        var records: [MetricsRecord] = []
        for e in 1...6 {
            let x = Double(e)
            records.append(MetricsRecord(type: "epoch", epoch: e, step: 100 * e, lr: 1e-3, trainLoss: 2 / x,
                                         trainTop1: 0.5 + 0.06 * x, valLoss: 2.2 / x, valTop1: 0.45 + 0.07 * x,
                                         valTop5: 0.9 + 0.01 * x, elapsedSeconds: 10 * x))
        }
        records.append(MetricsRecord(type: "step", epoch: 1, step: 50, lr: 1e-3, trainLoss: 99, elapsedSeconds: 5))
        return records
    }()

    @Test func writesAValidPNGAndSVG() throws {
        let dir = try temporaryDirectory("plot")
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = try TrainingCurves(records: records, title: "test run").write(to: dir)
        #expect(files.map { $0.lastPathComponent } == ["curves.svg", "curves.png"])
        let png = try Data(contentsOf: dir.appendingPathComponent("curves.png"))
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "PNG signature")
        #expect(String(decoding: png[12..<16], as: UTF8.self) == "IHDR")
        let width = png[16..<20].reduce(0) { $0 << 8 | Int($1) }, height = png[20..<24].reduce(0) { $0 << 8 | Int($1) }
        #expect(width == 1120 && height == 436)
        #expect(String(decoding: png.suffix(8).prefix(4), as: UTF8.self) == "IEND")
        let svg = try String(contentsOf: dir.appendingPathComponent("curves.svg"), encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"))
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 5, "train/val loss, train/val top-1, val top-5")
        #expect(svg.contains("test run"))
        let firstPolyline = svg.components(separatedBy: "<polyline points=\"")[1].prefix { $0 != "\"" }
        #expect(firstPolyline.split(separator: " ").count == 6, "one point per epoch; step lines are not plotted")
        // The SVG is well-formed XML.
        let parser = XMLParser(data: Data(svg.utf8))
        #expect(parser.parse())
    }

    @Test func rasterDrawsTheCurvesInTheirColors() {
        let canvas = TrainingCurves(records: records, title: "t").raster()
        var colors = Set<String>()
        for y in 0..<canvas.height { for x in 0..<canvas.width { colors.insert(canvas.pixel(x: x, y: y).hex) } }
        #expect(colors.contains("#1f77b4") && colors.contains("#d62728") && colors.contains("#2ca02c"))
    }

    @Test func ticksAreRoundNumbersCoveringTheData() {
        let t = LineChart.ticks(0.37, 2.9, target: 6)
        #expect(t.first! <= 0.37 && t.last! >= 2.9)
        #expect(t == [0, 0.5, 1, 1.5, 2, 2.5, 3])
        #expect(LineChart.ticks(5, 5, target: 4).count >= 2, "a flat series still gets an axis")
    }

    @Test func malformedMetricsLinesAreReported() throws {
        let dir = try temporaryDirectory("bad-metrics")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("metrics.jsonl")
        try "{\"type\":\"epoch\"}\n".write(to: url, atomically: true, encoding: .utf8)
        #expect(throws: BitViTError.self) { try MetricsLog.read(url) }
    }
}
