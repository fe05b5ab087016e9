import BitViTData
import FuzzSupport

/// IDX files (MNIST, Fashion-MNIST), raw or gzip-compressed, read as image and as label files.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIDX(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = FuzzInput.bytes(data, size)
    FuzzInput.expectReadable { _ = try IDXReader.decodeImages(bytes, file: "input") }
    FuzzInput.expectReadable { _ = try IDXReader.decodeLabels(bytes, file: "input") }
    return 0
}

runLibFuzzer(fuzzIDX)
