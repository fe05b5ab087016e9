import BitViTImage
import BitViTRuntime
import Foundation

extension Preprocessing {
    /// The model input for `image`: `[channels, imageSize, imageSize]` floats (CHW). The image
    /// is converted to the model's channels (as PIL's `convert` does), resized with bicubic
    /// interpolation when its size differs (non-square images are stretched), scaled to [0, 1]
    /// and normalized per channel.
    public func input(for image: Image) throws -> [Float] {
        guard [1, 3].contains(channels) else {
            throw BitViTError.invalidArgument("the model takes \(channels)-channel images; image files decode to 1 or 3 channels")
        }
        guard image.height > 0, image.width > 0 else {
            throw BitViTError.invalidArgument("the image is empty (\(image.height)×\(image.width) pixels)")
        }
        var picture = image.converted(toChannels: channels)
        if picture.height != imageSize || picture.width != imageSize {
            picture = picture.resized(height: imageSize, width: imageSize, interpolation: .bicubic)
        }
        var input = [Float](repeating: 0, count: picture.pixels.count)
        try input.withUnsafeMutableBufferPointer { try Normalization(mean: mean, std: std).write(picture, into: $0) }
        return input
    }

    /// The model input for the JPEG or PNG file at `url`; see `input(for:)`.
    ///
    /// - Throws: `BitViTError.io` when the file cannot be read, `BitViTError.malformed` naming the
    ///   file when it is not a JPEG or PNG image or is damaged.
    public func input(forImageAt url: URL) throws -> [Float] {
        try input(for: Image(contentsOf: url, channels: channels))
    }
}

extension Classifier {
    /// Classifies the JPEG or PNG file at `url`, preprocessed as the model file says.
    public func classify(imageAt url: URL) throws -> Classification {
        try classify(preprocessing.input(forImageAt: url))[0]
    }

    /// Classifies the image files at `urls` as one batch (one classification per file, in
    /// order). GSB models see the batch together; see `logits(_:)`.
    public func classify(imagesAt urls: [URL]) throws -> [Classification] {
        guard !urls.isEmpty else { throw BitViTError.invalidArgument("no image files to classify") }
        return try classify(urls.flatMap { try preprocessing.input(forImageAt: $0) })
    }

    /// Classifies a decoded image, preprocessed as the model file says.
    public func classify(_ image: Image) throws -> Classification {
        try classify(preprocessing.input(for: image))[0]
    }
}
