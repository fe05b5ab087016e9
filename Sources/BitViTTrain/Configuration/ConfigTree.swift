import Foundation
import BitViTCore
import Yams

/// Recipe files and command-line overrides as a YAML tree, before they are decoded into typed
/// configuration: loading (YAML or JSON), deep merging over defaults, dotted overrides, key-style
/// conversion (recipes use `snake_case`, Swift properties `camelCase`) and the list of leaf
/// paths used to reject unknown fields.
enum ConfigTree {
    /// Parses YAML (JSON is a subset) into a tree within `DocumentLimits` (`BoundedYAML`);
    /// `source` names the file in errors.
    static func parse(_ text: String, source: String) throws -> Node {
        try BoundedYAML.compose(text, source: source) ?? Node([(Node, Node)]())
    }

    /// `overlay` merged into `base`: mappings merge key by key, anything else replaces.
    static func merge(_ base: Node, _ overlay: Node) -> Node {
        guard case .mapping(let b) = base, case .mapping(let o) = overlay else { return overlay }
        var pairs = Array(b).map { ($0.key, $0.value) }
        for (key, value) in o {
            if let i = pairs.firstIndex(where: { $0.0 == key }) {
                pairs[i].1 = merge(pairs[i].1, value)
            } else {
                pairs.append((key, value))
            }
        }
        return Node(pairs)
    }

    /// Applies an override `a.b.c=value`: `value` is parsed as YAML (so `1e-3`, `true`,
    /// `[0.9, 0.95]` and `null` work) and placed at the dotted path, creating mappings on the way.
    static func applying(override assignment: String, to tree: Node) throws -> Node {
        guard let eq = assignment.firstIndex(of: "=") else {
            throw BitViTError.invalidArgument("override '\(assignment)' is not of the form key.path=value")
        }
        let path = assignment[..<eq].split(separator: ".").map(String.init)
        let text = String(assignment[assignment.index(after: eq)...])
        guard !path.isEmpty, path.allSatisfy({ !$0.isEmpty }) else {
            throw BitViTError.invalidArgument("override '\(assignment)' has an empty key")
        }
        let value = text.isEmpty ? Node("") : try parse(text, source: "override '\(assignment)'")
        return try setting(value, at: path[...], in: tree, full: path)
    }

    private static func setting(_ value: Node, at path: ArraySlice<String>, in tree: Node, full: [String]) throws -> Node {
        guard let key = path.first else { return value }
        var pairs: [(Node, Node)]
        switch tree {
        case .mapping(let m): pairs = Array(m).map { ($0.key, $0.value) }
        case .scalar(let s) where s.string.isEmpty || isNull(tree): pairs = []
        default:
            let at = full.prefix(full.count - path.count).joined(separator: ".")
            throw BitViTError.invalidArgument("override \(full.joined(separator: ".")): '\(at)' is not a section")
        }
        let k = Node(key)
        if let i = pairs.firstIndex(where: { $0.0 == k }) {
            pairs[i].1 = try setting(value, at: path.dropFirst(), in: pairs[i].1, full: full)
        } else {
            pairs.append((k, try setting(value, at: path.dropFirst(), in: Node([(Node, Node)]()), full: full)))
        }
        return Node(pairs)
    }

    static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let s) = node, s.style == .plain || s.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(s.string)
    }

    /// Renames every mapping key with `rename`, except below keys listed in `opaque`
    /// (free-form string maps such as `options`).
    static func renamingKeys(_ node: Node, opaque: Set<String> = ["options"], _ rename: (String) -> String) -> Node {
        switch node {
        case .mapping(let m):
            return Node(Array(m).map { pair -> (Node, Node) in
                let key = pair.key.string ?? ""
                let value = opaque.contains(key) ? sortingKeys(pair.value) : renamingKeys(pair.value, opaque: opaque, rename)
                return (Node(rename(key)), value)
            })
        case .sequence(let s):
            return Node(Array(s).map { renamingKeys($0, opaque: opaque, rename) })
        default:
            return node
        }
    }

    /// `node` with its mapping's pairs in key order. Opaque maps come from Swift dictionaries,
    /// which encode in a different order in every process: sorted, one configuration has one YAML text.
    static func sortingKeys(_ node: Node) -> Node {
        guard case .mapping(let m) = node else { return node }
        let pairs: [(Node, Node)] = Array(m).sorted { ($0.key.string ?? "") < ($1.key.string ?? "") }.map { ($0.key, $0.value) }
        return Node(pairs)
    }

    /// Dotted paths of every non-null leaf (and every key under an opaque map).
    static func leafPaths(_ node: Node, prefix: String = "") -> [String] {
        switch node {
        case .mapping(let m):
            if m.count == 0 { return prefix.isEmpty ? [] : [prefix] }
            return Array(m).flatMap { pair -> [String] in
                let key = pair.key.string ?? ""
                return leafPaths(pair.value, prefix: prefix.isEmpty ? key : prefix + "." + key)
            }
        case .scalar:
            return isNull(node) ? [] : [prefix]
        default:
            return [prefix]
        }
    }

    /// The subtree at a dotted path, if any.
    static func node(at path: String, in tree: Node) -> Node? {
        var current = tree
        for key in path.split(separator: ".") {
            guard case .mapping(let m) = current, let next = m[String(key)] else { return nil }
            current = next
        }
        return current
    }

    static func yaml(_ node: Node) throws -> String { try Yams.serialize(node: node) }

    /// Rewrites plain floating-point scalars in their shortest exact form (`0.9`, not `9e-1`).
    static func tidyingNumbers(_ node: Node) -> Node {
        switch node {
        case .mapping(let m):
            return Node(Array(m).map { ($0.key, tidyingNumbers($0.value)) })
        case .sequence(let s):
            return Node(Array(s).map(tidyingNumbers))
        case .scalar(let s):
            guard s.style == .plain || s.style == .any, s.string.contains(where: { $0 == "." || $0 == "e" }),
                  let value = Double(s.string), value.isFinite else { return node }
            return Node(value.description)
        }
    }
}

/// `learning_rate` → `learningRate`.
func camelCased(_ key: String) -> String {
    let parts = key.split(separator: "_", omittingEmptySubsequences: true)
    guard let first = parts.first else { return key }
    return String(first) + parts.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
}

/// `learningRate` → `learning_rate`.
package func snakeCased(_ key: String) -> String {
    var out = ""
    for ch in key {
        if ch.isUppercase { out += "_" + ch.lowercased() } else { out.append(ch) }
    }
    return out
}
