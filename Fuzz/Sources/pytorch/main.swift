import BitViTCore
import Foundation
import FuzzSupport

/// PyTorch checkpoints (`torch.save` zip and legacy streams, safetensors) under
/// `CheckpointLimits.fuzzing`: decoded, the state dict unwrapped, every tensor converted.
/// Zip inputs run as given and with their CRC-32 fields zeroed (not recorded), so that
/// mutated pickles and storages get past the CRC check.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPyTorch(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = FuzzInput.bytes(data, size)
    for input in [bytes, ChecksumRepair.zip(bytes)].compactMap({ $0 }) {
        FuzzInput.expectReadable { try PyTorchCheckpoint.readAll(bytes: Data(input), limits: .fuzzing) }
    }
    return 0
}

runLibFuzzer(fuzzPyTorch)
