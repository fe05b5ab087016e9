import Foundation

/// Error text a person can act on, for errors that come from Foundation and Codable: the
/// field and what it should be instead of `DecodingError.typeMismatch(…, Debug description: …)`,
/// the path and the reason instead of `NSCocoaErrorDomain Code=4`.
public enum ReadableError {
    /// A decoding error as "field 'optimizer.lr' should be a number" (`keyName` renames each
    /// key of the path, e.g. to the recipes' snake_case); any other error via `describe`.
    public static func decoding(_ error: Error, keyName: (String) -> String = { $0 }) -> String {
        guard let error = error as? DecodingError else { return describe(error) }
        func field(_ path: [CodingKey]) -> String {
            path.map { $0.intValue.map(String.init) ?? keyName($0.stringValue) }.joined(separator: ".")
        }
        func at(_ path: [CodingKey]) -> String { path.isEmpty ? "the document" : "field '\(field(path))'" }
        switch error {
        case .typeMismatch(let type, let c):
            return "\(at(c.codingPath)) should be \(phrase(type))"
        case .valueNotFound(let type, let c):
            return "\(at(c.codingPath)) needs \(phrase(type))"
        case .keyNotFound(let key, let c):
            return "field '\(field(c.codingPath + [key]))' is required"
        case .dataCorrupted(let c):
            var text = c.debugDescription
            if let underlying = c.underlyingError { text += " (\(describe(underlying)))" }
            return c.codingPath.isEmpty ? text : "\(at(c.codingPath)): \(text)"
        @unknown default:
            return "\(error)"
        }
    }

    /// `error` as one readable line: BitViT's own errors as they are, Foundation's file errors
    /// as "path: reason", others by their localized description.
    public static func describe(_ error: Error) -> String {
        if let e = error as? BitViTError { return e.description }
        if error is DecodingError { return decoding(error) }
        let ns = error as NSError
        guard ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain,
              let path = (ns.userInfo[NSFilePathErrorKey] as? String) ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path else {
            return reason(error)
        }
        return "\(path): \(reason(error))"
    }

    /// What went wrong, without the path (for messages that name the file already): the
    /// system's reason ("Permission denied", "No such file or directory") where Foundation
    /// wraps one.
    public static func reason(_ error: Error) -> String {
        if let e = error as? BitViTError { return e.message }
        if error is DecodingError { return decoding(error) }
        let ns = error as NSError
        if let detail = ns.userInfo[NSDebugDescriptionErrorKey] as? String { return detail }
        if let posix = ns.userInfo[NSUnderlyingErrorKey] as? NSError, posix.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(posix.code)))
        }
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        if ns.domain == NSCocoaErrorDomain, let text = cocoaFileReasons[ns.code] { return text }
        return ns.localizedDescription
    }

    /// Foundation's file error codes (`CocoaError.Code`) in the words of the system's errors.
    static let cocoaFileReasons: [Int: String] = [
        CocoaError.fileNoSuchFile.rawValue: "No such file or directory",
        CocoaError.fileReadNoSuchFile.rawValue: "No such file or directory",
        CocoaError.fileReadNoPermission.rawValue: "Permission denied",
        CocoaError.fileWriteNoPermission.rawValue: "Permission denied",
        CocoaError.fileWriteOutOfSpace.rawValue: "No space left on device",
        CocoaError.fileWriteVolumeReadOnly.rawValue: "Read-only file system",
        CocoaError.fileWriteFileExists.rawValue: "File exists",
        CocoaError.fileReadCorruptFile.rawValue: "the file is corrupt or not in the expected format",
        CocoaError.fileReadTooLarge.rawValue: "the file is too large",
        CocoaError.fileReadUnknown.rawValue: "the file cannot be read (a directory, or unreadable)",
        CocoaError.fileWriteUnknown.rawValue: "the file cannot be written",
    ]

    static func phrase(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Int64.Type, is Int32.Type, is UInt64.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        case is Bool.Type: return "true or false"
        case is String.Type: return "a string"
        case is [Any].Type: return "a list"
        default:
            let name = "\(type)"
            if name.hasPrefix("Array<") { return "a list" }
            if name.hasPrefix("Dictionary<") { return "a mapping" }
            return "a \(name) value"
        }
    }
}
