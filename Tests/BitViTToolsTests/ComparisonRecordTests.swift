import BitViTTools
import BitViTTrain
import Foundation
import Testing

/// Records of a comparison's runs: written when runs finish, enough for the report without the
/// run directories, checked against the plan, and a recorded teacher trained again when a
/// student still to train needs its checkpoint.
@Suite struct ComparisonRecordTests {
    /// A plan of a one-epoch teacher and a student initialized from it, with records, in a fresh directory.
    private static func plan() throws -> (ComparisonPlan, URL) {
        let root = try ToolFixtures.temporaryDirectory("records")
        let recipe = root.appendingPathComponent("tiny.yaml")
        try """
            name: tiny
            model: {name: vit-mnist, classes: 2, image_size: 28, in_channels: 3, patch_size: 7, dim: 32, depth: 1, heads: 2, mlp_ratio: 2}
            data: {dataset: image-folder, root: \(ToolFixtures.imageFolder.path), batch_size: 4}
            optimizer: {lr: 1e-3}
            training: {epochs: 1}
            """.write(to: recipe, atomically: true, encoding: .utf8)
        let plan = try ToolFixtures.plan("""
            name: rec
            output: \(root.appendingPathComponent("runs").path)
            records: \(root.appendingPathComponent("records").path)
            seeds: [0]
            runs:
              - {name: teacher, recipe: \(recipe.path)}
              - name: student
                recipe: \(recipe.path)
                set: ["training.init_checkpoint={run:teacher}/last.safetensors"]
            """)
        return (plan, root)
    }

    private static func top1s(_ rows: [ComparisonRow]) -> [String] {
        rows.map { "\($0.name)@\($0.seed!): \($0.testTop1 ?? -1) \($0.lastTestTop1 ?? -1) \($0.epochs) \($0.records.count)" }
    }

    @Test func recordsCarryTheReportAndRecordedTeachersTrainAgainWhenNeeded() throws {
        let (plan, root) = try Self.plan()
        var lines: [String] = []
        var runner = ComparisonRunner(plan: plan)
        runner.log = { lines.append($0) }
        #expect(try runner.trainAll())
        let teacherRecord = plan.recordFile(of: "teacher", seed: 0)!, studentRecord = plan.recordFile(of: "student", seed: 0)!
        #expect(teacherRecord.path.hasSuffix("records/teacher/seed-0.json"))
        let written = try Data(contentsOf: teacherRecord)
        #expect(try ComparisonRecord.read(studentRecord)?.epochs.count == 1)
        let trained = try runner.rows()
        #expect(trained.count == 2 && trained.allSatisfy { $0.testTop1 != nil })

        // A finished directory whose test split is not measured yet (another process is at it)
        // gets no record from the report.
        try FileManager.default.removeItem(at: teacherRecord)
        let test = plan.directory(of: "teacher", seed: 0).appendingPathComponent(TestReport.fileName)
        let measured = try Data(contentsOf: test)
        try FileManager.default.removeItem(at: test)
        _ = try runner.rows()
        #expect(!FileManager.default.fileExists(atPath: teacherRecord.path))
        try measured.write(to: test)
        _ = try runner.rows()
        #expect(try Data(contentsOf: teacherRecord) == written)

        // Without the run directories the records alone give the same report rows.
        try FileManager.default.removeItem(at: URL(fileURLWithPath: plan.output))
        let student = plan.runs[1]
        #expect(try runner.status(of: student, seed: 0, config: runner.config(for: student, seed: 0)) == .recorded)
        #expect(Self.top1s(try runner.rows()) == Self.top1s(trained))
        #expect(try runner.statusLines().allSatisfy { $0.contains("recorded") })

        // Nothing to train: recorded runs are skipped, not trained again.
        lines = []
        #expect(try runner.trainAll())
        #expect(!FileManager.default.fileExists(atPath: plan.directory(of: "teacher", seed: 0).path), "\(lines)")

        // A student to train needs its recorded teacher's checkpoint: the teacher trains again,
        // its record stays as it was.
        try FileManager.default.removeItem(at: studentRecord)
        let partial = ComparisonReport(plan: plan, rows: try runner.rows(), command: "bitvit compare plan.yaml").text
        #expect(partial.contains("**Incomplete: 1 of the plan's 2 runs (runs × seeds) have finished.** Not yet: student (seed 0)."),
                "\(partial)")
        lines = []
        #expect(try runner.trainAll())
        #expect(lines.contains { $0.contains("teacher (seed 0)") && $0.contains("training again") }, "\(lines)")
        #expect(FileManager.default.fileExists(atPath: plan.directory(of: "student", seed: 0).appendingPathComponent("last.safetensors").path))
        #expect(try Data(contentsOf: teacherRecord) == written)
        #expect(FileManager.default.fileExists(atPath: studentRecord.path))

