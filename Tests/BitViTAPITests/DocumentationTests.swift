import Foundation
import Testing

/// The code that the API documentation shows is the code the tests compile and run.
@Suite("API documentation shows the tested code")
struct DocumentationTests {
    /// The fenced code blocks of a Markdown file, each with the path named by a
    /// `<!-- from: path -->` line right before it (nil without one).
    static func codeBlocks(_ path: String) throws -> [(source: String?, lines: [String])] {
        let lines = try String(contentsOf: APIFixtures.root.appendingPathComponent(path), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var blocks: [(String?, [String])] = [], i = 0
        while i < lines.count {
            guard lines[i].hasPrefix("```") else { i += 1; continue }
            let marker = i > 0 ? lines[i - 1] : ""
            let source = marker.hasPrefix("<!-- from: ") && marker.hasSuffix(" -->")
                ? String(marker.dropFirst("<!-- from: ".count).dropLast(" -->".count)) : nil
            let end = lines[(i + 1)...].firstIndex { $0.hasPrefix("```") } ?? lines.count
            blocks.append((source, Array(lines[(i + 1)..<end])))
            i = end + 1
        }
        return blocks
    }

    static func sourceLines(_ path: String) throws -> [String] {
        var lines = try String(contentsOf: APIFixtures.root.appendingPathComponent(path), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    static let swiftExample = "Tests/BitViTAPITests/SwiftExample.swift"

    @Test("docs/api.md and the DocC article show SwiftExample.swift whole",
          arguments: ["docs/api.md", "Sources/BitViTRuntime/BitViTRuntime.docc/GettingStarted.md"])
    func swiftExampleIsShown(_ page: String) throws {
        let example = try Self.sourceLines(Self.swiftExample)
        #expect(try Self.codeBlocks(page).contains { $0.lines == example }, "\(page) does not show \(Self.swiftExample) verbatim")
    }

    @Test("Every block of docs/api.md marked with its source is a verbatim excerpt of it")
    func excerptsAreVerbatim() throws {
        let marked = try Self.codeBlocks("docs/api.md").filter { $0.source != nil }
        #expect(Set(marked.map(\.source!)).isSuperset(of: ["Examples/C/classify.c", "Examples/Python/classify.py", "Sources/CBitViTAPI/include/bitvit.h"]))
        for block in marked {
            let source = try Self.sourceLines(block.source!)
            let found = source.indices.contains { start in
                start + block.lines.count <= source.count && Array(source[start..<(start + block.lines.count)]) == block.lines
            }
            #expect(!block.lines.isEmpty && found, "a block of docs/api.md is not a verbatim excerpt of \(block.source!):\n\(block.lines.joined(separator: "\n"))")
        }
    }
}
