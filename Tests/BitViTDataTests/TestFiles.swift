import BitViTData
import Foundation
import Testing

/// A fresh temporary directory, removed when the value is released.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("bitvit-data-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// Writes `bytes` to `relativePath`, creating folders on the way; returns the file's URL.
    @discardableResult
    func write(_ bytes: [UInt8], to relativePath: String) throws -> URL {
        let file = url.appendingPathComponent(relativePath)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: file)
        return file
    }

    func makeFolder(_ relativePath: String) throws {
        try FileManager.default.createDirectory(at: url.appendingPathComponent(relativePath),
                                                withIntermediateDirectories: true)
    }
}

/// Expects `body` to throw a `BitViTError` whose message mentions `file` and every fragment.
func expectError(naming file: String, mentioning fragments: [String] = [],
                 sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected an error naming \(file)", sourceLocation: sourceLocation)
    } catch let error as BitViTError {
        let message = error.description
        #expect(message.contains(file), "'\(message)' does not name \(file)", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(message.lowercased().contains(fragment.lowercased()),
                    "'\(message)' does not mention '\(fragment)'", sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("expected a BitViTError, got \(error)", sourceLocation: sourceLocation)
    }
}

/// Independent encoders for test files: IDX, gzip and PNG written byte by byte with stored
/// (uncompressed) deflate blocks, so the readers are checked against files they did not write.
enum FileBuilder {
    static func bigEndian32(_ value: Int) -> [UInt8] {
        [UInt8(value >> 24 & 255), UInt8(value >> 16 & 255), UInt8(value >> 8 & 255), UInt8(value & 255)]
    }

    static func idxImages(count: Int, rows: Int, cols: Int, pixels: [UInt8], magic: Int = 2051) -> [UInt8] {
        bigEndian32(magic) + bigEndian32(count) + bigEndian32(rows) + bigEndian32(cols) + pixels
    }

    static func idxLabels(_ labels: [UInt8], magic: Int = 2049) -> [UInt8] {
        bigEndian32(magic) + bigEndian32(labels.count) + labels
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in bytes { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
        return b << 16 | a
    }

    static func storedDeflate(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var offset = 0
        repeat {
            let n = min(65535, bytes.count - offset)
            let final: UInt8 = offset + n == bytes.count ? 1 : 0
            out += [final, UInt8(n & 255), UInt8(n >> 8), UInt8(~n & 255), UInt8((~n >> 8) & 255)]
            out += bytes[offset..<(offset + n)]
            offset += n
        } while offset < bytes.count
        return out
    }

    static func gzip(_ bytes: [UInt8]) -> [UInt8] {
        let crc = crc32(bytes), size = UInt32(truncatingIfNeeded: bytes.count)
        return [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 255] + storedDeflate(bytes)
            + (0..<4).map { UInt8(crc >> (8 * $0) & 255) } + (0..<4).map { UInt8(size >> (8 * $0) & 255) }
    }

    /// A PNG of `colorType` (0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA) and `bitDepth`;
    /// `rows` are the raw scanline bytes without filter bytes.
    static func png(width: Int, height: Int, bitDepth: Int, colorType: Int, rows: [[UInt8]],
                    palette: [UInt8]? = nil, transparency: [UInt8]? = nil) -> [UInt8] {
        func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
            let body = Array(type.utf8) + data
            let crc = crc32(body)
            return bigEndian32(data.count) + body + bigEndian32(Int(crc))
        }
        let header = bigEndian32(width) + bigEndian32(height) + [UInt8(bitDepth), UInt8(colorType), 0, 0, 0]
        let raw: [UInt8] = rows.flatMap { [UInt8(0)] + $0 }
        let zlib: [UInt8] = [0x78, 0x01] + storedDeflate(raw) + bigEndian32(Int(adler32(raw)))
        var file: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        file += chunk("IHDR", header)
        if let palette { file += chunk("PLTE", palette) }
        if let transparency { file += chunk("tRNS", transparency) }
        return file + chunk("IDAT", zlib) + chunk("IEND", [])
    }
}

/// An in-memory data set whose sample `i` is a `size × size` gray image filled with `i % 256`,
/// labeled `labels[i]`.
func syntheticDataset(labels: [Int], classes: Int, size: Int = 4, channels: Int = 1) throws -> InMemoryDataset {
    let plane = size * size * channels
    var pixels: [UInt8] = []
    for i in labels.indices { pixels += [UInt8](repeating: UInt8(i % 256), count: plane) }
    return try InMemoryDataset(height: size, width: size, channels: channels, pixels: pixels, labels: labels,
                               classNames: (0..<classes).map { "class\($0)" })
}

/// A `height × width × channels` image whose samples are `(y·31 + x·7 + c·101) % 256`.
func patternImage(height: Int, width: Int, channels: Int) -> Image {
    var image = Image(height: height, width: width, channels: channels)
    for y in 0..<height {
        for x in 0..<width {
            for c in 0..<channels { image[y, x, c] = UInt8((y * 31 + x * 7 + c * 101) % 256) }
        }
    }
    return image
}
