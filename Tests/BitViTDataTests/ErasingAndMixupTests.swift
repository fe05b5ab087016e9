import BitViTCore
import BitViTData
import BitViTTestSupport
import Testing

@Suite struct RandomErasingTests {
    @Test func boxesRespectTheAreaAndAspectBoundsAndOnlyTheyChange() {
        let (c, h, w) = (3, 40, 30)
        let erasing = RandomErasing(probability: 1, mode: .constant)
        var rng = RandomGenerator(seed: 9)
        for _ in 0..<200 {
            var pixels = [Float](repeating: 5, count: c * h * w)
            let boxes = pixels.withUnsafeMutableBufferPointer { erasing.erase($0, channels: c, height: h, width: w, using: &rng) }
            #expect(boxes.count <= 1)
            guard let box = boxes.first else { continue }
            // Area bounds 0.02…1/3 of 1200 px before rounding each side to an integer.
            let area = Double(box.height * box.width)
            #expect(area >= 0.02 * 1200 * 0.6 && area <= 1200.0 / 3 * 1.25, "area \(area)")
            #expect(box.height < h && box.width < w)
            for plane in 0..<c {
                for y in 0..<h {
                    for x in 0..<w {
                        let inside = (box.top..<(box.top + box.height)).contains(y)
                            && (box.left..<(box.left + box.width)).contains(x)
                        #expect(pixels[(plane * h + y) * w + x] == (inside ? 0 : 5))
                    }
                }
            }
        }
    }

    @Test func probabilityAndModesBehave() {
        var rng = RandomGenerator(seed: 4)
        var pixels = [Float](repeating: 5, count: 3 * 16 * 16)
        let never = RandomErasing(probability: 0, mode: .perPixel)
        pixels.withUnsafeMutableBufferPointer { never.apply(to: $0, channels: 3, height: 16, width: 16, using: &rng) }
        #expect(pixels.allSatisfy { $0 == 5 })

        let perPixel = RandomErasing(probability: 1, mode: .perPixel)
        let boxes = pixels.withUnsafeMutableBufferPointer { perPixel.erase($0, channels: 3, height: 16, width: 16, using: &rng) }
        let changed = pixels.filter { $0 != 5 }
        #expect(changed.count == 3 * boxes.reduce(0) { $0 + $1.height * $1.width })
        #expect(Set(changed).count > changed.count / 2, "per-pixel noise differs from pixel to pixel")

        var counts = Set<Int>()
        let several = RandomErasing(probability: 1, minCount: 1, maxCount: 3)
        for _ in 0..<50 {
            var buffer = [Float](repeating: 1, count: 64 * 64)
            counts.insert(buffer.withUnsafeMutableBufferPointer { several.erase($0, channels: 1, height: 64, width: 64, using: &rng) }.count)
        }
        #expect(counts == [1, 2, 3])
    }
}

@Suite struct MixupTests {
    func batch(_ b: Int = 4) -> Batch {
        let images = Tensor(shape: [b, 1, 4, 4], scalars: (0..<(b * 16)).map { Float($0 / 16) })
        return Batch(images: images, labels: Array((0..<b).map { $0 % 3 }), indices: Array(0..<b))
    }

    @Test func mixupBlendsWithTheReversedBatchAndTargetsSumToOne() {
        var rng = RandomGenerator(seed: 1)
        var mixed = batch()
        let lambda = Mixup(mixupAlpha: 0.8, cutmixAlpha: 0, labelSmoothing: 0.1).apply(to: &mixed, classCount: 3, using: &rng)
        #expect(lambda > 0 && lambda < 1)
        for i in 0..<4 {
            let expected = Float(lambda) * Float(i) + Float(1 - lambda) * Float(3 - i)
            assertClose(Array(mixed.images.scalars[(i * 16)..<(i * 16 + 16)]), Array(repeating: expected, count: 16),
                        atol: 1e-5, "sample \(i)")
        }
        let targets = try! #require(mixed.targets)
        #expect(targets.shape == [4, 3])
        for i in 0..<4 {
            let row = Array(targets.scalars[(i * 3)..<(i * 3 + 3)])
            #expect(abs(row.reduce(0, +) - 1) < 1e-5)
            #expect(row.allSatisfy { $0 >= 0.1 / 3 - 1e-6 })
        }
        // Sample 0 (label 0) is mixed with sample 3 (label 0): all on-mass on class 0.
        assertClose(Array(targets.scalars[0..<3]), [1 - 0.1 + 0.1 / 3, 0.1 / 3, 0.1 / 3], atol: 1e-5, "targets of sample 0")
    }

    @Test func cutmixPastesABoxAndCorrectsLambda() {
        var rng = RandomGenerator(seed: 3)
        for _ in 0..<20 {
            var mixed = batch()
            let lambda = Mixup(mixupAlpha: 0, cutmixAlpha: 1, labelSmoothing: 0).apply(to: &mixed, classCount: 3, using: &rng)
            // Every pixel is either the sample's own value or its partner's; λ is the own fraction.
            for i in 0..<4 {
                let values = Array(mixed.images.scalars[(i * 16)..<(i * 16 + 16)])
                #expect(values.allSatisfy { $0 == Float(i) || $0 == Float(3 - i) })
                if i != 3 - i {
                    let own = values.filter { $0 == Float(i) }.count
                    #expect(abs(Double(own) / 16 - lambda) < 1e-9)
                }
            }
            let targets = mixed.targets!.scalars
            for i in 0..<4 { #expect(abs(targets[(i * 3)..<(i * 3 + 3)].reduce(0, +) - 1) < 1e-5) }
        }
    }

    @Test func unmixedBatchesStillGetSmoothedTargets() {
        var rng = RandomGenerator(seed: 0)
        var plain = batch(2)
        let lambda = Mixup(mixupAlpha: 1, cutmixAlpha: 0, probability: 0, labelSmoothing: 0.3)
            .apply(to: &plain, classCount: 3, using: &rng)
        #expect(lambda == 1)
        #expect(plain.images.scalars == batch(2).images.scalars)
        assertClose(plain.targets!.scalars, [0.8, 0.1, 0.1, 0.1, 0.8, 0.1], atol: 1e-6, "smoothed one-hots")
    }
}
