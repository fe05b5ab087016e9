import BitViTRuntime
import Foundation
import Testing

/// The Swift, C and Python examples of docs/api.md run, and give what `Classifier` gives.
@Suite("API examples")
struct ExampleTests {
    /// The classifier's logits of the fixture batch, one row per image.
    static func expectedRows() throws -> [[Float]] {
        let classifier = try Classifier(contentsOf: URL(fileURLWithPath: APIFixtures.model))
        return try classifier.classify(APIFixtures.batch.values).map(\.logits)
    }

    static func expectClose(_ rows: [[Float]], _ expected: [[Float]], _ what: String) {
        #expect(rows.count == expected.count, "\(what): \(rows.count) rows")
        for (row, reference) in zip(rows, expected) {
            let scale = reference.map(abs).max() ?? 1
            #expect(row.count == reference.count && zip(row, reference).allSatisfy { abs($0 - $1) <= 1e-5 * scale },
                    "\(what): \(row) vs \(reference)")
        }
    }

    @Test("The Swift example (SwiftExample.swift, shown in docs/api.md) classifies files alone and in a batch")
    func swiftExample() throws {
        let lines = try topClasses(model: APIFixtures.model, images: APIFixtures.images)
        let results = try Classifier(contentsOf: URL(fileURLWithPath: APIFixtures.model)).classify(APIFixtures.batch.values)
        #expect(lines == results.map { $0.topK(3).map { "\($0.name) \(String(format: "%.3f", $0.probability))" } })
        #expect(lines.count == 2 && lines.allSatisfy { $0.count == 3 })
    }

    @Test("The C example, compiled against bitvit.h and libBitViTC, prints the classifier's logits")
    func cExample() throws {
        let compiler = try #require(APIFixtures.tool("cc", "clang", "gcc"), "no C compiler (cc, clang, gcc) on PATH")
        let products = try APIFixtures.productsDirectory()
        let program = APIFixtures.directory.appendingPathComponent("classify").path
        let build = try APIFixtures.run(compiler, [
            "-std=c11", "-Wall", "-Wextra", "-Werror", "-o", program,
            APIFixtures.root.appendingPathComponent("Examples/C/classify.c").path,
            "-I", APIFixtures.root.appendingPathComponent("Sources/CBitViTAPI/include").path,
            "-L", products.path, "-lBitViTC", "-Wl,-rpath,\(products.path)",
        ])
        try #require(build.status == 0, "compiling Examples/C/classify.c failed:\n\(build.errors)")

        let run = try APIFixtures.run(program, [APIFixtures.model, APIFixtures.batch.file, "2"])
        try #require(run.status == 0, "classify failed: \(run.errors)")
        #expect(run.output.hasPrefix("model: gsb, input 1x28x28, 10 classes"), "\(run.output)")
        Self.expectClose(APIFixtures.logitRows(run.output), try Self.expectedRows(), "C example")

        // Errors come back as a status and a message naming the problem.
        let missing = try APIFixtures.run(program, [APIFixtures.directory.appendingPathComponent("none.bitvit").path, APIFixtures.batch.file])
        #expect(missing.status == 1 && missing.errors.contains("I/O error") && missing.errors.contains("none.bitvit"), "\(missing.errors)")
        let threads = try APIFixtures.run(program, [APIFixtures.model, APIFixtures.batch.file, "0"])
        #expect(threads.status == 0)
        let tooMany = try APIFixtures.run(program, [APIFixtures.model, APIFixtures.batch.file, "5000"])
        #expect(tooMany.status == 1 && tooMany.errors.contains("threads is 5000"), "\(tooMany.errors)")
    }

    @Test("The Python ctypes example prints the classifier's logits",
          .enabled(if: APIFixtures.tool("python3") != nil, "python3 is not installed: the ctypes example is not run"))
    func pythonExample() throws {
        let python = try #require(APIFixtures.tool("python3"))
        let library = try APIFixtures.productsDirectory().appendingPathComponent(APIFixtures.libraryName).path
        let run = try APIFixtures.run(python, [APIFixtures.root.appendingPathComponent("Examples/Python/classify.py").path,
                                               library, APIFixtures.model, APIFixtures.batch.file])
        try #require(run.status == 0, "classify.py failed: \(run.errors)")
        Self.expectClose(APIFixtures.logitRows(run.output), try Self.expectedRows(), "Python example")
        let names = run.output.split(separator: "\n").filter { $0.hasPrefix("image ") }
        #expect(names.count == 2 && names.allSatisfy { line in APIFixtures.classNames.contains { line.contains("] \($0) ") } }, "\(run.output)")
    }
}
