import BitViTRuntime

/// Inputs with their checksums made consistent again, so that mutations reach the checks
/// behind a checksum instead of stopping at it (the unrepaired input is tried too, which
/// covers the checksum checks themselves). Each returns nil when there is nothing to repair
/// or the result equals the input.
public enum ChecksumRepair {
    /// A `.bitvit` file (docs/format.md) with its declared file size, payload CRC-32 and header
    /// CRC-32 recomputed.
    public static func modelFile(_ bytes: [UInt8]) -> [UInt8]? {
        guard bytes.count >= ModelFileLayout.headerSize else { return nil }
        var b = bytes
        store(UInt64(b.count), 8, at: 16, in: &b)
        let payload = b.withUnsafeBytes { CRC32.update(0, $0.baseAddress! + 64, count: $0.count - 64) }
        store(UInt64(payload), 4, at: 56, in: &b)
        let header = b.withUnsafeBytes { CRC32.update(0, $0.baseAddress!, count: 60) }
        store(UInt64(header), 4, at: 60, in: &b)
        return b == bytes ? nil : b
    }

    /// A PNG file with the CRC-32 of every chunk that lies wholly inside it recomputed.
    public static func png(_ bytes: [UInt8]) -> [UInt8]? {
        var b = bytes, p = 8
        while p + 12 <= b.count {
            let length = (0..<4).reduce(0) { $0 << 8 | Int(b[p + $1]) }
            guard length <= b.count - p - 12 else { break }
            let crc = b.withUnsafeBytes { CRC32.update(0, $0.baseAddress! + p + 4, count: 4 + length) }
            for i in 0..<4 { b[p + 8 + length + i] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * UInt32(i))) }
            p += 12 + length
        }
        return b == bytes ? nil : b
    }

    /// A zip archive with the CRC-32 of every central-directory record set to 0, which the
    /// checkpoint reader takes for "not recorded" (as PyTorch writes with CRC-32 disabled).
    public static func zip(_ bytes: [UInt8]) -> [UInt8]? {
        var b = bytes, p = 0
        while p + 20 <= b.count {
            if b[p] == 0x50, b[p + 1] == 0x4B, b[p + 2] == 0x01, b[p + 3] == 0x02 {
                for i in 16..<20 { b[p + i] = 0 }
                p += 20
            } else {
                p += 1
            }
        }
        return b == bytes ? nil : b
    }

    /// Stores the low `width` bytes of `value` little-endian at `offset`.
    private static func store(_ value: UInt64, _ width: Int, at offset: Int, in b: inout [UInt8]) {
        for i in 0..<width { b[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
    }
}