        // A record of another configuration is an error naming the record and the setting.
        var edited = try #require(try ComparisonRecord.read(studentRecord))
        edited.config = edited.config.replacingOccurrences(of: "  epochs: 1", with: "  epochs: 7")
        try edited.write(to: studentRecord)
        try FileManager.default.removeItem(at: URL(fileURLWithPath: plan.output))
        do {
            _ = try runner.rows()
            Issue.record("a record of another configuration was accepted")
        } catch {
            #expect("\(error)".contains("student/seed-0.json") && "\(error)".contains("'  epochs: 7' → '  epochs: 1'"), "\(error)")
        }
        _ = root
    }

    /// `--run`: the requested runs train, with the unfinished runs they need; the rest wait.
    @Test func onlyRequestedRunsTrainWithTheRunsTheyNeed() throws {
        func finished(_ plan: ComparisonPlan, _ run: String) -> Bool {
            FileManager.default.fileExists(atPath: plan.directory(of: run, seed: 0).appendingPathComponent("last.safetensors").path)
        }
        let (teacherOnly, _) = try Self.plan()
        var runner = ComparisonRunner(plan: teacherOnly)
        var lines: [String] = []
        runner.log = { lines.append($0) }
        runner.onlyRuns = ["teacher"]
        #expect(try runner.trainAll())
        #expect(finished(teacherOnly, "teacher") && !finished(teacherOnly, "student"))
        #expect(lines.contains { $0.contains("student (seed 0)") && $0.contains("not requested") }, "\(lines)")

        let (studentOnly, _) = try Self.plan()
        runner = ComparisonRunner(plan: studentOnly)
        runner.log = { _ in }
        runner.onlyRuns = ["student"]
        #expect(try runner.trainAll())
        #expect(finished(studentOnly, "teacher") && finished(studentOnly, "student"), "the student's teacher trains first")
    }

    /// Records compare configurations without the thread count and the output directory, so a
    /// record made in one checkout holds in another.
    @Test func normalizedConfigurationsDropThreadsAndCheckoutPaths() throws {
        let output = "runs/cmp-x"
        var config = try TrainConfig.resolve(recipeText: """
            name: t
            model: {name: vit-mnist, classes: 2}
            data: {dataset: image-folder, root: /data/x}
            training: {epochs: 1, threads: 2, init_checkpoint: \(URL(fileURLWithPath: output).path)/fp/seed-0/best.safetensors}
            """)
        let text = try ComparisonRecord.normalized(config, output: output)
        #expect(text.contains("init_checkpoint: <output>/fp/seed-0/best.safetensors"), "\(text)")
        #expect(text.contains("output: <output>\n"), "\(text)")
        #expect(!text.contains("threads"), "\(text)")
        config.training.threads = 1
        #expect(try ComparisonRecord.normalized(config, output: output) == text)

        // A dictionary's keys come out in no fixed order: the same configuration either way.
        config.model.options = ["bits": "4", "irm": "true"]
        let options = try ComparisonRecord.normalized(config, output: output)
        let lines = options.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let i = try #require(lines.firstIndex { $0.hasSuffix("bits: '4'") || $0.hasSuffix("bits: \"4\"") || $0.hasSuffix("bits: 4") })
        let j = try #require(lines.firstIndex { $0.contains("irm:") })
        var swapped = lines
        swapped.swapAt(i, j)
        #expect(swapped.joined(separator: "\n") != options)
        #expect(ComparisonRecord.sameConfiguration(swapped.joined(separator: "\n"), options))
        #expect(!ComparisonRecord.sameConfiguration(options.replacingOccurrences(of: "epochs: 1", with: "epochs: 2"), options))
    }

    @Test(arguments: [
        ("{\"run\": \"a\"}", "config"),
        ("[1, 2]", "not a comparison record"),
        ("{\"run\": \"a\", \"config\": \"x\", \"epochs\": [{\"type\": \"epoch\"}]}", "epochs.0"),
    ])
    func malformedRecordsAreNamed(_ text: String, _ reason: String) throws {
        let url = try ToolFixtures.temporaryDirectory("bad-record").appendingPathComponent("seed-0.json")
        try text.write(to: url, atomically: true, encoding: .utf8)
        do {
            _ = try ComparisonRecord.read(url)
            Issue.record("accepted: \(text)")
        } catch {
            #expect("\(error)".contains("seed-0.json") && "\(error)".contains(reason), "\(error)")
        }
    }
}
