import BitViTData
import Foundation
import Testing

@Suite struct ImageDecodingTests {
    @Test func decodesEveryPNGKind() throws {
        // 2×2 images; row bytes without filter bytes.
        let gray = FileBuilder.png(width: 2, height: 2, bitDepth: 8, colorType: 0, rows: [[0, 100], [200, 255]])
        let grayImage = try Image(encoded: gray, file: "gray.png")
        #expect(grayImage.channels == 1 && grayImage.pixels == [0, 100, 200, 255])
        #expect(try Image(encoded: gray, file: "gray.png", channels: 3).pixels
                == [0, 0, 0, 100, 100, 100, 200, 200, 200, 255, 255, 255])

        let rgb = FileBuilder.png(width: 2, height: 1, bitDepth: 8, colorType: 2, rows: [[255, 0, 0, 10, 20, 30]])
        let rgbImage = try Image(encoded: rgb, file: "rgb.png")
        #expect(rgbImage.channels == 3 && rgbImage.pixels == [255, 0, 0, 10, 20, 30])
        // ITU-R 601 luma as PIL's convert("L"): (19595·255 + 2¹⁵) >> 16 = 76.
        #expect(try Image(encoded: rgb, file: "rgb.png", channels: 1).pixels == [76, 18])

        // Alpha is dropped, not composited: a fully transparent pixel keeps its color.
        let rgba = FileBuilder.png(width: 2, height: 1, bitDepth: 8, colorType: 6, rows: [[10, 20, 30, 0, 40, 50, 60, 255]])
        #expect(try Image(encoded: rgba, file: "rgba.png").pixels == [10, 20, 30, 40, 50, 60])
        let grayAlpha = FileBuilder.png(width: 2, height: 1, bitDepth: 8, colorType: 4, rows: [[90, 0, 180, 128]])
        #expect(try Image(encoded: grayAlpha, file: "ga.png").pixels == [90, 180])

        // Palette with transparency, 4-bit indices: pixels use entries 1 and 0.
        let palette = FileBuilder.png(width: 2, height: 1, bitDepth: 4, colorType: 3, rows: [[0x10]],
                                      palette: [1, 2, 3, 200, 150, 100], transparency: [0, 255])
        #expect(try Image(encoded: palette, file: "palette.png").pixels == [200, 150, 100, 1, 2, 3])

        // 16-bit samples come out as their high byte (treated as sRGB).
        let deep = FileBuilder.png(width: 2, height: 1, bitDepth: 16, colorType: 0, rows: [[0x00, 0x00, 0xFF, 0xFF]])
        #expect(try Image(encoded: deep, file: "deep.png").pixels == [0, 255])
        let deepRGB = FileBuilder.png(width: 1, height: 1, bitDepth: 16, colorType: 2,
                                      rows: [[0x80, 0x80, 0x40, 0x40, 0xC0, 0xC0]])
        #expect(try Image(encoded: deepRGB, file: "deep-rgb.png").pixels == [128, 64, 192])
    }

    @Test func jpegRoundTripKeepsSizeAndColors() throws {
        var image = Image(height: 16, width: 24, channels: 3)
        for y in 0..<16 { for x in 0..<24 { (image[y, x, 0], image[y, x, 1], image[y, x, 2]) = (200, 100, 50) } }
        let decoded = try Image(encoded: try image.jpegData(quality: 95), file: "flat.jpg")
        #expect(decoded.height == 16 && decoded.width == 24 && decoded.channels == 3)
        let worst = zip(decoded.pixels, image.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 255
        #expect(worst <= 3, "a flat color should survive JPEG, worst error \(worst)")

        let gray = Image(height: 8, width: 8, channels: 1, repeating: 77)
        let grayDecoded = try Image(encoded: try gray.jpegData(quality: 90), file: "gray.jpg")
        #expect(grayDecoded.channels == 1 && grayDecoded.pixels.allSatisfy { abs(Int($0) - 77) <= 1 })
    }

    @Test func corruptOrTruncatedFilesThrowNamingTheFile() throws {
        let dir = try TemporaryDirectory()
        let jpeg = try patternImage(height: 32, width: 32, channels: 3).jpegData(quality: 90)
        let truncatedJPEG = try dir.write(Array(jpeg.prefix(jpeg.count / 2)), to: "truncated.jpg")
        expectError(naming: truncatedJPEG.path, mentioning: ["JPEG"]) { _ = try Image(contentsOf: truncatedJPEG) }

        var garbled = jpeg
        for i in 2..<min(200, garbled.count) { garbled[i] = UInt8(i * 37 % 256) }
        let corruptJPEG = try dir.write(garbled, to: "corrupt.jpg")
        expectError(naming: corruptJPEG.path, mentioning: ["JPEG"]) { _ = try Image(contentsOf: corruptJPEG) }

        let png = FileBuilder.png(width: 8, height: 8, bitDepth: 8, colorType: 2,
                                  rows: Array(repeating: [UInt8](repeating: 9, count: 24), count: 8))
        let truncatedPNG = try dir.write(Array(png.prefix(png.count - 40)), to: "truncated.png")
        expectError(naming: truncatedPNG.path, mentioning: ["PNG"]) { _ = try Image(contentsOf: truncatedPNG) }

        var badCRC = png
        badCRC[30] ^= 0xFF
        let corruptPNG = try dir.write(badCRC, to: "corrupt.png")
        expectError(naming: corruptPNG.path, mentioning: ["PNG"]) { _ = try Image(contentsOf: corruptPNG) }

        let text = try dir.write(Array("not an image".utf8), to: "text.jpg")
        expectError(naming: text.path, mentioning: ["not a JPEG or PNG"]) { _ = try Image(contentsOf: text) }
        let empty = try dir.write([], to: "empty.png")
        expectError(naming: empty.path, mentioning: ["empty"]) { _ = try Image(contentsOf: empty) }
        let missing = dir.url.appendingPathComponent("missing.png")
        expectError(naming: missing.path, mentioning: ["not found"]) { _ = try Image(contentsOf: missing) }
    }
}

