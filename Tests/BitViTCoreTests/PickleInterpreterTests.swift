import BitViTCore
import Foundation
import Testing

/// The restricted pickle interpreter on its own: CPython's pickles of one object with every
/// protocol (0–5), hand-written opcode sequences, and each limit.
@Suite struct PickleInterpreterTests {
    static let folder = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/pytorch/pickles")

    static func decode(_ bytes: [UInt8], limits: CheckpointLimits = CheckpointLimits()) throws -> PickleValue {
        try PyTorchCheckpoint.decodePickle(Data(bytes), name: "test.pkl", limits: limits)
    }

    static func expectError(_ bytes: [UInt8], _ fragment: String, limits: CheckpointLimits = CheckpointLimits(),
                            sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let value = try decode(bytes, limits: limits)
            Issue.record("decoded \(value), expected an error containing '\(fragment)'", sourceLocation: sourceLocation)
        } catch let error as BitViTError {
            #expect(error.description.contains("test.pkl") && error.description.contains(fragment), "\(error)",
                    sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: 0...5)
    func everyProtocolDecodesTheSameObject(_ protocolVersion: Int) throws {
        let data = try Data(contentsOf: Self.folder.appendingPathComponent("protocol\(protocolVersion).pkl"))
        let value = try PyTorchCheckpoint.decodePickle(data)
        let reference = try PyTorchCheckpoint.decodePickle(Data(contentsOf: Self.folder.appendingPathComponent("protocol2.pkl")))
        #expect(value.description == reference.description)

        let ints = try #require(value["ints"]?.items)
        #expect(ints.prefix(12).compactMap(\.intValue) == [0, 1, -1, 255, 256, 65535, 65536, -129, Int(Int32.max), Int(Int32.min), 1 << 62, Int.min])
        // 2**70 and -(2**70): little-endian two's complement, 9 bytes.
        #expect(ints[12].bigIntBytes == [0, 0, 0, 0, 0, 0, 0, 0, 0x40])
        #expect(ints[13].bigIntBytes == [0, 0, 0, 0, 0, 0, 0, 0, 0xC0])
        let floats = (value["floats"]?.items ?? []).compactMap { $0.doubleValue }
        #expect(floats == [0, 0, 1.5, -2.25e-7, 1e300, .infinity])
        #expect(floats[1].sign == .minus)
        #expect(value["text"]?.items?.compactMap(\.stringValue)
            == ["", "plain", "quote ' and \"", "back\\slash\nnewline\ttab", "caf\u{E9} \u{65E5}\u{672C} \u{1F600}"])
        if case .bytes(let b)? = value["bytes"] { #expect(b == [0, 1, 0xFE, 0xFF, 0x5C, 0x27, 0x22]) } else {
            Issue.record("bytes decoded as \(String(describing: value["bytes"]))")
        }
        #expect(value["nested"]?.description == "(1, (2, [3, {'four': 4}]), ())")
        #expect(value["set"]?.items?.compactMap(\.intValue).sorted() == [1, 2, 3])
        #expect(value["frozen"]?.items?.compactMap(\.stringValue) == ["a"])
        let ordered = try #require(value["ordered"]?.dictValue)
        #expect(ordered.isOrdered && ordered.stringKeys == ["b", "a"])
        let intKeys = try #require(value["int_keys"]?.dictValue)
        #expect(intKeys.entries.map(\.key.intValue) == [0, 7] && intKeys.entries.map(\.value.stringValue) == ["zero", "seven"])
        #expect(value["flags"]?.description == "[None, True, False]")
        #expect(value["shared"]?.description == "[[1, 2], [1, 2]]")
        let namespace = try #require(value["namespace"]?.recordValue)
        #expect(namespace.typeName == "argparse.Namespace")
        #expect(namespace.fields.map(\.name) == ["lr", "name", "steps"])
        #expect(namespace["lr"]?.doubleValue == 0.5 && namespace["name"]?.stringValue == "x")
    }

    @Test func handWrittenOpcodes() throws {
        // Protocol 0 text opcodes: INT, LONG, FLOAT, STRING escapes, UNICODE escapes, PUT/GET, DICT.
        let text = Array("(dp0\nS'a\\x41\\n\\'\\101'\np1\nI-12\nsS'big'\nL-18446744073709551617L\nsVu\\u00e9\nF-0.5\nsg1\nI01\ns.".utf8)
        let value = try Self.decode(text)
        #expect(value["aA\n'A"]?.boolValue == true)
        #expect(value["big"]?.bigIntBytes == [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE])
        #expect(value["u\u{E9}"]?.doubleValue == -0.5)
        #expect(value.dictValue?.count == 3) // the key stored with PUT 1 was set again (to True)
        // POP, POP_MARK, DUP, TUPLE1-3, EMPTY_SET + ADDITEMS, FROZENSET, LONG1, BININT2, BINBYTES, NEWOBJ_EX.
        let binary: [UInt8] = [0x80, 0x04, 0x5D, 0x94, // EMPTY_LIST, MEMOIZE
                               0x4E, 0x30, // NONE, POP
                               0x28, 0x4E, 0x4E, 0x31, // MARK NONE NONE POP_MARK
                               0x4B, 0x01, 0x32, 0x86, 0x61, // BININT1 1, DUP, TUPLE2, APPEND
                               0x8F, 0x28, 0x4B, 0x02, 0x4B, 0x03, 0x90, 0x61, // EMPTY_SET, MARK 2 3 ADDITEMS, APPEND
                               0x28, 0x4B, 0x04, 0x91, 0x61, // MARK 4 FROZENSET, APPEND
                               0x8A, 0x02, 0xFF, 0x7F, 0x61, // LONG1 0x7FFF, APPEND
                               0x8A, 0x01, 0x80, 0x61, // LONG1 -128, APPEND
                               0x4D, 0x34, 0x12, 0x61, // BININT2 0x1234, APPEND
                               0x43, 0x02, 0x61, 0x62, 0x61, // SHORT_BINBYTES "ab", APPEND
                               0x8C, 0x01, 0x6D, 0x8C, 0x01, 0x43, 0x93, // STACK_GLOBAL m.C
                               0x4B, 0x05, 0x85, 0x7D, 0x92, 0x61, // (5,), {}, NEWOBJ_EX, APPEND
                               0x2E]
        let list = try #require(try Self.decode(binary).items)
        #expect(list[0].description == "(1, 1)")
        #expect(list[1].items?.compactMap(\.intValue) == [2, 3] && list[2].items?.compactMap(\.intValue) == [4])
        #expect(list[3].intValue == 0x7FFF && list[4].intValue == -128 && list[5].intValue == 0x1234)
        if case .bytes(let b) = list[6] { #expect(b == [0x61, 0x62]) } else { Issue.record("\(list[6])") }
        #expect(list[7].recordValue?.typeName == "m.C" && list[7].recordValue?.arguments.first?.intValue == 5)
        #expect(list[7].recordValue?.keywordArguments?.dictValue?.count == 0)
        // INST and OBJ call a class with the arguments up to the MARK (kept as a record).
        let inst = try Self.decode(Array("(I1\nimymod\nThing\n.".utf8))
        #expect(inst.recordValue?.typeName == "mymod.Thing" && inst.recordValue?.arguments.first?.intValue == 1)
        let obj = try Self.decode(Array("(cmymod\nThing\nI2\no.".utf8))
        #expect(obj.recordValue?.arguments.first?.intValue == 2)
        // A key set twice keeps its first position and last value, as in Python.
        let dict = try Self.decode([0x80, 0x02, 0x7D, 0x28, 0x4B, 0x01, 0x4B, 0x0A, 0x4B, 0x02, 0x4B, 0x14, 0x4B, 0x01, 0x4B, 0x1E, 0x75, 0x2E])
        #expect(dict.dictValue?.entries.map(\.key.intValue) == [1, 2] && dict.dictValue?.entries.map(\.value.intValue) == [30, 20])
    }

    @Test func unknownClassesStayInertRecords() throws {
        // A REDUCE of an unknown function is recorded, never called: the record keeps the name
        // and the arguments, and BUILD/APPENDS/SETITEMS land in it.
        let bytes: [UInt8] = [0x80, 0x02] + Array("cmy.module\nfunction\nX".utf8) + [1, 0, 0, 0, 0x7A, 0x85, 0x52, 0x7D, 0x58, 1, 0, 0, 0, 0x6B,
                                                                               0x4B, 0x07, 0x73, 0x62, 0x2E]
        let record = try #require(try Self.decode(bytes).recordValue)
        #expect(record.typeName == "my.module.function")
        #expect(record.arguments.first?.stringValue == "z")
        #expect(record["k"]?.intValue == 7)
    }

    @Test func hostileGlobalsAreRefused() {
        Self.expectError(Array("cos\nsystem\n(S'ls'\ntR.".utf8), "refusing 'os.system'")
        Self.expectError(Array("c__builtin__\neval\n(S'1'\ntR.".utf8), "refusing '__builtin__.eval'")
        Self.expectError(Array("cbuiltins\ngetattr\n.".utf8), "refusing 'builtins.getattr'")
        Self.expectError(Array("csubprocess\nPopen\n.".utf8), "refusing 'subprocess.Popen'")
        Self.expectError(Array("ctorch\nload\n.".utf8), "refusing 'torch.load'")
        Self.expectError(Array("(I1\nios\nsystem\n.".utf8), "refusing 'os.system'") // INST
        Self.expectError([0x80, 0x04, 0x8C, 0x02, 0x6F, 0x73, 0x8C, 0x06] + Array("system".utf8) + [0x93, 0x2E], "refusing 'os.system'")
    }

    @Test func malformedStreamsGiveClearErrors() {
        Self.expectError([0x80, 0x06, 0x2E], "protocol 6")
        Self.expectError([0x80, 0x02], "without a STOP")
        Self.expectError([0x2E], "stack underflow")
        Self.expectError([0x30, 0x2E], "POP on an empty stack")
        Self.expectError([0x31, 0x2E], "no MARK")
        Self.expectError([0x68, 0x05, 0x2E], "memo index 5 was never stored")
        Self.expectError([0x58, 0x05, 0x00, 0x00, 0x00, 0x61, 0x2E], "needs 5 bytes, only 2 remain")
        Self.expectError([0x58, 0x02, 0x00, 0x00, 0x00, 0xC3, 0x28, 0x2E], "not valid UTF-8")
        Self.expectError([0x4B, 0x01, 0x4B, 0x02, 0x61, 0x2E], "APPEND to a int")
        Self.expectError([0x7D, 0x4B, 0x01, 0x73, 0x2E], "stack underflow")
        Self.expectError([0x4E, 0x4E, 0x52, 0x2E], "REDUCE arguments are a None, not a tuple")
        Self.expectError([0x4E, 0x51, 0x2E], "persistent id is a None")
        Self.expectError(Array("P0\n.".utf8), "PERSID")
        Self.expectError([0x82, 0x01, 0x2E], "extension registry")
        Self.expectError(Array("I12x\n.".utf8), "is not an integer")
        Self.expectError(Array("Fnope\n.".utf8), "is not a float")
        Self.expectError(Array("Snot quoted\n.".utf8), "not quoted")
        Self.expectError([0x8B, 0xFF, 0xFF, 0xFF, 0xFF, 0x2E], "negative length")
        // A storage outside a checkpoint file.
        let storage = Array("(S'storage'\nctorch\nFloatStorage\nS'0'\nS'cpu'\nI1\ntQ.".utf8)
        Self.expectError(storage, "storage '0' named outside a checkpoint file")
    }

    @Test func limitsAreEnforced() throws {
        var limits = CheckpointLimits()
        limits.maxMemoEntries = 3
        Self.expectError([0x4E, 0x94, 0x94, 0x94, 0x94, 0x2E], "more than 3 memo entries", limits: limits)
        limits = CheckpointLimits()
        limits.maxStackDepth = 4
        Self.expectError([0x4E, 0x4E, 0x4E, 0x4E, 0x4E, 0x2E], "more than 4 values on the stack", limits: limits)
        limits = CheckpointLimits()
        limits.maxObjects = 3
        Self.expectError([0x5D, 0x5D, 0x5D, 0x5D, 0x2E], "more than 3 objects", limits: limits)
        limits = CheckpointLimits()
        limits.maxPickleBytes = 4
        Self.expectError([0x4E, 0x30, 0x4E, 0x30, 0x4E, 0x2E], "longer than the limit of 4 bytes", limits: limits)
        limits = CheckpointLimits()
        limits.maxNesting = 5
        Self.expectError([0x4E] + [UInt8](repeating: 0x85, count: 6) + [0x2E], "nested deeper than the limit of 5", limits: limits)
        #expect((try? Self.decode([0x4E] + [UInt8](repeating: 0x85, count: 5) + [0x2E], limits: limits)) != nil)
        // Sharing cannot hide a deep value: a 4-deep tuple converted first at depth 1, then
        // met again (memoized) at depth 3.
        Self.expectError([0x4E, 0x85, 0x85, 0x85, 0x85, 0x71, 0x00, 0x68, 0x00, 0x85, 0x85, 0x86, 0x2E],
                         "nested deeper than the limit of 5", limits: limits)
        // x = []; 40 times x = (x, x): a tree of 2^40 values from 80 memo references.
        limits = CheckpointLimits()
        var doubling: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00]
        for _ in 0..<40 { doubling += [0x68, 0x00, 0x68, 0x00, 0x86, 0x71, 0x00] }
        Self.expectError(doubling + [0x2E], "more than \(limits.maxValues) values")
        // set(L) copies L: a 40-item list copied 30 times exceeds a 1000-item budget.
        limits = CheckpointLimits()
        limits.maxItems = 1000
        var copies: [UInt8] = [0x80, 0x02, 0x28] + [UInt8](repeating: 0x4E, count: 40) + [0x6C, 0x71, 0x00, 0x30]
        for _ in 0..<30 { copies += Array("c__builtin__\nset\n".utf8) + [0x68, 0x00, 0x85, 0x52, 0x30] }
        Self.expectError(copies + [0x4E, 0x2E], "more than 1000 items", limits: limits)
        limits.maxItems = 1300
        #expect(try Self.decode(copies + [0x4E, 0x2E], limits: limits).description == "None")
        limits = CheckpointLimits()
        limits.maxBigIntBytes = 4
        Self.expectError([0x8A, 0x05, 1, 2, 3, 4, 5, 0x2E], "5-byte integer exceeds the limit of 4 bytes", limits: limits)
        #expect(try Self.decode(Array("L123456789012345678901234567890L\n.".utf8)).bigIntBytes?.count == 13)
        // 10^30 = 0xC9F2C9CD04674EDEA40000000, and its negation, as two's complement bytes.
        let tenTo30: [UInt8] = [0x00, 0x00, 0x00, 0x40, 0xEA, 0xED, 0x74, 0x46, 0xD0, 0x9C, 0x2C, 0x9F, 0x0C]
        #expect(try Self.decode(Array("L1000000000000000000000000000000L\n.".utf8)).bigIntBytes == tenTo30)
        #expect(try Self.decode(Array("L-1000000000000000000000000000000L\n.".utf8)).bigIntBytes
            == [0x00, 0x00, 0x00, 0xC0, 0x15, 0x12, 0x8B, 0xB9, 0x2F, 0x63, 0xD3, 0x60, 0xF3])
        #expect(try Self.decode(Array("L-9223372036854775808L\n.".utf8)).intValue == Int.min)
        #expect(try Self.decode(Array("L9223372036854775808L\n.".utf8)).bigIntBytes == [0, 0, 0, 0, 0, 0, 0, 0x80, 0])
    }

    @Test func cyclesAreRefused() {
        Self.expectError([0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E], "reference cycle")
        // A dict whose value is the dict.
        Self.expectError([0x80, 0x02, 0x7D, 0x71, 0x00, 0x4B, 0x01, 0x68, 0x00, 0x73, 0x2E], "reference cycle")
    }
}

extension PickleValue {
    var bigIntBytes: [UInt8]? { if case .bigInt(let b) = self { return b }; return nil }
}
