import Foundation

/// A storage a pickle names by persistent id, as `torch.save` writes it:
/// `("storage", <storage type>, key, location, element count[, view])`.
struct StorageReference {
    var type: PickleGlobal
    var dtype: StoredDType
    var key: String
    var location: String
    var count: Int
    /// Legacy files only: a view of `count` elements at `offset` into storage `key`.
    var view: (key: String, offset: Int, count: Int)?
}

/// Supplies the storage a persistent id names; returning one object per key is what makes
/// tensors share storage.
typealias StorageResolver = (StorageReference) throws -> TorchStorage

/// The restricted pickle interpreter: it executes the opcodes of protocols 0–5 over an arena
/// of plain values, builds tensors through the known rebuild functions, keeps every other
/// constructed object as an inert record, and never imports or calls anything.
///
/// Objects live in flat arrays and refer to each other by index, so a hostile pickle cannot
/// build a reference cycle that leaks or a chain deep enough to overflow the stack when freed;
/// `value(of:)` then turns the arena into an acyclic `PickleValue` tree of bounded depth.
struct PickleMachine {
    enum Slot {
        case none, bool(Bool), int(Int), bigInt([UInt8]), float(Double), string(String), bytes([UInt8])
        case node(Int)
    }

    enum Node {
        case list(Int), set(Int), dict(Int), record(Int)
        case tuple([Slot])
        case global(PickleGlobal)
        case tensor(TensorNode)
        case storage(TorchStorage)
    }

    struct TensorNode {
        var storage: TorchStorage
        var dtype: StoredDType
        var offset: Int
        var shape: [Int]
        var strides: [Int]
        var requiresGrad: Bool
        var isParameter: Bool
    }

    struct DictNode {
        var keys: [Slot] = []
        var values: [Slot] = []
        var positions: [DictKey: Int] = [:]
        var isOrdered: Bool
        var attributes: [(String, Slot)] = []

        /// Python semantics: a key set twice keeps its first position and its last value
        /// (for scalar keys up to `DictKey.maxIndexedLength` bytes).
        mutating func set(_ key: Slot, _ value: Slot) {
            if let k = DictKey(key) {
                if let i = positions[k] { values[i] = value; return }
                positions[k] = keys.count
            }
            keys.append(key)
            values.append(value)
        }
    }

    /// The keys a dict merges (scalars); other keys (tuples, objects) are kept side by side.
    enum DictKey: Hashable {
        case none, int(Int), string(String), bytes([UInt8]), float(UInt64)
        init?(_ slot: Slot) {
            switch slot {
            case .none: self = .none
            case .bool(let b): self = .int(b ? 1 : 0)
            case .int(let i): self = .int(i)
            case .string(let s) where s.utf8.count <= Self.maxIndexedLength: self = .string(s)
            case .bytes(let b) where b.count <= Self.maxIndexedLength: self = .bytes(b)
            case .float(let d):
                if d == d.rounded(), abs(d) < 9e18 { self = .int(Int(d)) } else { self = .float(d.bitPattern) }
            case .string, .bytes, .bigInt, .node: return nil
            }
        }

        /// Longer keys are kept side by side rather than hashed at every SETITEM (a pickle
        /// could otherwise make each of millions of SETITEMs hash one megabyte-long key).
        static let maxIndexedLength = 1024
    }

    struct RecordNode {
        var type: Slot
        var arguments: [Slot]
        var keywords: Slot? = nil
        var state: Slot? = nil
        var listItems: [Slot] = []
        var dictItems: [(Slot, Slot)] = []
    }

    let file: String
    /// The stream's name in messages (`archive/data.pkl`).
    let stream: String
    let limits: CheckpointLimits
    let resolve: StorageResolver

    private var stack: [Slot] = []
    private var marks: [Int] = []
    private var memo: [Int: Slot] = [:]
    private var nodes: [Node] = []
    private var lists: [[Slot]] = []
    private var dicts: [DictNode] = []
    private var records: [RecordNode] = []
    /// Items stored in containers so far, each copy counted (`CheckpointLimits.maxItems`).
    private var storedItems = 0

    private var input = UnsafeRawBufferPointer(start: nil, count: 0)
    private var position = 0
    private var end = 0
    private var opcodeStart = 0
    private var opcode: UInt8 = 0

    init(file: String, stream: String, limits: CheckpointLimits, resolve: @escaping StorageResolver) {
        self.file = file
        self.stream = stream
        self.limits = limits
        self.resolve = resolve
    }

    // MARK: Running

    /// Executes the pickle starting at byte `start` of `bytes` up to its STOP opcode; returns
    /// the value STOP leaves (convert it with `value(of:)`) and the offset after STOP.
    mutating func run(_ bytes: UnsafeRawBufferPointer, from start: Int) throws -> (root: Slot, end: Int) {
        input = bytes
        defer { input = UnsafeRawBufferPointer(start: nil, count: 0) }
        position = start
        end = bytes.count - start > limits.maxPickleBytes ? start + limits.maxPickleBytes : bytes.count
        while true {
            opcodeStart = position
            opcode = try byte()
            if let root = try step(opcode) { return (root, position) }
        }
    }

