import BitViTCore
import Foundation
import FuzzSupport

/// Safetensors files (checkpoints, weights): header, entries and every tensor converted to
/// float32.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = Data(FuzzInput.bytes(data, size))
    FuzzInput.expectReadable { _ = try Safetensors.decode(bytes, name: "input") }
    return 0
}

runLibFuzzer(fuzzSafetensors)