@Suite struct ImageFolderTests {
    func makeTree() throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory()
        let red = FileBuilder.png(width: 2, height: 2, bitDepth: 8, colorType: 2,
                                  rows: Array(repeating: [255, 0, 0, 255, 0, 0], count: 2))
        let gray = FileBuilder.png(width: 3, height: 1, bitDepth: 8, colorType: 0, rows: [[1, 2, 3]])
        try dir.write(red, to: "zebra/b.png")
        try dir.write(red, to: "zebra/a.PNG")
        try dir.write(try Image(height: 4, width: 4, channels: 3, repeating: 128).jpegData(), to: "zebra/nested/c.jpeg")
        try dir.write(Array("notes".utf8), to: "zebra/readme.txt")
        try dir.write(gray, to: "apple/only.png")
        try dir.write(red, to: ".hidden/x.png")
        return dir
    }

    @Test func classesAreSortedAndFilesOrdered() throws {
        let dir = try makeTree()
        let dataset = try ImageFolderDataset(root: dir.url)
        #expect(dataset.classNames == ["apple", "zebra"])
        #expect(dataset.files.map { $0.lastPathComponent } == ["only.png", "a.PNG", "b.png", "c.jpeg"])
        #expect(dataset.labels == [0, 1, 1, 1])
        let first = try dataset.image(at: 0)
        #expect(first.channels == 3 && first.pixels == [1, 1, 1, 2, 2, 2, 3, 3, 3])
        let grayDataset = try ImageFolderDataset(root: dir.url, channels: 1, cachesDecodedImages: true)
        #expect(try grayDataset.image(at: 1).pixels == [76, 76, 76, 76])
        #expect(try grayDataset.image(at: 1) == grayDataset.image(at: 1))
    }

    @Test func emptyClassFolderIsAnError() throws {
        let dir = try makeTree()
        try dir.makeFolder("mango")
        try dir.write(Array("x".utf8), to: "mango/notes.txt")
        expectError(naming: dir.url.appendingPathComponent("mango").path, mentioning: ["no .jpeg/.jpg/.png files"]) {
            _ = try ImageFolderDataset(root: dir.url)
        }
    }

    @Test func emptyOrMissingRootIsAnError() throws {
        let dir = try TemporaryDirectory()
        expectError(naming: dir.url.path, mentioning: ["no class folders"]) { _ = try ImageFolderDataset(root: dir.url) }
        let missing = dir.url.appendingPathComponent("absent")
        expectError(naming: missing.path) { _ = try ImageFolderDataset(root: missing) }
    }

    @Test func corruptFileFailsWhenDecodedNamingTheFile() throws {
        let dir = try makeTree()
        let bad = try dir.write([0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 1, 2, 3], to: "apple/broken.jpg")
        let dataset = try ImageFolderDataset(root: dir.url)
        #expect(dataset.count == 5)
        expectError(naming: bad.path, mentioning: ["JPEG"]) { _ = try dataset.image(at: 0) }
    }

    @Test func datasetSourceLoadsSplitFolders() throws {
        let dir = try TemporaryDirectory()
        let png = try Image(height: 2, width: 2, channels: 1, repeating: 9).pngData()
        try dir.write(png, to: "train/cat/0.png")
        try dir.write(png, to: "train/dog/0.png")
        try dir.write(png, to: "train/dog/1.png")
        try dir.write(png, to: "val/cat/0.png")
        let source = DatasetSource.imageFolders(root: dir.url, channels: 1)
        let train = try source.load(split: .train)
        #expect(train.count == 3 && train.classNames == ["cat", "dog"] && train.labels == [0, 1, 1])
        let test = try source.load(split: .test)
        #expect(test.count == 1, "the test split falls back to val/")
        #expect(try test.image(at: 0).channels == 1)
        #expect(throws: BitViTError.self) { try DatasetSource.cifar10Binary(directory: dir.url).load(split: .test) }
    }
}
