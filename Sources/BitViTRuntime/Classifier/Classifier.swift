import BitViTPlatform
import Foundation

/// A `.bitvit` model, loaded and ready to classify images.
///
/// A classifier takes images that are already preprocessed: `Float` values in
/// `[batch, channels, height, width]` order (row-major, batch first), resized and normalized as
/// ``preprocessing`` describes. To classify image files instead, import `BitViTRuntimeImages`,
/// which adds `classify(imageAt:)` and does the preprocessing the file stores.
///
/// ```swift
/// let classifier = try Classifier(contentsOf: URL(fileURLWithPath: "model.bitvit"))
/// let results = try classifier.classify(images)   // images.count == n · classifier.valuesPerImage
/// for prediction in results[0].topK(3) {
///     print(prediction.name, prediction.probability)
/// }
/// ```
///
/// A classifier may be shared between threads: calls on one classifier run one at a time, each
/// on ``threads`` threads. For concurrent classification, load one classifier per caller.
public final class Classifier: @unchecked Sendable {
    /// Which kernels run the model.
    public enum Kernels: String, Sendable, CaseIterable {
        /// The bit-packed binary, multi-plane and int8 kernels the file's storage was made for.
        case bitPacked = "bit-packed"
        /// Float GEMMs on the dequantized weights: the same function, slower; a reference.
        case float
    }

    /// The loaded and validated file.
    public let file: ModelFile
    public let kernels: Kernels
    private let engine: InferenceEngine
    private let lock = NSLock()
    private var threadCount: Int?

    /// Loads (memory-maps and validates) the `.bitvit` file at `url`.
    ///
    /// - Parameters:
    ///   - url: the `.bitvit` file.
    ///   - kernels: the kernels to run on.
    ///   - threads: see ``threads``.
    /// - Throws: `BitViTError.io` when the file cannot be read, `BitViTError.malformed` naming
    ///   the file and the problem when it is not a valid `.bitvit` file.
    public convenience init(contentsOf url: URL, kernels: Kernels = .bitPacked, threads: Int? = nil) throws {
        try self.init(ModelFile(contentsOf: url), kernels: kernels, threads: threads)
    }

    /// Loads a `.bitvit` file from memory (the bytes are copied; `name` names them in errors).
    public convenience init(bytes: some Collection<UInt8>, name: String = "<memory>", kernels: Kernels = .bitPacked,
                            threads: Int? = nil) throws {
        let file = try bytes.withContiguousStorageIfAvailable { try ModelFile(copying: UnsafeRawBufferPointer($0), path: name) }
            ?? ModelFile(bytes: Array(bytes), path: name)
        try self.init(file, kernels: kernels, threads: threads)
    }

    /// Prepares `file` to run (packs its weights for the kernels).
    public init(_ file: ModelFile, kernels: Kernels = .bitPacked, threads: Int? = nil) throws {
        self.file = file
        self.kernels = kernels
        engine = try InferenceEngine(file, floatKernels: kernels == .float)
        threadCount = threads.map(Self.clampedThreads)
    }

    /// The file's metadata: family, architecture, preprocessing, class names, source.
    public var metadata: ModelFileMetadata { file.metadata }

    /// Class names in label order (``classCount`` entries).
    public var classNames: [String] { file.metadata.classNames }

    /// Number of classes (logits per image).
    public var classCount: Int { engine.classes }

    /// `[channels, height, width]` of one preprocessed image.
    public var inputShape: [Int] { engine.inputShape }

    /// Floats per preprocessed image: `channels · height · width`.
    public var valuesPerImage: Int { engine.inputShape.reduce(1, *) }

    /// What turns an image into the model's input: resize (bicubic) to `imageSize`×`imageSize`,
    /// scale 8-bit values to [0, 1], then `(x − mean[c]) / std[c]` per channel.
    public var preprocessing: Preprocessing { file.metadata.preprocessing }

    /// The number of threads a call runs on, the calling thread included; nil (the default)
    /// uses the process-wide `Parallel.threadCount` (all cores, or `BITVIT_NUM_THREADS`).
    /// Values are clamped to 1…1024. Other classifiers and other threads are not affected.
    public var threads: Int? {
        get { lock.withLock { threadCount } }
        set { lock.withLock { threadCount = newValue.map(Self.clampedThreads) } }
    }

    private static func clampedThreads(_ count: Int) -> Int { min(max(count, 1), 1024) }

    /// The logits of a batch of preprocessed images, `[batch, classCount]` row-major.
    ///
    /// - Parameter images: `[batch, channels, height, width]` floats (``inputShape`` per image),
    ///   batch ≥ 1.
    /// - Throws: `BitViTError.invalidArgument` when `images` is empty or not a whole number of
    ///   images.
    ///
    /// GSB models compute their attention masks over the whole batch, as in training, so an
    /// image's logits depend on the other images of its batch; every other family classifies
    /// each image on its own.
    public func logits(_ images: UnsafeBufferPointer<Float>) throws -> [Float] {
        let batch = try batchSize(of: images.count)
        return lock.withLock {
            let run = { self.engine.logits(images.baseAddress!, batch: batch) }
            return threadCount.map { Parallel.withThreadCount($0, run) } ?? run()
        }
    }

    /// The logits of a batch of preprocessed images, `[batch, classCount]` row-major; see the
    /// buffer pointer variant.
    public func logits(_ images: [Float]) throws -> [Float] {
        try images.withUnsafeBufferPointer { try logits($0) }
    }

    /// Classifies a batch of preprocessed images, `[batch, channels, height, width]` floats.
    /// Returns one ``Classification`` per image, in batch order.
    public func classify(_ images: [Float]) throws -> [Classification] {
        let all = try logits(images), k = classCount, names = classNames
        return (0..<all.count / k).map { Classification(logits: Array(all[$0 * k ..< ($0 + 1) * k]), classNames: names) }
    }

    /// The images in `count` floats, or an error that says what was expected.
    private func batchSize(of count: Int) throws -> Int {
        let perImage = valuesPerImage
        guard count > 0, count % perImage == 0 else {
            throw BitViTError.invalidArgument("images: \(count) floats are not a whole, non-zero number of "
                + "\(inputShape.map(String.init).joined(separator: "×")) images (\(perImage) floats each)")
        }
        return count / perImage
    }
}
