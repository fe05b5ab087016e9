import CZlib
import Foundation

/// A read-only view of a zip archive held in memory (a `torch.save` file is one): the central
/// directory (ZIP64 included) is parsed and bounds-checked up front; entries are returned as
/// slices of the file when stored, inflated with zlib when deflated, and checked against
/// their CRC-32 when the archive records one (a zero CRC means the writer skipped it, as
/// `torch.serialization.set_crc32_options(False)` does).
final class ZipArchive {
    struct Entry {
        let name: String
        /// 0 stored, 8 deflated.
        let method: UInt16
        let crc32: UInt32
        let compressedSize: Int
        let size: Int
        /// File offset of the entry's (compressed) bytes.
        let dataOffset: Int
    }

    let data: Data
    let file: String
    let entries: [Entry]
    private let index: [String: Int]
    private let limits: CheckpointLimits
    private var inflatedBytes = 0

    init(data: Data, file: String, limits: CheckpointLimits) throws {
        self.data = data
        self.file = file
        self.limits = limits
        func bad(_ reason: String) -> BitViTError { .malformed(file: file, reason: reason) }
        let entries: [Entry] = try data.withUnsafeBytes { raw in
            let reader = LittleEndianReader(bytes: raw, file: file)
            let count = raw.count
            guard count >= 22 else { throw bad("\(count) bytes is too short for a zip archive (truncated file?)") }
            var eocd = -1
            var p = count - 22
            while p >= max(0, count - 22 - 0xFFFF) {
                if raw[p] == 0x50, raw[p + 1] == 0x4B, raw[p + 2] == 0x05, raw[p + 3] == 0x06 { eocd = p; break }
                p -= 1
            }
            guard eocd >= 0 else { throw bad("no end-of-central-directory record (truncated zip archive?)") }
            var entryCount = UInt64(try reader.u16(eocd + 10))
            var directorySize = UInt64(try reader.u32(eocd + 12))
            var directoryOffset = UInt64(try reader.u32(eocd + 16))
            guard try reader.u16(eocd + 4) == 0, try reader.u16(eocd + 6) == 0 else {
                throw bad("multi-volume zip archives are not supported")
            }
            // ZIP64: a locator right before the classic record points to the 64-bit record.
            if eocd >= 20, try reader.u32(eocd - 20) == 0x0706_4B50 {
                let record = try reader.u64(eocd - 12)
                guard record <= UInt64(eocd - 20), try reader.u32(Int(record)) == 0x0606_4B50 else {
                    throw bad("ZIP64 end-of-central-directory record missing at offset \(record)")
                }
                entryCount = try reader.u64(Int(record) + 32)
                directorySize = try reader.u64(Int(record) + 40)
                directoryOffset = try reader.u64(Int(record) + 48)
            }
            guard entryCount <= UInt64(limits.maxZipEntries) else {
                throw bad("\(entryCount) zip entries exceed the limit of \(limits.maxZipEntries)")
            }
            guard directoryOffset <= UInt64(count), directorySize <= UInt64(count) - directoryOffset else {
                throw bad("central directory \(directoryOffset)+\(directorySize) lies outside the \(count)-byte file (truncated file?)")
            }
            let directoryEnd = Int(directoryOffset + directorySize)
            var entries: [Entry] = []
            entries.reserveCapacity(min(Int(entryCount), Int(directorySize) / 46))
            var q = Int(directoryOffset)
            for n in 0..<Int(entryCount) {
                guard q + 46 <= directoryEnd, try reader.u32(q) == 0x0201_4B50 else {
                    throw bad("central directory entry \(n) at offset \(q) is damaged")
                }
                let flags = try reader.u16(q + 8), method = try reader.u16(q + 10)
                let crc = try reader.u32(q + 16)
                var compressed = UInt64(try reader.u32(q + 20)), size = UInt64(try reader.u32(q + 24))
                let nameLength = Int(try reader.u16(q + 28)), extraLength = Int(try reader.u16(q + 30))
                let commentLength = Int(try reader.u16(q + 32))
                var localOffset = UInt64(try reader.u32(q + 42))
                let nameStart = q + 46, extraStart = nameStart + nameLength
                let next = extraStart + extraLength + commentLength
                guard next <= directoryEnd else { throw bad("central directory entry \(n) runs past the directory") }
                let name = String(decoding: UnsafeRawBufferPointer(rebasing: raw[nameStart..<extraStart]), as: UTF8.self)
                var e = extraStart
                while e + 4 <= extraStart + extraLength {
                    let id = try reader.u16(e), length = Int(try reader.u16(e + 2))
                    guard e + 4 + length <= extraStart + extraLength else { break }
                    if id == 0x0001 {
                        var f = e + 4
                        func wide(_ value: inout UInt64) throws {
                            guard value == 0xFFFF_FFFF else { return }
                            guard f + 8 <= e + 4 + length else { throw bad("entry '\(name)': ZIP64 field too short") }
                            value = try reader.u64(f)
                            f += 8
                        }
                        try wide(&size)
                        try wide(&compressed)
                        try wide(&localOffset)
                    }
                    e += 4 + length
                }
                guard flags & 1 == 0 else { throw bad("entry '\(name)' is encrypted") }
                guard method == 0 || method == 8 else {
                    throw bad("entry '\(name)' uses compression method \(method); only stored (0) and deflate (8) are supported")
                }
                guard count >= 30, localOffset <= UInt64(count - 30), try reader.u32(Int(localOffset)) == 0x0403_4B50 else {
                    throw bad("entry '\(name)': no local header at offset \(localOffset) (truncated or damaged file?)")
                }
                let dataOffset = Int(localOffset) + 30 + Int(try reader.u16(Int(localOffset) + 26))
                    + Int(try reader.u16(Int(localOffset) + 28))
                guard dataOffset <= count, compressed <= UInt64(count - dataOffset) else {
                    throw bad("entry '\(name)': \(compressed) bytes at offset \(dataOffset) run past the end of the \(count)-byte file (truncated file?)")
                }
                if method == 0, size != compressed {
                    throw bad("stored entry '\(name)' declares \(size) bytes but holds \(compressed)")
                }
                guard size <= UInt64(Int.max / 2) else { throw bad("entry '\(name)' declares an impossible size \(size)") }
                entries.append(Entry(name: name, method: method, crc32: crc, compressedSize: Int(compressed),
                                     size: Int(size), dataOffset: dataOffset))
                q = next
            }
            return entries
        }
        var index: [String: Int] = [:]
        for (i, entry) in entries.enumerated() {
            guard index.updateValue(i, forKey: entry.name) == nil else {
                throw bad("the zip archive holds two entries named '\(entry.name)'")
            }
        }
        self.entries = entries
        self.index = index
    }

