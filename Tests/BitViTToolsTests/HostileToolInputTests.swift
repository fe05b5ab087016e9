import BitViTModels
import BitViTTools
import BitViTTrain
import Foundation
import Testing

/// The tools read their inputs within the same limits as training (docs/reliability.md).
@Suite("Hostile tool inputs")
struct HostileToolInputTests {
    static func expectRejected(_ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("accepted input that should fail with \(fragments)", sourceLocation: sourceLocation)
        } catch let error as BitViTError {
            for f in fragments { #expect("\(error)".contains(f), "'\(error)' lacks '\(f)'", sourceLocation: sourceLocation) }
        } catch {
            Issue.record("expected a BitViTError, got \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test("Comparison plans go through the document limits: alias bombs and duplicate keys")
    func plans() throws {
        let plan = try ToolFixtures.temporaryDirectory("hostile-plan").appendingPathComponent("plan.yaml")
        // Ten lines of aliases, each naming the previous one nine times: 9⁹ nodes expanded.
        var lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        for i in 1..<10 {
            let (previous, current) = (Character(UnicodeScalar(96 + i)!), Character(UnicodeScalar(97 + i)!))
            lines.append("\(current): &\(current) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ", ") + "]")
        }
        try (lines.joined(separator: "\n") + "\nname: x\nruns: []\n").write(to: plan, atomically: true, encoding: .utf8)
        Self.expectRejected([plan.path, "nodes with aliases expanded"]) { _ = try ComparisonPlan.load(plan) }
        try "name: p\nruns: [{name: a, recipe: r.yaml}]\nruns: []\n".write(to: plan, atomically: true, encoding: .utf8)
        Self.expectRejected(["duplicate key 'runs'"]) { _ = try ComparisonPlan.load(plan) }
    }

    @Test("bench train: a zero batch or an absurd geometry is an error, not a precondition")
    func trainingBenchmark() {
        let geometry = ViTConfig(imageSize: 8, patchSize: 4, inChannels: 1, dim: 16, depth: 1, heads: 2, classes: 4)
        Self.expectRejected(["batch is 0"]) { _ = try TrainingBenchmark(config: geometry, batch: 0, iterations: 1).run() }
        var wide = geometry
        wide.dim = 65536
        Self.expectRejected(["model.dim is 65536"]) { _ = try TrainingBenchmark(config: wide, batch: 1, iterations: 1).run() }
    }
}
