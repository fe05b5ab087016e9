import BitViTCore
import BitViTExport
import BitViTRuntime
import BitViTModels
import Foundation
import Testing

@Suite(".bitvit format: encoding, storage kinds, round trip")
struct ModelFileFormatTests {
    @Test("CRC-32 matches zlib's check value and is chunk-independent")
    func crc() {
        #expect(CRC32.checksum("123456789") == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let whole = CRC32.checksum(bytes)
        let split = bytes.withUnsafeBytes { p in CRC32.update(CRC32.update(0, p.baseAddress!, count: 333), p.baseAddress! + 333, count: 667) }
        #expect(whole == split)
    }

    @Test("Storage sizes: exactly 1 bit per binary value, packed 2/3/4-bit codes")
    func storageSizes() {
        #expect(StorageKind.bits1.byteCount(shape: [1152, 384]) == 1152 * 384 / 8)
        #expect(StorageKind.bits1.byteCount(shape: [3, 65]) == 25)
        #expect(StorageKind.int2.byteCount(shape: [5, 3]) == 4)
        #expect(StorageKind.int3.byteCount(shape: [7]) == 3)
        #expect(StorageKind.int4.byteCount(shape: [3, 3]) == 5)
        #expect(StorageKind.float16.byteCount(shape: [2, 3]) == 12)
        #expect(StorageKind.float32.byteCount(shape: []) == 4)
        #expect(StorageKind.float32.byteCount(shape: [1 << 40, 1 << 40]) == nil)
    }

    @Test("Every storage kind round-trips through a file: floats, halves, signs, int2/3/4/8 codes")
    func roundTrip() throws {
        var rng = RandomGenerator(seed: 2)
        let floats = (0..<37).map { _ in rng.nextNormal() }
        let signs = (0..<(3 * 70)).map { _ in rng.nextNormal() }
        var tensors = [ExportTensor("f32", floats: floats, shape: [37]), ExportTensor("f16", floats: floats, shape: [37], half: true),
                       ExportTensor("signs", signsOf: signs, shape: [3, 70])]
        var codes: [Int: [Int32]] = [:]
        for bits in [2, 3, 4, 8] {
            codes[bits] = (0..<29).map { Int32($0 % (1 << bits)) - Int32(1 << (bits - 1)) }
            tensors.append(ExportTensor("int\(bits)", codes: codes[bits]!, bits: bits, shape: [29]))
        }
        let file = try ModelFile(bytes: try RawModelFile.encode(tensors), validatingManifest: false)
        let stored = Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, $0) })
        #expect(stored["f32"]!.floats() == floats)
        let halves = stored["f16"]!.floats()
        #expect(zip(halves, floats).allSatisfy { abs($0 - $1) <= 1e-3 * max(1, abs($1)) })
        let (rows, k, words) = stored["signs"]!.bitRows
        #expect(rows == 3 && k == 70 && words == 2)
        #expect(stored["signs"]!.byteCount == (3 * 70 + 7) / 8)
        var p = [UInt64](repeating: .max, count: 6)
        p.withUnsafeMutableBufferPointer { stored["signs"]!.unpackRows(into: $0.baseAddress!) }
        for r in 0..<3 {
            for j in 0..<70 { #expect(((p[r * 2 + j / 64] >> UInt64(j % 64)) & 1 == 1) == (signs[r * 70 + j] < 0)) }
            #expect(p[r * 2 + 1] >> 6 == 0, "bits past K are zero")
        }
        for bits in [2, 3, 4, 8] {
            #expect(stored["int\(bits)"]!.storage.bits == bits)
            #expect(stored["int\(bits)"]!.codes().map(Int32.init) == codes[bits]!)
        }
        for t in stored.values { #expect(Int(bitPattern: t.bytes) % 64 == 0, "\(t.name) is 64-byte aligned") }
        withExtendedLifetime(file) {}
    }

    @Test("An exported model file is memory-mapped from disk, written atomically, and identical on reload")
    func writeAndMap() throws {
        let spec = EngineTestModels.spec("gsb-vit-mnist")
        let model = try EngineTestModels.model(spec)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bitvit-format-\(UInt32.random(in: 0...UInt32.max)).bitvit")
        defer { try? FileManager.default.removeItem(at: url) }
        try ModelExporter.write(model, spec: spec, preprocessing: EngineTestModels.preprocessing,
                                classNames: EngineTestModels.classNames, to: url)
        let file = try ModelFile(contentsOf: url)
        let inMemory = try ModelFile(bytes: try EngineTestModels.export(model, spec))
        #expect(file.metadata == inMemory.metadata)
        #expect(file.tensors.map(\.name) == inMemory.tensors.map(\.name))
        #expect(file.metadata.vit?.groupThresholds == [0.7, 0.9])
        // Exactly 1 bit per binary weight: 4 block linears × 2 blocks.
        let binary = file.tensors.filter { $0.storage == .bits1 }
        #expect(binary.count == 8)
        #expect(binary.allSatisfy { $0.byteCount * 8 == $0.count })
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)
            .filter { $0.hasPrefix(".\(url.lastPathComponent)") }
        #expect(leftovers.isEmpty, "no temporary file left behind")
    }

    @Test("Export refuses models whose quantizer scales were never initialized")
    func uninitialized() throws {
        let spec = EngineTestModels.spec("qvit-vit-mnist")
        let model = try ModelZoo.make(spec)
        model.eval()
        #expect(throws: BitViTError.self) {
            _ = try ModelExporter.export(model, spec: spec, preprocessing: EngineTestModels.preprocessing,
                                         classNames: EngineTestModels.classNames)
        }
    }
}

/// Files of arbitrary tensors: a valid container around tensors that belong to no model, read
/// back with `validatingManifest: false` (format-level tests).
enum RawModelFile {
    static func encode(_ tensors: [ExportTensor]) throws -> [UInt8] {
        let metadata = ModelFileMetadata(family: .deit, model: .object(["name": .string("raw"), "classes": .integer(1)]),
                                         preprocessing: EngineTestModels.preprocessing, classNames: ["x"])
        return try ModelFileWriter.encode(metadata: metadata, tensors: tensors)
    }
}
