import BitViTPlatform

/// Activation buffers of an engine, allocated for one batch size and reused by every call with
/// that batch size (a larger or smaller batch reallocates once). Buffers are keyed by a
/// role name; packed operands additionally by their geometry.
final class Workspace {
    private(set) var batch = 0
    private var floats: [String: AlignedBuffer<Float>] = [:]
    private var signed: [String: PackedBinaryMatrix] = [:]
    private var unsigned: [String: PackedBinaryMatrix] = [:]
    private var codes: [String: QuantizedInt8Matrix] = [:]
    private var weights: [String: PackedBinaryWeights] = [:]
    private var objects: [String: AnyObject] = [:]
    private var inPlace: [ObjectIdentifier: UnsafePointer<Float>] = [:]

    /// Drops every buffer when the batch size changes.
    func prepare(batch: Int) {
        guard batch != self.batch else { return }
        self.batch = batch
        floats = [:]; signed = [:]; unsigned = [:]; codes = [:]; weights = [:]; inPlace = [:]
    }

    /// A layer-owned scratch object (kept across batch sizes), made by `make` on first use. Layers
    /// keep mutable per-call state here rather than in themselves, so that one model can run on
    /// several workspaces at once (`InferenceEngine`'s image-parallel batches).
    func object<T: AnyObject>(_ role: String, _ make: () -> T) -> T {
        if let o = objects[role] as? T { return o }
        let o = make()
        objects[role] = o
        return o
    }

    /// The input rows `layer` reads in place of its own operand buffer (set by its `encode`, nil
    /// when it encoded into the buffer).
    func inPlaceInput(of layer: AnyObject) -> UnsafePointer<Float>? { inPlace[ObjectIdentifier(layer)] }

    func setInPlaceInput(_ x: UnsafePointer<Float>?, of layer: AnyObject) { inPlace[ObjectIdentifier(layer)] = x }

    /// A float buffer of at least `count` elements (64-byte aligned, zero on first use).
    func floats(_ role: String, _ count: Int) -> UnsafeMutablePointer<Float> {
        if let b = floats[role], b.count >= count { return b.pointer }
        let b = AlignedBuffer<Float>(count: count)
        floats[role] = b
        return b.pointer
    }

    /// A signed ±1 matrix of `rows` × `k` (with a nonzero mask when `mask`).
    func signedBits(_ role: String, rows: Int, k: Int, mask: Bool = false) -> PackedBinaryMatrix {
        let key = "\(role)/\(rows)x\(k)/\(mask)"
        if let m = signed[key] { return m }
        let m = PackedBinaryMatrix(rows: rows, k: k, encoding: .signed, withMask: mask)
        signed[key] = m
        return m
    }

    /// Unsigned {0,1} planes of `rows` × `k`.
    func unsignedBits(_ role: String, rows: Int, k: Int, planes: Int) -> PackedBinaryMatrix {
        let key = "\(role)/\(rows)x\(k)x\(planes)"
        if let m = unsigned[key] { return m }
        let m = PackedBinaryMatrix(rows: rows, k: k, planes: planes, encoding: .unsigned)
        unsigned[key] = m
        return m
    }

    /// u8 activation codes of `rows` × `k`.
    func int8Codes(_ role: String, rows: Int, k: Int) -> QuantizedInt8Matrix {
        let key = "\(role)/\(rows)x\(k)"
        if let m = codes[key] { return m }
        let m = QuantizedInt8Matrix(rows: rows, k: k)
        codes[key] = m
        return m
    }

    /// Right-operand panels rebuilt every call from `bits` (attention's K̂ and V̂), reusing storage.
    func panels(_ role: String, from bits: PackedBinaryMatrix) -> PackedBinaryWeights {
        let key = "\(role)/\(bits.rows)x\(bits.k)x\(bits.planes)/\(bits.encoding)"
        if let w = weights[key] {
            w.repack(from: bits)
            return w
        }
        let w = PackedBinaryWeights(bits, lookupTables: false)
        weights[key] = w
        return w
    }
}
