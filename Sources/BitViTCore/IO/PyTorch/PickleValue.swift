/// A value decoded from a pickle by BitViT's restricted interpreter (`PyTorchCheckpoint`):
/// plain data, tensors, and inert records of the classes it does not interpret. Nothing in it
/// can run: a class or function the pickle names is kept as a name (`.global`), and an object
/// the pickle asks to construct is kept as the recipe it gave (`.record`).
///
/// The tree is finite and acyclic: the reader refuses reference cycles and bounds its depth
/// and size (`CheckpointLimits`), so walking it recursively is safe. Values the pickle shares
/// (memoized) appear at each place that refers to them.
public indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer beyond 64 bits, as pickle stores it: little-endian two's complement bytes.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case list([PickleValue])
    case tuple([PickleValue])
    /// A `set` or `frozenset`, items in file order.
    case set([PickleValue])
    /// A `dict` or `collections.OrderedDict`, entries in file order.
    case dict(PickleDict)
    case tensor(TorchTensor)
    /// A storage pickled on its own rather than through a tensor.
    case storage(TorchStorage)
    /// A class or function named by the pickle; never imported, resolved or called.
    case global(PickleGlobal)
    /// An object of a class the reader does not interpret (for example `argparse.Namespace`).
    case record(PickleRecord)

    // MARK: Reading values

    /// The value under a string key of a dict, or a field of a record.
    public subscript(key: String) -> PickleValue? {
        switch self {
        case .dict(let d): return d[key]
        case .record(let r): return r[key]
        default: return nil
        }
    }

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    /// Integers (and bools, as Python treats them) that fit in `Int`.
    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }
    /// Floats and integers as `Double`.
    public var doubleValue: Double? {
        switch self {
        case .float(let d): return d
        case .int(let i): return Double(i)
        default: return nil
        }
    }
    public var tensorValue: TorchTensor? { if case .tensor(let t) = self { return t }; return nil }
    public var dictValue: PickleDict? { if case .dict(let d) = self { return d }; return nil }
    public var recordValue: PickleRecord? { if case .record(let r) = self { return r }; return nil }
    /// The items of a list, tuple or set.
    public var items: [PickleValue]? {
        switch self {
        case .list(let a), .tuple(let a), .set(let a): return a
        default: return nil
        }
    }

    /// The Python type the value stands for: `dict`, `OrderedDict`, `list`, `int`, `Tensor`,
    /// the qualified class name of a record, …
    public var typeName: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .list: return "list"
        case .tuple: return "tuple"
        case .set: return "set"
        case .dict(let d): return d.isOrdered ? "OrderedDict" : "dict"
        case .tensor: return "Tensor"
        case .storage: return "Storage"
        case .global: return "global"
        case .record(let r): return r.typeName
        }
    }
}

/// A class or function reference: `module.name`.
public struct PickleGlobal: Hashable, Sendable, CustomStringConvertible {
    public var module: String
    public var name: String
    public init(module: String, name: String) {
        self.module = module
        self.name = name
    }
    public var description: String { "\(module).\(name)" }
}

/// A dict's entries in file order. Keys are usually strings; integer keys (an optimizer's
/// per-parameter state) and others are kept as they are.
public struct PickleDict {
    public struct Entry {
        public var key: PickleValue
        public var value: PickleValue
    }
    public var entries: [Entry]
    /// Whether the pickle built a `collections.OrderedDict`.
    public var isOrdered: Bool
    /// Attributes the pickle set on the dict object (`state_dict()` sets `_metadata`).
    public var attributes: [String: PickleValue]

    public init(entries: [Entry] = [], isOrdered: Bool = false, attributes: [String: PickleValue] = [:]) {
        self.entries = entries
        self.isOrdered = isOrdered
        self.attributes = attributes
    }

    public var count: Int { entries.count }