    func entry(named name: String) -> Entry? { index[name].map { entries[$0] } }

    /// The bytes of `entry`, at most `limit` of them (more is an error naming `what`).
    func contents(of entry: Entry, limit: Int, what: String) throws -> Data {
        func bad(_ reason: String) -> BitViTError { .malformed(file: file, reason: "entry '\(entry.name)': \(reason)") }
        guard entry.size <= limit else {
            throw bad("\(what) of \(entry.size) bytes exceeds the limit of \(limit)")
        }
        let start = data.startIndex + entry.dataOffset
        let bytes: Data
        if entry.method == 0 {
            bytes = data[start..<(start + entry.size)]
        } else {
            guard entry.size <= limits.maxInflatedBytes - inflatedBytes else {
                throw bad("inflating \(entry.size) more bytes exceeds the limit of \(limits.maxInflatedBytes) inflated bytes")
            }
            bytes = try Self.inflate(data[start..<(start + entry.compressedSize)], size: entry.size, fail: bad)
            inflatedBytes += entry.size
        }
        if entry.crc32 != 0 {
            let computed = Self.crc32(bytes)
            guard computed == entry.crc32 else {
                throw bad("CRC-32 is \(hex(computed)), the archive records \(hex(entry.crc32)) (corrupt file)")
            }
        }
        return bytes
    }

