import BitViTC
import BitViTRuntime
import CBitViTAPI
import Foundation
import Testing

/// The functions of bitvit.h called in-process through the header's declarations (the same
/// symbols libBitViTC exports): results match `Classifier`, every misuse is a status and a
/// message, never a crash.
@Suite("C API")
struct CAPITests {
    static func load() throws -> OpaquePointer {
        var model: OpaquePointer?
        try #require(bitvit_model_load(APIFixtures.model, &model) == BITVIT_OK, "\(String(cString: bitvit_last_error()))")
        return try #require(model)
    }

    static var lastError: String { String(cString: bitvit_last_error()) }

    @Test("Shapes, class names, family and normalization are the file's")
    func queries() throws {
        let model = try Self.load()
        defer { bitvit_model_free(model) }
        let classifier = try Classifier(contentsOf: URL(fileURLWithPath: APIFixtures.model))
        #expect(bitvit_model_channels(model) == 1 && bitvit_model_image_size(model) == 28 && bitvit_model_classes(model) == 10)
        #expect((0..<10).map { String(cString: bitvit_model_class_name(model, $0)) } == APIFixtures.classNames)
        #expect(bitvit_model_class_name(model, 10) == nil)
        #expect(String(cString: bitvit_model_family(model)) == "gsb")
        var mean: Float = 0, std: Float = 0
        #expect(bitvit_model_normalization(model, &mean, &std) == BITVIT_OK)
        #expect([mean] == classifier.preprocessing.mean && [std] == classifier.preprocessing.std)
        // BITVIT_API_VERSION itself is an expression macro, which Swift does not import.
        #expect(bitvit_api_version() == UInt32(BITVIT_API_VERSION_MAJOR * 1000 + BITVIT_API_VERSION_MINOR))
        #expect(BITVIT_API_VERSION_MAJOR == 1 && BITVIT_API_VERSION_MINOR == 0)
        #expect(String(cString: bitvit_status_string(BITVIT_ERROR_INVALID_MODEL)) == "invalid model")
        #expect(String(cString: bitvit_status_string(bitvit_status(rawValue: 99))) == "unknown status")
        // NULL models answer 0 / NULL.
        #expect(bitvit_model_channels(nil) == 0 && bitvit_model_classes(nil) == 0 && bitvit_model_class_name(nil, 0) == nil)
        bitvit_model_free(nil)
    }

    @Test("Logits from a file and from memory, on any thread count, equal the classifier's")
    func logits() throws {
        let expected = try Classifier(contentsOf: URL(fileURLWithPath: APIFixtures.model)).logits(APIFixtures.batch.values)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: APIFixtures.model)))
        var fromMemory: OpaquePointer?
        try #require(bytes.withUnsafeBytes { bitvit_model_load_memory($0.baseAddress, $0.count, &fromMemory) } == BITVIT_OK)
        let model = try Self.load()
        defer { bitvit_model_free(model); bitvit_model_free(fromMemory) }
        for (handle, threads) in [(model, 0), (model, 1), (fromMemory!, 2)] {
            #expect(bitvit_model_set_threads(handle, Int32(threads)) == BITVIT_OK)
            var logits = [Float](repeating: .nan, count: 21)
            #expect(bitvit_model_logits(handle, APIFixtures.batch.values, 2, &logits, logits.count) == BITVIT_OK)
            // Kernels split their sums by thread count: equal up to the last bits.
            let scale = expected.map(abs).max() ?? 1
            #expect(zip(logits[..<20], expected).allSatisfy { abs($0 - $1) <= 1e-5 * scale } && logits[20].isNaN, "threads \(threads)")
        }
    }

    @Test("Misuse returns a status and a message naming the problem")
    func errors() throws {
        var model: OpaquePointer? = OpaquePointer(bitPattern: 1)
        let missing = APIFixtures.directory.appendingPathComponent("missing.bitvit").path
        #expect(bitvit_model_load(missing, &model) == BITVIT_ERROR_IO && model == nil)
        #expect(Self.lastError.contains("missing.bitvit"), "\(Self.lastError)")
        #expect(bitvit_model_load(nil, &model) == BITVIT_ERROR_INVALID_ARGUMENT && Self.lastError.contains("NULL"))
        #expect(bitvit_model_load(APIFixtures.images[0], &model) == BITVIT_ERROR_INVALID_MODEL && model == nil)
        #expect(Self.lastError.contains("rgb.png"), "\(Self.lastError)")

        // Damaged bytes: a truncated file.
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: APIFixtures.model)))
        #expect(bytes.withUnsafeBytes { bitvit_model_load_memory($0.baseAddress, $0.count / 2, &model) } == BITVIT_ERROR_INVALID_MODEL)
        #expect(Self.lastError.contains("<memory>") && model == nil, "\(Self.lastError)")
        #expect(bitvit_model_load_memory(nil, 0, &model) == BITVIT_ERROR_INVALID_MODEL)
        #expect(bitvit_model_load_memory(nil, 10, &model) == BITVIT_ERROR_INVALID_ARGUMENT)

        let loaded = try Self.load()
        defer { bitvit_model_free(loaded) }
        var logits = [Float](repeating: 0, count: 20)
        #expect(bitvit_model_logits(loaded, APIFixtures.batch.values, 0, &logits, 20) == BITVIT_ERROR_INVALID_ARGUMENT)
        #expect(Self.lastError.contains("batch is 0"), "\(Self.lastError)")
        #expect(bitvit_model_logits(loaded, APIFixtures.batch.values, 2, &logits, 19) == BITVIT_ERROR_INVALID_ARGUMENT)
        #expect(Self.lastError.contains("logits holds 19 floats, 2 images need 20"), "\(Self.lastError)")
        #expect(bitvit_model_logits(loaded, APIFixtures.batch.values, Int.max / 2, &logits, 20) == BITVIT_ERROR_INVALID_ARGUMENT)
        #expect(bitvit_model_logits(loaded, nil, 1, &logits, 20) == BITVIT_ERROR_INVALID_ARGUMENT)
        #expect(bitvit_model_logits(nil, APIFixtures.batch.values, 1, &logits, 20) == BITVIT_ERROR_INVALID_ARGUMENT)
        #expect(bitvit_model_set_threads(loaded, -1) == BITVIT_ERROR_INVALID_ARGUMENT && Self.lastError.contains("threads is -1"))
        #expect(bitvit_model_set_threads(loaded, 1025) == BITVIT_ERROR_INVALID_ARGUMENT)
        #expect(bitvit_model_normalization(loaded, nil, nil) == BITVIT_ERROR_INVALID_ARGUMENT)
    }

    @Test("Error messages are per thread")
    func messagesArePerThread() throws {
        var model: OpaquePointer?
        #expect(bitvit_model_load(nil, &model) == BITVIT_ERROR_INVALID_ARGUMENT)
        let mine = Self.lastError
        let done = DispatchSemaphore(value: 0)
        let other = Thread {
            var m: OpaquePointer?
            _ = bitvit_model_load_memory(nil, 10, &m)
            done.signal()
        }
        other.start()
        done.wait()
        #expect(Self.lastError == mine && mine.contains("bitvit_model_load:"))
    }
}
