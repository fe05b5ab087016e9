import BitViTData
import Foundation
import Testing

@Suite struct IDXReaderTests {
    let pixels: [UInt8] = (0..<(3 * 2 * 4)).map { UInt8($0 * 10) }

    @Test func readsRawAndGzipFilesAlike() throws {
        let dir = try TemporaryDirectory()
        let images = FileBuilder.idxImages(count: 3, rows: 2, cols: 4, pixels: pixels)
        let labels = FileBuilder.idxLabels([2, 0, 1])
        let rawImages = try dir.write(images, to: "raw-images")
        let rawLabels = try dir.write(labels, to: "raw-labels")
        let gzImages = try dir.write(FileBuilder.gzip(images), to: "images.gz")
        let gzLabels = try dir.write(FileBuilder.gzip(labels), to: "labels.gz")
        for (imageURL, labelURL) in [(rawImages, rawLabels), (gzImages, gzLabels)] {
            let dataset = try IDXReader.dataset(images: imageURL, labels: labelURL, classNames: ["a", "b", "c"])
            #expect(dataset.count == 3)
            #expect(dataset.labels == [2, 0, 1])
            let second = dataset.image(at: 1)
            #expect(second.height == 2 && second.width == 4 && second.channels == 1)
            #expect(second.pixels == Array(pixels[8..<16]))
        }
    }

    @Test func truncatedImageDataNamesTheFile() throws {
        let dir = try TemporaryDirectory()
        let file = try dir.write(Array(FileBuilder.idxImages(count: 3, rows: 2, cols: 4, pixels: pixels).dropLast(5)),
                                 to: "short-images")
        expectError(naming: file.path, mentioning: ["truncated"]) { _ = try IDXReader.readImages(file) }
    }

    @Test func truncatedHeaderAndGzipStreamNameTheFile() throws {
        let dir = try TemporaryDirectory()
        let header = try dir.write([0, 0, 8, 3, 0, 0], to: "tiny-images")
        expectError(naming: header.path, mentioning: ["truncated IDX header"]) { _ = try IDXReader.readImages(header) }
        let huge = try dir.write([0, 0, 8, 3] + [UInt8](repeating: 0xFF, count: 12) + [1, 2, 3], to: "huge-images")
        expectError(naming: huge.path, mentioning: ["implausible"]) { _ = try IDXReader.readImages(huge) }
        let gz = FileBuilder.gzip(FileBuilder.idxImages(count: 3, rows: 2, cols: 4, pixels: pixels))
        let cut = try dir.write(Array(gz.prefix(gz.count - 20)), to: "cut.gz")
        expectError(naming: cut.path, mentioning: ["gzip"]) { _ = try IDXReader.readImages(cut) }
    }

    @Test func badMagicNamesTheFile() throws {
        let dir = try TemporaryDirectory()
        let file = try dir.write(FileBuilder.idxImages(count: 3, rows: 2, cols: 4, pixels: pixels, magic: 2049),
                                 to: "labels-as-images")
        expectError(naming: file.path, mentioning: ["magic 2049", "2051"]) { _ = try IDXReader.readImages(file) }
        let labels = try dir.write(FileBuilder.idxLabels([1], magic: 9999), to: "bad-labels")
        expectError(naming: labels.path, mentioning: ["magic"]) { _ = try IDXReader.readLabels(labels) }
    }

    @Test func countMismatchBetweenFilesNamesTheLabelFile() throws {
        let dir = try TemporaryDirectory()
        let images = try dir.write(FileBuilder.idxImages(count: 3, rows: 2, cols: 4, pixels: pixels), to: "images")
        let labels = try dir.write(FileBuilder.idxLabels([0, 1]), to: "labels")
        expectError(naming: labels.path, mentioning: ["2 labels", "3 images"]) {
            _ = try IDXReader.dataset(images: images, labels: labels, classNames: ["a", "b"])
        }
    }

    @Test func labelOutOfRangeNamesTheLabelFile() throws {
        let dir = try TemporaryDirectory()
        let images = try dir.write(FileBuilder.idxImages(count: 3, rows: 2, cols: 4, pixels: pixels), to: "images")
        let labels = try dir.write(FileBuilder.idxLabels([0, 7, 1]), to: "labels")
        expectError(naming: labels.path, mentioning: ["label 7", "sample 1"]) {
            _ = try IDXReader.dataset(images: images, labels: labels, classNames: ["a", "b", "c"])
        }
    }

