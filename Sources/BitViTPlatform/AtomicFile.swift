import Foundation

/// Writes files so that readers never see a partial file: the bytes go to a temporary file in
/// the same directory, which is flushed and then renamed over the destination.
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL) throws {
        let dir = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).\(UInt32.random(in: 0...UInt32.max)).tmp")
        do {
            guard FileManager.default.createFile(atPath: tmp.path, contents: nil) else {
                throw BitViTError.io("cannot create \(tmp.path)")
            }
            let handle = try FileHandle(forWritingTo: tmp)
            try handle.write(contentsOf: data)
            try handle.synchronize()
            try handle.close()
            if rename(tmp.path, url.path) != 0 {
                throw BitViTError.io("cannot rename \(tmp.path) to \(url.path): \(String(cString: strerror(errno)))")
            }
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw error
        }
    }

    public static func write(_ string: String, to url: URL) throws {
        try write(Data(string.utf8), to: url)
    }
}

/// Errors BitViT reports for bad input (files, shapes, configuration); the message says what
/// was wrong and where.
public enum BitViTError: Error, CustomStringConvertible, Equatable {
    case io(String)
    case malformed(file: String, reason: String)
    case shapeMismatch(String)
    case invalidArgument(String)
    case missing(String)
    case numerical(String)

    public var description: String {
        switch self {
        case .io(let m): return "I/O error: \(m)"
        case .malformed(let file, let reason): return "\(file): \(reason)"
        case .shapeMismatch(let m): return "shape mismatch: \(m)"
        case .invalidArgument(let m): return "invalid argument: \(m)"
        case .missing(let m): return "not found: \(m)"
        case .numerical(let m): return "numerical error: \(m)"
        }
    }
}

extension BitViTError: LocalizedError {
    public var errorDescription: String? { description }
}
