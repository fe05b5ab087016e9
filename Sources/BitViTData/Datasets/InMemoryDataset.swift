import BitViTCore

/// A data set whose images, all of one size, are held decoded in memory (IDX and CIFAR files).
///
/// Images are stored back to back in HWC order. Immutable after creation, so safe to share
/// across threads.
public final class InMemoryDataset: ImageDataset {
    /// Rows of every image.
    public let height: Int
    /// Columns of every image.
    public let width: Int
    /// Channels of every image (1 or 3).
    public let channels: Int
    public let classNames: [String]
    /// `count · height · width · channels` samples; image `i` starts at `i · height · width · channels`.
    public let pixels: [UInt8]
    private let storedLabels: [Int32]

    /// Creates a data set from packed HWC images and their labels.
    ///
    /// Throws `BitViTError.invalidArgument` when the pixel count does not match
    /// `labels.count` images or a label is outside `0..<classNames.count`.
    public init(height: Int, width: Int, channels: Int, pixels: [UInt8], labels: [Int],
                classNames: [String]) throws {
        guard height > 0, width > 0, channels > 0 else {
            throw BitViTError.invalidArgument("image size \(height)×\(width)×\(channels) must be positive")
        }
        guard pixels.count == labels.count * height * width * channels else {
            throw BitViTError.invalidArgument(
                "\(pixels.count) pixel samples do not make \(labels.count) images of \(height)×\(width)×\(channels)")
        }
        if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= classNames.count }) {
            throw BitViTError.invalidArgument(
                "label \(labels[bad]) of sample \(bad) is outside 0..<\(classNames.count)")
        }
        self.height = height
        self.width = width
        self.channels = channels
        self.pixels = pixels
        self.storedLabels = labels.map(Int32.init)
        self.classNames = classNames
    }

    public var count: Int { storedLabels.count }

    public func label(at index: Int) -> Int { Int(storedLabels[index]) }

    public func image(at index: Int) -> Image {
        precondition(index >= 0 && index < count, "index \(index) outside 0..<\(count)")
        let size = height * width * channels
        return Image(height: height, width: width, channels: channels,
                     pixels: Array(pixels[(index * size)..<((index + 1) * size)]))
    }
}
