import BitViTCore
import BitViTData
import BitViTTestSupport
import Testing

@Suite struct TransformTests {
    @Test func flipIsAnExactMirror() {
        let image = patternImage(height: 5, width: 7, channels: 3)
        let flipped = image.flippedHorizontally()
        for y in 0..<5 { for x in 0..<7 { for c in 0..<3 { #expect(flipped[y, x, c] == image[y, 6 - x, c]) } } }
        #expect(flipped.flippedHorizontally() == image)
        var rng = RandomGenerator(seed: 1)
        var flips = 0
        for _ in 0..<400 where RandomHorizontalFlip().apply(to: image, using: &rng) != image { flips += 1 }
        #expect((150...250).contains(flips), "p = 0.5 flips about half the time, got \(flips)/400")
    }

    @Test func centerCropPicksTheMiddleWithPythonRounding() {
        let image = patternImage(height: 6, width: 5, channels: 1)
        var rng = RandomGenerator(seed: 0)
        // top = round((6 − 3)/2) = round(1.5) = 2, left = round((5 − 2)/2) = round(1.5) = 2 (half to even).
        let crop = CenterCrop(height: 3, width: 2).apply(to: image, using: &rng)
        #expect(crop == image.cropped(top: 2, left: 2, height: 3, width: 2))
        // top = round(0.5) = 0, left = round(2.5) = 2.
        #expect(CenterCrop(height: 5, width: 0 + 1).apply(to: image, using: &rng)
                == image.cropped(top: 0, left: 2, height: 5, width: 1))
        // Larger than the image: zero padding, the odd extra row/column at the bottom/right.
        let padded = CenterCrop(size: 8).apply(to: image, using: &rng)
        #expect(padded.height == 8 && padded.width == 8)
        #expect(padded[1, 1, 0] == image[0, 0, 0] && padded[0, 0, 0] == 0 && padded[7, 7, 0] == 0)
        #expect(padded[6, 5, 0] == image[5, 4, 0])
    }

    @Test func paddedRandomCropStaysInsideThePaddedImage() throws {
        let image = Image(height: 32, width: 32, channels: 3, repeating: 200)
        var rng = RandomGenerator(seed: 5)
        var sawTopLeftPadding = false, sawBottomRightPadding = false, sawUnshifted = false
        for _ in 0..<300 {
            let crop = try RandomCrop(size: 32, padding: 4).apply(to: image, using: &rng)
            #expect(crop.height == 32 && crop.width == 32)
            let zeroRowsTop = (0..<32).prefix { crop[$0, 16, 0] == 0 }.count
            let zeroColsLeft = (0..<32).prefix { crop[16, $0, 0] == 0 }.count
            let zeroRowsBottom = (0..<32).reversed().prefix { crop[$0, 16, 0] == 0 }.count
            #expect(zeroRowsTop <= 4 && zeroColsLeft <= 4 && zeroRowsBottom <= 4)
            if zeroRowsTop == 4 && zeroColsLeft == 4 { sawTopLeftPadding = true }
            if zeroRowsBottom == 4 { sawBottomRightPadding = true }
            if crop == image { sawUnshifted = true }
        }
        #expect(sawTopLeftPadding && sawBottomRightPadding && sawUnshifted)
    }

    @Test func randomResizedCropHasTheRequestedSizeAndValidWindows() {
        let image = patternImage(height: 40, width: 60, channels: 3)
        let transform = RandomResizedCrop(size: 24, interpolation: .bicubic)
        var rng = RandomGenerator(seed: 11)
        for _ in 0..<200 {
            let window = transform.sampleWindow(imageHeight: 40, imageWidth: 60, using: &rng)
            #expect(window.top >= 0 && window.left >= 0 && window.height > 0 && window.width > 0)
            #expect(window.top + window.height <= 40 && window.left + window.width <= 60)
            let area = Double(window.height * window.width) / 2400
            #expect(area <= 1.0 + 1e-9 && area >= 0.05)
        }
        let output = transform.apply(to: image, using: &rng)
        #expect(output.height == 24 && output.width == 24 && output.channels == 3)
        // No window of area ≥ 0.99 with ratio 2…3 fits a square: the fallback is the central crop
        // clamped to ratio 2 (w = 30, h = 15).
        let narrow = RandomResizedCrop(size: 8, scale: 0.99...1, ratio: 2...3)
        let fallback = narrow.sampleWindow(imageHeight: 30, imageWidth: 30, using: &rng)
        #expect(fallback == (top: 7, left: 0, height: 15, width: 30))
    }

    @Test func resizeFollowsTorchvisionSizesAndKeepsFlatImagesFlat() {
        var rng = RandomGenerator(seed: 0)
        let tall = Image(height: 48, width: 32, channels: 3, repeating: 77)
        let resized = Resize(.shorterSide(256), interpolation: .bicubic).apply(to: tall, using: &rng)
        #expect(resized.width == 256 && resized.height == 384)
        #expect(resized.pixels.allSatisfy { $0 == 77 })
        let wide = Resize(.shorterSide(20)).outputSize(height: 30, width: 47)
        #expect(wide.height == 20 && wide.width == 31)  // int(20 · 47 / 30) = 31
        for interpolation in Interpolation.allCases {
            #expect(tall.resized(height: 7, width: 5, interpolation: interpolation).pixels.allSatisfy { $0 == 77 })
        }
    }

    @Test func downscalingAveragesLikePIL() {
        // Columns alternate 0 / 200. Halving widens the triangle filter to support 2: output 1
        // reads x = 1…4 with weights ¼ ¾ ¾ ¼ (→ 100); output 0 reads x = 0…2 with ¾ ¾ ¼,
        // renormalized (→ 200·¾/1.75 ≈ 86); output 3 reads x = 5…7 (→ 200·1/1.75 ≈ 114).
        var image = Image(height: 1, width: 8, channels: 1)
        for x in 0..<8 { image[0, x, 0] = x % 2 == 0 ? 0 : 200 }
        let half = image.resized(height: 1, width: 4, interpolation: .bilinear)
        #expect(half.pixels == [86, 100, 100, 114])
        let nearest = image.resized(height: 1, width: 4, interpolation: .nearest)
        #expect(nearest.pixels == [200, 200, 200, 200])  // source x = floor((i + 0.5) · 2) = 1, 3, 5, 7
    }

    @Test func normalizationMatchesToTensorThenNormalize() throws {
        var image = Image(height: 1, width: 2, channels: 3)
        (image[0, 0, 0], image[0, 0, 1], image[0, 0, 2]) = (255, 0, 128)
        let pipeline = TransformPipeline(normalization: .imagenet)
        var rng = RandomGenerator(seed: 0)
        let tensor = try pipeline(image, using: &rng)
        #expect(tensor.shape == [3, 1, 2])
        let mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]
        let expected = [(1 - mean[0]) / std[0], (0 - mean[0]) / std[0],
                        (0 - mean[1]) / std[1], (0 - mean[1]) / std[1],
                        (128 / 255 - mean[2]) / std[2], (0 - mean[2]) / std[2]]
        assertClose(tensor.scalars, expected, atol: 1e-5, "ImageNet normalization (CHW)")
        #expect(Normalization(presetName: "fashion-mnist") == .fashionMNIST)
        #expect(Normalization.imagenet.meanPixel == [124, 116, 104])
        let gray = Image(height: 1, width: 1, channels: 1, repeating: 255)
        #expect(throws: BitViTError.self) { _ = try pipeline(gray, using: &rng) }
    }

    @Test func presetsProduceTheirDocumentedSizes() throws {
        var rng = RandomGenerator(seed: 3)
        let cifar = Image(height: 32, width: 32, channels: 3, repeating: 90)
        #expect(try TransformPipeline.cifarTraining()(cifar, using: &rng).shape == [3, 32, 32])
        #expect(try TransformPipeline.timmTraining(imageSize: 48)(cifar, using: &rng).shape == [3, 48, 48])
        let evaluation = TransformPipeline.evaluation(imageSize: 48)
        #expect(try evaluation(cifar, using: &rng).shape == [3, 48, 48])
        let resize = try #require(evaluation.imageTransforms.first as? Resize)
        #expect(resize.target == .shorterSide(54))  // ⌊48 / 0.875⌋
        let fashion = Image(height: 28, width: 28, channels: 1, repeating: 0)
        #expect(try TransformPipeline.fashionMNIST()(fashion, using: &rng).shape == [1, 28, 28])
    }
}
