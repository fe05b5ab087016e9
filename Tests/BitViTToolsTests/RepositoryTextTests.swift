import Foundation
import Testing

/// The repository's prose and comments (`RepositoryText`): every section citation resolves to a
/// file and a section of the repository (the method references in docs/reference), every
/// relative Markdown link and anchor resolves, and no page or comment holds an absolute machine
/// path or words about how the work was organized.
@Suite("Repository text")
struct RepositoryTextTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let text = RepositoryText(root: root)

    @Test("Citations, links, paths and words across the repository")
    func repository() throws {
        let documents = try Self.text.documents()
        // The scan reached the places that cite the references.
        for path in ["README.md", "docs/reference/gsb.md", "Sources/BitViTTrain/Configuration/MethodProcedure.swift",
                     "Tests/BitViTQuantTests/GSBGoldenTests.swift", "recipes/gsb-stage1.yaml", "scripts/test"] {
            #expect(documents.contains { $0.path == path }, "\(path) was not scanned")
        }
        let violations = Self.text.violations(in: documents)
        let report = violations.map(\.description).joined(separator: "\n")
        #expect(violations.isEmpty, "\(violations.count) problems:\n\(report)")
    }

    @Test("Citations resolve relative to the citing file or to the root")
    func citationsResolveFromEveryDirectory() {
        // Code cites from the root; a page in docs/ may cite relative to itself.
        #expect(Self.text.citationProblems(in: "(docs/reference/gsb.md §4.4)", citingFile: "Sources/X/Y.swift").isEmpty)
        #expect(Self.text.citationProblems(in: "(reference/qvit.md §6.2, §7.2)", citingFile: "docs/methods.md").isEmpty)
        #expect(Self.text.citationProblems(in: "(docs/reference/bhvit.md §3.5–3.7)", citingFile: "Tests/Z.swift").isEmpty)
    }

    @Test("The checks catch what they forbid")
    func violationsAreFound() {
        let cases: [(String, RepositoryText.Document.Kind, String)] = [
            ("/// GSB's value quantizer (gsb.md §3.4).", .slashComments, "not a file"),
            ("/// (docs/reference/gsb.md §42)", .slashComments, "no section 42"),
            ("/// (docs/reference/bhvit.md §3.5–3.99)", .slashComments, "no section 3.99"),
            ("let s = \"qvit.md §6.2: README\"", .slashComments, "not a file"),
            ("// window passes (§3.4 quirk)", .slashComments, "without the Markdown file"),
            ("As §42 says.", .prose, "page.md §42"),
            ("See [bhvit.md](reference/bhvit.md#no-such-heading).", .prose, "no heading"),
            ("See [x](missing.md).", .prose, "does not exist"),
            ("/// docs/nothing.md describes it", .slashComments, "not in the repository"),
            ("Data in /home/me/datasets.", .prose, "absolute machine path"),
            ("$B export m -o /tmp/m.bitvit", .prose, "absolute machine path"),
            ("# cache in /root/.cache", .hashComments, "absolute machine path"),
            ("Measured by the lead in the same session.", .prose, "organized"),
            ("// other engineers' builds", .slashComments, "organized"),
            ("The book's formula.", .prose, "organized"),
            ("Measured 2026-11-22 in the morning.", .prose, "date"),
            ("at commit c4527f6", .prose, "commit hash"),
        ]
        for (line, kind, expected) in cases {
            let d = RepositoryText.Document(path: kind == .prose ? "docs/page.md" : "Sources/BitViTCore/X.swift", kind: kind, text: line)
            let found = Self.text.violations(in: [d])
            #expect(found.contains { $0.message.contains(expected) }, "\(line): \(found)")
        }
        // Identifiers, code outside comments, relative paths and upper-case hex pass.
        let clean: [(String, RepositoryText.Document.Kind)] = [
            ("let outcome = try TrainingSession(config: c).run()   // a `TrainingSession` run", .slashComments),
            ("let scratch = \"/tmp/x\"", .slashComments),
            ("Data in ../shared/datasets/cifar10-jpeg; CRC 0xCBF43926.", .prose),
            ("# curl -L -o pretrained/deit_small_patch16_224-cd65a155.pth", .hashComments),
            ("Details: [GSB_V](reference/gsb.md#44-group-superposition-of-the-values-gsb_v).", .prose),
        ]
        for (line, kind) in clean {
            let d = RepositoryText.Document(path: kind == .prose ? "docs/page.md" : "Sources/BitViTCore/X.swift", kind: kind, text: line)
            #expect(Self.text.violations(in: [d]).isEmpty, "\(line): \(Self.text.violations(in: [d]))")
        }
    }

    @Test("Anchors follow GitHub's rule")
    func anchors() {
        #expect(RepositoryText.anchor(of: "4.4 Group superposition of the values (GSB_V)") == "44-group-superposition-of-the-values-gsb_v")
        #expect(RepositoryText.anchor(of: "The small-image variant (`bhvit-tiny-cifar`)") == "the-small-image-variant-bhvit-tiny-cifar")
        #expect(RepositoryText.anchor(of: "Model selection: validation during training, test at the end")
                == "model-selection-validation-during-training-test-at-the-end")
    }
}
