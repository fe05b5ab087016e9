import Foundation

/// The raw bytes behind one or more tensors of a checkpoint (`torch.save` writes each storage
/// once, however many tensors view it). Bytes of an uncompressed file are not copied: they are
/// a slice of the (memory-mapped) file.
public final class TorchStorage {
    /// The storage's key in the file (`data/<key>` in a zip archive).
    public let key: String
    /// The element type the storage was saved as (`uint8` for an untyped storage).
    public let dtype: StoredDType
    /// Where the tensors lived when saved (`cpu`, `cuda:0`); informational.
    public let location: String
    /// The bytes, in the byte order `bigEndian` says.
    public internal(set) var bytes: Data
    public internal(set) var bigEndian: Bool
    /// Whether the bytes were read (a storage named by the pickle but absent from the file
    /// leaves the file refused, so every storage a caller sees is bound).
    var isBound = false

    init(key: String, dtype: StoredDType, location: String, bytes: Data = Data(), bigEndian: Bool = false) {
        self.key = key
        self.dtype = dtype
        self.location = location
        self.bytes = bytes
        self.bigEndian = bigEndian
    }

    func bind(_ bytes: Data, bigEndian: Bool) {
        self.bytes = bytes
        self.bigEndian = bigEndian
        isBound = true
    }

    public var byteCount: Int { bytes.count }
}

/// A tensor of a checkpoint as the file describes it: a strided view (in elements of `dtype`)
/// into a storage. Reading it is validated when the file is decoded (every element lies inside
/// the storage), so `float32()` cannot fail.
public struct TorchTensor: CustomStringConvertible {
    public let storage: TorchStorage
    public let dtype: StoredDType
    public let shape: [Int]
    /// Element strides, one per axis (PyTorch's `stride()`).
    public let strides: [Int]
    /// Offset of element 0 in elements of `dtype` (PyTorch's `storage_offset()`).
    public let storageOffset: Int
    public let requiresGrad: Bool
    /// Whether the file held an `nn.Parameter` (rather than a plain tensor).
    public let isParameter: Bool

    /// Checks that the view lies inside the storage and has a sane rank and extent.
    init(storage: TorchStorage, dtype: StoredDType, shape: [Int], strides: [Int], storageOffset: Int,
         requiresGrad: Bool, isParameter: Bool, maxRank: Int) throws {
        func bad(_ reason: String) -> String { "tensor of shape \(shape), strides \(strides), offset \(storageOffset) on storage '\(storage.key)': \(reason)" }
        guard shape.count <= maxRank else { throw TorchTensorError(bad("rank \(shape.count) exceeds the limit of \(maxRank)")) }
        guard strides.count == shape.count else { throw TorchTensorError(bad("\(strides.count) strides for \(shape.count) axes")) }
        guard shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }), storageOffset >= 0 else {
            throw TorchTensorError(bad("negative extent, stride or offset"))
        }
        var count = 1, last = storageOffset, overflow = false
        for (n, s) in zip(shape, strides) {
            var o: Bool
            (count, o) = count.multipliedReportingOverflow(by: n); overflow = overflow || o
            if n > 0 {
                let (span, o1) = (n - 1).multipliedReportingOverflow(by: s)
                let (sum, o2) = last.addingReportingOverflow(span)
                last = sum
                overflow = overflow || o1 || o2
            }
        }
        guard !overflow else { throw TorchTensorError(bad("extent overflows")) }
        if count > 0 {
            let available = storage.byteCount / dtype.byteWidth
            guard last < available else {
                throw TorchTensorError(bad("reaches element \(last) of a storage that holds \(available) \(dtype.rawValue) elements (\(storage.byteCount) bytes)"))
            }
        }
        self.storage = storage
        self.dtype = dtype
        self.shape = shape
        self.strides = strides
        self.storageOffset = storageOffset
        self.requiresGrad = requiresGrad
        self.isParameter = isParameter
    }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// Whether the elements are consecutive in the storage in row-major order (strides of
    /// axes of extent 1 do not matter, as in PyTorch).
    public var isContiguous: Bool {
        var expected = 1
        for (n, s) in zip(shape, strides).reversed() where n != 1 {
            if s != expected { return false }
            expected *= n
        }
        return true
    }

    /// Whether both tensors view the same storage (tied or sliced weights).
    public func sharesStorage(with other: TorchTensor) -> Bool { storage === other.storage }

    /// A new row-major float32 `Tensor` holding this view's values (converted from `dtype`;
    /// integers beyond 2²⁴ round). Each call copies.
    public func float32() -> Tensor {
        let out = Tensor(uninitialized: shape)
        var destination = out.data
        forEachRun { source, stride, n in
            dtype.convert(source, elementStride: stride, count: n, bigEndian: storage.bigEndian, into: destination)
            destination += n
        }
        return out
    }

    /// The exact values of an integer or bool tensor in row-major order (`int64` buffers such
    /// as BatchNorm's `num_batches_tracked`); nil for floating-point tensors.
    public func integers() -> [Int64]? {
        guard !dtype.isFloatingPoint else { return nil }
        var values: [Int64] = []
        values.reserveCapacity(count)
        forEachRun { source, stride, n in
            for i in 0..<n { values.append(dtype.integer(at: source, index: i * stride, bigEndian: storage.bigEndian)!) }
        }
        return values
    }

    /// Calls `body` with each maximal run along the last axis: its first element, its element
    /// stride and its length, in row-major order.
    private func forEachRun(_ body: (UnsafeRawPointer, Int, Int) -> Void) {
        let total = count
        guard total > 0 else { return }
        storage.bytes.withUnsafeBytes { raw in
            let width = dtype.byteWidth
            let base = raw.baseAddress! + storageOffset * width
            if isContiguous { body(base, 1, total); return }
            let rank = shape.count
            let inner = shape[rank - 1], innerStride = strides[rank - 1]
            var index = [Int](repeating: 0, count: rank - 1)
            var offset = 0
            for _ in 0..<(total / inner) {
                body(base + offset * width, innerStride, inner)
                var axis = rank - 2
                while axis >= 0 {
                    index[axis] += 1
                    offset += strides[axis]
                    if index[axis] < shape[axis] { break }
                    offset -= strides[axis] * shape[axis]
                    index[axis] = 0
                    axis -= 1
                }
            }
        }
    }

    public var description: String {
        "<\(dtype.rawValue) tensor \(shape)\(isContiguous ? "" : " strides \(strides)")\(storageOffset != 0 ? " offset \(storageOffset)" : "")>"
    }
}

/// A tensor description that does not fit its storage; the decoder wraps it with the file name.
struct TorchTensorError: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}
