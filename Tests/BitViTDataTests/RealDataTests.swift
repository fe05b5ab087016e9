import BitViTCore
import BitViTData
import Foundation
import Testing

/// Where the real data sets are; tests needing one are skipped, with the reason shown, when absent.
enum RealData {
    static let fashionMNIST = FashionMNIST.defaultDirectory
    static var fashionMNISTAvailable: Bool {
        FileManager.default.fileExists(atPath: fashionMNIST.appendingPathComponent("train-images-idx3-ubyte.gz").path)
    }

    /// `../shared/datasets/cifar10-jpeg` next to the package root.
    static let cifar10JPEG = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared/datasets/cifar10-jpeg").standardizedFileURL
    static var cifar10JPEGAvailable: Bool {
        FileManager.default.fileExists(atPath: cifar10JPEG.appendingPathComponent("train").path)
    }
}

@Suite struct FashionMNISTTests {
    @Test(.enabled(if: RealData.fashionMNISTAvailable,
                   "Fashion-MNIST is not installed at /usr/share/datasets/fashion-mnist (apt-get install dataset-fashion-mnist)"))
    func readsTheInstalledFiles() throws {
        let test = try FashionMNIST.load(split: .test)
        #expect(test.count == 10_000 && test.height == 28 && test.width == 28 && test.channels == 1)
        #expect(test.indicesByClass.map(\.count) == Array(repeating: 1000, count: 10))
        #expect(test.classNames[9] == "Ankle boot")
        // The first test image is an ankle boot (label 9).
        #expect(test.label(at: 0) == 9)
        let mean = Double(test.pixels.reduce(0) { $0 + Int($1) }) / Double(test.pixels.count) / 255
        #expect(abs(mean - 0.2868) < 0.002, "test-set mean \(mean)")

        let train = try FashionMNIST.load(split: .train)
        #expect(train.count == 60_000)
        let trainMean = Double(train.pixels.reduce(0) { $0 + Int($1) }) / Double(train.pixels.count) / 255
        #expect(abs(trainMean - Double(Normalization.fashionMNIST.mean[0])) < 0.001, "train mean \(trainMean)")

        let subset = try train.firstPerClass(20)
        let loader = DataLoader(dataset: subset, transform: .fashionMNIST(), batchSize: 64, shuffle: true, seed: 5)
        var seen = 0
        try loader.forEachBatch { batch in
            #expect(batch.images.shape == [batch.count, 1, 28, 28])
            seen += batch.count
        }
        #expect(seen == 200)
    }
}

@Suite struct CIFAR10JPEGTests {
    @Test(.enabled(if: RealData.cifar10JPEGAvailable,
                   "CIFAR-10 JPEG folder not found at ../shared/datasets/cifar10-jpeg"))
    func readsTheJPEGFolders() throws {
        let train = try ImageFolderDataset(root: RealData.cifar10JPEG.appendingPathComponent("train"))
        #expect(train.classNames == StandardClassNames.cifar10)
        #expect(train.count == 50_000)
        let limited = try train.firstPerClass(20)
        #expect(limited.count == 200)
        #expect(limited.indicesByClass.allSatisfy { $0.count == 20 })
        #expect(limited.baseIndices.prefix(2) == [0, 1] && train.files[0].lastPathComponent == "0000.jpg")
        let image = try limited.image(at: 0)
        #expect(image.height == 32 && image.width == 32 && image.channels == 3)

        let loader = DataLoader(dataset: limited, transform: .cifarTraining(), batchSize: 50, shuffle: true,
                                dropLast: true, seed: 7, epoch: 0, workerCount: 1)
        var labels: [Int] = []
        try loader.forEachBatch { batch in
            #expect(batch.images.shape == [50, 3, 32, 32])
            labels += batch.labels
        }
        #expect(labels.sorted() == (0..<10).flatMap { Array(repeating: $0, count: 20) })

        let evaluation = DataLoader(dataset: try ImageFolderDataset(root: RealData.cifar10JPEG.appendingPathComponent("test"))
                                        .firstPerClass(2),
                                    transform: .evaluation(imageSize: 64, normalization: .imagenet), batchSize: 20)
        let batch = try #require(try evaluation.makeIterator().nextBatch())
        #expect(batch.images.shape == [20, 3, 64, 64])
    }
}

/// The background pipeline on one worker thread delivers every image of an epoch; its
/// throughput is printed for reference only (speed is asserted in benchmarks, not tests: a cold
/// file cache or a busy machine slows it several-fold).
@Suite struct LoaderThroughputTests {
    func imagesPerSecond(_ loader: DataLoader, expecting count: Int) throws -> Double {
        let start = Date()
        var images = 0
        try loader.forEachBatch { images += $0.count }
        #expect(images == count)
        return Double(images) / Date().timeIntervalSince(start)
    }

    @Test(.enabled(if: RealData.fashionMNISTAvailable, "Fashion-MNIST is not installed"))
    func fashionMNIST() throws {
        let data = try FashionMNIST.load(split: .test)
        let rate = try imagesPerSecond(DataLoader(dataset: data, transform: .fashionMNIST(), batchSize: 128,
                                                  shuffle: true, workerCount: 1), expecting: data.count)
        print("loader throughput: Fashion-MNIST 28×28, normalize, 1 worker: \(Int(rate)) images/s")
    }

    @Test(.enabled(if: RealData.cifar10JPEGAvailable, "CIFAR-10 JPEG folder not found"))
    func cifar10JPEG() throws {
        let data = try ImageFolderDataset(root: RealData.cifar10JPEG.appendingPathComponent("test")).firstPerClass(200)
        let rate = try imagesPerSecond(DataLoader(dataset: data, transform: .cifarTraining(), batchSize: 128,
                                                  shuffle: true, workerCount: 1), expecting: data.count)
        print("loader throughput: CIFAR-10 JPEG decode + pad-crop-flip + normalize, 1 worker: \(Int(rate)) images/s")
    }
}
