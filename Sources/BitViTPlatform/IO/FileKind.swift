import Foundation

/// What a file is, judged by its content (first bytes), never by its name: every command uses
/// it to say what it was given when that is not what it expected ("a .bitvit model file, not a
/// checkpoint").
public enum FileKind: Equatable, Sendable {
    /// A `.bitvit` deployment file (magic `\x89BITVIT\n`).
    case bitvitModel
    /// A safetensors file: an 8-byte little-endian header length, then a JSON object (BitViT
    /// checkpoints, plain weight files).
    case safetensors
    /// A `torch.save` file: a zip archive, or a legacy pickle stream (`80 02`…`80 05`).
    case torchSave
    case gzip
    case png
    case jpeg
    /// An IDX data file (MNIST-style images or labels, uncompressed).
    case idx
    /// UTF-8 text without control characters other than tab and line breaks (recipes, comparison plans, metrics logs, class names).
    case text
    case directory
    case empty
    case missing
    /// Bytes of no kind above.
    case unknown

    /// The kind of the file at `url`, from at most its first 4 KiB.
    public static func sniff(_ url: URL) -> FileKind {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return .missing }
        if isDirectory.boolValue { return .directory }
        guard let handle = FileHandle(forReadingAtPath: url.path) else { return .unknown }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 4096)) ?? Data()
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? head.count
        return sniff(head: [UInt8](head), fileSize: size)
    }

    /// The kind of a file whose first bytes are `head` and whose size is `fileSize`.
    public static func sniff(head: [UInt8], fileSize: Int) -> FileKind {
        if head.isEmpty { return fileSize == 0 ? .empty : .unknown }
        // Safetensors first: its first 8 bytes are a length, which may begin like another
        // format's magic (a header of 640 + 65,536·k bytes starts with 80 02, one of
        // 35,615 + 65,536·k bytes with 1F 8B); the length must fit the file and a '{' follow.
        if head.count >= 9 {
            let length = (0..<8).reduce(UInt64(0)) { $0 | UInt64(head[$1]) << (8 * UInt64($1)) }
            if head[8] == UInt8(ascii: "{"), length >= 2, length <= UInt64(max(fileSize - 8, 0)) { return .safetensors }
        }
        if head.starts(with: [0x89, 0x42, 0x49, 0x54, 0x56, 0x49, 0x54, 0x0A]) { return .bitvitModel }
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if head.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if head.starts(with: [0x1F, 0x8B]) { return .gzip }
        if head.count >= 4, head[0] == 0, head[1] == 0, head[2] == 0x08, (1...4).contains(head[3]) { return .idx }
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) || head.starts(with: [0x50, 0x4B, 0x05, 0x06])
            || (head.count >= 2 && head[0] == 0x80 && (2...5).contains(head[1])) { return .torchSave }
        let controls = head.contains { $0 < 0x20 && ![0x09, 0x0A, 0x0D].contains($0) } || head.contains(0x7F)
        if !controls && isUTF8Prefix(head) { return .text }
        return .unknown
    }

    /// A phrase for messages: "a .bitvit model file (written by bitvit export)".
    public var phrase: String {
        switch self {
        case .bitvitModel: return "a .bitvit model file (written by bitvit export)"
        case .safetensors: return "a safetensors file (a checkpoint or weights)"
        case .torchSave: return "a PyTorch checkpoint (torch.save) or zip archive"
        case .gzip: return "a gzip-compressed file"
        case .png: return "a PNG image"
        case .jpeg: return "a JPEG image"
        case .idx: return "an IDX data file"
        case .text: return "a text file"
        case .directory: return "a directory"
        case .empty: return "an empty file"
        case .missing: return "missing (no such file or directory)"
        case .unknown: return "a binary file of unknown kind"
        }
    }

    /// Throws `BitViTError.malformed(file: url.path, …)` saying what the file is when it is
    /// `missing`, a directory, empty, or one of `others` — kinds that are surely not
    /// `expected` (a phrase such as "a training checkpoint (.safetensors)"). Files of the
    /// expected kind or of no recognized kind pass, so that the reader's own checks give the
    /// detailed reason (a truncated header, a bad checksum).
    public static func reject(_ url: URL, unless expected: String, rejecting others: Set<FileKind>) throws {
        let kind = sniff(url)
        if kind == .missing { throw BitViTError.missing("\(url.path) (expected \(expected))") }
        guard kind == .directory || kind == .empty || others.contains(kind) else { return }
        throw BitViTError.malformed(file: url.path, reason: "this is \(kind.phrase), expected \(expected)")
    }

    /// True when `bytes` are valid UTF-8 except possibly for a sequence cut at the end.
    private static func isUTF8Prefix(_ bytes: [UInt8]) -> Bool {
        var cut = bytes.count
        // Drop up to three trailing bytes of an incomplete multi-byte sequence.
        for back in 1...min(3, bytes.count) where bytes[bytes.count - back] & 0xC0 == 0xC0 {
            cut = bytes.count - back
            break
        }
        return String(validating: bytes[..<cut], as: UTF8.self) != nil
    }
}
