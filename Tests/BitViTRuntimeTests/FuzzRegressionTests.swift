import BitViTCore
import BitViTRuntime
import Foundation
import Testing

/// Inputs on which the `model-file` and `engine` fuzz targets (Fuzz/, docs/reliability.md)
/// once crashed, with their checksums resealed as the targets reseal them: each must now be
/// rejected with a readable error, not a trap. `Fixtures/fuzz/README.md` lists them.
@Suite("Fuzzer-found .bitvit inputs")
struct ModelFileFuzzRegressionTests {
    static func fixture(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: Bundle.module.resourceURL!.appendingPathComponent("Fixtures/fuzz/\(name)")))
    }

    @Test("Rejected with a readable reason", arguments: [
        // Eight dimensions of up to 2³²−1 each: the element count overflowed Int before it
        // was compared with the limit.
        ("shape-product-overflow", "absurd shape"),
    ])
    func rejected(_ testCase: (file: String, reason: String)) throws {
        let bytes = try Self.fixture(testCase.file)
        #expect {
            _ = try ModelFile(bytes: bytes, path: testCase.file)
        } throws: { error in
            guard case let BitViTError.malformed(file, reason) = error else { return false }
            return file == testCase.file && reason.contains(testCase.reason)
        }
    }
}
