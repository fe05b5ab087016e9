/// The element type of a tensor as a file stores it (PyTorch and safetensors dtypes). BitViT
/// computes in float32; readers convert with `convert(_:elementStride:count:bigEndian:into:)`
/// and keep the stored type so callers can tell an `int64` counter or a `bool` mask from a
/// weight.
public enum StoredDType: String, CaseIterable, Sendable {
    case float32, float16, bfloat16, float64
    case int64, int32, int16, int8
    case uint64, uint32, uint16, uint8
    case bool

    /// Bytes per element.
    public var byteWidth: Int {
        switch self {
        case .float64, .int64, .uint64: return 8
        case .float32, .int32, .uint32: return 4
        case .float16, .bfloat16, .int16, .uint16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .float32, .float16, .bfloat16, .float64: return true
        default: return false
        }
    }

    /// The safetensors spelling (`F32`, `BF16`, `I64`, `BOOL`, …).
    public var safetensorsName: String {
        switch self {
        case .float32: return "F32"
        case .float16: return "F16"
        case .bfloat16: return "BF16"
        case .float64: return "F64"
        case .int64: return "I64"
        case .int32: return "I32"
        case .int16: return "I16"
        case .int8: return "I8"
        case .uint64: return "U64"
        case .uint32: return "U32"
        case .uint16: return "U16"
        case .uint8: return "U8"
        case .bool: return "BOOL"
        }
    }

    public init?(safetensorsName: String) {
        guard let match = Self.allCases.first(where: { $0.safetensorsName == safetensorsName }) else { return nil }
        self = match
    }

    /// Converts `count` elements starting at `source`, `elementStride` elements apart, to
    /// float32 at `destination` (contiguous). Integers and bools convert exactly up to 2²⁴;
    /// float64 rounds to nearest. `bigEndian` says how the stored bytes are ordered.
    public func convert(_ source: UnsafeRawPointer, elementStride: Int = 1, count: Int, bigEndian: Bool = false,
                        into destination: UnsafeMutablePointer<Float>) {
        let step = elementStride * byteWidth
        @inline(__always) func u16(_ i: Int) -> UInt16 {
            let v = source.loadUnaligned(fromByteOffset: i * step, as: UInt16.self)
            return bigEndian ? UInt16(bigEndian: v) : UInt16(littleEndian: v)
        }
        @inline(__always) func u32(_ i: Int) -> UInt32 {
            let v = source.loadUnaligned(fromByteOffset: i * step, as: UInt32.self)
            return bigEndian ? UInt32(bigEndian: v) : UInt32(littleEndian: v)
        }
        @inline(__always) func u64(_ i: Int) -> UInt64 {
            let v = source.loadUnaligned(fromByteOffset: i * step, as: UInt64.self)
            return bigEndian ? UInt64(bigEndian: v) : UInt64(littleEndian: v)
        }
        switch self {
        case .float32: for i in 0..<count { destination[i] = Float(bitPattern: u32(i)) }
        case .float64: for i in 0..<count { destination[i] = Float(Double(bitPattern: u64(i))) }
        case .float16: for i in 0..<count { destination[i] = halfToFloat(u16(i)) }
        case .bfloat16: for i in 0..<count { destination[i] = Float(bitPattern: UInt32(u16(i)) << 16) }
        case .int64: for i in 0..<count { destination[i] = Float(Int64(bitPattern: u64(i))) }
        case .uint64: for i in 0..<count { destination[i] = Float(u64(i)) }
        case .int32: for i in 0..<count { destination[i] = Float(Int32(bitPattern: u32(i))) }
        case .uint32: for i in 0..<count { destination[i] = Float(u32(i)) }
        case .int16: for i in 0..<count { destination[i] = Float(Int16(bitPattern: u16(i))) }
        case .uint16: for i in 0..<count { destination[i] = Float(u16(i)) }
        case .int8: for i in 0..<count { destination[i] = Float(source.load(fromByteOffset: i * step, as: Int8.self)) }
        case .uint8: for i in 0..<count { destination[i] = Float(source.load(fromByteOffset: i * step, as: UInt8.self)) }
        case .bool: for i in 0..<count { destination[i] = source.load(fromByteOffset: i * step, as: UInt8.self) != 0 ? 1 : 0 }
        }
    }

    /// The exact integer value of element `index` (at `index * byteWidth` bytes) of an integer or
    /// bool type; nil for floating-point types.
    public func integer(at source: UnsafeRawPointer, index: Int, bigEndian: Bool = false) -> Int64? {
        let offset = index * byteWidth
        func load<T: FixedWidthInteger>(_: T.Type) -> T {
            let v = source.loadUnaligned(fromByteOffset: offset, as: T.self)
            return bigEndian ? T(bigEndian: v) : T(littleEndian: v)
        }
        switch self {
        case .int64: return load(Int64.self)
        case .uint64: return Int64(bitPattern: load(UInt64.self))
        case .int32: return Int64(load(Int32.self))
        case .uint32: return Int64(load(UInt32.self))
        case .int16: return Int64(load(Int16.self))
        case .uint16: return Int64(load(UInt16.self))
        case .int8: return Int64(load(Int8.self))
        case .uint8: return Int64(load(UInt8.self))
        case .bool: return load(UInt8.self) != 0 ? 1 : 0
        case .float32, .float16, .bfloat16, .float64: return nil
        }
    }
}

/// IEEE half to float (handles subnormals, infinities and NaN).
func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exp = Int((h >> 10) & 0x1F), mant = UInt32(h & 0x3FF)
    if exp == 0 {
        let v = Float(mant) * 0x1p-24
        return sign != 0 ? -v : v
    }
    if exp == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13)) }
    return Float(bitPattern: sign | UInt32(exp + 112) << 23 | (mant << 13))
}
