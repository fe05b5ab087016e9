import BitViTPlatform
import Foundation

/// Writes `.bitvit` files (layout: `ModelFileLayout`, docs/format.md).
public enum ModelFileWriter {
    /// The complete file: header, metadata, tensor table, names, 64-byte-aligned tensor data.
    public static func encode(metadata: ModelFileMetadata, tensors: [ExportTensor]) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = [UInt8](try encoder.encode(metadata))
        var names = [UInt8]()
        var seen = Set<String>()
        for t in tensors {
            guard seen.insert(t.name).inserted else { throw BitViTError.invalidArgument("export: tensor '\(t.name)' appears twice") }
            guard t.bytes.count == t.storage.byteCount(shape: t.shape), t.shape.count <= ModelFileLayout.maxRank else {
                throw BitViTError.invalidArgument("export: tensor '\(t.name)' has \(t.bytes.count) bytes for \(t.storage.name) \(t.shape)")
            }
        }
        let metadataOffset = ModelFileLayout.headerSize
        let tableOffset = ModelFileLayout.aligned(metadataOffset + json.count)
        let namesOffset = tableOffset + tensors.count * ModelFileLayout.entrySize
        var entries: [TensorEntry] = []
        var nameOffsets: [Int] = []
        for t in tensors {
            nameOffsets.append(names.count)
            names += Array(t.name.utf8)
        }
        var dataOffset = ModelFileLayout.aligned(namesOffset + names.count)
        for (i, t) in tensors.enumerated() {
            entries.append(TensorEntry(dataOffset: UInt64(dataOffset), dataLength: UInt64(t.bytes.count),
                                       nameOffset: UInt32(nameOffsets[i]), nameLength: UInt16(t.name.utf8.count),
                                       storage: t.storage.rawValue, shape: t.shape))
            dataOffset = ModelFileLayout.aligned(dataOffset + t.bytes.count)
        }
        let fileSize = dataOffset
        var file = [UInt8](repeating: 0, count: fileSize)
        func put(_ bytes: [UInt8], at offset: Int) {
            file.withUnsafeMutableBufferPointer { p in
                bytes.withUnsafeBufferPointer { b in
                    if b.count > 0 { (p.baseAddress! + offset).update(from: b.baseAddress!, count: b.count) }
                }
            }
        }
        put(json, at: metadataOffset)
        for (i, e) in entries.enumerated() { put(e.encoded(), at: tableOffset + i * ModelFileLayout.entrySize) }
        put(names, at: namesOffset)
        for (i, t) in tensors.enumerated() { put(t.bytes, at: Int(entries[i].dataOffset)) }
        let payloadCRC = file.withUnsafeBytes { CRC32.update(0, $0.baseAddress! + ModelFileLayout.headerSize,
                                                             count: fileSize - ModelFileLayout.headerSize) }
        let header = ModelFileHeader(fileSize: UInt64(fileSize), metadataOffset: UInt64(metadataOffset),
                                     metadataLength: UInt64(json.count), tableOffset: UInt64(tableOffset),
                                     tensorCount: UInt32(tensors.count), namesLength: UInt32(names.count),
                                     payloadCRC: payloadCRC)
        put(header.encoded(), at: 0)
        return file
    }

    /// Encodes and writes atomically (temporary file, then rename).
    public static func write(metadata: ModelFileMetadata, tensors: [ExportTensor], to url: URL) throws {
        try AtomicFile.write(Data(try encode(metadata: metadata, tensors: tensors)), to: url)
    }
}
