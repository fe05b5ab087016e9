/// Which weights of a checkpoint to take.
public enum StateDictSelection: Equatable, Sendable {
    /// The trained model: the dict under `state_dict`, `model` or `model_state_dict` when the
    /// file wraps one (timm, DeiT and most training scripts), else the file itself when it is
    /// a bare state dict, else the parameters of a whole pickled `nn.Module`.
    case model
    /// The exponential-moving-average copy: `model_ema`, `state_dict_ema`, `ema_state_dict`
    /// or `ema`.
    case ema
    /// The dict under this key of the file's top-level dict.
    case key(String)

    var keys: [String] {
        switch self {
        case .model: return ["state_dict", "model", "model_state_dict"]
        case .ema: return ["model_ema", "state_dict_ema", "ema_state_dict", "ema"]
        case .key(let k): return [k]
        }
    }
}

/// One thing a checkpoint holds beside the weights that were taken (optimizer state, epoch,
/// `args`, an EMA copy …), with a one-line summary.
public struct CheckpointEntry {
    /// The key, with the keys of enclosing dicts joined by `/` (`state_dict/extra`).
    public let key: String
    public let value: PickleValue

    /// `epoch: 299`, `optimizer: optimizer state (152 parameter states, 2 parameter groups)`, …
    public var summary: String { "\(key): \(Self.summarize(value))" }

    static func summarize(_ value: PickleValue) -> String {
        switch value {
        case .dict(let d):
            let tensors = d.entries.compactMap { $0.value.tensorValue }
            if !tensors.isEmpty, tensors.count == d.count {
                return "state dict of \(tensors.count) tensors (\(tensors.reduce(0) { $0 + $1.count }) values)"
            }
            if let state = d["state"]?.dictValue, let groups = d["param_groups"]?.items {
                return "optimizer state (\(state.count) parameter states, \(groups.count) parameter groups)"
            }
            let keys = d.entries.prefix(6).map { $0.key.stringValue ?? $0.key.description }
            return "dict of \(d.count) entries (\(keys.joined(separator: ", "))\(d.count > 6 ? ", …" : ""))"
        case .record(let r): return "\(r.typeName) with \(r.fields.count) fields"
        case .list(let a): return "list of \(a.count) items"
        case .tuple(let a): return "tuple of \(a.count) items"
        default: return value.description
        }
    }
}

/// The weights taken from a checkpoint: named tensors in file order with their stored dtypes,
/// where they were found, and what else the file held.
public struct StateDict {
    public struct Entry {
        public let name: String
        public let tensor: TorchTensor
    }

    /// Tensors in file order, named as the model names them (prefixes removed).
    public let entries: [Entry]
    /// The keys leading to the dict in the file: `[]` for a bare state dict, `["model"]`,
    /// `["state_dict"]`, `["model_ema"]` …; `["<module>"]` for a pickled `nn.Module`.
    public let path: [String]
    /// Prefixes removed from every name (`module.` of DataParallel/DDP, `_orig_mod.` of
    /// `torch.compile`), in the order they were removed.
    public let removedPrefixes: [String]
    /// Values of the state dict that are not tensors (`_extra_state`, `None` buffers), by name.
    public let otherValues: [(name: String, value: PickleValue)]
    /// Everything else the file held, at the top level and beside the state dict in each
    /// wrapping dict.
    public let ignored: [CheckpointEntry]
    private let index: [String: Int]

    init(entries: [Entry], path: [String], removedPrefixes: [String], otherValues: [(name: String, value: PickleValue)],
         ignored: [CheckpointEntry]) {
        self.entries = entries
        self.path = path
        self.removedPrefixes = removedPrefixes
        self.otherValues = otherValues
        self.ignored = ignored
        var index: [String: Int] = [:]
        for (i, e) in entries.enumerated() { index[e.name] = i }
        self.index = index
    }

    public var names: [String] { entries.map(\.name) }

    public subscript(name: String) -> TorchTensor? { index[name].map { entries[$0].tensor } }

    /// Stored dtype of every tensor (for example `int64` for `num_batches_tracked`).
    public var dtypes: [String: StoredDType] {
        Dictionary(entries.map { ($0.name, $0.tensor.dtype) }, uniquingKeysWith: { _, last in last })
    }

