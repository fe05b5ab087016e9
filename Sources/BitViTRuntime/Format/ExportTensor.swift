/// One tensor ready to be written to a `.bitvit` file: name, storage kind, logical shape and
/// the stored bytes in that kind's layout (`StorageKind`).
public struct ExportTensor: Sendable {
    public let name: String
    public let storage: StorageKind
    public let shape: [Int]
    public let bytes: [UInt8]

    /// Stores `values` (row-major, `shape`) as float32, or float16 when `half`.
    public init(_ name: String, floats values: [Float], shape: [Int], half: Bool = false) {
        precondition(values.count == shape.reduce(1, *), "ExportTensor \(name): \(values.count) values for \(shape)")
        self.name = name
        self.shape = shape
        if half {
            storage = .float16
            var out = [UInt8](); out.reserveCapacity(values.count * 2)
            for v in values { withUnsafeBytes(of: Float16(v).bitPattern.littleEndian) { out += $0 } }
            bytes = out
        } else {
            storage = .float32
            bytes = values.withUnsafeBytes { Array($0) }
        }
    }

    /// A float32 scalar (rank 0).
    public init(_ name: String, scalar: Float) {
        self.init(name, floats: [scalar], shape: [])
    }

    /// Stores the signs of `values` as ±1 bits, one per value (bit 1 = value < 0; see
    /// `StorageKind.bits1`).
    public init(_ name: String, signsOf values: [Float], shape: [Int]) {
        precondition(shape.count >= 1 && values.count == shape.reduce(1, *), "ExportTensor \(name): \(values.count) values for \(shape)")
        self.name = name
        self.shape = shape
        storage = .bits1
        var out = [UInt8](repeating: 0, count: (values.count + 7) / 8)
        for (i, v) in values.enumerated() where v < 0 { out[i / 8] |= 1 << UInt8(i % 8) }
        bytes = out
    }

    /// Stores signed integer codes of `bits` bits (2, 3, 4 or 8), row-major `shape`.
    public init(_ name: String, codes: [Int32], bits: Int, shape: [Int]) {
        guard let storage = StorageKind.integerCodes(bits: bits) else { preconditionFailure("ExportTensor: \(bits)-bit codes") }
        precondition(codes.count == shape.reduce(1, *), "ExportTensor \(name): \(codes.count) codes for \(shape)")
        let lo = -(Int32(1) << (bits - 1)), hi = (Int32(1) << (bits - 1)) - 1
        precondition(codes.allSatisfy { $0 >= lo && $0 <= hi }, "ExportTensor \(name): codes outside [\(lo), \(hi)]")
        self.name = name
        self.shape = shape
        self.storage = storage
        var out = [UInt8](repeating: 0, count: storage.byteCount(shape: shape)!)
        let mask = UInt32((1 << bits) - 1)
        for (i, c) in codes.enumerated() {
            let v = UInt32(bitPattern: c) & mask
            for b in 0..<bits where (v >> UInt32(b)) & 1 == 1 {
                let bit = i * bits + b
                out[bit / 8] |= 1 << UInt8(bit % 8)
            }
        }
        bytes = out
    }

    /// Raw bytes in `storage`'s layout (tests build malformed files with it).
    public init(name: String, storage: StorageKind, shape: [Int], bytes: [UInt8]) {
        self.name = name
        self.storage = storage
        self.shape = shape
        self.bytes = bytes
    }
}