    @Test func missingFilesAreReported() throws {
        let dir = try TemporaryDirectory()
        #expect(throws: BitViTError.self) { try FashionMNIST.load(split: .train, directory: dir.url) }
        let missing = dir.url.appendingPathComponent("nothing-here")
        expectError(naming: missing.path) { _ = try IDXReader.readLabels(missing) }
    }
}

@Suite struct CIFARReaderTests {
    /// A record whose red plane is all `r`, green `g`, blue `b`, except pixel 0 which is (1, 2, 3).
    func record(labels: [UInt8], r: UInt8, g: UInt8, b: UInt8) -> [UInt8] {
        var planes = [UInt8](repeating: r, count: 1024) + [UInt8](repeating: g, count: 1024)
            + [UInt8](repeating: b, count: 1024)
        (planes[0], planes[1024], planes[2048]) = (1, 2, 3)
        return labels + planes
    }

    @Test func cifar10ConvertsPlanesToHWCAndReadsClassNames() throws {
        let dir = try TemporaryDirectory()
        for batch in 1...5 {
            try dir.write(record(labels: [UInt8(batch)], r: 10, g: 20, b: 30)
                          + record(labels: [9], r: 40, g: 50, b: 60), to: "data_batch_\(batch).bin")
        }
        try dir.write(record(labels: [3], r: 7, g: 8, b: 9), to: "test_batch.bin")
        let names = (0..<10).map { "name\($0)" }
        try dir.write(Array((names.joined(separator: "\n") + "\n\n").utf8), to: "batches.meta.txt")

        let train = try CIFARReader.cifar10(directory: dir.url, split: .train)
        #expect(train.count == 10)
        #expect(train.classNames == names)
        #expect(train.labels == [1, 9, 2, 9, 3, 9, 4, 9, 5, 9])
        let image = train.image(at: 1)
        #expect(image.height == 32 && image.width == 32 && image.channels == 3)
        #expect(Array(image.pixels[0..<6]) == [1, 2, 3, 40, 50, 60])

        let test = try CIFARReader.cifar10(directory: dir.url, split: .test)
        #expect(test.count == 1 && test.labels == [3])
    }

    @Test func cifar100PicksFineOrCoarseLabels() throws {
        let dir = try TemporaryDirectory()
        try dir.write(record(labels: [19, 99], r: 1, g: 1, b: 1) + record(labels: [0, 5], r: 1, g: 1, b: 1),
                      to: "train.bin")
        let fine = try CIFARReader.cifar100(directory: dir.url, split: .train)
        #expect(fine.labels == [99, 5] && fine.classCount == 100 && fine.classNames[99] == "worm")
        let coarse = try CIFARReader.cifar100(directory: dir.url, split: .train, labels: .coarse)
        #expect(coarse.labels == [19, 0] && coarse.classCount == 20)
    }

    @Test func truncatedBatchNamesTheFile() throws {
        let dir = try TemporaryDirectory()
        let file = try dir.write(Array(record(labels: [1], r: 0, g: 0, b: 0).dropLast(100)), to: "test_batch.bin")
        expectError(naming: file.path, mentioning: ["3073-byte records"]) {
            _ = try CIFARReader.cifar10(directory: dir.url, split: .test)
        }
    }

    @Test func labelOutOfRangeNamesTheFile() throws {
        let dir = try TemporaryDirectory()
        let file = try dir.write(record(labels: [0], r: 0, g: 0, b: 0) + record(labels: [10], r: 0, g: 0, b: 0),
                                 to: "test_batch.bin")
        expectError(naming: file.path, mentioning: ["label 10", "record 1"]) {
            _ = try CIFARReader.cifar10(directory: dir.url, split: .test)
        }
    }

    @Test func missingBatchIsReported() throws {
        let dir = try TemporaryDirectory()
        expectError(naming: dir.url.appendingPathComponent("data_batch_1.bin").path) {
            _ = try CIFARReader.cifar10(directory: dir.url, split: .train)
        }
    }
}
