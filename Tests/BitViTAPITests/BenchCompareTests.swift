import BitViTTools
import Foundation
import Testing

/// `bitvit bench compare` drives the built `bitvit` executable with `bench infer` command
/// lines of its own making: they must be ones the command accepts.
@Suite("bench compare against the built executable")
struct BenchCompareTests {
    @Test("One round without anchors measures every column of a model's row")
    func oneRoundWithoutAnchors() throws {
        let executable = try APIFixtures.productsDirectory().appendingPathComponent("bitvit").path
        try #require(FileManager.default.isExecutableFile(atPath: executable), "the built bitvit beside the tests")
        var runner = RuntimeComparisonRunner(executable: executable, python: nil, anchorsDirectory: APIFixtures.directory.path,
                                             memoryScript: "", models: [.init(name: "gsb", file: APIFixtures.model)])
        runner.rounds = 1
        var progress: [String] = []
        runner.log = { progress.append($0) }
        let rows = try runner.run()
        #expect(progress.first?.hasPrefix("anchors skipped") == true, "\(progress)")
        let row = try #require(rows.first)
        #expect(rows.count == 1 && row.name == "gsb" && row.kind == "gsb")
        #expect(row.msOneThread.count == 1 && row.msTwoThreads.count == 1 && row.imagesPerSecondBatch16.count == 1)
        #expect((row.msOneThread + row.msTwoThreads + row.imagesPerSecondBatch16).allSatisfy { $0 > 0 && $0.isFinite })
        #expect((row.engineMB ?? -1) >= 0 && (row.peakMB ?? 0) > 0)
        #expect(RuntimeComparison.markdownTable(rows).contains("| gsb |"))
    }
}
