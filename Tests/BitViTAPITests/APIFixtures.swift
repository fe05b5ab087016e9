import BitViTRuntimeImages
import BitViTTools
import Foundation

/// What the API tests share: a small exported GSB model (28×28×1, named classes), two image
/// files that need converting and resizing, and running the example programs.
enum APIFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static let directory: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bitvit-api-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    static let classNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    /// An untrained GSB model on Fashion-MNIST geometry, exported (GSB: batch-dependent logits).
    static let model: String = {
        let path = directory.appendingPathComponent("gsb.bitvit").path
        _ = try! CheckpointExport.exportUntrained(modelName: "gsb-vit-mnist", classes: 10, classNames: classNames, to: path)
        return path
    }()

    /// A 40×32 RGB PNG and a 28×28 gray JPEG (converted to the model's 1 channel, resized).
    static let images: [String] = {
        let rgb = Image(height: 40, width: 32, channels: 3,
                        pixels: (0..<40 * 32 * 3).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ ($0 / 96) &* 11) })
        let gray = Image(height: 28, width: 28, channels: 1, pixels: (0..<28 * 28).map { UInt8(($0 % 28) * 9) })
        let png = directory.appendingPathComponent("rgb.png"), jpeg = directory.appendingPathComponent("gray.jpg")
        try! Data(try! rgb.pngData()).write(to: png)
        try! Data(try! gray.jpegData(quality: 95)).write(to: jpeg)
        return [png.path, jpeg.path]
    }()

    /// The images preprocessed as the model says, in one `[2, 1, 28, 28]` batch, also written
    /// as raw float32 (native byte order) for the C and Python examples.
    static let batch: (values: [Float], file: String) = {
        let preprocessing = try! Classifier(contentsOf: URL(fileURLWithPath: model)).preprocessing
        let values = images.flatMap { try! preprocessing.input(forImageAt: URL(fileURLWithPath: $0)) }
        let file = directory.appendingPathComponent("batch.f32")
        try! values.withUnsafeBytes { Data($0) }.write(to: file)
        return (values, file.path)
    }()

    /// The directory of the built products (libBitViTC): the test bundle's.
    static func productsDirectory() throws -> URL {
        var candidates = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        if let main = Bundle.main.executableURL { candidates.append(main.deletingLastPathComponent()) }
        candidates += candidates.map { $0.deletingLastPathComponent() }
        for directory in candidates where FileManager.default.fileExists(atPath: directory.appendingPathComponent(libraryName).path) {
            return directory
        }
        throw BitViTError.missing("the built \(libraryName) beside the tests (swift build --build-tests builds it)")
    }

    #if os(macOS)
    static let libraryName = "libBitViTC.dylib"
    #else
    static let libraryName = "libBitViTC.so"
    #endif

    struct Outcome {
        var status: Int32
        var output: String
        var errors: String
    }

    /// Runs `executable` with `arguments` to completion, capturing its output.
    static func run(_ executable: String, _ arguments: [String]) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = directory.appendingPathComponent("out-\(UUID().uuidString)"), errors = directory.appendingPathComponent("err-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = try FileHandle(forWritingTo: errors)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, output: try String(contentsOf: output, encoding: .utf8),
                       errors: try String(contentsOf: errors, encoding: .utf8))
    }

    /// The first of `names` found on PATH.
    static func tool(_ names: String...) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for name in names {
            for directory in path.split(separator: ":") {
                let candidate = "\(directory)/\(name)"
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
        }
        return nil
    }

    /// The `logits <i>: v v v …` lines of an example's output, one row per image.
    static func logitRows(_ output: String) -> [[Float]] {
        output.split(separator: "\n").filter { $0.hasPrefix("logits ") }.map { line in
            line.split(separator: ":", maxSplits: 1)[1].split(separator: " ").map { Double($0).map(Float.init) ?? .nan }
        }
    }
}
