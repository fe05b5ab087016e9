// Function objects for the hot elementwise kernels (see `BinaryElementFunction`).

public struct AddFunction: BinaryElementFunction {
    public init() {}
    @inlinable @inline(__always) public func callAsFunction(_ a: Float, _ b: Float) -> Float { a + b }
}

public struct SubtractFunction: BinaryElementFunction {
    public init() {}
    @inlinable @inline(__always) public func callAsFunction(_ a: Float, _ b: Float) -> Float { a - b }
}

public struct MultiplyFunction: BinaryElementFunction {
    public init() {}
    @inlinable @inline(__always) public func callAsFunction(_ a: Float, _ b: Float) -> Float { a * b }
}

public struct DivideFunction: BinaryElementFunction {
    public init() {}
    @inlinable @inline(__always) public func callAsFunction(_ a: Float, _ b: Float) -> Float { a / b }
}

/// x·s + t.
public struct AffineFunction: UnaryElementFunction {
    public let scale: Float, offset: Float
    public init(scale: Float, offset: Float) { self.scale = scale; self.offset = offset }
    @inlinable @inline(__always) public func callAsFunction(_ x: Float) -> Float { x * scale + offset }
}

/// min(max(x, low), high).
public struct ClampFunction: UnaryElementFunction {
    public let low: Float, high: Float
    public init(low: Float, high: Float) { self.low = low; self.high = high }
    @inlinable @inline(__always) public func callAsFunction(_ x: Float) -> Float { Swift.min(Swift.max(x, low), high) }
}

/// The clamp's straight-through mask applied to a gradient: g where low ≤ x ≤ high, else 0.
public struct ClampGradientFunction: BinaryElementFunction {
    public let low: Float, high: Float
    public init(low: Float, high: Float) { self.low = low; self.high = high }
    @inlinable @inline(__always) public func callAsFunction(_ g: Float, _ x: Float) -> Float {
        (x >= low && x <= high) ? g : 0
    }
}
