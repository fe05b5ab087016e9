import Foundation

/// Reads and writes the safetensors format (an 8-byte little-endian header length, a JSON
/// header mapping names to dtype/shape/byte ranges, then the raw little-endian data).
///
/// Loading accepts F32, F16, BF16, F64, I64, I32, I16, I8, U64, U32, U16, U8 and BOOL tensors
/// and converts them to float32 (`PyTorchCheckpoint` reads them keeping their stored dtype);
/// writing stores F32. Every field is validated: a malformed or truncated
/// file raises `BitViTError.malformed` naming the file and the problem.
public enum Safetensors {
    /// Named float32 tensors plus the optional `__metadata__` string map.
    public struct File {
        public var tensors: [String: Tensor]
        public var metadata: [String: String]
        /// Names in file order (by data offset).
        public var order: [String]

        public init(tensors: [String: Tensor], metadata: [String: String] = [:], order: [String]? = nil) {
            self.tensors = tensors
            self.metadata = metadata
            self.order = order ?? tensors.keys.sorted()
        }
    }

    /// The largest JSON header accepted (16 MiB; a header lists names, shapes and offsets, and
    /// the string metadata).
    public static let maxHeaderBytes = 1 << 24

    /// Reads the file at `url` (memory-mapped) and decodes it.
    public static func load(_ url: URL) throws -> File {
        try FileKind.reject(url, unless: "a safetensors file (a checkpoint or weights)", rejecting: [])
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw BitViTError.io("cannot read \(ReadableError.describe(error))")
        }
        return try decode(data, name: url.path)
    }

    /// Decodes safetensors bytes; `name` names the source in errors. Files of another kind
    /// (a `.bitvit` model, an image, text) are rejected saying what they are.
    public static func decode(_ data: Data, name: String) throws -> File {
        let header = try parseHeader(data, name: name)
        var tensors: [String: Tensor] = [:]
        for entry in header.entries {
            let t = Tensor(uninitialized: entry.shape)
            data.withUnsafeBytes { raw in
                entry.dtype.convert(raw.baseAddress! + header.dataStart + entry.byteRange.lowerBound,
                                    count: t.count, into: t.data)
            }
            tensors[entry.name] = t
        }
        return File(tensors: tensors, metadata: header.metadata, order: header.entries.map(\.name))
    }

    /// A validated safetensors header: every entry's range lies inside the data section, matches
    /// its shape and dtype, and overlaps no other.
    public struct Header {
        public struct Entry {
            public var name: String
            public var dtype: StoredDType
            public var shape: [Int]
            /// Byte range inside the data section (add `dataStart` for a file offset).
            public var byteRange: Range<Int>
        }
        /// Entries in file order (by data offset).
        public var entries: [Entry]
        public var metadata: [String: String]
        /// File offset of the data section (8 + header length).
        public var dataStart: Int
    }

    /// Parses and validates the header of a safetensors file held in `data`.
    public static func parseHeader(_ data: Data, name: String) throws -> Header {
        func bad(_ reason: String) -> BitViTError { .malformed(file: name, reason: reason) }
        let kind = FileKind.sniff(head: [UInt8](data.prefix(4096)), fileSize: data.count)
        if ![.safetensors, .unknown].contains(kind) {
            throw bad("this is \(kind.phrase), not a safetensors file (a checkpoint or weights)")
        }
        guard data.count >= 8 else { throw bad("file is \(data.count) bytes, shorter than the 8-byte header length") }
        let headerLength = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian
        guard headerLength <= UInt64(data.count - 8) else {
            throw bad("header length \(headerLength) exceeds the file size \(data.count) (truncated, or not a safetensors file)")
        }
        guard headerLength <= UInt64(maxHeaderBytes) else {
            throw bad("header length \(headerLength) is above the \(maxHeaderBytes)-byte limit")
        }
        let headerStart = data.startIndex + 8
        let headerData = data.subdata(in: headerStart..<(headerStart + Int(headerLength)))
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: headerData) } catch {
            throw bad("header is not valid JSON (\(ReadableError.describe(error)))")
        }
        guard let header = json as? [String: Any] else { throw bad("header is not a JSON object") }
        let base = 8 + Int(headerLength)
        let payload = data.count - base
        var metadata: [String: String] = [:]
        var entries: [Header.Entry] = []
        for (key, value) in header {
            if key == "__metadata__" {
                guard let m = value as? [String: Any] else { throw bad("__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw bad("metadata value for \(k) is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let entry = value as? [String: Any],
                  let dtypeName = entry["dtype"] as? String,
                  let shapeAny = entry["shape"] as? [Any],
                  let offsetsAny = entry["data_offsets"] as? [Any], offsetsAny.count == 2 else {
                throw bad("tensor '\(key)' lacks dtype, shape or data_offsets")
            }
            let shape = try shapeAny.map { v -> Int in
                guard let n = (v as? NSNumber)?.intValue, n >= 0, n < 1 << 40 else {
                    throw bad("tensor '\(key)' has an invalid shape \(shapeAny)")
                }
                return n
            }
            let offsets = try offsetsAny.map { v -> Int in
                guard let n = (v as? NSNumber)?.intValue, n >= 0 else {
                    throw bad("tensor '\(key)' has invalid data_offsets")
                }
                return n
            }
            guard let dtype = StoredDType(safetensorsName: dtypeName) else {
                throw bad("tensor '\(key)' has unsupported dtype \(dtypeName)")
            }
            let (start, end) = (offsets[0], offsets[1])
            guard start <= end, end <= payload else {
                throw bad("tensor '\(key)' data \(start)..<\(end) lies outside the \(payload)-byte data section (truncated file?)")
            }
            let (n, overflow) = shape.reduce((dtype.byteWidth, false)) { acc, d in
                let (p, o) = acc.0.multipliedReportingOverflow(by: d)
                return (p, acc.1 || o)
            }
            guard !overflow, n == end - start else {
                throw bad("tensor '\(key)' of shape \(shape) and dtype \(dtypeName) needs \(overflow ? "more than Int.max" : String(n)) bytes, has \(end - start)")
            }
            entries.append(Header.Entry(name: key, dtype: dtype, shape: shape, byteRange: start..<end))
        }
        entries.sort { ($0.byteRange.lowerBound, $0.byteRange.upperBound) < ($1.byteRange.lowerBound, $1.byteRange.upperBound) }
        for (a, b) in zip(entries, entries.dropFirst()) where b.byteRange.lowerBound < a.byteRange.upperBound {
            throw bad("tensors '\(a.name)' and '\(b.name)' overlap")
        }
        return Header(entries: entries, metadata: metadata, dataStart: base)
    }

    /// Serializes tensors as F32 in the given order (default: sorted names).
    public static func encode(_ tensors: [String: Tensor], order: [String]? = nil,
                              metadata: [String: String] = [:]) throws -> Data {
        let names = order ?? tensors.keys.sorted()
        var header: [String: Any] = [:]
        var offset = 0
        for name in names {
            guard let t = tensors[name] else { throw BitViTError.missing("tensor '\(name)'") }
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + t.count * 4]]
            offset += t.count * 4
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var headerData = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad the header with spaces so the data section starts 8-byte aligned.
        while (8 + headerData.count) % 8 != 0 { headerData.append(0x20) }
        var out = Data(capacity: 8 + headerData.count + offset)
        withUnsafeBytes(of: UInt64(headerData.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(headerData)
        for name in names {
            let t = tensors[name]!
            t.withUnsafeBufferPointer { buf in
                buf.withMemoryRebound(to: UInt8.self) { out.append($0) }
            }
        }
        return out
    }

    /// Writes atomically (temporary file + rename).
    public static func save(_ tensors: [String: Tensor], to url: URL, order: [String]? = nil,
                            metadata: [String: String] = [:]) throws {
        try AtomicFile.write(encode(tensors, order: order, metadata: metadata), to: url)
    }
}
