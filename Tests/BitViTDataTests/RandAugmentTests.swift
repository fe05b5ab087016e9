import BitViTCore
import BitViTData
import Testing

@Suite struct RandAugmentTests {
    @Test func parsesTheDeiTConfiguration() throws {
        let augment = try RandAugment(config: "rand-m9-mstd0.5-inc1")
        #expect(augment.magnitude == 9 && augment.magnitudeStd == 0.5 && augment.layerCount == 2)
        #expect(augment.probability == 0.5 && augment.magnitudeMax == 10)
        #expect(augment.operations == RandAugment.Operation.increasingSet)
        #expect(augment.operations.count == 15)
        #expect(augment.fill == [124, 116, 104] && augment.interpolations == [.bicubic])
        let standard = try RandAugment(config: "rand-m7-n3-p1.0-mstd101")
        #expect(standard.operations == RandAugment.Operation.standardSet)
        #expect(standard.layerCount == 3 && standard.probability == 1 && standard.magnitudeStd == .infinity)
        for bad in ["m9-mstd0.5", "rand-x3", "rand-m", "rand-mfoo1"] {
            #expect(throws: BitViTError.self, "\(bad) should be rejected") { try RandAugment(config: bad) }
        }
    }

    @Test func appliesExactlyLayerCountOperations() {
        // Invert with probability 1: n applications invert n times.
        let image = patternImage(height: 6, width: 6, channels: 3)
        var rng = RandomGenerator(seed: 2)
        for n in 0...3 {
            let augment = RandAugment(operations: [.invert], layerCount: n, probability: 1)
            let out = augment.apply(to: image, using: &rng)
            #expect(out == (n % 2 == 0 ? image : image.inverted()), "n = \(n)")
        }
        // Probability 0 never applies anything.
        let never = RandAugment(operations: [.invert], layerCount: 4, probability: 0)
        #expect(never.apply(to: image, using: &rng) == image)
    }

    @Test func isDeterministicForAGeneratorState() throws {
        let augment = try RandAugment(config: "rand-m9-mstd0.5-inc1")
        let image = patternImage(height: 32, width: 32, channels: 3)
        var changed = 0
        for seed in 0..<40 {
            var a = RandomGenerator(seed: UInt64(seed)), b = RandomGenerator(seed: UInt64(seed))
            let first = augment.apply(to: image, using: &a)
            #expect(first == augment.apply(to: image, using: &b))
            if first != image { changed += 1 }
        }
        // Each of the 2 ops applies with p = 0.5, so about 3/4 of the images change.
        #expect(changed >= 20 && changed < 40, "\(changed)/40 images changed")
    }

    @Test func lookupOperationsMatchPIL() {
        var image = Image(height: 1, width: 4, channels: 1)
        (image[0, 0, 0], image[0, 1, 0], image[0, 2, 0], image[0, 3, 0]) = (10, 100, 128, 250)
        #expect(image.inverted().pixels == [245, 155, 127, 5])
        #expect(image.solarized(threshold: 128).pixels == [10, 100, 127, 5])
        #expect(image.solarizeAdded(50).pixels == [60, 150, 128, 250])
        #expect(image.posterized(bits: 1).pixels == [0, 0, 128, 128])
        #expect(image.posterized(bits: 0).pixels == [0, 0, 0, 0])
        // Autocontrast stretches 10…250 to 0…255: int(v·255/240 − 10·255/240).
        #expect(image.autocontrasted().pixels == [0, 95, 125, 255])
        // Equalize with PIL's rule: step = (4 − 1) / 255 = 0 → unchanged.
        #expect(image.equalized() == image)
        let twoLevel = Image(height: 1, width: 300, channels: 1, pixels: (0..<300).map { $0 < 255 ? 20 : 200 })
        // step = (300 − 45)/255 = 1, lut[20] = 0 (n = 0), lut[200] = (0 + 255) / 1 = 255.
        #expect(twoLevel.equalized().pixels == (0..<300).map { $0 < 255 ? 0 : 255 })
    }

    @Test func enhanceOperationsBlendWithTruncation() {
        let image = Image(height: 3, width: 3, channels: 3, pixels: (0..<27).map { UInt8(100 + $0) })
        #expect(image.brightnessEnhanced(0.5).pixels == image.pixels.map { UInt8(Float($0) * 0.5) })
        #expect(image.brightnessEnhanced(1) == image)
        let gray = image.colorEnhanced(0)
        for p in 0..<9 {
            let rgb = Array(gray.pixels[(p * 3)..<(p * 3 + 3)])
            #expect(Set(rgb).count == 1, "pixel \(p) of the gray blend is \(rgb)")
        }
        // Contrast 0 is the flat mean gray (rounded).
        let flat = image.contrastEnhanced(0)
        #expect(Set(flat.pixels).count == 1)
        // Sharpness keeps the one-pixel border and changes only the center here.
        let sharpened = image.sharpnessEnhanced(2)
        #expect(Array(sharpened.pixels[0..<12]) == Array(image.pixels[0..<12]))
    }

    @Test func geometricOperationsMoveWholePixels() {
        let image = patternImage(height: 10, width: 20, channels: 3)
        let augment = RandAugment(operations: [.translateXRelative], fill: [1, 2, 3])
        var rng = RandomGenerator(seed: 0)
        // Magnitude 10/0.45·… : level 10 · 0.45 / 10 = 0.45 · width 20 = 9 pixels, sign random.
        let moved = augment.apply(.translateXRelative, magnitude: 10, to: image, using: &rng)
        let shiftRight = moved[0, 0, 0] == 1  // source x = x − 9 is outside → fill
        for y in 0..<10 {
            for x in 0..<20 {
                let source = shiftRight ? x - 9 : x + 9
                let expected: [UInt8] = (0..<20).contains(source) ? (0..<3).map { image[y, source, $0] } : [1, 2, 3]
                #expect((0..<3).map { moved[y, x, $0] } == expected)
            }
        }
        let unrotated = augment.apply(.rotate, magnitude: 0, to: image, using: &rng)
        #expect(unrotated == image, "a 0° rotation samples every pixel center exactly")
    }
}
