/// A 64-bit hash of the exact values of a list of tensors (FNV-1a over their bit patterns), to
/// check that the processes of a data-parallel run hold bit-identical models.
enum ReplicaFingerprint {
    static func of(_ tensors: [Tensor]) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for t in tensors {
            for i in 0..<t.count {
                hash = (hash ^ UInt64(t.data[i].bitPattern)) &* 0x0000_0100_0000_01B3
            }
        }
        return hash
    }
}
