import Foundation

/// A PyTorch checkpoint read without Python and without running any of its code: `torch.save`
/// files (the zip format of PyTorch ≥ 1.6 and the older single-stream format) and safetensors
/// files, told apart by their content, not their extension.
///
/// The pickle inside a `torch.save` file is executed by a restricted interpreter
/// (`PickleMachine`) that only builds data: dicts, lists, tuples, strings, numbers, tensors
/// (through PyTorch's rebuild functions, with offsets, strides and shared storages) and inert
/// records of any other class it names (`argparse.Namespace` …). A pickle that names a function
/// able to run commands or code (`os.system`, `builtins.eval`, …) is refused with an error.
/// Every size is bounded by `CheckpointLimits`.
///
/// ```swift
/// let checkpoint = try PyTorchCheckpoint.load(url)
/// let weights = try checkpoint.stateDict()          // or .ema, or .key("state_dict")
/// print(weights.report)                              // what was taken, what was left
/// let tensors = weights.float32()                    // [String: Tensor]
/// ```
public struct PyTorchCheckpoint {
    public enum Format: String, Sendable {
        /// `torch.save` of PyTorch ≥ 1.6: a zip archive with `data.pkl` and `data/<key>` storages.
        case torchZip = "torch.save zip archive"
        /// `torch.save` before PyTorch 1.6 (or `_use_new_zipfile_serialization=False`): pickles
        /// followed by the raw storages in one stream.
        case torchLegacy = "legacy torch.save stream"
        /// A safetensors file (Hugging Face / timm layout).
        case safetensors = "safetensors file"
    }

    public let format: Format
    /// The path (or label) that error messages name.
    public let name: String
    /// What the file holds: usually a dict (a state dict, or a training checkpoint wrapping one);
    /// for safetensors a dict of tensors in file order.
    public let root: PickleValue
    /// Facts about the container: `byteorder` and `version` of a zip archive, the `sys_info`
    /// of a legacy file, the `__metadata__` of a safetensors file.
    public let metadata: [String: String]

    public init(format: Format, name: String, root: PickleValue, metadata: [String: String] = [:]) {
        self.format = format
        self.name = name
        self.root = root
        self.metadata = metadata
    }

