import BitViTCore
import BitViTExport
import BitViTRuntime
import Foundation
import Testing

/// Damaged and inconsistent `.bitvit` files are rejected with `BitViTError.malformed` naming
/// the problem, never a crash.
@Suite("Malformed .bitvit files")
struct MalformedModelFileTests {
    static let spec = EngineTestModels.spec("gsb-vit-mnist")
    static let exported: (metadata: ModelFileMetadata, tensors: [ExportTensor]) = {
        let model = try! EngineTestModels.model(spec)
        return try! ModelExporter.export(model, spec: spec, preprocessing: EngineTestModels.preprocessing,
                                         classNames: EngineTestModels.classNames)
    }()
    static let valid: [UInt8] = try! ModelFileWriter.encode(metadata: exported.metadata, tensors: exported.tensors)

    static func u32(_ b: [UInt8], _ o: Int) -> Int { (0..<4).reduce(0) { $0 | Int(b[o + $1]) << (8 * $1) } }
    static func u64(_ b: [UInt8], _ o: Int) -> Int { (0..<8).reduce(0) { $0 | Int(b[o + $1]) << (8 * $1) } }
    static func put(_ b: inout [UInt8], _ o: Int, _ v: Int, bytes: Int) { for i in 0..<bytes { b[o + i] = UInt8((v >> (8 * i)) & 0xFF) } }

    /// Recomputes the payload and header checksums after an edit, so that the edit itself is
    /// what the loader has to catch.
    static func resealed(_ bytes: [UInt8]) -> [UInt8] {
        var b = bytes
        put(&b, 56, Int(CRC32.checksum(b[64...])), bytes: 4)
        put(&b, 60, Int(CRC32.checksum(b[..<60])), bytes: 4)
        return b
    }

    static var tableOffset: Int { u64(valid, 40) }
    static var tensorCount: Int { u32(valid, 48) }
    static func entry(_ i: Int) -> Int { tableOffset + 64 * i }