    /// Inflates raw deflate data that must produce exactly `size` bytes.
    private static func inflate(_ input: Data, size: Int, fail: (String) -> BitViTError) throws -> Data {
        var output = Data(count: size)
        var stream = z_stream()
        guard inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw fail("cannot initialize zlib")
        }
        defer { inflateEnd(&stream) }
        let produced: Int = try input.withUnsafeBytes { (src: UnsafeRawBufferPointer) -> Int in
            try output.withUnsafeMutableBytes { (dst: UnsafeMutableRawBufferPointer) -> Int in
                var consumed = 0, produced = 0
                // One byte of spare output lets an overlong stream show itself.
                var spare: UInt8 = 0
                while true {
                    let inChunk = min(src.count - consumed, Int(UInt32.max))
                    stream.next_in = UnsafeMutablePointer(mutating: src.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) + consumed })
                    stream.avail_in = UInt32(inChunk)
                    let roomLeft = size - produced
                    let status: Int32 = withUnsafeMutablePointer(to: &spare) { sparePointer in
                        if roomLeft > 0 {
                            stream.next_out = dst.baseAddress!.assumingMemoryBound(to: UInt8.self) + produced
                            stream.avail_out = UInt32(min(roomLeft, Int(UInt32.max)))
                        } else {
                            stream.next_out = sparePointer
                            stream.avail_out = 1
                        }
                        let before = stream.avail_out, beforeIn = stream.avail_in
                        let status = CZlib.inflate(&stream, Z_NO_FLUSH)
                        produced += Int(before - stream.avail_out)
                        consumed += Int(beforeIn - stream.avail_in)
                        return status
                    }
                    if produced > size { throw fail("deflate data inflates to more than the declared \(size) bytes") }
                    switch status {
                    case Z_STREAM_END: return produced
                    case Z_OK: continue
                    case Z_BUF_ERROR where stream.avail_in == 0 && consumed == src.count:
                        throw fail("deflate data is truncated")
                    case Z_BUF_ERROR: continue
                    default:
                        let detail = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
                        throw fail("corrupt deflate data: \(detail)")
                    }
                }
            }
        }
        guard produced == size else { throw fail("deflate data inflates to \(produced) bytes, the archive declares \(size)") }
        return output
    }

    static func crc32(_ bytes: Data) -> UInt32 {
        bytes.withUnsafeBytes { raw -> UInt32 in
            guard var p = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return 0 }
            var crc = CZlib.crc32(0, nil, 0)
            var left = raw.count
            while left > 0 {
                let chunk = min(left, 1 << 30)
                crc = CZlib.crc32(crc, p, uInt(chunk))
                p += chunk
                left -= chunk
            }
            return UInt32(truncatingIfNeeded: crc)
        }
    }
}

private func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16, uppercase: true) }

/// Bounds-checked little-endian loads from a byte buffer; out of range is a malformed-file error.
struct LittleEndianReader {
    let bytes: UnsafeRawBufferPointer
    let file: String

    private func check(_ offset: Int, _ width: Int) throws {
        guard offset >= 0, offset <= bytes.count - width else {
            throw BitViTError.malformed(file: file, reason: "a \(width)-byte field at offset \(offset) lies past the end of the \(bytes.count)-byte file (truncated file?)")
        }
    }

    func u16(_ offset: Int) throws -> UInt16 {
        try check(offset, 2)
        return UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    func u32(_ offset: Int) throws -> UInt32 {
        try check(offset, 4)
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    func u64(_ offset: Int) throws -> UInt64 {
        try check(offset, 8)
        return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}
