import BitViTCore
import Foundation

/// Reader for the IDX files of MNIST and Fashion-MNIST (gzip-compressed or raw).
///
/// Layout: big-endian 32-bit magic (2051 = `0x00000803` for unsigned-byte images of rank 3,
/// 2049 = `0x00000801` for unsigned-byte labels of rank 1), then one big-endian 32-bit extent
/// per axis (`count, rows, cols` or `count`), then the samples, row-major. Every field is
/// checked, and a mismatch throws `BitViTError.malformed` naming the file.
public enum IDXReader {
    /// Magic number of an image file.
    public static let imageMagic: UInt32 = 2051
    /// Magic number of a label file.
    public static let labelMagic: UInt32 = 2049

    /// Images of an IDX file: `count` images of `rows × cols`, one byte per pixel, row-major.
    public struct Images: Sendable {
        public var count: Int
        public var rows: Int
        public var cols: Int
        /// `count · rows · cols` pixel bytes.
        public var pixels: [UInt8]
    }

    /// The largest IDX file read, compressed or not, and the largest decompressed size (1 GiB
    /// each; EMNIST's largest file, the biggest IDX data set in use, is 0.55 GB).
    public static let maxBytes = 1 << 30

    /// Reads an image file (magic 2051), gzip-compressed or raw.
    public static func readImages(_ url: URL) throws -> Images {
        try decodeImages([UInt8](FileInput.read(url, limit: maxBytes, what: "IDX image file")), file: url.path)
    }

    /// Decodes the bytes of an image file (gzip-compressed or raw); `file` names it in errors.
    /// A compressed file's header is inflated and checked first, and the rest only up to the
    /// size the header announces, so a decompression bomb costs no more than the announced
    /// data (at most `maxBytes`).
    public static func decodeImages(_ data: [UInt8], file: String) throws -> Images {
        let (bytes, extents) = try contents(data, file: file, magic: imageMagic, rank: 3) { extents in
            let (count, rows, cols) = (extents[0], extents[1], extents[2])
            guard rows > 0, cols > 0 else {
                throw BitViTError.malformed(file: file, reason: "image size \(rows)×\(cols) is empty")
            }
            let (plane, overflow1) = rows.multipliedReportingOverflow(by: cols)
            let (total, overflow2) = count.multipliedReportingOverflow(by: plane)
            guard !overflow1, !overflow2 else {
                throw BitViTError.malformed(file: file, reason: "implausible header: \(count) images of \(rows)×\(cols)")
            }
            return total
        }
        return Images(count: extents[0], rows: extents[1], cols: extents[2], pixels: Array(bytes[16...]))
    }

    /// Reads a label file (magic 2049): one byte per sample.
    public static func readLabels(_ url: URL) throws -> [UInt8] {
        try decodeLabels([UInt8](FileInput.read(url, limit: maxBytes, what: "IDX label file")), file: url.path)
    }

    /// Decodes the bytes of a label file (gzip-compressed or raw), bounded as `decodeImages`.
    public static func decodeLabels(_ data: [UInt8], file: String) throws -> [UInt8] {
        let (bytes, _) = try contents(data, file: file, magic: labelMagic, rank: 1) { $0[0] }
        return Array(bytes[8...])
    }

    /// The whole (decompressed) file after checking its header: `payloadSize` turns the
    /// extents into the payload byte count, which must be what follows the header.
    private static func contents(_ data: [UInt8], file: String, magic: UInt32, rank: Int,
                                 payloadSize: ([Int]) throws -> Int) throws -> ([UInt8], [Int]) {
        let headerSize = 4 + 4 * rank
        let compressed = Gzip.isCompressed(data)
        let head = compressed ? try Gzip.decompress(data, file: file, limit: headerSize, prefixOnly: true) : data
        let extents = try header(head, file: file, magic: magic, rank: rank)
        let payload = try payloadSize(extents)
        guard payload <= maxBytes - headerSize else {
            throw BitViTError.malformed(file: file, reason: "the header announces \(payload) bytes of data, above the \(maxBytes)-byte limit")
        }
        let bytes: [UInt8]
        if compressed {
            do { bytes = try Gzip.decompress(data, file: file, limit: headerSize + payload) } catch let BitViTError.malformed(_, reason)
                where reason.hasPrefix("the gzip data inflates") {
                throw BitViTError.malformed(file: file, reason: "unexpected trailing data: the header announces \(payload) bytes, the file has more")
            }
        } else {
            bytes = data
        }
        let found = bytes.count - headerSize
        guard found == payload else {
            let problem = found < payload ? "truncated data" : "unexpected trailing data"
            throw BitViTError.malformed(file: file, reason: "\(problem): the header announces \(payload) bytes, the file has \(found)")
        }
        return (bytes, extents)
    }

    /// Reads a matching pair of image and label files into an in-memory, one-channel data set.
    ///
    /// Throws `BitViTError.malformed` naming the offending file for a bad header, truncated or
    /// oversized data, a count mismatch between the two files, or a label outside
    /// `0..<classNames.count`.
    public static func dataset(images imagesURL: URL, labels labelsURL: URL,
                               classNames: [String]) throws -> InMemoryDataset {
        let images = try readImages(imagesURL)
        let labels = try readLabels(labelsURL)
        guard labels.count == images.count else {
            throw BitViTError.malformed(
                file: labelsURL.path,
                reason: "\(labels.count) labels, but \(imagesURL.lastPathComponent) holds \(images.count) images")
        }
        if let bad = labels.firstIndex(where: { Int($0) >= classNames.count }) {
            throw BitViTError.malformed(
                file: labelsURL.path,
                reason: "label \(labels[bad]) of sample \(bad) is outside 0..<\(classNames.count) (the declared classes)")
        }
        return try InMemoryDataset(height: images.rows, width: images.cols, channels: 1,
                                   pixels: images.pixels, labels: labels.map(Int.init),
                                   classNames: classNames)
    }

    private static func header(_ bytes: [UInt8], file: String, magic: UInt32, rank: Int) throws -> [Int] {
        let headerSize = 4 + 4 * rank
        guard bytes.count >= headerSize else {
            throw BitViTError.malformed(
                file: file, reason: "truncated IDX header: \(bytes.count) bytes, expected at least \(headerSize)")
        }
        let found = bigEndianWord(bytes, at: 0)
        guard found == magic else {
            let kind = magic == imageMagic ? "an image" : "a label"
            throw BitViTError.malformed(
                file: file, reason: "bad IDX magic \(found), expected \(magic) for \(kind) file")
        }
        return (0..<rank).map { Int(bigEndianWord(bytes, at: 4 + 4 * $0)) }
    }

    private static func bigEndianWord(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16
            | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }
}
