import BitViTCore
import BitViTData
import Foundation
import Testing

/// The evaluation transform against torchvision: `Fixtures/eval_transform` holds inputs and the
/// outputs of `Resize(⌊size / crop_pct⌋, interpolation)` + `CenterCrop(size)` computed by
/// torchvision on PIL images, and statistics of the normalized tensor
/// (`scripts/eval_transform_reference.py` wrote them).
@Suite struct EvaluationTransformReferenceTests {
    struct Case: Decodable {
        var name: String
        var width: Int
        var height: Int
        var channels: Int
        var size: Int
        var crop_pct: Double
        var interpolation: String
        var resize_to: Int
        var normalized_channel_means: [Double]
        var normalized_samples: [String: Double]
    }

    struct Cases: Decodable { var cases: [Case] }

    static let directory = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/eval_transform")

    func cases() throws -> [Case] {
        try JSONDecoder().decode(Cases.self, from: Data(contentsOf: Self.directory.appendingPathComponent("cases.json"))).cases
    }

    func pipeline(_ c: Case) throws -> TransformPipeline {
        let interpolation = try #require(Interpolation(rawValue: c.interpolation))
        let imagenet = Normalization.imagenet
        let normalization = c.channels == 3 ? imagenet : Normalization(mean: [imagenet.mean[0]], std: [imagenet.std[0]])
        return .evaluation(imageSize: c.size, cropFraction: c.crop_pct, interpolation: interpolation, normalization: normalization)
    }

    @Test func imagesEqualTorchvisionResizeAndCenterCropPixelForPixel() throws {
        let all = try cases()
        #expect(all.count == 5)
        for c in all {
            let input = try Image(contentsOf: Self.directory.appendingPathComponent("\(c.name)-input.png"))
            let expected = try Image(contentsOf: Self.directory.appendingPathComponent("\(c.name)-expected.png"))
            #expect(input.width == c.width && input.height == c.height && input.channels == c.channels)
            var rng = RandomGenerator(seed: 0)
            let output = try pipeline(c).transformedImage(input, using: &rng)
            #expect(output.height == c.size && output.width == c.size && expected.width == c.size, "\(c.name)")
            let differing = zip(output.pixels, expected.pixels).filter { $0 != $1 }.count
            #expect(output.pixels.count == expected.pixels.count && differing == 0,
                    "\(c.name): \(differing) of \(expected.pixels.count) values differ from torchvision")
        }
    }

    @Test func resizeTargetIsTimmsScaleSize() throws {
        for c in try cases() {
            guard case .shorterSide(let side)? = (try pipeline(c).imageTransforms.first as? Resize)?.target else {
                Issue.record("\(c.name): the pipeline does not start with a shorter-side resize")
                continue
            }
            #expect(side == c.resize_to, "\(c.name)")
        }
    }

    @Test func normalizedTensorsMatchToTensorThenNormalize() throws {
        for c in try cases() {
            let input = try Image(contentsOf: Self.directory.appendingPathComponent("\(c.name)-input.png"))
            var rng = RandomGenerator(seed: 0)
            let tensor = try pipeline(c)(input, using: &rng)
            let values = tensor.scalars, plane = c.size * c.size
            for (channel, mean) in c.normalized_channel_means.enumerated() {
                let ours = values[(channel * plane)..<((channel + 1) * plane)].reduce(0.0) { $0 + Double($1) } / Double(plane)
                #expect(abs(ours - mean) < 1e-5, "\(c.name) channel \(channel): \(ours) vs \(mean)")
            }
            for (position, value) in c.normalized_samples {
                let p = try #require(Int(position))
                #expect(abs(Double(values[p]) - value) < 1e-6, "\(c.name) value \(p)")
            }
        }
    }
}
