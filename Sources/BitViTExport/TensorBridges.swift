import BitViTCore
import BitViTRuntime

// The runtime works on plain buffers; these take training tensors (tests, benchmarks, parity).

extension InferenceEngine {
    /// `logits` for a `[batch, channels, side, side]` tensor, as a `[batch, classes]` tensor.
    public func logits(_ images: Tensor) throws -> Tensor {
        guard images.rank == 4, images.shape[0] > 0, Array(images.shape.dropFirst()) == inputShape else {
            throw BitViTError.shapeMismatch("the model takes [B, \(inputShape.map(String.init).joined(separator: ", "))] images, got \(images.shape)")
        }
        let out = logits(UnsafePointer(images.data), batch: images.shape[0])
        return Tensor(shape: [images.shape[0], classes], scalars: out)
    }
}

extension BinaryPack {
    /// Signs of a 2-D tensor's rows ([rows, k]), with an optional per-column shift.
    public static func signs(of x: Tensor, shift: [Float]? = nil, scale: Float = 1,
                             keepZeros: Bool = false, path: BinaryKernelPath? = nil) -> PackedBinaryMatrix {
        precondition(x.rank == 2, "BinaryPack.signs(of:): rank-2 tensor expected, got \(x.shape)")
        if let shift { precondition(shift.count == x.shape[1], "BinaryPack.signs(of:): shift length") }
        return withOptionalPointer(shift) { s in
            signs(x.data, rows: x.shape[0], k: x.shape[1], shift: s, scale: scale, keepZeros: keepZeros, path: path)
        }
    }
}

extension PackedBinaryWeights {
    /// Binary linear weights from a [rows, k] tensor (`lookupTables` as in `init(_:channelScales:lookupTables:)`).
    public convenience init(signsOf w: Tensor, channelScales: [Float]? = nil, lookupTables: Bool? = nil) {
        precondition(w.rank == 2, "PackedBinaryWeights(signsOf:): rank-2 tensor expected, got \(w.shape)")
        self.init(signsOf: w.data, rows: w.shape[0], k: w.shape[1], channelScales: channelScales, lookupTables: lookupTables)
    }
}

extension BinaryConvWeights {
    /// From a [outChannels, inChannels/groups, kernel, kernel] tensor.
    public convenience init(weight: Tensor, groups: Int, channelScales: [Float]? = nil) {
        precondition(weight.rank == 4 && weight.shape[2] == weight.shape[3], "BinaryConvWeights: weight \(weight.shape)")
        self.init(weight: weight.data, outChannels: weight.shape[0], inChannels: weight.shape[1] * groups,
                  groups: groups, kernel: weight.shape[2], channelScales: channelScales)
    }
}
