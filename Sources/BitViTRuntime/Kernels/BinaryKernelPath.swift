import CBitKernels
import CBitViTPlatform

/// Instruction-set path of the bit kernels (the C kernels in CBitKernels).
public enum BinaryKernelPath: Int32, CaseIterable, CustomStringConvertible, Sendable {
    /// Portable C with `__builtin_popcount` (POPCNT instruction when the CPU has it).
    case scalar = 1
    /// AVX2: nibble-table popcount with vpshufb, or per-row tables of 4-bit counts looked up with
    /// vpshufb when the weights carry their nibble layout; exact nibble-split vpmaddubsw for int8.
    case avx2 = 2
    /// AVX-512 F + VPOPCNTDQ for binary products; AVX-512 BW + VNNI (vpdpbusd) for int8.
    case avx512 = 3
    /// ARM64 NEON (vcnt); binary products only (int8 runs the scalar kernel there).
    case neon = 4

    public var description: String {
        switch self {
        case .scalar: return "scalar"
        case .avx2: return "avx2"
        case .avx512: return "avx512"
        case .neon: return "neon"
        }
    }

    /// Parses "scalar", "avx2", "avx512" or "neon".
    public init?(name: String) {
        guard let p = Self.allCases.first(where: { $0.description == name.lowercased() }) else { return nil }
        self = p
    }
}

/// Which kernel paths the running CPU offers, chosen at run time from `bv_cpu_features()`.
///
/// Every kernel entry point takes an optional `path`: `nil` uses the active (best) path; a
/// forced path the CPU lacks falls back to the best one below it (AVX-512 → AVX2 → scalar),
/// so tests can run every path the machine supports plus the scalar reference.
public enum BinaryKernels {
    /// The binary-product path used when none is forced.
    public static var activePath: BinaryKernelPath { resolve(nil) }

    /// The int8 GEMM path used when none is forced.
    public static var activeInt8Path: BinaryKernelPath { resolveInt8(nil) }

    /// Binary paths this CPU can run (each resolves to itself), scalar first.
    public static var supportedPaths: [BinaryKernelPath] {
        BinaryKernelPath.allCases.filter { resolve($0) == $0 }
    }

    /// int8 paths this CPU can run, scalar first.
    public static var supportedInt8Paths: [BinaryKernelPath] {
        BinaryKernelPath.allCases.filter { resolveInt8($0) == $0 }
    }

    /// The binary path a request resolves to on this CPU.
    public static func resolve(_ requested: BinaryKernelPath?) -> BinaryKernelPath {
        BinaryKernelPath(rawValue: bv_bgemm_resolve_path(requested?.rawValue ?? 0)) ?? .scalar
    }

    /// The int8 path a request resolves to on this CPU.
    public static func resolveInt8(_ requested: BinaryKernelPath?) -> BinaryKernelPath {
        BinaryKernelPath(rawValue: bv_igemm_resolve_path(requested?.rawValue ?? 0)) ?? .scalar
    }
}
