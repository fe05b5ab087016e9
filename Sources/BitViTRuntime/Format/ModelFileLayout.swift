/// Byte layout of `.bitvit` files, version 1 (docs/format.md has the tables). All integers are
/// little-endian. Sections, each starting at a multiple of 64 bytes:
///
/// 1. header (64 bytes);
/// 2. metadata: UTF-8 JSON (`ModelFileMetadata`);
/// 3. tensor table: one 64-byte `TensorEntry` per tensor;
/// 4. names: the tensors' UTF-8 names, concatenated;
/// 5. tensor data, each tensor at a multiple of 64 bytes (so a memory-mapped file hands the
///    kernels aligned pointers), zero padding between.
public enum ModelFileLayout {
    /// `\x89BITVIT\n`: a non-ASCII first byte and a line feed catch text-mode transfers.
    public static let magic: [UInt8] = [0x89, 0x42, 0x49, 0x54, 0x56, 0x49, 0x54, 0x0A]
    /// The only version this build reads and writes.
    public static let version: UInt32 = 1
    public static let headerSize = 64
    public static let entrySize = 64
    public static let alignment = 64
    public static let maxRank = 8
    /// Sanity limits: a file claiming more is rejected as malformed before anything is read.
    public static let maxMetadataBytes = 1 << 24
    public static let maxTensors = 1 << 16
    public static let maxNameBytes = 1024
    public static let maxElements = 1 << 36

    /// `n` rounded up to a multiple of `alignment`.
    static func aligned(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }
}

/// The 64-byte header at offset 0.
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 8 | magic |
/// | 8 | 4 | version (1) |
/// | 12 | 4 | header size (64) |
/// | 16 | 8 | file size in bytes |
/// | 24 | 8 | metadata offset (64) |
/// | 32 | 8 | metadata length |
/// | 40 | 8 | tensor table offset |
/// | 48 | 4 | tensor count |
/// | 52 | 4 | names section length |
/// | 56 | 4 | CRC-32 of bytes 64 … file size − 1 |
/// | 60 | 4 | CRC-32 of header bytes 0 … 59 |
struct ModelFileHeader: Equatable {
    var version: UInt32 = ModelFileLayout.version
    var headerSize: UInt32 = UInt32(ModelFileLayout.headerSize)
    var fileSize: UInt64
    var metadataOffset: UInt64
    var metadataLength: UInt64
    var tableOffset: UInt64
    var tensorCount: UInt32
    var namesLength: UInt32
    var payloadCRC: UInt32
    var headerCRC: UInt32 = 0

    /// The 64 header bytes, with `headerCRC` computed over the first 60.
    func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.bytes(ModelFileLayout.magic)
        w.u32(version); w.u32(headerSize)
        w.u64(fileSize); w.u64(metadataOffset); w.u64(metadataLength); w.u64(tableOffset)
        w.u32(tensorCount); w.u32(namesLength); w.u32(payloadCRC)
        w.u32(CRC32.checksum(w.data))
        return w.data
    }

    /// Reads the fields of a 64-byte header (no checks beyond the reading itself).
    init(reading r: ByteReader) {
        version = r.u32(8); headerSize = r.u32(12)
        fileSize = r.u64(16); metadataOffset = r.u64(24); metadataLength = r.u64(32); tableOffset = r.u64(40)
        tensorCount = r.u32(48); namesLength = r.u32(52); payloadCRC = r.u32(56); headerCRC = r.u32(60)
    }

    init(fileSize: UInt64, metadataOffset: UInt64, metadataLength: UInt64, tableOffset: UInt64,
         tensorCount: UInt32, namesLength: UInt32, payloadCRC: UInt32) {
        self.fileSize = fileSize
        self.metadataOffset = metadataOffset
        self.metadataLength = metadataLength
        self.tableOffset = tableOffset
        self.tensorCount = tensorCount
        self.namesLength = namesLength
        self.payloadCRC = payloadCRC
    }
}

/// One 64-byte entry of the tensor table.
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 8 | data offset (absolute, multiple of 64) |
/// | 8 | 8 | data length in bytes (= the storage kind's size for the shape) |
/// | 16 | 4 | name offset inside the names section |
/// | 20 | 2 | name length in bytes |
/// | 22 | 1 | storage kind (`StorageKind`) |
/// | 23 | 1 | rank (0 … 8) |
/// | 24 | 32 | dimensions, 8 × u32 (unused ones 0) |
/// | 56 | 8 | reserved (0) |
struct TensorEntry: Equatable {
    var dataOffset: UInt64
    var dataLength: UInt64
    var nameOffset: UInt32
    var nameLength: UInt16
    var storage: UInt8
    var shape: [Int]

    func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.u64(dataOffset); w.u64(dataLength); w.u32(nameOffset); w.u16(nameLength)
        w.bytes([storage, UInt8(shape.count)])
        for i in 0..<ModelFileLayout.maxRank { w.u32(i < shape.count ? UInt32(shape[i]) : 0) }
        w.u64(0)
        return w.data
    }

    /// Reads an entry; the rank byte is returned separately so that the caller can reject a
    /// rank above the limit before the dimensions are interpreted.
    init(reading r: ByteReader, at o: Int) {
        dataOffset = r.u64(o); dataLength = r.u64(o + 8); nameOffset = r.u32(o + 16); nameLength = r.u16(o + 20)
        storage = r.u8(o + 22)
        let rank = min(Int(r.u8(o + 23)), ModelFileLayout.maxRank)
        shape = (0..<rank).map { Int(r.u32(o + 24 + 4 * $0)) }
    }

    init(dataOffset: UInt64, dataLength: UInt64, nameOffset: UInt32, nameLength: UInt16, storage: UInt8, shape: [Int]) {
        self.dataOffset = dataOffset
        self.dataLength = dataLength
        self.nameOffset = nameOffset
        self.nameLength = nameLength
        self.storage = storage
        self.shape = shape
    }
}

/// Little-endian encoder.
struct ByteWriter {
    var data: [UInt8] = []
    mutating func bytes(_ b: [UInt8]) { data += b }
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { data += $0 } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { data += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { data += $0 } }
}

/// Little-endian decoder over a byte region the caller has bounds-checked.
struct ByteReader {
    let base: UnsafeRawPointer
    func u8(_ o: Int) -> UInt8 { base.load(fromByteOffset: o, as: UInt8.self) }
    func u16(_ o: Int) -> UInt16 { UInt16(littleEndian: base.loadUnaligned(fromByteOffset: o, as: UInt16.self)) }
    func u32(_ o: Int) -> UInt32 { UInt32(littleEndian: base.loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
    func u64(_ o: Int) -> UInt64 { UInt64(littleEndian: base.loadUnaligned(fromByteOffset: o, as: UInt64.self)) }
}