    /// Executes one opcode; returns the result at STOP.
    private mutating func step(_ op: UInt8) throws -> Slot? {
        switch op {
        case 0x80: // PROTO
            let version = try byte()
            guard version <= 5 else { throw fail("pickle protocol \(version) is not supported (0–5)") }
        case 0x95: _ = try take(8) // FRAME: a framing hint for streaming readers
        case 0x2E: return try pop() // STOP
        case 0x28: // MARK
            guard marks.count < limits.maxMarkDepth else { throw fail("more than \(limits.maxMarkDepth) nested MARKs") }
            marks.append(stack.count)
        case 0x30: // POP
            if stack.count > (marks.last ?? 0) { stack.removeLast() } else if !marks.isEmpty { marks.removeLast() } else {
                throw fail("POP on an empty stack")
            }
        case 0x31: _ = try popMark() // POP_MARK
        case 0x32: try push(stack[try topIndex()]) // DUP

        // Scalars
        case 0x4E: try push(.none)
        case 0x88: try push(.bool(true))
        case 0x89: try push(.bool(false))
        case 0x4B: try push(.int(Int(try byte()))) // BININT1
        case 0x4D: try push(.int(Int(try uint(2)))) // BININT2
        case 0x4A: try push(.int(Int(Int32(truncatingIfNeeded: try uint(4))))) // BININT
        case 0x8A: try push(try longBytes(Int(try byte()))) // LONG1
        case 0x8B: // LONG4
            let n = Int32(truncatingIfNeeded: try uint(4))
            guard n >= 0 else { throw fail("negative length \(n)") }
            try push(try longBytes(Int(n)))
        case 0x49: // INT (text); "00"/"01" are False/True
            let text = try textLine()
            if text == "00" { try push(.bool(false)) } else if text == "01" { try push(.bool(true)) } else {
                try push(try decimal(text))
            }
        case 0x4C: // LONG (text)
            var text = try textLine()
            if text.hasSuffix("L") { text.removeLast() }
            try push(try decimal(text))
        case 0x46: // FLOAT (text)
            let text = try textLine()
            guard let d = Double(text.trimmingCharacters(in: .whitespaces)) else { throw fail("'\(text.prefix(40))' is not a float") }
            try push(.float(d))
        case 0x47: try push(.float(Double(bitPattern: try uint(8, bigEndian: true)))) // BINFLOAT

        // Strings and bytes
        case 0x58: try push(.string(try utf8(try take(try length(4))))) // BINUNICODE
        case 0x8C: try push(.string(try utf8(try take(Int(try byte()))))) // SHORT_BINUNICODE
        case 0x8D: try push(.string(try utf8(try take(try length(8))))) // BINUNICODE8
        case 0x56: try push(.string(try rawUnicodeEscape(try line()))) // UNICODE (text)
        case 0x54: // BINSTRING (Python 2 str)
            let n = Int32(truncatingIfNeeded: try uint(4))
            guard n >= 0 else { throw fail("negative length \(n)") }
            try push(Self.python2String(Array(try take(Int(n)))))
        case 0x55: try push(Self.python2String(Array(try take(Int(try byte()))))) // SHORT_BINSTRING
        case 0x53: try push(Self.python2String(try quotedString(try line()))) // STRING (text)
        case 0x42: try push(.bytes(Array(try take(try length(4))))) // BINBYTES
        case 0x43: try push(.bytes(Array(try take(Int(try byte()))))) // SHORT_BINBYTES
        case 0x8E, 0x96: try push(.bytes(Array(try take(try length(8))))) // BINBYTES8, BYTEARRAY8

        // Containers
        case 0x5D: try push(try newList([])) // EMPTY_LIST
        case 0x6C: try push(try newList(try popMark())) // LIST
        case 0x29: try push(try newNode(.tuple([]))) // EMPTY_TUPLE
        case 0x74: try push(try newNode(.tuple(try popMark()))) // TUPLE
        case 0x85: let a = try pop(); try push(try newNode(.tuple([a]))) // TUPLE1
        case 0x86: let b = try pop(), a = try pop(); try push(try newNode(.tuple([a, b]))) // TUPLE2
        case 0x87: let c = try pop(), b = try pop(), a = try pop(); try push(try newNode(.tuple([a, b, c]))) // TUPLE3
        case 0x7D: try push(try newDict(ordered: false)) // EMPTY_DICT
        case 0x64: // DICT
            let items = try popMark()
            let dict = try newDict(ordered: false)
            try setItems(dict, items)
            try push(dict)
        case 0x8F: try push(try newSet([])) // EMPTY_SET
        case 0x91: try push(try newSet(try popMark())) // FROZENSET
        case 0x61: let v = try pop(); try append(to: stack[try topIndex()], [v]) // APPEND
        case 0x65: let items = try popMark(); try append(to: stack[try topIndex()], items) // APPENDS
        case 0x73: let v = try pop(), k = try pop(); try setItems(stack[try topIndex()], [k, v]) // SETITEM
        case 0x75: let items = try popMark(); try setItems(stack[try topIndex()], items) // SETITEMS
        case 0x90: // ADDITEMS
            let items = try popMark()
            guard case .node(let i) = stack[try topIndex()], case .set(let k) = nodes[i] else { throw fail("ADDITEMS to a non-set") }
            try charge(items.count + lists[k].count) // appending may copy a shared buffer
            lists[k].append(contentsOf: items)

        // Memo
        case 0x68: try push(try recall(Int(try byte()))) // BINGET
        case 0x6A: try push(try recall(Int(try uint(4)))) // LONG_BINGET
        case 0x67: try push(try recall(try textIndex())) // GET
        case 0x71: try remember(Int(try byte())) // BINPUT
        case 0x72: try remember(Int(try uint(4))) // LONG_BINPUT
        case 0x70: try remember(try textIndex()) // PUT
        case 0x94: try remember(memo.count) // MEMOIZE

        // Names, calls and objects
        case 0x63: // GLOBAL
            let module = try textLine(), name = try textLine()
            try push(try global(module, name))
        case 0x93: // STACK_GLOBAL
            guard case .string(let name) = try pop(), case .string(let module) = try pop() else {
                throw fail("STACK_GLOBAL needs two strings")
            }
            try push(try global(module, name))
        case 0x52: // REDUCE
            let args = try tupleItems(try pop(), "REDUCE arguments")
            let callee = try pop()
            try push(try call(callee, args))
        case 0x81: // NEWOBJ
            let args = try tupleItems(try pop(), "NEWOBJ arguments")
            let type = try pop()
            try push(try instantiate(type, args, keywords: nil))
        case 0x92: // NEWOBJ_EX
            let keywords = try pop()
            let args = try tupleItems(try pop(), "NEWOBJ_EX arguments")
            let type = try pop()
            try push(try instantiate(type, args, keywords: keywords))
        case 0x69: // INST: class by name, arguments up to the MARK
            let module = try textLine(), name = try textLine()
            let args = try popMark()
            try push(try call(try global(module, name), args))
        case 0x6F: // OBJ: class and arguments up to the MARK
            var args = try popMark()
            guard !args.isEmpty else { throw fail("OBJ without a class") }
            let type = args.removeFirst()
            try push(try call(type, args))
        case 0x62: // BUILD
            let state = try pop()
            try build(stack[try topIndex()], state)
        case 0x51: // BINPERSID
            let id = try pop()
            try push(try persistentLoad(id))
        case 0x50: throw fail("text persistent ids (PERSID) are not used by torch.save")
        case 0x82, 0x83, 0x84: throw fail("extension registry codes (EXT1/EXT2/EXT4) are not supported")
        case 0x97: throw fail("out-of-band buffers (NEXT_BUFFER) are not supported")
        case 0x98: _ = try topIndex() // READONLY_BUFFER
        default: throw fail("unknown opcode")
        }
        return nil
    }

