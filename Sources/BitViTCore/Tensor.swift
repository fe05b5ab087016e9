import Foundation

/// A dense, row-major (C order, last axis fastest) float32 tensor with reverse-mode autograd.
///
/// `Tensor` is a reference type: operations never modify their inputs and return new tensors;
/// `reshaped(_:)` and leading-axis slices are views that share storage with their source. The
/// only in-place mutations are explicit (`withMutableData`, optimizers, running statistics) and
/// happen outside the autograd graph.
///
/// Autograd: set `requiresGrad` on leaf tensors (parameters), compute a scalar loss, call
/// `backward()`; gradients accumulate into each leaf's `grad`. See `Autograd` for custom ops.
public final class Tensor: CustomStringConvertible {
    /// Extent of every axis.
    public let shape: [Int]
    /// Number of elements (the product of `shape`; 1 for a scalar).
    public let count: Int
    /// The buffer this tensor reads; shared by views.
    public let storage: TensorStorage
    /// Offset of element 0 inside `storage`, in elements.
    public let storageOffset: Int

    /// Whether gradients flow to (leaf) or through (interior) this tensor.
    public var requiresGrad: Bool
    /// Accumulated gradient of a leaf tensor after `backward()`; same shape as the tensor.
    public var grad: Tensor?
    /// The op that produced this tensor, while the graph is alive.
    var gradNode: GradNode?
    /// Which output of `gradNode` this tensor is (ops with several outputs).
    var gradOutputIndex = 0

    // MARK: Creation

    /// Wraps `storage` at `offset` with `shape` (no copy).
    public init(shape: [Int], storage: TensorStorage, offset: Int = 0) {
        let n = shapeCount(shape)
        precondition(offset + n <= storage.capacity, "Tensor view exceeds its storage")
        self.shape = shape
        self.count = n
        self.storage = storage
        self.storageOffset = offset
        self.requiresGrad = false
    }

    /// A tensor with uninitialized contents; fill it through `data` before reading it.
    public convenience init(uninitialized shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative extent in shape \(shape)")
        self.init(shape: shape, storage: TensorStorage(count: shapeCount(shape)))
    }

    /// A tensor holding `scalars` in row-major order.
    public convenience init(shape: [Int], scalars: [Float]) {
        precondition(shapeCount(shape) == scalars.count,
                     "\(scalars.count) values cannot fill shape \(shape)")
        self.init(uninitialized: shape)
        scalars.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    /// A tensor with every element equal to `value`.
    public convenience init(shape: [Int], repeating value: Float) {
        self.init(uninitialized: shape)
        data.update(repeating: value, count: count)
    }

    /// A rank-0 tensor.
    public convenience init(_ scalar: Float) {
        self.init(shape: [], repeating: scalar)
    }

    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 0) }
    public static func ones(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 1) }

    /// `[start, start+step, …]` below `end`, as a rank-1 tensor.
    public static func arange(_ start: Float = 0, _ end: Float, step: Float = 1) -> Tensor {
        let n = Swift.max(0, Int(((end - start) / step).rounded(.up)))
        let t = Tensor(uninitialized: [n])
        for i in 0..<n { t.data[i] = start + Float(i) * step }
        return t
    }

    // MARK: Access

    /// Number of axes.
    public var rank: Int { shape.count }

    /// Pointer to element 0. Writing through it is allowed only outside the autograd graph.
    public var data: UnsafeMutablePointer<Float> { storage.base + storageOffset }

    /// A copy of the elements in row-major order.
    public var scalars: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    /// The single element of a one-element tensor.
    public func item() -> Float {
        precondition(count == 1, "item() needs one element, shape is \(shape)")
        return data[0]
    }

    /// Element at a multi-index.
    public subscript(_ index: Int...) -> Float {
        get { data[flatIndex(index)] }
    }

    func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == rank, "index \(index) has the wrong rank for shape \(shape)")
        var flat = 0
        for (i, (idx, dim)) in zip(index, shape).enumerated() {
            precondition(idx >= 0 && idx < dim, "index \(idx) out of range for axis \(i) of \(shape)")
            flat = flat * dim + idx
        }
        return flat
    }

    /// Calls `body` with the elements as a buffer (read-only by convention).
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: data, count: count))
    }

    /// In-place write access, refused for tensors inside a live autograd graph.
    public func withMutableData<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        precondition(gradNode == nil, "cannot modify a tensor produced by a recorded op in place")
        return try body(UnsafeMutableBufferPointer(start: data, count: count))
    }

    /// Overwrites the contents with `other`'s (same element count); no autograd.
    public func assign(_ other: Tensor) {
        precondition(other.count == count, "assign: \(other.shape) into \(shape)")
        if other.data != data { data.update(from: other.data, count: count) }
    }

    /// A new tensor with the same contents and no autograd history.
    public func copy() -> Tensor {
        let t = Tensor(uninitialized: shape)
        t.data.update(from: data, count: count)
        return t
    }

    /// The same values without autograd history (shares storage).
    public func detached() -> Tensor {
        Tensor(shape: shape, storage: storage, offset: storageOffset)
    }

    public var description: String {
        let preview = scalars.prefix(8).map { String(format: "%.5g", $0) }.joined(separator: ", ")
        return "Tensor(\(shape), [\(preview)\(count > 8 ? ", …" : "")])"
    }
}

/// Number of elements of a shape.
@inlinable public func shapeCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }

/// Row-major strides of a shape.
public func contiguousStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var s = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) {
        strides[i] = s
        s *= shape[i]
    }
    return strides
}

/// Normalizes a possibly negative axis for a tensor of the given rank.
@inlinable public func normalizeAxis(_ axis: Int, rank: Int) -> Int {
    let a = axis < 0 ? axis + rank : axis
    precondition(a >= 0 && a < rank, "axis \(axis) out of range for rank \(rank)")
    return a
}