    /// The value of the last entry with string key `key` (as Python keeps the last).
    public subscript(key: String) -> PickleValue? {
        entries.last { $0.key.stringValue == key }?.value
    }

    /// The string keys in order (other keys are skipped).
    public var stringKeys: [String] { entries.compactMap { $0.key.stringValue } }
}

/// An object of a class the reader does not interpret, kept as the recipe the pickle gave for
/// it: the class (or function) named, the arguments it would have been called with, and the
/// state, items and entries it would have been given afterwards. Nothing was constructed.
public struct PickleRecord {
    /// Usually `.global(class)`; another value when the pickle called the result of a call.
    public var type: PickleValue
    public var arguments: [PickleValue]
    /// Keyword arguments (`NEWOBJ_EX`), when given.
    public var keywordArguments: PickleValue?
    /// The object's state (`BUILD`), usually its `__dict__`.
    public var state: PickleValue?
    public var listItems: [PickleValue]
    public var dictItems: [PickleDict.Entry]

    /// `argparse.Namespace`, or a description of the callable when it is not a plain name.
    public var typeName: String {
        if case .global(let g) = type { return g.description }
        return "(call of \(type.typeName))"
    }

    /// The named fields of the state: the `__dict__` (and, for classes with `__slots__`, the
    /// slot values) of a plain Python object, in file order.
    public var fields: [(name: String, value: PickleValue)] {
        func named(_ v: PickleValue?) -> [(name: String, value: PickleValue)] {
            guard case .dict(let d)? = v else { return [] }
            return d.entries.compactMap { e in e.key.stringValue.map { ($0, e.value) } }
        }
        if case .tuple(let parts)? = state, parts.count == 2 { return named(parts[0]) + named(parts[1]) }
        return named(state)
    }

    public subscript(field: String) -> PickleValue? {
        fields.last { $0.name == field }?.value
    }
}

extension PickleValue: CustomStringConvertible {
    /// A Python-like rendering, shortened: at most 8 items per container and 4 levels.
    public var description: String { render(depth: 0) }

    private func render(depth: Int) -> String {
        func list(_ items: [PickleValue], _ open: String, _ close: String) -> String {
            if depth >= 4 { return open + (items.isEmpty ? "" : "…") + close }
            var parts = items.prefix(8).map { $0.render(depth: depth + 1) }
            if items.count > 8 { parts.append("… \(items.count - 8) more") }
            return open + parts.joined(separator: ", ") + close
        }
        switch self {
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .bigInt(let bytes): return "<\(bytes.count * 8)-bit int>"
        case .float(let d): return String(d)
        case .string(let s): return s.count > 80 ? "'\(s.prefix(77))…'" : "'\(s)'"
        case .bytes(let b): return "<\(b.count) bytes>"
        case .list(let a): return list(a, "[", "]")
        case .tuple(let a): return list(a, "(", a.count == 1 ? ",)" : ")")
        case .set(let a): return list(a, "{", "}")
        case .dict(let d):
            if depth >= 4 { return d.entries.isEmpty ? "{}" : "{…}" }
            var parts = d.entries.prefix(8).map { "\($0.key.render(depth: depth + 1)): \($0.value.render(depth: depth + 1))" }
            if d.count > 8 { parts.append("… \(d.count - 8) more") }
            return "{" + parts.joined(separator: ", ") + "}"
        case .tensor(let t): return t.description
        case .storage(let s): return "<\(s.dtype.rawValue) storage '\(s.key)', \(s.byteCount) bytes>"
        case .global(let g): return g.description
        case .record(let r):
            let fields = r.fields
            if depth >= 4 || fields.isEmpty { return "\(r.typeName)(…)" }
            var parts = fields.prefix(8).map { "\($0.name)=\($0.value.render(depth: depth + 1))" }
            if fields.count > 8 { parts.append("… \(fields.count - 8) more") }
            return "\(r.typeName)(" + parts.joined(separator: ", ") + ")"
        }
    }
}