    // MARK: Input

    private mutating func byte() throws -> UInt8 {
        guard position < end else { throw truncated() }
        defer { position += 1 }
        return input[position]
    }

    private mutating func take(_ n: Int) throws -> UnsafeRawBufferPointer {
        guard n >= 0, n <= end - position else { throw truncated(needing: n) }
        defer { position += n }
        return UnsafeRawBufferPointer(rebasing: input[position..<(position + n)])
    }

    private mutating func uint(_ width: Int, bigEndian: Bool = false) throws -> UInt64 {
        let bytes = try take(width)
        var value: UInt64 = 0
        for i in 0..<width { value |= UInt64(bytes[bigEndian ? width - 1 - i : i]) << (8 * i) }
        return value
    }

    /// A length prefix of `width` bytes; anything longer than the rest of the stream is refused
    /// before anything is allocated.
    private mutating func length(_ width: Int) throws -> Int {
        let n = try uint(width)
        guard n <= UInt64(end - position) else { throw truncated(needing: n > UInt64(Int.max) ? Int.max : Int(n)) }
        return Int(n)
    }

    /// A newline-terminated line, without the newline.
    private mutating func line() throws -> UnsafeRawBufferPointer {
        var i = position
        while i < end, input[i] != 0x0A { i += 1 }
        guard i < end else { throw truncated() }
        defer { position = i + 1 }
        return UnsafeRawBufferPointer(rebasing: input[position..<i])
    }

    private mutating func textLine() throws -> String { try utf8(try line()) }

    private mutating func textIndex() throws -> Int {
        let text = try textLine()
        guard let i = Int(text), i >= 0 else { throw fail("'\(text.prefix(40))' is not a memo index") }
        return i
    }

    private func truncated(needing n: Int? = nil) -> BitViTError {
        if end < input.count, n.map({ position + $0 > end }) ?? true {
            return fail("the pickle is longer than the limit of \(limits.maxPickleBytes) bytes")
        }
        if let n { return fail("needs \(n) bytes, only \(end - position) remain (truncated file?)") }
        return fail("the pickle ends without a STOP opcode (truncated file?)")
    }

    private func utf8(_ bytes: UnsafeRawBufferPointer) throws -> String {
        guard let s = String(bytes: bytes, encoding: .utf8) else { throw fail("string is not valid UTF-8") }
        return s
    }

    /// Python 2 `str` values decode as UTF-8 (as `torch.load` does), else stay bytes.
    private static func python2String(_ bytes: [UInt8]) -> Slot {
        String(bytes: bytes, encoding: .utf8).map(Slot.string) ?? .bytes(bytes)
    }

    // MARK: Stack and memo

    private mutating func push(_ slot: Slot) throws {
        guard stack.count < limits.maxStackDepth else { throw fail("more than \(limits.maxStackDepth) values on the stack") }
        stack.append(slot)
    }

    private func topIndex() throws -> Int {
        guard stack.count > (marks.last ?? 0) else { throw fail("stack underflow") }
        return stack.count - 1
    }

    private mutating func pop() throws -> Slot {
        _ = try topIndex()
        return stack.removeLast()
    }

