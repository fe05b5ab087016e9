import Foundation

/// Reads the repository's prose (Markdown) and its code comments and reports what
/// `RepositoryTextTests` forbids: citations of a section (`docs/reference/gsb.md §4.4`) whose
/// file or section does not exist, relative Markdown links and `docs/…` mentions that do not
/// resolve, absolute machine paths, and words about how the work was organized.
///
/// Prose is every `.md` file outside `.build*` directories and test fixtures (fixture READMEs
/// included). Code is the Swift, C, shell, Python and YAML files of `Sources/`, `Tests/`,
/// `Examples/`, `scripts/`, `recipes/` and `comparisons/`: citations are checked in the whole
/// text (the `--dry-run` check prints its sources from string literals), everything else in
/// comments only.
struct RepositoryText {
    struct Violation: CustomStringConvertible, Equatable {
        var file: String
        var line: Int
        var message: String
        var description: String { "\(file):\(line): \(message)" }
    }

    /// A file's text and how to find its comments.
    struct Document {
        enum Kind { case prose, slashComments, hashComments }
        var path: String
        var kind: Kind
        var text: String
    }

    let root: URL

    // MARK: The files

    static let checkerFiles: Set<String> = ["Tests/BitViTToolsTests/RepositoryText.swift",
                                            "Tests/BitViTToolsTests/RepositoryTextTests.swift"]
    static let codeFolders = ["Sources", "Tests", "Examples", "scripts", "recipes", "comparisons"]

