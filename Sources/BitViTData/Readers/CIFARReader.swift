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

    /// Reads and concatenates record files with `labelBytes` label bytes per record, taking the
    /// label at `labelOffset`. Throws naming the file when it is missing, not a whole number of
    /// records, or holds a label outside `0..<classNames.count`.
    public static func read(files: [URL], labelBytes: Int, labelOffset: Int,
                            classNames: [String]) throws -> InMemoryDataset {
        let recordSize = labelBytes + 3072
        var pixels: [UInt8] = []
        var labels: [Int] = []
        for url in files {
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw BitViTError.missing("\(url.path) (CIFAR batch file)")
            }
            let bytes: [UInt8]
            do { bytes = [UInt8](try Data(contentsOf: url)) } catch {
                throw BitViTError.io("\(url.path): cannot read the file (\(error.localizedDescription))")
            }
            guard !bytes.isEmpty, bytes.count % recordSize == 0 else {
                throw BitViTError.malformed(
                    file: url.path,
                    reason: "\(bytes.count) bytes is not a whole, nonzero number of \(recordSize)-byte records (truncated?)")
            }
            let records = bytes.count / recordSize
            pixels.reserveCapacity(pixels.count + records * 3072)
            bytes.withUnsafeBufferPointer { source in
                for r in 0..<records {
                    let record = source.baseAddress! + r * recordSize
                    labels.append(Int(record[labelOffset]))
                    let planes = record + labelBytes
                    for p in 0..<1024 {
                        pixels.append(planes[p]); pixels.append(planes[1024 + p]); pixels.append(planes[2048 + p])
                    }
                }
            }
            if let bad = labels.suffix(records).firstIndex(where: { $0 >= classNames.count }) {
                let record = bad - (labels.count - records)
                throw BitViTError.malformed(
                    file: url.path,
                    reason: "label \(labels[bad]) of record \(record) is outside 0..<\(classNames.count)")
            }
        }
        return try InMemoryDataset(height: 32, width: 32, channels: 3, pixels: pixels, labels: labels,
                                   classNames: classNames)
    }

    /// Class names from a text file with one name per line (blank lines ignored), or nil when the
    /// file does not exist.
    private static func namesFile(_ url: URL, expected: Int) throws -> [String]? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw BitViTError.io("\(url.path): cannot read the class names (\(error.localizedDescription))")
        }
        let names = text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        guard names.count == expected else {
            throw BitViTError.malformed(file: url.path, reason: "\(names.count) class names, expected \(expected)")
        }
        return names
    }
}
