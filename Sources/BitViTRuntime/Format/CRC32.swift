/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum of zlib's `crc32` and of
/// `.bitvit` files: `CRC32.checksum("123456789")` is 0xCBF43926. Slicing-by-8 tables.
public enum CRC32 {
    private static let tables: [[UInt32]] = {
        var t = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 8)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            t[0][i] = c
        }
        for i in 0..<256 {
            for s in 1..<8 { t[s][i] = (t[s - 1][i] >> 8) ^ t[0][Int(t[s - 1][i] & 0xFF)] }
        }
        return t
    }()

    /// The CRC of `count` bytes at `bytes`, continuing from `crc` (0 to start).
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawPointer, count: Int) -> UInt32 {
        var c = ~crc
        var p = bytes, n = count
        tables.withUnsafeBufferPointer { t in
            let t0 = t[0], t1 = t[1], t2 = t[2], t3 = t[3], t4 = t[4], t5 = t[5], t6 = t[6], t7 = t[7]
            while n >= 8 {
                let lo = p.loadUnaligned(as: UInt32.self) ^ c, hi = p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
                c = t7[Int(lo & 0xFF)] ^ t6[Int((lo >> 8) & 0xFF)] ^ t5[Int((lo >> 16) & 0xFF)] ^ t4[Int(lo >> 24)]
                    ^ t3[Int(hi & 0xFF)] ^ t2[Int((hi >> 8) & 0xFF)] ^ t1[Int((hi >> 16) & 0xFF)] ^ t0[Int(hi >> 24)]
                p += 8
                n -= 8
            }
            while n > 0 {
                c = t0[Int((c ^ UInt32(p.load(as: UInt8.self))) & 0xFF)] ^ (c >> 8)
                p += 1
                n -= 1
            }
        }
        return ~c
    }

    /// The CRC of a byte sequence.
    public static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        let array = Array(bytes)
        guard !array.isEmpty else { return 0 }
        return array.withUnsafeBytes { update(0, $0.baseAddress!, count: $0.count) }
    }

    /// The CRC of a string's UTF-8 bytes.
    public static func checksum(_ text: String) -> UInt32 { checksum(Array(text.utf8)) }
}
