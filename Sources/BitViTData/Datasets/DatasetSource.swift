import BitViTCore
import Foundation

/// Where a data set lives and in which layout: one value a configuration file can name, loading
/// either split.
public enum DatasetSource: Equatable, Sendable {
    /// Fashion-MNIST IDX files (default: Debian's `dataset-fashion-mnist` location).
    case fashionMNIST(directory: URL = FashionMNIST.defaultDirectory)
    /// MNIST IDX files.
    case mnist(directory: URL)
    /// The CIFAR-10 binary release folder (`cifar-10-batches-bin`).
    case cifar10Binary(directory: URL)
    /// The CIFAR-100 binary release folder (`cifar-100-binary`).
    case cifar100Binary(directory: URL, labels: CIFARReader.CIFAR100Labels = .fine)
    /// Image folders per split: `root/train/<class>/…` and `root/test/<class>/…` (or `root/val/…`
    /// for the test split when there is no `test`), e.g. `../shared/datasets/cifar10-jpeg`.
    case imageFolders(root: URL, channels: Int = 3, cachesDecodedImages: Bool = false)

    /// Loads `split`. In-memory formats are read at once; image folders are scanned and decode
    /// on demand.
    public func load(split: DatasetSplit) throws -> any ImageDataset {
        switch self {
        case .fashionMNIST(let directory):
            return try FashionMNIST.load(split: split, directory: directory)
        case .mnist(let directory):
            return try MNIST.load(split: split, directory: directory)
        case .cifar10Binary(let directory):
            return try CIFARReader.cifar10(directory: directory, split: split)
        case .cifar100Binary(let directory, let labels):
            return try CIFARReader.cifar100(directory: directory, split: split, labels: labels)
        case .imageFolders(let root, let channels, let caches):
            var folder = root.appendingPathComponent(split.rawValue)
            let validation = root.appendingPathComponent("val")
            if split == .test && !FileManager.default.fileExists(atPath: folder.path)
                && FileManager.default.fileExists(atPath: validation.path) {
                folder = validation
            }
            return try ImageFolderDataset(root: folder, channels: channels, cachesDecodedImages: caches)
        }
    }

    /// The data set's own validation split, when it has one besides its test split: the
    /// `root/val` folder of image folders that also have `root/test`. nil for every other layout
    /// (their `val` folder, if any, serves as the test split).
    public func loadValidationSplit() throws -> (any ImageDataset)? {
        guard case .imageFolders(let root, let channels, let caches) = self else { return nil }
        let fm = FileManager.default
        let validation = root.appendingPathComponent("val"), test = root.appendingPathComponent("test")
        guard fm.fileExists(atPath: validation.path), fm.fileExists(atPath: test.path) else { return nil }
        return try ImageFolderDataset(root: validation, channels: channels, cachesDecodedImages: caches)
    }
}
