import BitViTCore
import Foundation
import FuzzSupport

/// The restricted pickle interpreter on standalone pickles (protocols 0–5) under
/// `CheckpointLimits.fuzzing`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPickle(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = Data(FuzzInput.bytes(data, size))
    FuzzInput.expectReadable { _ = try PyTorchCheckpoint.decodePickle(bytes, name: "input", limits: .fuzzing) }
    return 0
}

runLibFuzzer(fuzzPickle)