    /// Reads a checkpoint file (memory-mapped: storages of an uncompressed file are not copied).
    public static func load(_ url: URL, limits: CheckpointLimits = CheckpointLimits()) throws -> PyTorchCheckpoint {
        try FileKind.reject(url, unless: "a PyTorch or safetensors checkpoint", rejecting: [])
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw BitViTError.io("cannot read \(ReadableError.describe(error))")
        }
        return try decode(bytes: data, name: url.path, limits: limits)
    }

    /// Decodes a checkpoint held in memory. Any input either decodes or throws a
    /// `BitViTError` naming `name` and the problem; none traps (the libFuzzer entry point).
    public static func decode(bytes: Data, name: String = "checkpoint",
                              limits: CheckpointLimits = CheckpointLimits()) throws -> PyTorchCheckpoint {
        switch detectFormat(bytes) {
        case .torchZip?: return try decodeZip(bytes, name: name, limits: limits)
        case .torchLegacy?: return try decodeLegacy(bytes, name: name, limits: limits)
        case .safetensors?: return try decodeSafetensors(bytes, name: name, limits: limits)
        case nil:
            if bytes.count >= 262, bytes.dropFirst(257).prefix(5).elementsEqual(Array("ustar".utf8)) {
                throw BitViTError.malformed(file: name, reason: "a tar-format torch.save file (PyTorch before 0.4) is not supported; re-save it with a current PyTorch: torch.save(torch.load(path), new_path)")
            }
            let head = bytes.prefix(8).map { String(format: "%02X", $0) }.joined(separator: " ")
            throw BitViTError.malformed(file: name, reason: "not a checkpoint BitViT reads: expected a torch.save zip archive, a legacy torch.save stream or a safetensors file; the file starts with \(head.isEmpty ? "nothing" : head)")
        }
    }

    /// The format `bytes` start like, or nil.
    public static func detectFormat(_ bytes: Data) -> Format? {
        let head = Array(bytes.prefix(9))
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) || head.starts(with: [0x50, 0x4B, 0x05, 0x06]) { return .torchZip }
        if head.count >= 2, head[0] == 0x80, (2...5).contains(head[1]) { return .torchLegacy }
        if head.count == 9, head[8] == UInt8(ascii: "{") {
            let length = head.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
            if length >= 2, length <= UInt64(bytes.count - 8) { return .safetensors }
        }
        return nil
    }

    /// Decodes one standalone pickle (protocols 0–5) with the same restricted interpreter. A
    /// pickle that names a storage is refused: storages exist only inside checkpoint files.
    /// Bytes after the STOP opcode are ignored, as Python ignores them.
    public static func decodePickle(_ bytes: Data, name: String = "pickle",
                                    limits: CheckpointLimits = CheckpointLimits()) throws -> PickleValue {
        var machine = PickleMachine(file: name, stream: "pickle", limits: limits, resolve: { reference in
            throw BitViTError.malformed(file: name, reason: "storage '\(reference.key)' named outside a checkpoint file")
        })
        let root = try bytes.withUnsafeBytes { try machine.run($0, from: 0).root }
        return try machine.value(of: root)
    }

    /// The read path a fuzzer drives: decode, take the state dict, convert every tensor to
    /// float32. Returns the number of tensors; throws `BitViTError` for bad input.
    @discardableResult
    public static func readAll(bytes: Data, limits: CheckpointLimits = .fuzzing) throws -> Int {
        let checkpoint = try decode(bytes: bytes, name: "input", limits: limits)
        _ = checkpoint.entries.map(\.summary)
        let weights = try checkpoint.stateDict()
        _ = weights.report
        for entry in weights.entries {
            _ = entry.tensor.float32()
            _ = entry.tensor.integers()
        }
        return weights.entries.count
    }

    // MARK: torch.save zip archives

    private static func decodeZip(_ data: Data, name: String, limits: CheckpointLimits) throws -> PyTorchCheckpoint {
        func bad(_ reason: String) -> BitViTError { .malformed(file: name, reason: reason) }
        let archive = try ZipArchive(data: data, file: name, limits: limits)
        let pickles = archive.entries.filter {
            $0.name == "data.pkl" || ($0.name.hasSuffix("/data.pkl") && $0.name.dropLast(9).firstIndex(of: "/") == nil)
        }
        let prefix: String
        switch pickles.count {
        case 1: prefix = String(pickles[0].name.dropLast(8))
        case 0:
            if archive.entries.contains(where: { $0.name.hasSuffix("constants.pkl") || $0.name.contains("/code/") }) {
                throw bad("a TorchScript archive (torch.jit.save), not a torch.save checkpoint; save the model's state_dict() with torch.save instead")
            }
            throw bad("zip archive without data.pkl: not a torch.save checkpoint")
        default: throw bad("zip archive holds \(pickles.count) data.pkl records: \(pickles.map(\.name).prefix(4).joined(separator: ", "))")
        }
        if archive.entry(named: prefix + "constants.pkl") != nil {
            throw bad("a TorchScript archive (torch.jit.save), not a torch.save checkpoint; save the model's state_dict() with torch.save instead")
        }
        var metadata: [String: String] = [:]
        func record(_ recordName: String) throws -> String? {
            guard let entry = archive.entry(named: prefix + recordName) else { return nil }
            let bytes = try archive.contents(of: entry, limit: 64, what: "record")
            return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        var bigEndian = false
        if let order = try record("byteorder") {
            guard order == "little" || order == "big" else { throw bad("byteorder record is '\(order.prefix(20))', expected 'little' or 'big'") }
            bigEndian = order == "big"
            metadata["byteorder"] = order
        }
        for key in ["version", ".data/version", ".format_version", ".storage_alignment"] {
            if let value = try record(key) { metadata[key] = value }
        }
        var storages: [String: TorchStorage] = [:]
        let resolve: StorageResolver = { reference in
            if let storage = storages[reference.key] { return storage }
            guard reference.view == nil else { throw bad("storage '\(reference.key)' is a view, which only legacy files use") }
            let entryName = prefix + "data/" + reference.key
            guard let entry = archive.entry(named: entryName) else {
                throw bad("storage '\(reference.key)' is missing: no record '\(entryName)' in the archive (truncated or damaged file?)")
            }
            let (expected, overflow) = reference.count.multipliedReportingOverflow(by: reference.dtype.byteWidth)
            guard !overflow, entry.size == expected else {
                throw bad("record '\(entryName)' holds \(entry.size) bytes; its \(reference.type) of \(reference.count) elements needs \(overflow ? "more" : String(expected))")
            }
            let storage = TorchStorage(key: reference.key, dtype: reference.dtype, location: reference.location)
            storage.bind(try archive.contents(of: entry, limit: Int.max, what: "storage"), bigEndian: bigEndian)
            storages[reference.key] = storage
            return storage
        }
        let pickleBytes = try archive.contents(of: pickles[0], limit: limits.maxPickleBytes, what: "data.pkl")
        var machine = PickleMachine(file: name, stream: pickles[0].name, limits: limits, resolve: resolve)
        let root = try pickleBytes.withUnsafeBytes { try machine.run($0, from: 0).root }
        return PyTorchCheckpoint(format: .torchZip, name: name, root: try machine.value(of: root), metadata: metadata)
    }

    // MARK: Legacy torch.save streams

    /// The number `torch.save` pickles first in a legacy file (0x1950a86a20f9469cfc6c),
    /// little-endian, and the protocol version it pickles next.
    private static let legacyMagic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]
    private static let legacyProtocolVersion = 1001

    private static func decodeLegacy(_ data: Data, name: String, limits: CheckpointLimits) throws -> PyTorchCheckpoint {
        func bad(_ reason: String) -> BitViTError { .malformed(file: name, reason: reason) }
        var storages: [String: TorchStorage] = [:]
        var views: [(storage: TorchStorage, root: String, offset: Int, count: Int)] = []
        var viewsByKey: [String: TorchStorage] = [:]
        let resolve: StorageResolver = { reference in
            let storage: TorchStorage
            if let existing = storages[reference.key] { storage = existing } else {
                storage = TorchStorage(key: reference.key, dtype: reference.dtype, location: reference.location)
                storages[reference.key] = storage
            }
            guard let view = reference.view else { return storage }
            if let existing = viewsByKey[view.key] { return existing }
            let viewStorage = TorchStorage(key: view.key, dtype: reference.dtype, location: reference.location)
            viewsByKey[view.key] = viewStorage
            views.append((viewStorage, reference.key, view.offset, view.count))
            return viewStorage
        }
        let noStorages: StorageResolver = { _ in throw bad("a storage appears outside the main pickle") }
        return try data.withUnsafeBytes { raw -> PyTorchCheckpoint in
            var offset = 0
            func simplePickle(_ what: String) throws -> PickleValue {
                var machine = PickleMachine(file: name, stream: what, limits: limits, resolve: noStorages)
                let (root, end) = try machine.run(raw, from: offset)
                offset = end
                return try machine.value(of: root)
            }
            guard case .bigInt(let magic) = try simplePickle("magic number pickle"), magic == legacyMagic else {
                throw bad("a pickle, but not a torch.save file: the torch.save magic number is missing")
            }
            guard case .int(legacyProtocolVersion) = try simplePickle("protocol version pickle") else {
                throw bad("legacy torch.save protocol version is not \(legacyProtocolVersion)")
            }
            var metadata: [String: String] = [:]
            if case .dict(let info) = try simplePickle("sys_info pickle") {
                for entry in info.entries {
                    guard let key = entry.key.stringValue else { continue }
                    metadata["sys_info.\(key)"] = entry.value.description
                }
            }
            var machine = PickleMachine(file: name, stream: "main pickle", limits: limits, resolve: resolve)
            let (root, end) = try machine.run(raw, from: offset)
            offset = end
            guard let keys = try simplePickle("storage key pickle").items?.map({ $0.stringValue }), !keys.contains(nil) else {
                throw bad("the storage key list is not a list of strings")
            }
            for key in keys.map({ $0! }) {
                guard let storage = storages[key] else { throw bad("storage '\(key)' is listed but no tensor uses it") }
                guard !storage.isBound else { throw bad("storage '\(key)' is listed twice") }
                guard raw.count - offset >= 8 else { throw bad("storage '\(key)' at byte \(offset): the file ends (truncated file?)") }
                let count = Int64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int64.self))
                let width = storage.dtype.byteWidth
                guard count >= 0, count <= Int64(raw.count - offset - 8) / Int64(width) else {
                    throw bad("storage '\(key)' at byte \(offset) declares \(count) elements; the file has \(raw.count - offset - 8) bytes left (truncated file?)")
                }
                let start = data.startIndex + offset + 8
                storage.bind(data[start..<(start + Int(count) * width)], bigEndian: false)
                offset += 8 + Int(count) * width
            }
            if let unbound = storages.values.first(where: { !$0.isBound }) {
                throw bad("storage '\(unbound.key)' is used by a tensor but its data is missing (truncated file?)")
            }
            for view in views {
                let base = storages[view.root]!, width = view.storage.dtype.byteWidth
                let (startElement, o1) = view.offset.addingReportingOverflow(view.count)
                guard !o1, startElement <= base.byteCount / width else {
                    throw bad("storage view '\(view.storage.key)' (\(view.count) elements at \(view.offset)) lies outside storage '\(view.root)'")
                }
                let start = base.bytes.startIndex + view.offset * width
                view.storage.bind(base.bytes[start..<(start + view.count * width)], bigEndian: false)
            }
            return PyTorchCheckpoint(format: .torchLegacy, name: name, root: try machine.value(of: root), metadata: metadata)
        }
    }

    // MARK: safetensors

    private static func decodeSafetensors(_ data: Data, name: String, limits: CheckpointLimits) throws -> PyTorchCheckpoint {
        let header = try Safetensors.parseHeader(data, name: name)
        var entries: [PickleDict.Entry] = []
        var elements = 0
        for entry in header.entries {
            let (total, overflow) = elements.addingReportingOverflow(shapeCount(entry.shape))
            guard !overflow, total <= limits.maxTensorElements else {
                throw BitViTError.malformed(file: name, reason: "tensors hold more than \(limits.maxTensorElements) elements in all")
            }
            elements = total
            let start = data.startIndex + header.dataStart + entry.byteRange.lowerBound
            let storage = TorchStorage(key: entry.name, dtype: entry.dtype, location: "cpu")
            storage.bind(data[start..<(start + entry.byteRange.count)], bigEndian: false)
            let tensor: TorchTensor
            do {
                tensor = try TorchTensor(storage: storage, dtype: entry.dtype, shape: entry.shape, strides: contiguousStrides(entry.shape),
                                         storageOffset: 0, requiresGrad: false, isParameter: false, maxRank: limits.maxRank)
            } catch let error as TorchTensorError {
                throw BitViTError.malformed(file: name, reason: "tensor '\(entry.name)': \(error.reason)")
            }
            entries.append(PickleDict.Entry(key: .string(entry.name), value: .tensor(tensor)))
        }
        return PyTorchCheckpoint(format: .safetensors, name: name, root: .dict(PickleDict(entries: entries)), metadata: header.metadata)
    }
}
