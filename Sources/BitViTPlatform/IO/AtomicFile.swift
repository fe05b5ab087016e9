import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes files so that readers never see a partial file: the bytes go to a temporary file in
/// the same directory, which is flushed and then renamed over the destination.
///
/// The temporary file is `.<name>.<pid>.<n>.tmp`. A process killed between the two steps
/// leaves it behind; `removeStaleTemporaries(in:)` deletes those of processes that no longer
/// run (a training run calls it when it starts in its directory).
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL) throws {
        let dir = url.deletingLastPathComponent()
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw BitViTError.io("cannot create the directory \(dir.path) for \(url.lastPathComponent): \(ReadableError.reason(error))")
        }
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp")
        do {
            guard FileManager.default.createFile(atPath: tmp.path, contents: nil) else {
                throw BitViTError.io("cannot write in \(dir.path): \(String(cString: strerror(errno)))")
            }
            let handle = try FileHandle(forWritingTo: tmp)
            try handle.write(contentsOf: data)
            try handle.synchronize()
            try handle.close()
            if rename(tmp.path, url.path) != 0 {
                throw BitViTError.io("cannot rename \(tmp.path) to \(url.path): \(String(cString: strerror(errno)))")
            }
        } catch let error as BitViTError {
            try? FileManager.default.removeItem(at: tmp)
            throw error
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw BitViTError.io("cannot write \(url.path): \(ReadableError.reason(error))")
        }
    }

    public static func write(_ string: String, to url: URL) throws {
        try write(Data(string.utf8), to: url)
    }

    /// Deletes the temporary files that interrupted writes of other, no longer running
    /// processes left in `directory` (names `.<name>.<pid>.<n>.tmp`) and returns their names.
    /// Files of running processes, and every other file, stay.
    @discardableResult
    public static func removeStaleTemporaries(in directory: URL) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [] }
        var removed: [String] = []
        for name in names {
            guard let pid = temporaryOwner(name), pid != getpid(), !isRunning(pid) else { continue }
            if (try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))) != nil { removed.append(name) }
        }
        return removed.sorted()
    }

    /// The process id in a temporary file name `.<name>.<pid>.<n>.tmp`, or nil for other names.
    static func temporaryOwner(_ name: String) -> pid_t? {
        guard name.hasPrefix("."), name.hasSuffix(".tmp") else { return nil }
        let parts = name.dropFirst().dropLast(4).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 3, !parts[0].isEmpty, UInt32(parts[parts.count - 1]) != nil,
              let pid = pid_t(parts[parts.count - 2]), pid > 0 else { return nil }
        return pid
    }

    private static func isRunning(_ pid: pid_t) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
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

    /// The description without the "invalid argument" in front (`model.dim is 65536; …`),
    /// to embed in another message.
    public var message: String {
        if case .invalidArgument(let m) = self { return m }
        return description
    }
}

extension BitViTError: LocalizedError {
    public var errorDescription: String? { description }
}
