import BitViTPlatform
import BitViTTrain
import Foundation
import FuzzSupport

/// BitViT training checkpoints: the safetensors container, the model description, the stored
/// recipe, the training state, finite values, the description against the stored tensors, and
/// then the model built and its weights loaded as `bitvit eval`/`export` do.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheckpoint(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    Parallel.threadCount = 1
    let bytes = Data(FuzzInput.bytes(data, size))
    FuzzInput.expectReadable {
        let checkpoint = try Checkpoint.decode(bytes, name: "input")
        _ = try checkpoint.makeModel()
    }
    return 0
}

runLibFuzzer(fuzzCheckpoint)
