import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading whole files with a size limit checked before anything is read, and errors a person
/// can act on (no such file, a directory, permission denied, larger than the limit) instead of
/// Foundation's error dumps.
public enum FileInput {
    /// The bytes of `url`; `what` names the expected content in errors ("recipe", "CIFAR
    /// batch"). Throws `BitViTError.missing` when the file does not exist, `.malformed` for a
    /// directory or a file above `limit` bytes, `.io` when it cannot be read.
    public static func read(_ url: URL, limit: Int, what: String) throws -> Data {
        let path = url.path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw openError(path, what: what) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw BitViTError.io("\(path): cannot read the \(what) (\(String(cString: strerror(errno))))") }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            throw BitViTError.malformed(file: path, reason: "this is a directory, expected a \(what) file")
        }
        let size = Int(st.st_size)
        guard size <= limit else {
            throw BitViTError.malformed(file: path, reason: "\(size) bytes is larger than the \(limit)-byte limit for a \(what)")
        }
        var data = Data(count: size)
        var done = 0
        try data.withUnsafeMutableBytes { raw in
            while done < size {
                let n = posixRead(fd, raw.baseAddress! + done, size - done)
                if n < 0 && errno == EINTR { continue }
                guard n >= 0 else { throw BitViTError.io("\(path): cannot read the \(what) (\(String(cString: strerror(errno))))") }
                if n == 0 { break }      // the file shrank while being read
                done += n
            }
        }
        if done < size { data.removeSubrange(done...) }
        return data
    }

    /// `read` as UTF-8 text; bytes that are not UTF-8 text are an error saying what the file is.
    public static func readText(_ url: URL, limit: Int, what: String) throws -> String {
        let data = try read(url, limit: limit, what: what)
        let kind = FileKind.sniff(head: [UInt8](data.prefix(4096)), fileSize: data.count)
        guard kind == .text || kind == .empty, !data.contains(0), let text = String(data: data, encoding: .utf8) else {
            let phrase = kind == .text || kind == .unknown ? "not UTF-8 text" : "this is \(kind.phrase)"
            throw BitViTError.malformed(file: url.path, reason: "\(phrase), expected a \(what) (UTF-8 text)")
        }
        return text
    }

    /// The size of the file at `url` in bytes (nil when it cannot be examined).
    public static func size(_ url: URL) -> Int? {
        var st = stat()
        guard stat(url.path, &st) == 0 else { return nil }
        return Int(st.st_size)
    }

    static func openError(_ path: String, what: String) -> BitViTError {
        let code = errno
        switch code {
        case ENOENT: return .missing("\(path) (the \(what))")
        case EACCES, EPERM: return .io("\(path): permission denied reading the \(what)")
        default: return .io("\(path): cannot open the \(what) (\(String(cString: strerror(code))))")
        }
    }
}

/// `read(2)` (a free function, because `FileInput.read` shadows the name inside the type).
private func posixRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(fd, buffer, count)
}
