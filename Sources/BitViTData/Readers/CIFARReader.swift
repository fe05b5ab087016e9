import BitViTCore
import Foundation

/// Reader for the binary releases of CIFAR-10 and CIFAR-100 (the `*-bin` archives).
///
/// A record is the label byte(s) followed by 3072 pixel bytes: the 1024 red values of the 32×32
/// image row by row, then the 1024 green, then the 1024 blue. CIFAR-10 records carry one label
/// byte (files `data_batch_1.bin` … `data_batch_5.bin`, `test_batch.bin`); CIFAR-100 records
/// carry a coarse then a fine label byte (files `train.bin`, `test.bin`). Images come out HWC.
public enum CIFARReader {
    /// Which CIFAR-100 label to use.
    public enum CIFAR100Labels: Sendable {
        /// The 100 fine classes (the usual benchmark).
        case fine
        /// The 20 superclasses.
        case coarse
    }

    /// Reads CIFAR-10 from the directory holding the `.bin` batches (`cifar-10-batches-bin/`).
    /// Class names come from `batches.meta.txt` when present, else the standard ten.
    public static func cifar10(directory: URL, split: DatasetSplit) throws -> InMemoryDataset {
        let names = split == .train ? (1...5).map { "data_batch_\($0).bin" } : ["test_batch.bin"]
        let classNames = try namesFile(directory.appendingPathComponent("batches.meta.txt"), expected: 10)
            ?? StandardClassNames.cifar10
        return try read(files: names.map { directory.appendingPathComponent($0) },
                        labelBytes: 1, labelOffset: 0, classNames: classNames)
    }

    /// Reads CIFAR-100 from the directory holding `train.bin` and `test.bin`
    /// (`cifar-100-binary/`). Class names come from `fine_label_names.txt` /
    /// `coarse_label_names.txt` when present, else the standard names.
    public static func cifar100(directory: URL, split: DatasetSplit,
                                labels: CIFAR100Labels = .fine) throws -> InMemoryDataset {
        let file = directory.appendingPathComponent(split == .train ? "train.bin" : "test.bin")
        let (namesName, fallback, offset) = labels == .fine
            ? ("fine_label_names.txt", StandardClassNames.cifar100Fine, 1)
            : ("coarse_label_names.txt", StandardClassNames.cifar100Coarse, 0)
        let classNames = try namesFile(directory.appendingPathComponent(namesName), expected: fallback.count)
            ?? fallback
        return try read(files: [file], labelBytes: 2, labelOffset: offset, classNames: classNames)
    }

    /// The most records one file may hold (the released files hold 10,000 or 50,000), checked
    /// against the file size before anything is read.
    public static let maxRecordsPerFile = 100_000

    /// Reads and concatenates record files with `labelBytes` label bytes per record, taking the
    /// label at `labelOffset`. Throws naming the file when it is missing, larger than
    /// `maxRecordsPerFile` records, not a whole number of records, or holds a label outside
    /// `0..<classNames.count`.
    public static func read(files: [URL], labelBytes: Int, labelOffset: Int,
                            classNames: [String]) throws -> InMemoryDataset {
        let recordSize = labelBytes + 3072
        var pixels: [UInt8] = []
        var labels: [Int] = []
        for url in files {
            let bytes = try FileInput.read(url, limit: maxRecordsPerFile * recordSize, what: "CIFAR batch")
            let (filePixels, fileLabels) = try decodeRecords([UInt8](bytes), file: url.path, labelBytes: labelBytes,
                                                             labelOffset: labelOffset, classes: classNames.count)
            pixels += filePixels
            labels += fileLabels
        }
        return try InMemoryDataset(height: 32, width: 32, channels: 3, pixels: pixels, labels: labels,
                                   classNames: classNames)
    }

    /// Decodes the records of one file: HWC pixels (3072 bytes per image) and labels. Throws
    /// naming `file` when the bytes are not a whole, nonzero number of records (at most
    /// `maxRecordsPerFile`) or a label is not below `classes`.
    public static func decodeRecords(_ bytes: [UInt8], file: String, labelBytes: Int, labelOffset: Int,
                                     classes: Int) throws -> (pixels: [UInt8], labels: [Int]) {
        let recordSize = labelBytes + 3072
        guard !bytes.isEmpty, bytes.count % recordSize == 0, bytes.count / recordSize <= maxRecordsPerFile else {
            throw BitViTError.malformed(
                file: file,
                reason: "\(bytes.count) bytes is not a whole, nonzero number of \(recordSize)-byte records (at most \(maxRecordsPerFile); truncated?)")
        }
        let records = bytes.count / recordSize
        var pixels = [UInt8](repeating: 0, count: records * 3072)
        var labels = [Int](repeating: 0, count: records)
        bytes.withUnsafeBufferPointer { source in
            for r in 0..<records {
                let record = source.baseAddress! + r * recordSize
                labels[r] = Int(record[labelOffset])
                let planes = record + labelBytes, out = r * 3072
                for p in 0..<1024 {
                    pixels[out + 3 * p] = planes[p]; pixels[out + 3 * p + 1] = planes[1024 + p]; pixels[out + 3 * p + 2] = planes[2048 + p]
                }
            }
        }
        if let bad = labels.firstIndex(where: { $0 >= classes }) {
            throw BitViTError.malformed(file: file, reason: "label \(labels[bad]) of record \(bad) is outside 0..<\(classes)")
        }
        return (pixels, labels)
    }

    /// Class names from a text file with one name per line (blank lines ignored), or nil when the
    /// file does not exist.
    private static func namesFile(_ url: URL, expected: Int) throws -> [String]? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let text = try FileInput.readText(url, limit: 1 << 20, what: "class names file")
        let names = text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        guard names.count == expected else {
            throw BitViTError.malformed(file: url.path, reason: "\(names.count) class names, expected \(expected)")
        }
        return names
    }
}
