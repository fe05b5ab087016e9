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
