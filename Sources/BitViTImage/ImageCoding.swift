import BitViTPlatform
import Foundation

/// Image file formats the data module reads and writes.
public enum ImageFileFormat: String, Sendable {
    case jpeg, png

    /// The format announced by a file's first bytes (JPEG `FF D8 FF`, PNG `89 50 4E 47 …`), or nil.
    public init?(signature bytes: some Collection<UInt8>) {
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { self = .jpeg }
        else if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { self = .png }
        else { return nil }
    }
}

extension Image {
    /// The largest image the decoders accept (2²⁸ pixels), so a damaged header cannot demand
    /// gigabytes of memory.
    public static let maximumDecodedPixels = 1 << 28

    /// Decodes a JPEG or PNG file (the format comes from its signature, not its name) and converts
    /// it to `channels` (1, 3, or nil to keep the file's own 1 or 3).
    ///
    /// Throws `BitViTError.io` naming the file when it cannot be read, and
    /// `BitViTError.malformed(file:reason:)` when it is not a JPEG/PNG or is corrupt or truncated.
    public init(contentsOf url: URL, channels: Int? = nil) throws {
        let bytes = [UInt8](try FileInput.read(url, limit: Self.maximumFileBytes, what: "image"))
        try self.init(encoded: bytes, file: url.path, channels: channels)
    }

    /// The largest image file read (256 MiB).
    public static let maximumFileBytes = 1 << 28

    /// Decodes JPEG or PNG bytes; `file` names the source in errors. See `init(contentsOf:channels:)`.
    public init(encoded bytes: [UInt8], file: String, channels: Int? = nil) throws {
        if let channels, ![1, 3].contains(channels) {
            throw BitViTError.invalidArgument("decoded images have 1 or 3 channels, not \(channels)")
        }
        let decoded: Image
        switch ImageFileFormat(signature: bytes) {
        case .jpeg: decoded = try JPEGCodec.decode(bytes, file: file)
        case .png: decoded = try PNGCodec.decode(bytes, file: file)
        case nil:
            let kind = FileKind.sniff(head: Array(bytes.prefix(4096)), fileSize: bytes.count)
            let reason = bytes.isEmpty ? "the file is empty"
                : kind == .unknown ? "not a JPEG or PNG file (unknown signature)" : "this is \(kind.phrase), not a JPEG or PNG image"
            throw BitViTError.malformed(file: file, reason: reason)
        }
        self = decoded.converted(toChannels: channels ?? decoded.channels)
    }

    /// The image as PNG file bytes (8-bit gray, RGB or RGBA), e.g. to inspect augmented samples.
    public func pngData() throws -> [UInt8] { try PNGCodec.encode(self) }

    /// The image as baseline JPEG file bytes (gray, or RGB with 4:2:0 chroma) at `quality` 1…100.
    public func jpegData(quality: Int = 90) throws -> [UInt8] { try JPEGCodec.encode(self, quality: quality) }
}
