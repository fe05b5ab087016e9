import BitViTCore
// The libyaml that Yams is built on (a module of the Yams package), for its event stream.
import CYaml
import Foundation
import Yams

/// The limits every YAML or JSON document BitViT reads is held to: recipes, `--set`
/// overrides, comparison plans and the configuration stored in checkpoints
/// (docs/reliability.md). The largest recipe in `recipes/` is about 2 KB, 5 levels deep and
/// 60 nodes.
public enum DocumentLimits {
    /// Bytes of the document text.
    public static let maxBytes = 1 << 20
    /// Nesting of sequences and mappings.
    public static let maxDepth = 64
    /// Nodes of the document with every alias replaced by what it names: the tree that the
    /// later stages (merging, decoding) walk.
    public static let maxNodes = 100_000
    /// Scalar bytes of the document with every alias replaced by what it names.
    public static let maxExpandedBytes = 1 << 22
}

/// Parses YAML (JSON is a subset) into a Yams tree after checking the document against
/// `DocumentLimits` on libyaml's event stream, which holds only the open collections in
/// memory and needs no recursion: a document nested 5,000 levels deep or a "billion laughs"
/// of aliases expanding to 10⁹ nodes is rejected after reading its text once, in time and
/// memory linear in its size, before anything builds a tree. Duplicate keys in a mapping and
/// more than one document are errors too.
package enum BoundedYAML {
    /// The tree of `text` (nil for an empty document); errors are `BitViTError.malformed`
    /// naming `source` and the line.
    static func compose(_ text: String, source: String) throws -> Node? {
        try check(text, source: source)
        do {
            return try Yams.compose(yaml: text)
        } catch {
            throw BitViTError.malformed(file: source, reason: "not valid YAML/JSON: \(error)")
        }
    }

    /// One open sequence or mapping during the scan.
    private struct Frame {
        var isMapping: Bool
        var anchor: String?
        /// Expanded nodes and scalar bytes so far, this collection included.
        var nodes = 1
        var bytes = 0
        /// Mappings: scalar keys seen, and whether the next child is a key.
        var keys: Set<String> = []
        var nextIsKey = true
    }

    /// Throws unless `text` is one well-formed document within `DocumentLimits`.
    package static func check(_ text: String, source: String) throws {
        func bad(_ reason: String, line: Int? = nil) -> BitViTError {
            .malformed(file: source, reason: line.map { "line \($0): \(reason)" } ?? reason)
        }
        let utf8 = Array(text.utf8)
        guard utf8.count <= DocumentLimits.maxBytes else {
            throw bad("\(utf8.count) bytes is larger than the \(DocumentLimits.maxBytes)-byte limit for a recipe or plan")
        }
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { throw BitViTError.io("cannot initialize the YAML parser") }
        defer { yaml_parser_delete(&parser) }
        try utf8.withUnsafeBufferPointer { input in
            yaml_parser_set_input_string(&parser, input.baseAddress, input.count)
            var stack: [Frame] = []
            var anchors: [String: (nodes: Int, bytes: Int, scalar: String?)] = [:]
            var totalNodes = 0, totalBytes = 0, documents = 0

            /// Accounts for a complete child node (a scalar, an alias or a closed collection).
            func add(nodes: Int, bytes: Int, line: Int) throws {
                if var parent = stack.popLast() {
                    parent.nodes += nodes
                    parent.bytes += bytes
                    stack.append(parent)
                }
                guard totalNodes <= DocumentLimits.maxNodes else {
                    throw bad("more than \(DocumentLimits.maxNodes) nodes with aliases expanded", line: line)
                }
                guard totalBytes <= DocumentLimits.maxExpandedBytes else {
                    throw bad("more than \(DocumentLimits.maxExpandedBytes) bytes of values with aliases expanded", line: line)
                }
            }
            /// Notes a child starting in the innermost collection: a scalar key must be new.
            func start(scalar: String?, line: Int) throws {
                guard var parent = stack.popLast() else { return }
                defer { stack.append(parent) }
                guard parent.isMapping else { return }
                let isKey = parent.nextIsKey
                parent.nextIsKey.toggle()
                if isKey, let key = scalar, !parent.keys.insert(key).inserted {
                    throw bad("duplicate key '\(key)'", line: line)
                }
            }

            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    let problem = parser.problem.map { String(cString: $0) } ?? "syntax error"
                    let context = parser.context.map { String(cString: $0) + ": " } ?? ""
                    throw bad("not valid YAML/JSON: \(context)\(problem), column \(parser.problem_mark.column + 1)",
                              line: parser.problem_mark.line + 1)
                }
                defer { yaml_event_delete(&event) }
                let line = Int(event.start_mark.line) + 1
                switch event.type {
                case YAML_STREAM_END_EVENT:
                    return
                case YAML_DOCUMENT_START_EVENT:
                    documents += 1
                    guard documents == 1 else { throw bad("a second document ('---'); a recipe is one document", line: line) }
                case YAML_SCALAR_EVENT:
                    let s = event.data.scalar
                    let value = String(decoding: UnsafeBufferPointer(start: s.value, count: s.length), as: UTF8.self)
                    try start(scalar: value, line: line)
                    totalNodes += 1
                    totalBytes += s.length
                    if let anchor = string(s.anchor) { anchors[anchor] = (1, s.length, value) }
                    try add(nodes: 1, bytes: s.length, line: line)
                case YAML_ALIAS_EVENT:
                    let name = string(event.data.alias.anchor) ?? ""
                    guard let target = anchors[name] else { throw bad("alias *\(name) names no anchor before it", line: line) }
                    try start(scalar: target.scalar, line: line)
                    totalNodes += target.nodes
                    totalBytes += target.bytes
                    try add(nodes: target.nodes, bytes: target.bytes, line: line)
                case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                    try start(scalar: nil, line: line)
                    guard stack.count < DocumentLimits.maxDepth else {
                        throw bad("nested deeper than \(DocumentLimits.maxDepth) levels", line: line)
                    }
                    let isMapping = event.type == YAML_MAPPING_START_EVENT
                    let anchor = isMapping ? string(event.data.mapping_start.anchor) : string(event.data.sequence_start.anchor)
                    totalNodes += 1
                    stack.append(Frame(isMapping: isMapping, anchor: anchor))
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    guard let frame = stack.popLast() else { break }
                    if let anchor = frame.anchor { anchors[anchor] = (frame.nodes, frame.bytes, nil) }
                    try add(nodes: frame.nodes, bytes: frame.bytes, line: line)
                default:
                    break
                }
            }
        }
    }

    private static func string(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        p.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
    }
}