    /// Every tensor converted to a row-major float32 `Tensor`.
    public func float32() -> [String: Tensor] {
        Dictionary(entries.map { ($0.name, $0.tensor.float32()) }, uniquingKeysWith: { _, last in last })
    }

    /// A few lines saying what was taken from where, and what was left.
    public var report: String {
        let source = path.isEmpty ? "the file (a bare state dict)" : "'\(path.joined(separator: "/"))'"
        let values = entries.reduce(0) { $0 + $1.tensor.count }
        var byType: [StoredDType: Int] = [:]
        for e in entries { byType[e.tensor.dtype, default: 0] += 1 }
        let types = byType.sorted { $0.value > $1.value }.map { "\($0.key.rawValue) ×\($0.value)" }.joined(separator: ", ")
        var lines = ["weights: \(entries.count) tensors, \(values) values (\(types.isEmpty ? "none" : types)) from \(source)"]
        if !removedPrefixes.isEmpty { lines.append("removed prefix: \(removedPrefixes.map { "'\($0)'" }.joined(separator: ", "))") }
        for (name, value) in otherValues { lines.append("not a tensor: \(name) = \(value)") }
        for entry in ignored { lines.append("ignored \(entry.summary)") }
        return lines.joined(separator: "\n")
    }
}

extension PyTorchCheckpoint {
    /// The file's top-level entries (for a dict), each with a summary.
    public var entries: [CheckpointEntry] {
        guard case .dict(let d) = root else { return [CheckpointEntry(key: "(root)", value: root)] }
        return d.entries.map { CheckpointEntry(key: $0.key.stringValue ?? $0.key.description, value: $0.value) }
    }

    /// Top-level keys whose values are state dicts (dicts of tensors), plus `""` when the file
    /// itself is one: the choices `stateDict(_:)` has.
    public var stateDictKeys: [String] {
        guard case .dict(let d) = root else { return [] }
        var keys = Self.tensorCount(d) > 0 ? [""] : []
        for e in d.entries {
            if let key = e.key.stringValue, let inner = e.value.dictValue, Self.tensorCount(inner) > 0 { keys.append(key) }
        }
        return keys
    }

    /// The weights chosen by `selection`, unwrapped from the file's layout, with the
    /// `module.`/`_orig_mod.` prefixes removed, and a record of everything left aside.
    public func stateDict(_ selection: StateDictSelection = .model) throws -> StateDict {
        func bad(_ reason: String) -> BitViTError { .malformed(file: name, reason: reason) }
        let (dict, path, ignored): (PickleDict, [String], [CheckpointEntry])
        switch root {
        case .dict(let top):
            guard let found = Self.locate(selection, in: top, path: [], depth: 0) else {
                let keys = top.entries.prefix(12).map { $0.key.stringValue ?? $0.key.description }.joined(separator: ", ")
                switch selection {
                case .ema: throw bad("no EMA weights: none of \(selection.keys.joined(separator: ", ")) is a dict of tensors (top-level keys: \(keys))")
                case .key(let k): throw bad("no state dict under '\(k)' (top-level keys: \(keys))")
                case .model:
                    if let (key, record) = top.entries.lazy.compactMap({ e in e.value.recordValue.map { (e.key.stringValue ?? "?", $0) } }).first,
                       Self.isModule(record) {
                        return try moduleStateDict(record, path: [key], ignored: top.entries.filter { $0.key.stringValue != key })
                    }
                    throw bad("no state dict: the file is a dict without tensors and none of \(selection.keys.joined(separator: ", ")) holds one (top-level keys: \(keys))")
                }
            }
            (dict, path, ignored) = found
        case .record(let record) where selection == .model && Self.isModule(record):
            return try moduleStateDict(record, path: ["<module>"], ignored: [])
        default:
            throw bad("the file holds a \(root.typeName), not a dict of tensors")
        }
        var entries: [StateDict.Entry] = [], others: [(name: String, value: PickleValue)] = []
        for e in dict.entries {
            guard let key = e.key.stringValue else { throw bad("state dict key \(e.key) is not a string") }
            if case .tensor(let t) = e.value { entries.append(.init(name: key, tensor: t)) } else { others.append((key, e.value)) }
        }
        return Self.removingPrefixes(entries: entries, others: others, path: path, ignored: ignored)
    }

