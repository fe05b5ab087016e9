import BitViTCore
import Foundation

/// A data set laid out as `root/<class>/<image>` (torchvision's `ImageFolder`), decoded on demand.
///
/// Classes are the non-hidden subfolders of `root`, sorted by name (byte order); label `i` is
/// the `i`-th. Samples are the files whose extension is one of `extensions` (case-insensitive),
/// searched recursively inside each class folder and ordered by folder then file name. Files are
/// decoded with libjpeg-turbo or libpng when asked for (the format comes from the file's
/// signature) and converted to `channels`. With `cachesDecodedImages`, each image is decoded
/// once and kept in memory.
public final class ImageFolderDataset: ImageDataset {
    /// The folder holding one subfolder per class.
    public let root: URL
    public let classNames: [String]
    /// The image file of every sample, in index order.
    public let files: [URL]
    /// Channels of the decoded images (1 or 3).
    public let channels: Int
    private let storedLabels: [Int32]
    private let cache: DecodedImageCache?

    /// The default image extensions.
    public static let defaultExtensions: Set<String> = ["jpg", "jpeg", "png"]

    /// Scans `root`. Throws `BitViTError.missing` when it does not exist, and
    /// `BitViTError.malformed` naming the folder when it holds no class folder or a class folder
    /// holds no image file.
    public init(root: URL, channels: Int = 3, cachesDecodedImages: Bool = false,
                extensions: Set<String> = defaultExtensions) throws {
        guard channels == 1 || channels == 3 else {
            throw BitViTError.invalidArgument("image folders decode to 1 or 3 channels, not \(channels)")
        }
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: root.path, isDirectory: &isDirectory) else {
            throw BitViTError.missing("\(root.path) (image folder root)")
        }
        guard isDirectory.boolValue else {
            throw BitViTError.malformed(file: root.path, reason: "expected a folder with one subfolder per class")
        }
        let classNames = try Self.entries(of: root)
            .filter { !$0.hasPrefix(".") && Self.isDirectory(root.appendingPathComponent($0)) }
            .sorted(by: Self.byteOrder)
        guard !classNames.isEmpty else {
            throw BitViTError.malformed(file: root.path, reason: "no class folders (expected root/<class>/<image>)")
        }
        let lowercasedExtensions = Set(extensions.map { $0.lowercased() })
        var files: [URL] = []
        var labels: [Int32] = []
        for (label, name) in classNames.enumerated() {
            let classFolder = root.appendingPathComponent(name)
            let found = try Self.imageFiles(in: classFolder, extensions: lowercasedExtensions)
            guard !found.isEmpty else {
                let list = lowercasedExtensions.sorted().map { "." + $0 }.joined(separator: "/")
                throw BitViTError.malformed(file: classFolder.path, reason: "class folder holds no \(list) files")
            }
            files += found
            labels += repeatElement(Int32(label), count: found.count)
        }
        self.root = root
        self.classNames = classNames
        self.files = files
        self.storedLabels = labels
        self.channels = channels
        self.cache = cachesDecodedImages ? DecodedImageCache(count: files.count) : nil
    }

    public var count: Int { files.count }

    public func label(at index: Int) -> Int { Int(storedLabels[index]) }

    /// Decodes (or returns the cached) image of sample `index`; errors name the file.
    public func image(at index: Int) throws -> Image {
        if let cached = cache?[index] { return cached }
        let image = try Image(contentsOf: files[index], channels: channels)
        cache?[index] = image
        return image
    }

    // MARK: Scanning

    private static func entries(of folder: URL) throws -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: folder.path)
        } catch {
            throw BitViTError.io("\(folder.path): cannot list the folder (\(ReadableError.reason(error)))")
        }
    }

    private static func isDirectory(_ url: URL) -> Bool {
        var flag: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &flag) && flag.boolValue
    }

    /// Image files under `folder`, its own files first (sorted), then each subfolder's in turn,
    /// the order of a sorted `os.walk`.
    private static func imageFiles(in folder: URL, extensions: Set<String>) throws -> [URL] {
        var images: [String] = []
        var subfolders: [String] = []
        for name in try entries(of: folder) where !name.hasPrefix(".") {
            let url = folder.appendingPathComponent(name)
            // Names with an image extension are taken as files without a stat: scanning 50,000
            // images is then one directory listing per class.
            if extensions.contains(url.pathExtension.lowercased()) {
                images.append(name)
            } else if isDirectory(url) {
                subfolders.append(name)
            }
        }
        var result = images.sorted(by: byteOrder).map { folder.appendingPathComponent($0) }
        for name in subfolders.sorted(by: byteOrder) {
            result += try imageFiles(in: folder.appendingPathComponent(name), extensions: extensions)
        }
        return result
    }

    private static func byteOrder(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}

/// A thread-safe table of decoded images, filled on first use.
final class DecodedImageCache: @unchecked Sendable {
    private var images: [Image?]
    private let lock = NSLock()

    init(count: Int) { images = Array(repeating: nil, count: count) }

    subscript(index: Int) -> Image? {
        get { lock.withLock { images[index] } }
        set { lock.withLock { images[index] = newValue } }
    }
}
