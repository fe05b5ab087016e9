import BitViTData
import FuzzSupport

/// CIFAR binary batches: the first byte picks the layout (even: CIFAR-10, one label byte of
/// 10 classes; odd: CIFAR-100, coarse and fine label bytes, 100 fine classes), the rest is the
/// file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCIFAR(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = FuzzInput.bytes(data, size)
    guard let layout = bytes.first else { return 0 }
    let file = Array(bytes.dropFirst())
    FuzzInput.expectReadable {
        if layout % 2 == 0 {
            _ = try CIFARReader.decodeRecords(file, file: "input", labelBytes: 1, labelOffset: 0, classes: 10)
        } else {
            _ = try CIFARReader.decodeRecords(file, file: "input", labelBytes: 2, labelOffset: 1, classes: 100)
        }
    }
    return 0
}

runLibFuzzer(fuzzCIFAR)
