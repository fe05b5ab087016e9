import BitViTCore
import CZlib
import Foundation

/// Whole-file gzip decompression with zlib, bounded: the output never grows past a limit the
/// caller sets, so a small file that inflates to gigabytes (a decompression bomb) is rejected
/// after at most `limit` bytes of work and memory.
enum Gzip {
    /// True when `bytes` start with the gzip magic `1F 8B`.
    static func isCompressed(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    }

    /// Inflates every gzip member of `bytes` into at most `limit` bytes. With `prefixOnly`
    /// the first `limit` bytes are returned as soon as they exist (to read a header before
    /// deciding how much more to inflate); otherwise data that inflates to more than `limit`
    /// bytes throws. A truncated or corrupt stream throws naming `file`.
    static func decompress(_ bytes: [UInt8], file: String, limit: Int, prefixOnly: Bool = false) throws -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw BitViTError.io("\(file): cannot initialize zlib")
        }
        defer { inflateEnd(&stream) }
        // One byte beyond the limit tells "exactly the limit" from "more".
        let capacity = prefixOnly ? limit : limit + 1
        // The trailer's ISIZE (size mod 2³²) of the last member is a good first guess, unless
        // the file is damaged: trust it only up to a plausible compression ratio.
        let sizeHint = bytes.count >= 4
            ? Int(bytes[bytes.count - 4]) | Int(bytes[bytes.count - 3]) << 8
                | Int(bytes[bytes.count - 2]) << 16 | Int(bytes[bytes.count - 1]) << 24
            : 0
        let plausible = sizeHint <= 16 * bytes.count ? sizeHint : 4 * bytes.count
        var output = [UInt8](repeating: 0, count: min(capacity, max(1 << 16, plausible + 1)))
        var produced = 0
        try bytes.withUnsafeBufferPointer { input in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.avail_in = UInt32(input.count)
            while produced < capacity {
                if produced == output.count { output.append(contentsOf: repeatElement(0, count: min(output.count, capacity - output.count))) }
                let status: Int32 = output.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress! + produced
                    stream.avail_out = UInt32(min(out.count - produced, Int(UInt32.max)))
                    let before = stream.avail_out
                    let status = inflate(&stream, Z_NO_FLUSH)
                    produced += Int(before - stream.avail_out)
                    return status
                }
                switch status {
                case Z_STREAM_END:
                    // Concatenated members are legal gzip; anything else after the end is not.
                    if stream.avail_in == 0 { return }
                    guard stream.next_in[0] == 0x1F else {
                        throw BitViTError.malformed(file: file, reason: "trailing garbage after the gzip data")
                    }
                    inflateReset(&stream)
                case Z_OK:
                    continue
                case Z_BUF_ERROR where stream.avail_in == 0 && stream.avail_out > 0:
                    throw BitViTError.malformed(file: file, reason: "truncated gzip data")
                case Z_BUF_ERROR:
                    continue
                default:
                    let detail = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
                    throw BitViTError.malformed(file: file, reason: "corrupt gzip data: \(detail)")
                }
            }
        }
        if produced > limit {
            throw BitViTError.malformed(file: file, reason: "the gzip data inflates to more than \(limit) bytes")
        }
        output.removeSubrange(produced...)
        return output
    }
}