    private static func tensorCount(_ d: PickleDict) -> Int {
        d.entries.reduce(0) { $0 + ($1.value.tensorValue == nil ? 0 : 1) }
    }

    /// Finds the state dict for `selection` in `dict` or in a wrapper nested a few levels down
    /// (`{"state_dict": {"model": …}}`); collects the siblings passed on the way.
    private static func locate(_ selection: StateDictSelection, in dict: PickleDict, path: [String], depth: Int)
        -> (PickleDict, [String], [CheckpointEntry])? {
        func siblings(except key: String) -> [CheckpointEntry] {
            dict.entries.compactMap { e in
                let k = e.key.stringValue ?? e.key.description
                return k == key ? nil : CheckpointEntry(key: (path + [k]).joined(separator: "/"), value: e.value)
            }
        }
        for key in selection.keys {
            guard let inner = dict[key]?.dictValue else { continue }
            if tensorCount(inner) > 0 { return (inner, path + [key], siblings(except: key)) }
            if depth < 3, let found = locate(.model,
                                              in: inner, path: path + [key], depth: depth + 1) {
                return (found.0, found.1, siblings(except: key) + found.2)
            }
        }
        if selection == .model, tensorCount(dict) > 0 { return (dict, path, []) }
        return nil
    }

    private static func removingPrefixes(entries: [StateDict.Entry], others: [(name: String, value: PickleValue)],
                                         path: [String], ignored: [CheckpointEntry]) -> StateDict {
        var entries = entries, others = others, removed: [String] = []
        while let prefix = ["module.", "_orig_mod."].first(where: { p in
            !entries.isEmpty && entries.allSatisfy { $0.name.hasPrefix(p) } && others.allSatisfy { $0.name.hasPrefix(p) }
        }) {
            entries = entries.map { .init(name: String($0.name.dropFirst(prefix.count)), tensor: $0.tensor) }
            others = others.map { (String($0.name.dropFirst(prefix.count)), $0.value) }
            removed.append(prefix)
        }
        return StateDict(entries: entries, path: path, removedPrefixes: removed, otherValues: others, ignored: ignored)
    }

    // MARK: Whole pickled modules

    /// Whether a record looks like an `nn.Module` (its state has `_parameters` and `_modules`).
    private static func isModule(_ r: PickleRecord) -> Bool {
        r["_parameters"]?.dictValue != nil && r["_modules"]?.dictValue != nil
    }

    /// The state dict `module.state_dict()` would return, read from the inert records of a
    /// module pickled whole (`torch.save(model)`): parameters, then persistent buffers, then
    /// submodules, depth first.
    private func moduleStateDict(_ record: PickleRecord, path: [String], ignored: [PickleDict.Entry]) throws -> StateDict {
        var entries: [StateDict.Entry] = [], others: [(name: String, value: PickleValue)] = []
        func visit(_ module: PickleRecord, _ prefix: String) {
            let transient = Set(module["_non_persistent_buffers_set"]?.items?.compactMap(\.stringValue) ?? [])
            for group in ["_parameters", "_buffers"] {
                for e in module[group]?.dictValue?.entries ?? [] {
                    guard let key = e.key.stringValue, group == "_parameters" || !transient.contains(key) else { continue }
                    switch e.value {
                    case .tensor(let t): entries.append(.init(name: prefix + key, tensor: t))
                    case .none: continue
                    default: others.append((prefix + key, e.value))
                    }
                }
            }
            for e in module["_modules"]?.dictValue?.entries ?? [] {
                guard let key = e.key.stringValue, let child = e.value.recordValue, Self.isModule(child) else { continue }
                visit(child, prefix + key + ".")
            }
        }
        visit(record, "")
        return Self.removingPrefixes(entries: entries, others: others, path: path,
                                     ignored: ignored.map { CheckpointEntry(key: $0.key.stringValue ?? $0.key.description, value: $0.value) })
    }
}