    private mutating func popMark() throws -> [Slot] {
        guard let mark = marks.popLast() else { throw fail("no MARK to pop to") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    private mutating func remember(_ index: Int) throws {
        let value = stack[try topIndex()]
        guard memo.count < limits.maxMemoEntries || memo[index] != nil else {
            throw fail("more than \(limits.maxMemoEntries) memo entries")
        }
        memo[index] = value
    }

    private func recall(_ index: Int) throws -> Slot {
        guard let value = memo[index] else { throw fail("memo index \(index) was never stored") }
        return value
    }

    // MARK: Objects

    /// Counts `n` items about to be stored in a container. Operations that copy an existing
    /// container (`set(list)`, `OrderedDict(pairs)`, …) are charged in full, so a short
    /// pickle cannot make the interpreter copy a large container many times.
    private mutating func charge(_ n: Int) throws {
        guard n <= limits.maxItems - storedItems else {
            throw fail("containers would hold more than \(limits.maxItems) items (counting every copy)")
        }
        storedItems += n
    }

    private mutating func newNode(_ node: Node) throws -> Slot {
        guard nodes.count < limits.maxObjects else { throw fail("more than \(limits.maxObjects) objects") }
        if case .tuple(let elements) = node { try charge(elements.count) }
        nodes.append(node)
        return .node(nodes.count - 1)
    }

    private mutating func newList(_ items: [Slot]) throws -> Slot {
        try charge(items.count)
        lists.append(items)
        return try newNode(.list(lists.count - 1))
    }

    private mutating func newSet(_ items: [Slot]) throws -> Slot {
        try charge(items.count)
        lists.append(items)
        return try newNode(.set(lists.count - 1))
    }

    private mutating func newDict(ordered: Bool) throws -> Slot {
        dicts.append(DictNode(isOrdered: ordered))
        return try newNode(.dict(dicts.count - 1))
    }

    private mutating func newRecord(_ record: RecordNode) throws -> Slot {
        try charge(record.arguments.count + 2)
        records.append(record)
        return try newNode(.record(records.count - 1))
    }

    private mutating func global(_ module: String, _ name: String) throws -> Slot {
        let g = PickleGlobal(module: module, name: name)
        if let reason = PickleGlobals.refusal(of: g) {
            throw fail("refusing '\(g)': \(reason). BitViT never calls functions named in a pickle; this file is not a plain checkpoint and may be hostile")
        }
        return try newNode(.global(g))
    }

    private func kind(_ slot: Slot) -> String {
        switch slot {
        case .none: return "None"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .node(let i):
            switch nodes[i] {
            case .list: return "list"
            case .set: return "set"
            case .dict: return "dict"
            case .record(let k): if case .node(let t) = records[k].type, case .global(let g) = nodes[t] { return "\(g) object" }; return "object"
            case .tuple: return "tuple"
            case .global(let g): return "global \(g)"
            case .tensor: return "tensor"
            case .storage: return "storage"
            }
        }
    }

    private func tupleItems(_ slot: Slot, _ what: String) throws -> [Slot] {
        guard case .node(let i) = slot, case .tuple(let items) = nodes[i] else { throw fail("\(what) are a \(kind(slot)), not a tuple") }
        return items
    }

    /// The items of a list or tuple.
    private func sequence(_ slot: Slot) -> [Slot]? {
        guard case .node(let i) = slot else { return nil }
        switch nodes[i] {
        case .tuple(let items): return items
        case .list(let k), .set(let k): return lists[k]
        default: return nil
        }
    }

    private func meaning(_ slot: Slot) -> PickleGlobals.Meaning? {
        guard case .node(let i) = slot, case .global(let g) = nodes[i] else { return nil }
        return PickleGlobals.meaning(of: g)
    }

    private mutating func append(to target: Slot, _ items: [Slot]) throws {
        guard case .node(let i) = target else { throw fail("APPEND to a \(kind(target))") }
        try charge(items.count)
        switch nodes[i] {
        case .list(let k): lists[k].append(contentsOf: items)
        case .record(let k): records[k].listItems.append(contentsOf: items)
        default: throw fail("APPEND to a \(kind(target))")
        }
    }

    private mutating func setItems(_ target: Slot, _ items: [Slot]) throws {
        guard items.count % 2 == 0 else { throw fail("odd number of items for key/value pairs") }
        guard case .node(let i) = target else { throw fail("SETITEM on a \(kind(target))") }
        try charge(items.count)
        switch nodes[i] {
        case .dict(let k): for p in stride(from: 0, to: items.count, by: 2) { dicts[k].set(items[p], items[p + 1]) }
        case .record(let k): for p in stride(from: 0, to: items.count, by: 2) { records[k].dictItems.append((items[p], items[p + 1])) }
        default: throw fail("SETITEM on a \(kind(target))")
        }
    }

    private mutating func build(_ target: Slot, _ state: Slot) throws {
        guard case .node(let i) = target else { throw fail("BUILD on a \(kind(target))") }
        switch nodes[i] {
        case .record(let k): records[k].state = state
        case .dict(let k):
            // An object's state: its __dict__, or (__dict__, slots) for classes with __slots__.
            let parts = sequence(state).flatMap { $0.count == 2 ? $0 : nil } ?? [state]
            for part in parts {
                if case .none = part { continue }
                guard case .node(let j) = part, case .dict(let s) = nodes[j] else { throw fail("BUILD state for a dict is a \(kind(part))") }
                try charge(dicts[s].keys.count)
                for (key, value) in zip(dicts[s].keys, dicts[s].values) {
                    guard case .string(let name) = key else { throw fail("attribute name is a \(kind(key))") }
                    dicts[k].attributes.append((name, value))
                }
            }
        case .tensor: break // tensor attributes carry no values BitViT reads
        default: throw fail("BUILD on a \(kind(target))")
        }
    }

    /// REDUCE, INST and OBJ: `callee(*args)`, interpreted for known names, else recorded.
    private mutating func call(_ callee: Slot, _ args: [Slot]) throws -> Slot {
        switch meaning(callee) {
        case .orderedDict?:
            let dict = try newDict(ordered: true)
            if let source = args.first {
                guard args.count == 1, let pairs = sequence(source) else { throw fail("OrderedDict arguments are not a list of pairs") }
                for pair in pairs {
                    guard let kv = sequence(pair), kv.count == 2 else { throw fail("OrderedDict item is not a pair") }
                    try setItems(dict, kv)
                }
            }
            return dict
        case .rebuildTensor(let version)?: return try rebuildTensor(version: version, args)
        case .rebuildParameter(let withState)?:
            guard args.count == (withState ? 4 : 3), case .node(let i) = args[0], case .tensor(var tensor) = nodes[i] else {
                throw fail("_rebuild_parameter expects (tensor, requires_grad, hooks\(withState ? ", state" : ""))")
            }
            tensor.isParameter = true
            tensor.requiresGrad = truthy(args[1])
            return try newNode(.tensor(tensor))
        case .rebuildFromType?:
            guard args.count == 4 else { throw fail("_rebuild_from_type_v2 expects 4 arguments, got \(args.count)") }
            switch meaning(args[0]) {
            case .rebuildTensor?, .rebuildParameter?:
                let result = try call(args[0], try tupleItems(args[2], "_rebuild_from_type_v2 arguments"))
                return result
            default:
                throw fail("_rebuild_from_type_v2 calls \(kind(args[0])), not a tensor rebuild function")
            }
        case .unsupportedTensor(let name)?:
            throw fail("torch._utils.\(name) builds a quantized, sparse, nested or device-only tensor, which BitViT does not read")
        case .set?:
            guard args.count <= 1 else { throw fail("set expects one iterable") }
            guard let items = args.first.map(sequence) ?? [] else { throw fail("set of a \(kind(args[0]))") }
            return try newSet(items)
        case .bytes?:
            if args.isEmpty { return .bytes([]) }
            if args.count == 1, case .bytes = args[0] { return args[0] }
            if args.count == 2, case .string(let s) = args[0], let encoded = Self.encode(s, args[1]) { return .bytes(encoded) }
            return try newRecord(RecordNode(type: callee, arguments: args))
        case .codecsEncode?:
            if args.count == 2, case .string(let s) = args[0], let encoded = Self.encode(s, args[1]) { return .bytes(encoded) }
            return try newRecord(RecordNode(type: callee, arguments: args))
        case .torchSize?:
            guard args.count == 1, let dims = sequence(args[0]) else { throw fail("torch.Size expects one tuple") }
            return try newNode(.tuple(dims))
        case .reconstructor?, .newObject?:
            guard let type = args.first else { throw fail("object reconstruction without a class") }
            return try newRecord(RecordNode(type: type, arguments: Array(args.dropFirst())))
        case .storageType?, .dtype?, nil:
            return try newRecord(RecordNode(type: callee, arguments: args))
        }
    }

    /// NEWOBJ and NEWOBJ_EX: `cls.__new__(cls, *args)`; contents follow through SETITEMS,
    /// APPENDS or BUILD.
    private mutating func instantiate(_ type: Slot, _ args: [Slot], keywords: Slot?) throws -> Slot {
        switch meaning(type) {
        case .orderedDict?: return try newDict(ordered: true)
        case .set?: return try newSet([])
        default: return try newRecord(RecordNode(type: type, arguments: args, keywords: keywords))
        }
    }

    private static func encode(_ s: String, _ encoding: Slot) -> [UInt8]? {
        guard case .string(let name) = encoding else { return nil }
        switch name.lowercased() {
        case "latin1", "latin-1", "iso-8859-1":
            var out: [UInt8] = []
            for scalar in s.unicodeScalars {
                guard scalar.value < 256 else { return nil }
                out.append(UInt8(scalar.value))
            }
            return out
        case "utf-8", "utf8": return Array(s.utf8)
        default: return nil
        }
    }

    private func truthy(_ slot: Slot) -> Bool {
        switch slot {
        case .bool(let b): return b
        case .int(let i): return i != 0
        default: return false
        }
    }

    private func nonNegativeInts(_ slot: Slot, _ what: String) throws -> [Int] {
        guard let items = sequence(slot) else { throw fail("tensor \(what) is a \(kind(slot)), not a tuple") }
        guard items.count <= limits.maxRank else { throw fail("tensor \(what) has \(items.count) axes, more than the limit of \(limits.maxRank)") }
        return try items.map { item in
            guard case .int(let n) = item, n >= 0 else { throw fail("tensor \(what) holds \(kind(item)) \(item), not a non-negative int") }
            return n
        }
    }

    /// `_rebuild_tensor(storage, offset, size, stride)`, `_v2(…, requires_grad, hooks[, metadata])`
    /// and `_v3(…, requires_grad, hooks, dtype[, metadata])`.
    private mutating func rebuildTensor(version: Int, _ args: [Slot]) throws -> Slot {
        let accepted = version == 1 ? 4...4 : version == 2 ? 6...7 : 7...8
        let name = version == 1 ? "_rebuild_tensor" : "_rebuild_tensor_v\(version)"
        guard accepted.contains(args.count) else { throw fail("\(name) expects \(accepted) arguments, got \(args.count)") }
        guard case .node(let s) = args[0], case .storage(let storage) = nodes[s] else {
            throw fail("\(name) expects a storage first, got \(kind(args[0]))")
        }
        guard case .int(let offset) = args[1], offset >= 0 else { throw fail("tensor storage offset is \(kind(args[1])), not a non-negative int") }
        let shape = try nonNegativeInts(args[2], "size")
        let strides = try nonNegativeInts(args[3], "stride")
        var dtype = storage.dtype
        if version == 3 {
            guard case .dtype(let d)? = meaning(args[6]) else { throw fail("tensor dtype \(kind(args[6])) is not one BitViT reads") }
            dtype = d
        }
        let metadataIndex = version == 2 ? 6 : 7
        if args.count > metadataIndex, case .node(let m) = args[metadataIndex], case .dict(let k) = nodes[m] {
            for (key, value) in zip(dicts[k].keys, dicts[k].values) where truthy(value) {
                let name: String
                if case .string(let s) = key { name = s } else { name = kind(key) }
                throw fail("tensor metadata sets '\(name)' (a conjugate or negative view), which BitViT does not read")
            }
        }
        return try newNode(.tensor(TensorNode(storage: storage, dtype: dtype, offset: offset, shape: shape, strides: strides,
                                              requiresGrad: version > 1 && truthy(args[4]), isParameter: false)))
    }

    private mutating func persistentLoad(_ id: Slot) throws -> Slot {
        guard let items = sequence(id), case .node(let t) = id, case .tuple = nodes[t], let first = items.first else {
            throw fail("persistent id is a \(kind(id)), not a tuple")
        }
        let tag: String
        switch first {
        case .string(let s): tag = s
        case .bytes(let b): tag = String(decoding: b, as: UTF8.self)
        default: throw fail("persistent id starts with a \(kind(first))")
        }
        if tag == "module", items.count >= 2 { return items[1] } // legacy: the class of a pickled module
        guard tag == "storage" else { throw fail("unknown persistent id kind '\(tag.prefix(40))'") }
        guard items.count == 5 || items.count == 6 else { throw fail("storage persistent id has \(items.count) fields, expected 5 or 6") }
        guard case .node(let g) = items[1], case .global(let type) = nodes[g] else { throw fail("storage type is a \(kind(items[1]))") }
        guard case .storageType(let known)? = PickleGlobals.meaning(of: type) else {
            throw fail("'\(type)' is not a storage type BitViT knows")
        }
        guard let dtype = known else { throw fail("storage type '\(type)' (complex or quantized) is not supported") }
        guard case .string(let key) = items[2] else { throw fail("storage key is a \(kind(items[2]))") }
        guard case .string(let location) = items[3] else { throw fail("storage location is a \(kind(items[3]))") }
        guard case .int(let count) = items[4], count >= 0 else { throw fail("storage size is \(kind(items[4])), not a non-negative int") }
        var reference = StorageReference(type: type, dtype: dtype, key: key, location: location, count: count)
        if items.count == 6, case .node = items[5] {
            guard let view = sequence(items[5]), view.count == 3, case .string(let viewKey) = view[0],
                  case .int(let viewOffset) = view[1], case .int(let viewCount) = view[2], viewOffset >= 0, viewCount >= 0 else {
                throw fail("storage view is not (key, offset, size)")
            }
            reference.view = (viewKey, viewOffset, viewCount)
        }
        let storage: TorchStorage
        do { storage = try resolve(reference) } catch let error as BitViTError { throw error } catch {
            throw fail("storage '\(key)': \(error)")
        }
        return try newNode(.storage(storage))
    }

    // MARK: Integers

    /// LONG1/LONG4 payload: little-endian two's complement.
    private mutating func longBytes(_ n: Int) throws -> Slot {
        guard n <= limits.maxBigIntBytes else { throw fail("\(n)-byte integer exceeds the limit of \(limits.maxBigIntBytes) bytes") }
        return Self.integer(littleEndian: Array(try take(n)))
    }

    static func integer(littleEndian bytes: [UInt8]) -> Slot {
        guard let last = bytes.last else { return .int(0) }
        let fill: UInt8 = last & 0x80 != 0 ? 0xFF : 0
        var significant = bytes.count
        while significant > 1, bytes[significant - 1] == fill, (bytes[significant - 2] & 0x80) == (fill & 0x80) { significant -= 1 }
        guard significant <= 8 else { return .bigInt(Array(bytes[..<significant])) }
        var value: UInt64 = fill == 0xFF ? ~0 : 0
        for i in 0..<significant {
            value &= ~(UInt64(0xFF) << (8 * i))
            value |= UInt64(bytes[i]) << (8 * i)
        }
        return .int(Int(Int64(bitPattern: value)))
    }

    /// A decimal integer of any size (text INT and LONG), converted nine digits at a time.
    private func decimal(_ text: String) throws -> Slot {
        if let i = Int(text) { return .int(i) }
        var digits = Substring(text)
        let negative = digits.hasPrefix("-")
        if negative || digits.hasPrefix("+") { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            throw fail("'\(text.prefix(40))' is not an integer")
        }
        guard digits.utf8.count <= limits.maxBigIntBytes * 2 else {
            throw fail("\(digits.utf8.count)-digit integer exceeds the limit of \(limits.maxBigIntBytes) bytes")
        }
        var limbs: [UInt32] = [0] // little-endian base 2³²
        var chunk: UInt64 = 0, scale: UInt64 = 1
        func absorb() {
            var carry = chunk
            for i in limbs.indices {
                let v = UInt64(limbs[i]) * scale + carry
                limbs[i] = UInt32(truncatingIfNeeded: v)
                carry = v >> 32
            }
            if carry > 0 { limbs.append(UInt32(carry)) }
            chunk = 0
            scale = 1
        }
        for d in digits.utf8 {
            chunk = chunk * 10 + UInt64(d - 0x30)
            scale *= 10
            if scale == 1_000_000_000 { absorb() }
        }
        if scale > 1 { absorb() }
        var magnitude = limbs.flatMap { limb in (0..<4).map { UInt8(truncatingIfNeeded: limb >> (8 * $0)) } }
        magnitude.append(0) // room for the sign bit
        if negative {
            var carry = 1
            for i in magnitude.indices {
                let v = Int(~magnitude[i]) + carry
                magnitude[i] = UInt8(v & 0xFF)
                carry = v >> 8
            }
        }
        return Self.integer(littleEndian: magnitude)
    }

    // MARK: Text strings

    /// STRING: a Python 2 repr in quotes, with backslash escapes.
    private func quotedString(_ raw: UnsafeRawBufferPointer) throws -> [UInt8] {
        let b = Array(raw)
        guard b.count >= 2, b[0] == b[b.count - 1], b[0] == 0x27 || b[0] == 0x22 else { throw fail("STRING is not quoted") }
        var out: [UInt8] = []
        var i = 1
        while i < b.count - 1 {
            let c = b[i]
            i += 1
            guard c == 0x5C else { out.append(c); continue }
            guard i < b.count - 1 else { throw fail("STRING ends with a backslash") }
            let e = b[i]
            i += 1
            switch e {
            case 0x6E: out.append(0x0A) // n
            case 0x74: out.append(0x09) // t
            case 0x72: out.append(0x0D) // r
            case 0x61: out.append(0x07) // a
            case 0x62: out.append(0x08) // b
            case 0x66: out.append(0x0C) // f
            case 0x76: out.append(0x0B) // v
            case 0x5C, 0x27, 0x22: out.append(e)
            case 0x0A: break // line continuation
            case 0x78: // xHH
                guard i + 2 <= b.count - 1, let v = UInt8(String(decoding: b[i..<(i + 2)], as: UTF8.self), radix: 16) else {
                    throw fail("bad \\x escape in STRING")
                }
                out.append(v)
                i += 2
            case 0x30...0x37: // up to three octal digits
                var v = Int(e - 0x30), n = 1
                while n < 3, i < b.count - 1, (0x30...0x37).contains(b[i]) { v = v * 8 + Int(b[i] - 0x30); i += 1; n += 1 }
                out.append(UInt8(v & 0xFF))
            default: out.append(0x5C); out.append(e)
            }
        }
        return out
    }

    /// UNICODE: raw-unicode-escape (Latin-1 bytes with \uXXXX and \UXXXXXXXX escapes).
    private func rawUnicodeEscape(_ raw: UnsafeRawBufferPointer) throws -> String {
        let b = Array(raw)
        var scalars = String.UnicodeScalarView()
        var i = 0
        while i < b.count {
            if b[i] == 0x5C, i + 1 < b.count, b[i + 1] == 0x75 || b[i + 1] == 0x55 {
                let width = b[i + 1] == 0x75 ? 4 : 8
                guard i + 2 + width <= b.count, let v = UInt32(String(decoding: b[(i + 2)..<(i + 2 + width)], as: UTF8.self), radix: 16),
                      let scalar = Unicode.Scalar(v) else { throw fail("bad \\u escape in UNICODE") }
                scalars.append(scalar)
                i += 2 + width
            } else {
                scalars.append(Unicode.Scalar(b[i]))
                i += 1
            }
        }
        return String(scalars)
    }

    // MARK: Errors

    private static let opcodeNames: [UInt8: String] = [
        0x28: "MARK", 0x2E: "STOP", 0x30: "POP", 0x31: "POP_MARK", 0x32: "DUP", 0x46: "FLOAT", 0x49: "INT",
        0x4A: "BININT", 0x4B: "BININT1", 0x4C: "LONG", 0x4D: "BININT2", 0x4E: "NONE", 0x50: "PERSID",
        0x51: "BINPERSID", 0x52: "REDUCE", 0x53: "STRING", 0x54: "BINSTRING", 0x55: "SHORT_BINSTRING",
        0x56: "UNICODE", 0x58: "BINUNICODE", 0x61: "APPEND", 0x62: "BUILD", 0x63: "GLOBAL", 0x64: "DICT",
        0x7D: "EMPTY_DICT", 0x65: "APPENDS", 0x67: "GET", 0x68: "BINGET", 0x69: "INST", 0x6A: "LONG_BINGET",
        0x6C: "LIST", 0x5D: "EMPTY_LIST", 0x6F: "OBJ", 0x70: "PUT", 0x71: "BINPUT", 0x72: "LONG_BINPUT",
        0x73: "SETITEM", 0x74: "TUPLE", 0x29: "EMPTY_TUPLE", 0x75: "SETITEMS", 0x47: "BINFLOAT",
        0x80: "PROTO", 0x81: "NEWOBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x85: "TUPLE1",
        0x86: "TUPLE2", 0x87: "TUPLE3", 0x88: "NEWTRUE", 0x89: "NEWFALSE", 0x8A: "LONG1", 0x8B: "LONG4",
        0x42: "BINBYTES", 0x43: "SHORT_BINBYTES", 0x8C: "SHORT_BINUNICODE", 0x8D: "BINUNICODE8",
        0x8E: "BINBYTES8", 0x8F: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET", 0x92: "NEWOBJ_EX",
        0x93: "STACK_GLOBAL", 0x94: "MEMOIZE", 0x95: "FRAME", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER",
        0x98: "READONLY_BUFFER",
    ]

    private func fail(_ reason: String) -> BitViTError {
        let name = Self.opcodeNames[opcode] ?? "0x" + String(opcode, radix: 16, uppercase: true)
        return .malformed(file: file, reason: "\(stream), opcode \(name) at byte \(opcodeStart): \(reason)")
    }

    // MARK: Conversion to values

    /// What a subtree holds: values (counting shared ones at each use), tensor elements, and
    /// its height in containers below its root (0 for a container of scalars).
    private struct Tally {
        var values = 1
        var tensorElements = 0
        var height = 0
    }

    private var converted: [Int: (PickleValue, Tally)] = [:]
    private var converting: Set<Int> = []

    /// The value tree of `root`, after every storage it names has been bound. Refuses
    /// reference cycles and trees deeper or larger than the limits; checks every tensor view
    /// against its storage.
    mutating func value(of root: Slot) throws -> PickleValue {
        defer { converted = [:]; converting = [] }
        return try convert(root, depth: 0).0
    }

    private func failConverting(_ reason: String) -> BitViTError {
        .malformed(file: file, reason: "\(stream): \(reason)")
    }

    private mutating func convert(_ slot: Slot, depth: Int) throws -> (PickleValue, Tally) {
        let leaf = Tally()
        switch slot {
        case .none: return (.none, leaf)
        case .bool(let b): return (.bool(b), leaf)
        case .int(let i): return (.int(i), leaf)
        case .bigInt(let b): return (.bigInt(b), leaf)
        case .float(let d): return (.float(d), leaf)
        case .string(let s): return (.string(s), leaf)
        case .bytes(let b): return (.bytes(b), leaf)
        case .node(let i):
            if let (value, tally) = converted[i] {
                guard depth + tally.height < limits.maxNesting else {
                    throw failConverting("values nested deeper than the limit of \(limits.maxNesting)")
                }
                return (value, tally)
            }
            guard depth < limits.maxNesting else { throw failConverting("values nested deeper than the limit of \(limits.maxNesting)") }
            guard converting.insert(i).inserted else { throw failConverting("the pickle holds a reference cycle (a container that contains itself)") }
            defer { converting.remove(i) }
            var tally = Tally()
            func child(_ s: Slot) throws -> PickleValue {
                let (value, t) = try convert(s, depth: depth + 1)
                let (values, o1) = tally.values.addingReportingOverflow(t.values)
                let (elements, o2) = tally.tensorElements.addingReportingOverflow(t.tensorElements)
                guard !o1, values <= limits.maxValues else {
                    throw failConverting("more than \(limits.maxValues) values (counting shared values at each use)")
                }
                guard !o2, elements <= limits.maxTensorElements else {
                    throw failConverting("tensors hold more than \(limits.maxTensorElements) elements in all")
                }
                tally.values = values
                tally.tensorElements = elements
                if case .node = s { tally.height = max(tally.height, t.height + 1) }
                return value
            }
            // Copies, not accesses: converting children mutates `self` (the memo).
            let node = nodes[i]
            let value: PickleValue
            switch node {
            case .list(let k): let items = lists[k]; value = .list(try items.map(child))
            case .set(let k): let items = lists[k]; value = .set(try items.map(child))
            case .tuple(let items): value = .tuple(try items.map(child))
            case .dict(let k):
                let node = dicts[k]
                var entries: [PickleDict.Entry] = []
                entries.reserveCapacity(node.keys.count)
                for (key, v) in zip(node.keys, node.values) {
                    entries.append(PickleDict.Entry(key: try child(key), value: try child(v)))
                }
                var attributes: [String: PickleValue] = [:]
                for (name, v) in node.attributes { attributes[name] = try child(v) }
                value = .dict(PickleDict(entries: entries, isOrdered: node.isOrdered, attributes: attributes))
            case .record(let k):
                let node = records[k]
                value = .record(PickleRecord(
                    type: try child(node.type), arguments: try node.arguments.map(child),
                    keywordArguments: try node.keywords.map(child), state: try node.state.map(child),
                    listItems: try node.listItems.map(child),
                    dictItems: try node.dictItems.map { PickleDict.Entry(key: try child($0.0), value: try child($0.1)) }))
            case .global(let g): value = .global(g)
            case .storage(let s): value = .storage(s)
            case .tensor(let t):
                let tensor: TorchTensor
                do {
                    tensor = try TorchTensor(storage: t.storage, dtype: t.dtype, shape: t.shape, strides: t.strides,
                                             storageOffset: t.offset, requiresGrad: t.requiresGrad,
                                             isParameter: t.isParameter, maxRank: limits.maxRank)
                } catch let error as TorchTensorError {
                    throw failConverting(error.reason)
                }
                guard tensor.count <= limits.maxTensorElements else {
                    throw failConverting("a tensor of shape \(t.shape) exceeds the limit of \(limits.maxTensorElements) elements")
                }
                tally.tensorElements = tensor.count
                value = .tensor(tensor)
            }
            converted[i] = (value, tally)
            return (value, tally)
        }
    }
}
