import BitViTRuntime
import FuzzSupport

/// `.bitvit` files: the container (header, checksums, sections, tensor table, names), then
/// every tensor's values read back as the engine reads them, then the manifest of the stored
/// architecture and the cost that `bitvit info` prints. Each input runs as given and with its
/// checksums repaired.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzModelFile(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = FuzzInput.bytes(data, size)
    for input in [bytes, ChecksumRepair.modelFile(bytes)].compactMap({ $0 }) {
        FuzzInput.expectReadable {
            let container = try ModelFile(bytes: input, path: "input", validatingManifest: false)
            for tensor in container.tensors { read(tensor) }
            let file = try ModelFile(bytes: input, path: "input")
            _ = ModelCost(file: file)
        }
    }
    return 0
}

/// Reads every value of `tensor` the way its storage kind is read.
func read(_ tensor: StoredTensor) {
    switch tensor.storage {
    case .float32, .float16: _ = tensor.floats()
    case .bits1:
        let (rows, _, wordsPerRow) = tensor.bitRows
        let words = UnsafeMutablePointer<UInt64>.allocate(capacity: max(rows * wordsPerRow, 1))
        defer { words.deallocate() }
        tensor.unpackRows(into: words)
    case .int8, .int4, .int3, .int2: _ = tensor.codes()
    }
}

runLibFuzzer(fuzzModelFile)
