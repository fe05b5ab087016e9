/// How the values of one tensor are stored in a `.bitvit` file (docs/format.md, "Storage
/// kinds"). The raw value is the byte in the tensor table.
///
/// - `float32`, `float16`: IEEE little-endian values, row-major.
/// - `bits1`: ±1 values, exactly one bit each: value i (row-major) is bit i % 8 of byte i / 8,
///   bit 1 = −1, bit 0 = +1 (the IEEE sign bit); unused bits of the last byte are zero. The
///   engine views the tensor as `shape[0]` rows of `K = count/shape[0]` columns and re-packs
///   the rows into 64-bit words at load.
/// - `int8`: signed bytes, row-major.
/// - `int4`, `int3`, `int2`: signed two's-complement codes of that many bits packed as one
///   bit stream over the whole tensor (row-major), least significant bit first: code i
///   occupies stream bits `b·i … b·i + b − 1`, stream bit j at bit j % 8 of byte j / 8;
///   unused bits of the last byte are zero.
public enum StorageKind: UInt8, CaseIterable, Sendable, Codable {
    case float32 = 1
    case float16 = 2
    case bits1 = 3
    case int8 = 4
    case int4 = 5
    case int3 = 6
    case int2 = 7

    /// Bits per stored value.
    public var bits: Int {
        switch self {
        case .float32: return 32
        case .float16: return 16
        case .bits1: return 1
        case .int8: return 8
        case .int4: return 4
        case .int3: return 3
        case .int2: return 2
        }
    }

    /// Whether values are signed integer codes (int8, int4, int3, int2).
    public var isIntegerCode: Bool { self == .int8 || self == .int4 || self == .int3 || self == .int2 }

    /// The integer-code storage of `bits`-bit signed codes (2, 3, 4 or 8).
    public static func integerCodes(bits: Int) -> StorageKind? {
        switch bits {
        case 2: return .int2
        case 3: return .int3
        case 4: return .int4
        case 8: return .int8
        default: return nil
        }
    }

    /// Bytes a tensor of `shape` occupies, or nil when the size overflows.
    public func byteCount(shape: [Int]) -> Int? {
        var count = 1
        for d in shape {
            let (p, o) = count.multipliedReportingOverflow(by: d)
            if o { return nil }
            count = p
        }
        switch self {
        case .float32: return count.multipliedReportingOverflow(by: 4).overflow ? nil : count * 4
        case .float16: return count.multipliedReportingOverflow(by: 2).overflow ? nil : count * 2
        case .int8: return count
        case .int4, .int3, .int2:
            let (bitsTotal, o) = count.multipliedReportingOverflow(by: bits)
            return o ? nil : (bitsTotal + 7) / 8
        case .bits1:
            return (count + 7) / 8
        }
    }

    /// Name used in messages and `bitvit info`.
    public var name: String {
        switch self {
        case .float32: return "fp32"
        case .float16: return "fp16"
        case .bits1: return "1-bit"
        case .int8: return "int8"
        case .int4: return "int4"
        case .int3: return "int3"
        case .int2: return "int2"
        }
    }
}
