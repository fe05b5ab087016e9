import BitViTPlatform
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One tensor of a loaded `.bitvit` file: a view into the memory-mapped bytes.
public struct StoredTensor: @unchecked Sendable {
    public let name: String
    public let storage: StorageKind
    public let shape: [Int]
    /// First stored byte (64-byte aligned in the mapping).
    public let bytes: UnsafeRawPointer
    public let byteCount: Int

    public var count: Int { shape.reduce(1, *) }

    /// Values of a float32/float16 tensor as float32, row-major.
    public func floats() -> [Float] {
        switch storage {
        case .float32:
            return Array(UnsafeBufferPointer(start: bytes.assumingMemoryBound(to: Float.self), count: count))
        case .float16:
            return (0..<count).map { Float(Float16(bitPattern: UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)))) }
        default:
            preconditionFailure("StoredTensor \(name): \(storage.name) is not a float storage")
        }
    }

    /// The signed codes of an int8/int4/int3/int2 tensor, row-major.
    public func codes() -> [Int8] {
        precondition(storage.isIntegerCode, "StoredTensor \(name): \(storage.name) holds no integer codes")
        let p = bytes.assumingMemoryBound(to: UInt8.self)
        if storage == .int8 { return (0..<count).map { Int8(bitPattern: p[$0]) } }
        // Element i holds bits i·b … i·b + b − 1 (LSB first), within the two bytes from bit i·b
        // rounded down to a byte (b ≤ 7).
        let b = storage.bits, byteCount = (count * b + 7) / 8
        // Two's complement: the code's top bit moved to bit 7, then an arithmetic shift back.
        let up = UInt8(8 - b)
        func signed(_ byte: UInt8, _ left: UInt8) -> Int8 { Int8(bitPattern: byte &<< left) &>> up }
        return [Int8](unsafeUninitializedCapacity: count) { out, initialized in
            // Whole bytes of 4- and 2-bit codes with constant shifts (a loop the compiler vectorizes).
            var i = 0
            if b == 4 {
                for byte in 0..<(count / 2) {
                    out[2 * byte] = signed(p[byte], 4)
                    out[2 * byte + 1] = signed(p[byte], 0)
                }
                i = count / 2 * 2
            } else if b == 2 {
                for byte in 0..<(count / 4) {
                    out[4 * byte] = signed(p[byte], 6)
                    out[4 * byte + 1] = signed(p[byte], 4)
                    out[4 * byte + 2] = signed(p[byte], 2)
                    out[4 * byte + 3] = signed(p[byte], 0)
                }
                i = count / 4 * 4
            }
            while i < count {
                let bit = i * b, byte = bit >> 3
                let window = UInt16(p[byte]) | (byte + 1 < byteCount ? UInt16(p[byte + 1]) &<< 8 : 0)
                out[i] = signed(UInt8(truncatingIfNeeded: window &>> UInt16(bit & 7)), up)
                i += 1
            }
            initialized = count
        }
    }

    /// Rows, columns and 64-bit words per row of a `bits1` tensor viewed as a matrix.
    public var bitRows: (rows: Int, k: Int, wordsPerRow: Int) {
        let rows = shape.count <= 1 ? 1 : shape[0]
        let k = count / max(rows, 1)
        return (rows, k, (k + 63) / 64)
    }

    /// Copies a `bits1` tensor into row-packed words: row r's element j at bit j % 64 of
    /// `words[r·wordsPerRow + j/64]`, bits past K zero (the `PackedBinaryMatrix` layout).
    public func unpackRows(into words: UnsafeMutablePointer<UInt64>) {
        precondition(storage == .bits1, "StoredTensor \(name): not 1-bit")
        let (rows, k, wpr) = bitRows
        let p = bytes.assumingMemoryBound(to: UInt8.self)
        words.update(repeating: 0, count: rows * wpr)
        for r in 0..<rows {
            let start = r * k
            for w in 0..<wpr {
                let n = min(64, k - 64 * w), first = start + 64 * w
                var value: UInt64 = 0
                if first % 8 == 0 {
                    for b in 0..<((n + 7) / 8) { value |= UInt64(p[first / 8 + b]) << UInt64(8 * b) }
                    if n < 64 { value &= (1 << UInt64(n)) - 1 }
                } else {
                    for j in 0..<n where (p[(first + j) / 8] >> UInt8((first + j) % 8)) & 1 == 1 { value |= 1 << UInt64(j) }
                }
                words[r * wpr + w] = value
            }
        }
    }
}

/// A memory-mapped `.bitvit` file whose every field has been validated (docs/format.md):
/// magic, version, header checksum, declared file size (truncation), section offsets and
/// lengths, payload checksum, metadata, every table entry (storage kind, rank, sizes,
/// alignment, bounds, overlaps, names) and the tensors against the family's manifest for
/// the stored architecture. A malformed file raises `BitViTError.malformed` naming the
/// problem; no field is trusted before it is checked.
public final class ModelFile: @unchecked Sendable {
    public let path: String
    public let metadata: ModelFileMetadata
    /// Tensors in file order.
    public let tensors: [StoredTensor]
    private let byName: [String: Int]
    public let fileSize: Int
    private let mapping: UnsafeMutableRawPointer?

