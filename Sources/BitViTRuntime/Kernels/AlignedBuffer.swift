/// Owned, zero-initialized, 64-byte-aligned storage for kernel operands (packed bits, panels,
/// per-channel scales). A reference type so that packed matrices can be shared without copying;
/// the memory is freed when the last reference goes away.
public final class AlignedBuffer<Element>: @unchecked Sendable {
    /// First element (64-byte aligned: one cache line, one zmm).
    public let pointer: UnsafeMutablePointer<Element>
    /// Number of elements.
    public let count: Int

    /// Allocates `count` zeroed elements (at least one byte is allocated for `count == 0`).
    public init(count: Int) {
        precondition(count >= 0, "AlignedBuffer: negative count \(count)")
        let bytes = max(1, count * MemoryLayout<Element>.stride)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        pointer = raw.bindMemory(to: Element.self, capacity: max(count, 1))
        self.count = count
    }

    /// A buffer holding a copy of `values`.
    public convenience init(_ values: [Element]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }

    /// The elements as an array (copy).
    public var array: [Element] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    public subscript(_ i: Int) -> Element {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }
}
