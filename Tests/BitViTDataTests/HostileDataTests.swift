import BitViTCore
import BitViTData
import Foundation
import Testing

/// A deflate stream with fixed Huffman codes: `prefix` as literals, then `zeros` zero bytes as
/// one literal and matches of 258 at distance 1 (13 bits per 258 bytes, a ratio near 160:1).
private func deflateBomb(prefix: [UInt8], zeros: Int) -> [UInt8] {
    var bytes: [UInt8] = [], bit = 0
    func put(_ value: Int, _ count: Int) {
        for i in 0..<count {
            if bit == 0 { bytes.append(0) }
            bytes[bytes.count - 1] |= UInt8((value >> i) & 1) << UInt8(bit)
            bit = (bit + 1) % 8
        }
    }
    func code(_ value: Int, _ length: Int) { for i in (0..<length).reversed() { put((value >> i) & 1, 1) } }
    func literal(_ b: UInt8) { b < 144 ? code(0x30 + Int(b), 8) : code(0x190 + Int(b) - 144, 9) }
    put(1, 1); put(1, 2)                       // final block, fixed Huffman codes
    prefix.forEach(literal)
    literal(0)
    for _ in 0..<((zeros - 1) / 258) { code(0xC5, 8); code(0, 5) }     // length 258, distance 1
    for _ in 0..<((zeros - 1) % 258) { literal(0) }
    code(0, 7)                                  // end of block
    // The trailer (CRC-32 and size) is only reached, so only computed, for small streams.
    let crc = zeros <= 1 << 20 ? FileBuilder.crc32(prefix + [UInt8](repeating: 0, count: zeros)) : 0
    let size = UInt32(truncatingIfNeeded: prefix.count + zeros)
    return [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 255] + bytes
        + (0..<4).map { UInt8(crc >> (8 * $0) & 255) } + (0..<4).map { UInt8(size >> (8 * $0) & 255) }
}

/// Class 5: decompression and size bombs are rejected before their data is inflated or read.
@Suite("Hostile data files")
struct HostileDataTests {
    @Test("A gzip IDX file that inflates far beyond its header is stopped at the header's size")
    func gzipBomb() throws {
        // 1 image of 2×2 announced, 64 MiB of zeros delivered (a 420 KB file).
        let header = FileBuilder.idxImages(count: 1, rows: 2, cols: 2, pixels: [])
        let bomb = deflateBomb(prefix: header, zeros: 64 << 20)
        #expect(bomb.count < 500_000)
        expectError(naming: "bomb.gz", mentioning: ["unexpected trailing data"]) {
            _ = try IDXReader.decodeImages(bomb, file: "bomb.gz")
        }
        // A header announcing more than the limit is rejected before anything else is inflated.
        let huge = FileBuilder.idxImages(count: 1 << 30, rows: 28, cols: 28, pixels: [])
        expectError(naming: "huge.gz", mentioning: ["above the \(IDXReader.maxBytes)-byte limit"]) {
            _ = try IDXReader.decodeImages(deflateBomb(prefix: huge, zeros: 1 << 20), file: "huge.gz")
        }
        // The same stream with an honest header decodes.
        let honest = FileBuilder.idxImages(count: 4, rows: 32, cols: 32, pixels: [])
        let images = try IDXReader.decodeImages(deflateBomb(prefix: honest, zeros: 4096), file: "ok.gz")
        #expect(images.count == 4 && images.pixels.count == 4096 && images.pixels.allSatisfy { $0 == 0 })
    }

    @Test("A CIFAR batch larger than the record limit is refused from its size, before reading")
    func cifarSize() throws {
        let dir = try TemporaryDirectory()
        let file = dir.url.appendingPathComponent("test_batch.bin")
        FileManager.default.createFile(atPath: file.path, contents: nil)
        let handle = try FileHandle(forWritingTo: file)
        try handle.truncate(atOffset: UInt64((CIFARReader.maxRecordsPerFile + 1) * 3073))     // sparse: nothing written
        try handle.close()
        expectError(naming: file.path, mentioning: ["limit for a CIFAR batch"]) {
            _ = try CIFARReader.cifar10(directory: dir.url, split: .test)
        }
        expectError(naming: "x.bin", mentioning: ["at most \(CIFARReader.maxRecordsPerFile)"]) {
            _ = try CIFARReader.decodeRecords([UInt8](repeating: 0, count: 3073 * 3 + 1), file: "x.bin", labelBytes: 1,
                                              labelOffset: 0, classes: 10)
        }
    }

    @Test("A file of another kind given as an image, a directory given as a data file")
    func otherKinds() throws {
        let dir = try TemporaryDirectory()
        let model = try dir.write([0x89, 0x42, 0x49, 0x54, 0x56, 0x49, 0x54, 0x0A] + [UInt8](repeating: 0, count: 100), to: "m.bitvit")
        expectError(naming: model.path, mentioning: ["a .bitvit model file", "not a JPEG or PNG image"]) {
            _ = try Image(contentsOf: model)
        }
        try dir.makeFolder("images.gz")
        expectError(naming: "images.gz", mentioning: ["a directory"]) {
            _ = try IDXReader.readImages(dir.url.appendingPathComponent("images.gz"))
        }
    }

    /// Found by the `image` fuzz target (docs/reliability.md): 57 bytes whose header announces
    /// 196,608×1,280 RGBA pixels (under the 2²⁸-pixel limit) made the decoder allocate 1 GB.
    @Test("A PNG whose header announces more pixels than its bytes can hold is refused before decoding")
    func pngHeaderBeyondData() throws {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/fuzz/png-header-beyond-data", withExtension: "png"))
        let bytes = [UInt8](try Data(contentsOf: url))
        expectError(naming: "fuzzed.png", mentioning: ["truncated PNG", "57 bytes", "196608×1280"]) {
            _ = try Image(encoded: bytes, file: "fuzzed.png")
        }
        // A legitimate, highly compressible image still decodes.
        let flat = try Image(height: 64, width: 2048, channels: 3, pixels: [UInt8](repeating: 7, count: 64 * 2048 * 3)).pngData()
        #expect(try Image(encoded: flat, file: "flat.png").pixels.allSatisfy { $0 == 7 })
    }
}