    /// Every prose and code file of the repository, paths relative to `root`.
    func documents() throws -> [Document] {
        var out: [Document] = []
        let fm = FileManager.default
        guard let walker = fm.enumerator(at: root, includingPropertiesForKeys: [.isDirectoryKey]) else { return [] }
        for case let url as URL in walker {
            let path = String(url.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1))
            let name = url.lastPathComponent
            if try url.resourceValues(forKeys: [.isDirectoryKey]).isDirectory == true {
                if name.hasPrefix(".") || name == "runs" { walker.skipDescendants() }
                continue
            }
            let inFixtures = path.split(separator: "/").contains { $0 == "Fixtures" }
            // The checker and its tests hold the forbidden patterns as data.
            if Self.checkerFiles.contains(path) { continue }
            let kind: Document.Kind
            switch url.pathExtension {
            case "md":
                kind = .prose
            case "swift", "c", "h":
                guard Self.isCode(path), !inFixtures else { continue }
                kind = .slashComments
            case "sh", "py", "yaml", "yml", "":
                guard Self.isCode(path), !inFixtures, url.pathExtension != "" || path.hasPrefix("scripts/") else { continue }
                kind = .hashComments
            default:
                continue
            }
            guard let text = try? String(contentsOf: url, encoding: .utf8) else { continue }
            out.append(Document(path: path, kind: kind, text: text))
        }
        if let manifest = try? String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8) {
            out.append(Document(path: "Package.swift", kind: .slashComments, text: manifest))
        }
        return out.sorted { $0.path < $1.path }
    }

    static func isCode(_ path: String) -> Bool {
        codeFolders.contains { path.hasPrefix($0 + "/") }
    }

    // MARK: Checks

    /// Every violation in `documents`.
    func violations(in documents: [Document]) -> [Violation] {
        var out: [Violation] = []
        for d in documents {
            for (i, line) in d.text.components(separatedBy: "\n").enumerated() {
                out += check(line: line, number: i + 1, in: d)
            }
        }
        return out
    }

    private func check(line: String, number: Int, in d: Document) -> [Violation] {
        var out: [Violation] = []
        func report(_ message: String) { out.append(Violation(file: d.path, line: number, message: message)) }

        for message in citationProblems(in: line, citingFile: d.path) { report(message) }
        let checked: String
        switch d.kind {
        case .prose:
            checked = line
            for message in linkProblems(in: line, citingFile: d.path) { report(message) }
        case .slashComments, .hashComments:
            checked = Self.comment(of: line, kind: d.kind)
            for path in Self.matches(of: Self.docsMention, in: checked) where !exists(path) {
                report("mentions \(path), which is not in the repository")
            }
        }
        for m in Self.matches(of: Self.machinePath, in: checked) {
            report("absolute machine path '\(m)': write a path relative to the repository (../shared/…) or a placeholder")
        }
        for (pattern, what) in Self.workplaceWords {
            for m in Self.matches(of: pattern, in: checked) { report("\(what): '\(m)'") }
        }
        return out
    }

    // MARK: Citations

    /// Problems with the `§` citations of one line: each `§` must follow a Markdown file named
    /// earlier on the line, sit in the text of a link to one, or be on a Markdown page (which
    /// then cites itself); that file must exist (relative
    /// to the citing file or the root), and every section number (`§4`, `§4.4`, both ends of
    /// `§2.5–2.7`) must head a section of it.
    func citationProblems(in line: String, citingFile: String) -> [String] {
        var out: [String] = []
        let ns = line as NSString
        var searchFrom = 0
        while true {
            let sign = ns.range(of: "§", range: NSRange(location: searchFrom, length: ns.length - searchFrom))
            guard sign.location != NSNotFound else { break }
            searchFrom = sign.location + sign.length
            let before = ns.substring(to: sign.location)
            // Inside a link's text (`[gsb.md §4.4](reference/gsb.md#44-…)`) the link names the file.
            let linked = Self.markdownLinkWithText.matches(in: line, range: NSRange(location: 0, length: ns.length)).first {
                NSLocationInRange(sign.location, $0.range(at: 1))
            }.map { ns.substring(with: $0.range(at: 2)).components(separatedBy: "#")[0] }.flatMap { $0.hasSuffix(".md") ? $0 : nil }
            // On a Markdown page a bare `§` is a section of the page itself.
            let own = citingFile.hasSuffix(".md") ? (citingFile as NSString).lastPathComponent : nil
            guard let file = linked ?? Self.matches(of: Self.markdownFile, in: before).last ?? own else {
                out.append("'§' without the Markdown file it cites before it on the line")
                continue
            }
            let after = ns.substring(from: sign.location + sign.length)
            let numbers = Self.matches(of: Self.sectionNumbers, in: after, group: 0).first.map { match in
                match.components(separatedBy: CharacterSet(charactersIn: "–-")).map {
                    $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "."))
                }
            }
            guard let numbers, after.trimmingCharacters(in: .whitespaces).first?.isNumber == true else {
                out.append("'§' after \(file) without a section number")
                continue
            }
            guard let resolved = resolve(file, from: citingFile) else {
                out.append("cites \(file) §\(numbers.joined(separator: "–")), which is not a file in the repository")
                continue
            }
            let sections = headings(of: resolved).numbers
            for n in numbers where !sections.contains(n) {
                out.append("cites \(resolved) §\(n), which has no section \(n)")
            }
        }
        return out
    }

    // MARK: Links

    /// Problems with the relative links of a Markdown line: the target must exist, and an anchor
    /// into a Markdown file must be one of its headings (GitHub's anchors).
    func linkProblems(in line: String, citingFile: String) -> [String] {
        var out: [String] = []
        for target in Self.matches(of: Self.markdownLink, in: line, group: 1) {
            if target.contains("://") || target.hasPrefix("mailto:") { continue }
            let parts = target.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let (path, anchor) = (parts[0], parts.count > 1 ? parts[1] : nil)
            let file: String
            if path.isEmpty {
                file = citingFile
            } else {
                let joined = Self.normalize(Self.directory(of: citingFile) + path)
                guard exists(joined) else {
                    out.append("links to \(target), which does not exist")
                    continue
                }
                file = joined
            }
            if let anchor, file.hasSuffix(".md"), !headings(of: file).anchors.contains(anchor) {
                out.append("links to \(target): \(file) has no heading with anchor #\(anchor)")
            }
        }
        return out
    }

    // MARK: Headings

    /// Headings already read, by path.
    private final class HeadingCache: @unchecked Sendable {
        var entries: [String: (numbers: Set<String>, anchors: Set<String>)] = [:]
    }
    private let cache = HeadingCache()

    /// The numbered sections (`4`, `4.4`) and the GitHub anchors of a Markdown file's headings.
    func headings(of path: String) -> (numbers: Set<String>, anchors: Set<String>) {
        if let known = cache.entries[path] { return known }
        let found = readHeadings(of: path)
        cache.entries[path] = found
        return found
    }

    private func readHeadings(of path: String) -> (numbers: Set<String>, anchors: Set<String>) {
        guard let text = try? String(contentsOf: root.appendingPathComponent(path), encoding: .utf8) else { return ([], []) }
        var numbers = Set<String>(), anchors = Set<String>(), seen: [String: Int] = [:]
        var inFence = false
        for line in text.components(separatedBy: "\n") {
            if line.hasPrefix("```") { inFence.toggle() }
            guard !inFence, let title = Self.matches(of: Self.heading, in: line, group: 1).first else { continue }
            if let n = Self.matches(of: Self.headingNumber, in: title, group: 1).first { numbers.insert(n) }
            let slug = Self.anchor(of: title)
            let count = seen[slug, default: 0]
            anchors.insert(count == 0 ? slug : "\(slug)-\(count)")
            seen[slug] = count + 1
        }
        return (numbers, anchors)
    }

    /// GitHub's heading anchor: lower case; letters, marks, digits, `_`, `-` and spaces kept,
    /// spaces turned into `-`, everything else dropped.
    static func anchor(of title: String) -> String {
        var out = ""
        for scalar in title.lowercased().unicodeScalars {
            switch scalar.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
                 .nonspacingMark, .spacingMark, .enclosingMark,
                 .decimalNumber, .letterNumber, .otherNumber, .connectorPunctuation:
                out.unicodeScalars.append(scalar)
            default:
                if scalar == " " { out += "-" } else if scalar == "-" { out += "-" }
            }
        }
        return out
    }

    // MARK: Paths

    func exists(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: root.appendingPathComponent(path).path)
    }

    /// `file` relative to the citing file's folder, else to the root.
    func resolve(_ file: String, from citingFile: String) -> String? {
        [Self.normalize(Self.directory(of: citingFile) + file), Self.normalize(file)].first { exists($0) }
    }

    static func directory(of path: String) -> String {
        path.contains("/") ? String(path[...path.lastIndex(of: "/")!]) : ""
    }

    /// `a/b/../c` → `a/c`; `./` dropped. A path leaving the root keeps its `..`.
    static func normalize(_ path: String) -> String {
        var parts: [String] = []
        for p in path.split(separator: "/", omittingEmptySubsequences: true).map(String.init) {
            if p == "." { continue }
            if p == "..", let last = parts.last, last != ".." { parts.removeLast() } else { parts.append(p) }
        }
        return parts.joined(separator: "/")
    }

    // MARK: Comments

    /// The comment text of a code line: after `//` (outside a string literal) for Swift and C,
    /// after a `#` that starts the line or follows a space for shell, Python and YAML. C block
    /// comments are taken line by line from `/*` or a leading `*`.
    static func comment(of line: String, kind: Document.Kind) -> String {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        switch kind {
        case .prose:
            return line
        case .slashComments:
            if trimmed.hasPrefix("*") || trimmed.hasPrefix("/*") { return trimmed }
            var inString = false, previous: Character = " "
            var index = line.startIndex
            while index < line.endIndex {
                let c = line[index]
                if c == "\"" && previous != "\\" { inString.toggle() }
                if !inString && c == "/" && previous == "/" { return String(line[line.index(after: index)...]) }
                previous = c
                index = line.index(after: index)
            }
            return ""
        case .hashComments:
            if trimmed.hasPrefix("#") { return trimmed }
            guard let r = line.range(of: " #") else { return "" }
            return String(line[r.upperBound...])
        }
    }

    // MARK: Patterns

    static let markdownFile = try! NSRegularExpression(pattern: "[A-Za-z0-9_][A-Za-z0-9_./-]*\\.md\\b")
    static let sectionNumbers = try! NSRegularExpression(pattern: "^\\s*[0-9]+(\\.[0-9]+)*(\\s*[–-]\\s*[0-9]+(\\.[0-9]+)*)?")
    static let heading = try! NSRegularExpression(pattern: "^#{1,6}\\s+(.*?)\\s*#*\\s*$")
    static let headingNumber = try! NSRegularExpression(pattern: "^([0-9]+(\\.[0-9]+)*)\\.?\\s")
    static let markdownLinkWithText = try! NSRegularExpression(pattern: "\\[([^\\]]*)\\]\\(([^()\\s]+)\\)")
    static let markdownLink = try! NSRegularExpression(pattern: "\\]\\(([^()\\s]+)\\)")
    static let docsMention = try! NSRegularExpression(pattern: "(?<![A-Za-z0-9_./-])docs/[A-Za-z0-9_./-]*[A-Za-z0-9_]\\.md\\b")
    static let machinePath = try! NSRegularExpression(pattern: "(?<![A-Za-z0-9_.~-])/(work|root|home|tmp)/[^\\s`'\")]*")

    /// Words about how the work was organized, and when.
    static let workplaceWords: [(NSRegularExpression, String)] = [
        ("\\b(the issue|the lead|the book|coordinator|helpers?|sessions?|teammates?|colleagues?|engineers?)\\b",
         "words about how the work was organized"),
        ("\\b(today|yesterday|tomorrow|this morning|morning|afternoon|end of day|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\\b",
         "a day of work"),
        ("\\b20[0-9]{2}-[01][0-9]-[0-3][0-9]\\b|\\b[0-3]?[0-9] (jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]* 20[0-9]{2}\\b",
         "a date of work"),
    ].map { (try! NSRegularExpression(pattern: $0.0, options: [.caseInsensitive]), $0.1) }
        // Git writes hashes in lower case; upper-case hex (checksums, constants) is not one, nor
        // is the checksum prefix that names a PyTorch release file (`…-cd65a155.pth`).
        + [(try! NSRegularExpression(pattern: "\\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}\\b(?!\\.(pth|pt|bin)\\b)"), "a commit hash")]

    static func matches(of pattern: NSRegularExpression, in text: String, group: Int = 0) -> [String] {
        let ns = text as NSString
        return pattern.matches(in: text, range: NSRange(location: 0, length: ns.length)).compactMap { m in
            let r = m.range(at: group)
            return r.location == NSNotFound ? nil : ns.substring(with: r)
        }
    }
}