    /// Expects a `.malformed` error whose reason contains `fragment`.
    static func expectRejected(_ bytes: [UInt8], _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try ModelFile(bytes: bytes)
            Issue.record("accepted a file that should fail with '\(fragment)'", sourceLocation: sourceLocation)
        } catch let BitViTError.malformed(_, reason) {
            #expect(reason.contains(fragment), "reason '\(reason)' lacks '\(fragment)'", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test("The valid file loads")
    func valid() throws {
        let file = try ModelFile(bytes: Self.valid)
        #expect(file.tensors.count == Self.tensorCount)
    }

    @Test("Truncation at every section boundary and at random points")
    func truncation() {
        let b = Self.valid
        var cuts: Set<Int> = [0, 1, 8, 63, 64, b.count - 1]
        cuts.insert(64 + Self.u64(b, 32))                                  // metadata end
        cuts.insert(Self.tableOffset)
        cuts.insert(Self.tableOffset + 64 * Self.tensorCount)               // names
        for i in 0..<Self.tensorCount {
            let offset = Self.u64(b, Self.entry(i)), length = Self.u64(b, Self.entry(i) + 8)
            cuts.insert(offset)
            cuts.insert(offset + length - 1)
        }
        var rng = RandomGenerator(seed: 9)
        for _ in 0..<40 { cuts.insert(Int(rng.nextUniform() * Float(b.count - 1))) }
        for cut in cuts.sorted() where cut < b.count {
            Self.expectRejected(Array(b[..<cut]), cut == 0 ? "truncated: 0 bytes" : "truncated")
        }
    }

    @Test("Bad magic, unsupported version, damaged header, damaged payload")
    func corruption() {
        var magic = Self.valid
        magic[1] = UInt8(ascii: "X")
        Self.expectRejected(magic, "bad magic")
        var version = Self.valid
        Self.put(&version, 8, 2, bytes: 4)
        Self.expectRejected(Self.resealed(version), "format version 2 is not supported")
        var header = Self.valid
        header[20] ^= 0x10
        Self.expectRejected(header, "header checksum")
        var payload = Self.valid
        payload[Self.u64(payload, Self.entry(Self.tensorCount - 1))] ^= 0x01
        Self.expectRejected(payload, "checksum mismatch")
        var metadata = Self.valid
        metadata[64] = UInt8(ascii: "[")
        Self.expectRejected(Self.resealed(metadata), "metadata is not valid")
    }

    @Test("Absurd counts, shapes, offsets and storage kinds in the table")
    func table() {
        var count = Self.valid
        Self.put(&count, 48, 1 << 30, bytes: 4)
        Self.expectRejected(Self.resealed(count), "absurd tensor count")
        var huge = Self.valid
        Self.put(&huge, Self.entry(2) + 24, 0xFFFF_FFFF, bytes: 4)
        Self.expectRejected(Self.resealed(huge), "absurd")
        var zero = Self.valid
        Self.put(&zero, Self.entry(2) + 24, 0, bytes: 4)
        Self.expectRejected(Self.resealed(zero), "absurd dimension 0")
        var rank = Self.valid
        rank[Self.entry(1) + 23] = 200
        Self.expectRejected(Self.resealed(rank), "rank 200")
        var kind = Self.valid
        kind[Self.entry(0) + 22] = 99
        Self.expectRejected(Self.resealed(kind), "unknown storage kind 99")
        var length = Self.valid
        Self.put(&length, Self.entry(0) + 8, Self.u64(length, Self.entry(0) + 8) + 4, bytes: 8)
        Self.expectRejected(Self.resealed(length), "bytes stored")
        var misaligned = Self.valid
        Self.put(&misaligned, Self.entry(3), Self.u64(misaligned, Self.entry(3)) + 8, bytes: 8)
        Self.expectRejected(Self.resealed(misaligned), "not 64-byte aligned")
        var outside = Self.valid
        Self.put(&outside, Self.entry(3), 1 << 40, bytes: 8)
        Self.expectRejected(Self.resealed(outside), "outside the data section")
        var overlap = Self.valid
        Self.put(&overlap, Self.entry(3), Self.u64(overlap, Self.entry(2)), bytes: 8)
        Self.expectRejected(Self.resealed(overlap), "overlap")
        var name = Self.valid
        Self.put(&name, Self.entry(4) + 16, 1 << 30, bytes: 4)
        Self.expectRejected(Self.resealed(name), "outside the names section")
    }

    @Test("Tensors that do not fit the architecture: wrong storage kind, wrong shape, missing, extra")
    func manifest() throws {
        let (metadata, tensors) = Self.exported
        func file(_ edit: (inout [ExportTensor]) -> Void) throws -> [UInt8] {
            var t = tensors
            edit(&t)
            return try ModelFileWriter.encode(metadata: metadata, tensors: t)
        }
        let weight = "blocks.0.attn.qkv.weight"
        Self.expectRejected(try file { t in
            let i = t.firstIndex { $0.name == weight }!
            t[i] = ExportTensor(weight, floats: [Float](repeating: 1, count: 96 * 32), shape: [96, 32])
        }, "'\(weight)' is stored as fp32, expected 1-bit")
        Self.expectRejected(try file { t in
            let i = t.firstIndex { $0.name == "pos_embed" }!
            t[i] = ExportTensor("pos_embed", floats: [Float](repeating: 0, count: 17 * 32), shape: [17, 32])
        }, "'pos_embed' has shape [17, 32], the architecture needs [18, 32]")
        Self.expectRejected(try file { t in t.removeAll { $0.name == "norm.bias" } }, "missing tensor 'norm.bias'")
        Self.expectRejected(try file { t in t.append(ExportTensor("extra", scalar: 1)) }, "unexpected tensor 'extra'")
        var absurd = metadata
        absurd.vit?.heads = 5
        Self.expectRejected(try ModelFileWriter.encode(metadata: absurd, tensors: tensors), "not divisible by vit.heads 5")
        var names = metadata
        names.classNames.removeLast()
        Self.expectRejected(try ModelFileWriter.encode(metadata: names, tensors: tensors), "9 class names for 10 classes")
    }

    @Test("A file on disk that is not a .bitvit file, or empty, is rejected")
    func onDisk() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("not-a-model-\(UInt32.random(in: 0...UInt32.max)).bitvit")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data("hello, this is not a model file at all, it is far too short...........".utf8).write(to: url)
        #expect(throws: BitViTError.self) { _ = try ModelFile(contentsOf: url) }
        try Data().write(to: url)
        #expect(throws: BitViTError.self) { _ = try ModelFile(contentsOf: url) }
    }
}
