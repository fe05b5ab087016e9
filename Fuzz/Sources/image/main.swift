import BitViTImage
import FuzzSupport

/// JPEG and PNG decoding (format from the signature), then conversion to 1 and 3 channels.
/// PNG inputs run as given and with their chunk CRCs repaired.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImage(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = FuzzInput.bytes(data, size)
    for input in [bytes, ChecksumRepair.png(bytes)].compactMap({ $0 }) {
        guard let image = FuzzInput.expectReadable({ try Image(encoded: input, file: "input") }) else { continue }
        _ = image.converted(toChannels: 1)
        _ = image.converted(toChannels: 3)
    }
    return 0
}

runLibFuzzer(fuzzImage)