    /// Maps the file read-only and validates it.
    public convenience init(contentsOf url: URL) throws {
        try FileKind.reject(url, unless: "a .bitvit model file", rejecting: [])
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw BitViTError.io("cannot open \(url.path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw BitViTError.io("cannot stat \(url.path)") }
        let size = Int(st.st_size)
        guard size > 0 else { throw BitViTError.malformed(file: url.path, reason: "empty file (a .bitvit file starts with a 64-byte header)") }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else { throw BitViTError.io("cannot map \(url.path): \(String(cString: strerror(errno)))") }
        do {
            try self.init(path: url.path, base: UnsafeRawPointer(p), size: size, mapping: p)
        } catch {
            munmap(p, size)
            throw error
        }
    }

    /// Validates an in-memory copy of a file (`path` names it in messages). With
    /// `validatingManifest` false only the container is checked (layout, checksums, entries),
    /// not the tensors against the family's manifest: format-level tools and tests.
    public convenience init(bytes: [UInt8], path: String = "<memory>", validatingManifest: Bool = true) throws {
        try self.init(heapCopy: bytes.withUnsafeBytes(Self.alignedCopy), size: bytes.count, path: path,
                      validatingManifest: validatingManifest)
    }

    /// Validates a copy of the file in `bytes` (which the caller may release afterwards); see
    /// `init(bytes:path:validatingManifest:)`.
    public convenience init(copying bytes: UnsafeRawBufferPointer, path: String = "<memory>",
                            validatingManifest: Bool = true) throws {
        try self.init(heapCopy: Self.alignedCopy(bytes), size: bytes.count, path: path, validatingManifest: validatingManifest)
    }

    /// A 64-byte-aligned copy, so that the tensor views are aligned as in a mapping.
    private static func alignedCopy(_ bytes: UnsafeRawBufferPointer) -> UnsafeMutableRawPointer {
        let aligned = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        if !bytes.isEmpty { aligned.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
        return aligned
    }

    /// Takes ownership of `aligned` (from `alignedCopy`), freeing it when validation fails.
    private convenience init(heapCopy aligned: UnsafeMutableRawPointer, size: Int, path: String,
                             validatingManifest: Bool) throws {
        do {
            try self.init(path: path, base: UnsafeRawPointer(aligned), size: size, mapping: nil,
                          validatingManifest: validatingManifest)
            self.heapCopy = aligned
        } catch {
            aligned.deallocate()
            throw error
        }
    }

    private var heapCopy: UnsafeMutableRawPointer?

    deinit {
        if let mapping { munmap(mapping, fileSize) }
        heapCopy?.deallocate()
    }

    private init(path: String, base: UnsafeRawPointer, size: Int, mapping: UnsafeMutableRawPointer?,
                 validatingManifest: Bool = true) throws {
        self.path = path
        self.mapping = mapping
        fileSize = size
        func bad(_ reason: String) -> BitViTError { .malformed(file: path, reason: reason) }
        let L = ModelFileLayout.self
        let kind = FileKind.sniff(head: [UInt8](UnsafeRawBufferPointer(start: base, count: min(size, 4096))), fileSize: size)
        if ![.bitvitModel, .unknown, .empty].contains(kind) {
            let hint = kind == .safetensors ? "; a checkpoint becomes a .bitvit file with `bitvit export`" : ""
            throw bad("this is \(kind.phrase), not a .bitvit model file\(hint)")
        }
        guard size >= L.headerSize else { throw bad("truncated: \(size) bytes, shorter than the \(L.headerSize)-byte header") }
        let r = ByteReader(base: base)
        guard (0..<8).allSatisfy({ r.u8($0) == L.magic[$0] }) else { throw bad("not a .bitvit file (bad magic bytes)") }
        let header = ModelFileHeader(reading: r)
        guard header.version == L.version else {
            throw bad("format version \(header.version) is not supported (this build reads version \(L.version))")
        }
        guard CRC32.update(0, base, count: 60) == header.headerCRC else { throw bad("header checksum mismatch (corrupted header)") }
        guard header.headerSize == UInt32(L.headerSize) else { throw bad("header size \(header.headerSize), expected \(L.headerSize)") }
        guard header.fileSize == UInt64(size) else {
            throw header.fileSize > UInt64(size)
                ? bad("truncated: the header declares \(header.fileSize) bytes, the file has \(size)")
                : bad("the header declares \(header.fileSize) bytes, the file has \(size) (trailing bytes)")
        }
        // Sections: metadata at 64, then the table, then names; all inside the file.
        guard header.metadataOffset == UInt64(L.headerSize) else { throw bad("metadata offset \(header.metadataOffset), expected \(L.headerSize)") }
        guard header.metadataLength > 0, header.metadataLength <= UInt64(L.maxMetadataBytes) else {
            throw bad("metadata length \(header.metadataLength) outside 1…\(L.maxMetadataBytes)")
        }
        let metadataEnd = L.headerSize + Int(header.metadataLength)
        guard header.tableOffset % UInt64(L.alignment) == 0, header.tableOffset >= UInt64(metadataEnd),
              header.tableOffset <= UInt64(size) else {
            throw bad("tensor table offset \(header.tableOffset) is misaligned or outside the file")
        }
        guard header.tensorCount <= UInt32(L.maxTensors) else { throw bad("absurd tensor count \(header.tensorCount)") }
        let tableOffset = Int(header.tableOffset), count = Int(header.tensorCount)
        let namesOffset = tableOffset + count * L.entrySize, namesEnd = namesOffset + Int(header.namesLength)
        guard namesEnd <= size else { throw bad("tensor table and names (\(namesEnd) bytes) extend past the end of the file (\(size))") }
        guard CRC32.update(0, base + L.headerSize, count: size - L.headerSize) == header.payloadCRC else {
            throw bad("checksum mismatch: the file is corrupted")
        }

        let metadataBytes = Data(bytes: base + L.headerSize, count: Int(header.metadataLength))
        let meta: ModelFileMetadata
        do { meta = try JSONDecoder().decode(ModelFileMetadata.self, from: metadataBytes) } catch {
            throw bad("metadata is not valid model metadata: \(ReadableError.decoding(error))")
        }
        guard meta.format == ModelFileMetadata.formatName else { throw bad("metadata format '\(meta.format)', expected '\(ModelFileMetadata.formatName)'") }

        var tensors: [StoredTensor] = []
        var byName: [String: Int] = [:]
        var extents: [(Int, Int, String)] = []
        for i in 0..<count {
            let o = tableOffset + i * L.entrySize
            let rank = Int(r.u8(o + 23))
            guard rank <= L.maxRank else { throw bad("tensor #\(i): rank \(rank) above \(L.maxRank)") }
            let e = TensorEntry(reading: r, at: o)
            let nameStart = namesOffset + Int(e.nameOffset), nameEnd = nameStart + Int(e.nameLength)
            guard e.nameLength > 0, Int(e.nameLength) <= L.maxNameBytes, nameEnd <= namesEnd else {
                throw bad("tensor #\(i): name (offset \(e.nameOffset), length \(e.nameLength)) outside the names section")
            }
            guard let name = String(validating: UnsafeRawBufferPointer(start: base + nameStart, count: Int(e.nameLength)),
                                    as: UTF8.self) else {
                throw bad("tensor #\(i): name is not UTF-8")
            }
            guard byName[name] == nil else { throw bad("tensor '\(name)' appears twice") }
            guard let storage = StorageKind(rawValue: e.storage) else { throw bad("tensor '\(name)': unknown storage kind \(e.storage)") }
            var elements = 1
            for d in e.shape {
                guard d > 0, d <= L.maxElements else { throw bad("tensor '\(name)': absurd dimension \(d) in \(e.shape)") }
                let (product, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow, product <= L.maxElements else { throw bad("tensor '\(name)': absurd shape \(e.shape)") }
                elements = product
            }
            guard storage != .bits1 || rank >= 1 else { throw bad("tensor '\(name)': 1-bit storage needs rank ≥ 1") }
            guard let expected = storage.byteCount(shape: e.shape), UInt64(expected) == e.dataLength else {
                throw bad("tensor '\(name)': \(e.dataLength) bytes stored, \(storage.name) \(e.shape) needs \(storage.byteCount(shape: e.shape) ?? -1)")
            }
            guard e.dataOffset % UInt64(L.alignment) == 0 else { throw bad("tensor '\(name)': data offset \(e.dataOffset) is not 64-byte aligned") }
            guard e.dataOffset >= UInt64(namesEnd), e.dataOffset <= UInt64(size), e.dataLength <= UInt64(size) - e.dataOffset else {
                throw bad("tensor '\(name)': data (offset \(e.dataOffset), \(e.dataLength) bytes) outside the data section")
            }
            extents.append((Int(e.dataOffset), Int(e.dataLength), name))
            byName[name] = tensors.count
            tensors.append(StoredTensor(name: name, storage: storage, shape: e.shape, bytes: base + Int(e.dataOffset),
                                        byteCount: Int(e.dataLength)))
        }
        extents.sort { $0.0 < $1.0 }
        for (a, b) in zip(extents, extents.dropFirst()) where a.0 + a.1 > b.0 {
            throw bad("tensors '\(a.2)' and '\(b.2)' overlap")
        }
        metadata = meta
        self.tensors = tensors
        self.byName = byName
        if validatingManifest { try ModelManifest.check(self) }
    }

    /// The tensor called `name`.
    public func tensor(_ name: String) throws -> StoredTensor {
        guard let i = byName[name] else { throw BitViTError.malformed(file: path, reason: "missing tensor '\(name)'") }
        return tensors[i]
    }

    /// Float values of `name` (float32 or float16 storage).
    public func floats(_ name: String) throws -> [Float] { try tensor(name).floats() }

    /// A float scalar.
    public func scalar(_ name: String) throws -> Float { try floats(name)[0] }

    public func contains(_ name: String) -> Bool { byName[name] != nil }
}
