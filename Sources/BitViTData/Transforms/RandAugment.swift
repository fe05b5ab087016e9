import BitViTCore
import Foundation

/// timm's RandAugment (`rand_augment_transform`), as DeiT and the GSB/Q-ViT recipes use it with
/// `rand-m9-mstd0.5-inc1`.
///
/// Each image gets `layerCount` operations drawn uniformly with replacement from `operations`.
/// Each drawn operation runs with probability `probability`; its magnitude is
/// `N(magnitude, magnitudeStd)` (uniform in `[0, magnitude]` when the std is infinite), clamped
/// to `[0, magnitudeMax]`, then mapped to the operation's argument exactly as timm's
/// `LEVEL_TO_ARG` does (signed arguments are negated with probability ½).
public struct RandAugment: ImageTransform {
    /// timm's operation names (`rawValue`).
    public enum Operation: String, CaseIterable, Sendable {
        case autoContrast = "AutoContrast"
        case equalize = "Equalize"
        case invert = "Invert"
        case rotate = "Rotate"
        case posterize = "Posterize"
        case posterizeIncreasing = "PosterizeIncreasing"
        case solarize = "Solarize"
        case solarizeIncreasing = "SolarizeIncreasing"
        case solarizeAdd = "SolarizeAdd"
        case color = "Color"
        case colorIncreasing = "ColorIncreasing"
        case contrast = "Contrast"
        case contrastIncreasing = "ContrastIncreasing"
        case brightness = "Brightness"
        case brightnessIncreasing = "BrightnessIncreasing"
        case sharpness = "Sharpness"
        case sharpnessIncreasing = "SharpnessIncreasing"
        case shearX = "ShearX"
        case shearY = "ShearY"
        case translateXRelative = "TranslateXRel"
        case translateYRelative = "TranslateYRel"

        /// timm's `_RAND_TRANSFORMS`.
        public static let standardSet: [Operation] = [
            .autoContrast, .equalize, .invert, .rotate, .posterize, .solarize, .solarizeAdd,
            .color, .contrast, .brightness, .sharpness, .shearX, .shearY,
            .translateXRelative, .translateYRelative,
        ]
        /// timm's `_RAND_INCREASING_TRANSFORMS` (`inc1`): severity grows with magnitude for every op.
        public static let increasingSet: [Operation] = [
            .autoContrast, .equalize, .invert, .rotate, .posterizeIncreasing, .solarizeIncreasing,
            .solarizeAdd, .colorIncreasing, .contrastIncreasing, .brightnessIncreasing,
            .sharpnessIncreasing, .shearX, .shearY, .translateXRelative, .translateYRelative,
        ]
    }

    /// The level scale: magnitude 10 is the strongest standard setting (timm's `_LEVEL_DENOM`).
    public static let levelDenominator = 10.0

    /// The operations drawn from.
    public var operations: [Operation]
    /// Operations per image (`n`, default 2).
    public var layerCount: Int
    /// Mean magnitude (`m`, default 10).
    public var magnitude: Double
    /// Magnitude noise (`mstd`); `.infinity` samples uniformly in `[0, magnitude]`.
    public var magnitudeStd: Double
    /// Upper clamp of the sampled magnitude (`mmax`, default 10).
    public var magnitudeMax: Double
    /// Probability that a drawn operation is applied (`p`, default 0.5).
    public var probability: Double
    /// Resampling of the geometric operations; one is drawn per operation when several are given
    /// (timm's default without an explicit interpolation is bilinear or bicubic at random).
    public var interpolations: [Interpolation]
    /// Fill color of the area geometric operations uncover (per channel, cycled).
    public var fill: [UInt8]
    /// Maximum relative translation at magnitude 10 (timm's `translate_pct`, 0.45).
    public var translateFraction: Double

    /// Builds RandAugment from a timm configuration string: `rand` followed by `-`-separated
    /// sections `m<int>` magnitude, `n<int>` operations per image, `p<float>` per-operation
    /// probability, `mstd<float>` magnitude std (above 100 means uniform), `mmax<int>` magnitude
    /// clamp, `inc<0|1>` increasing operation set. Throws `BitViTError.invalidArgument` for any
    /// other section. (timm reads `inc0` as "increasing" because `bool("0")` is true in Python;
    /// here `inc0` means the standard set.)
    ///
    /// `fill` is timm's `img_mean`: the normalization mean as pixels; `interpolations` the
    /// training interpolation (DeiT: bicubic).
    public init(config: String, fill: [UInt8] = Normalization.imagenet.meanPixel,
                interpolations: [Interpolation] = [.bicubic]) throws {
        let sections = config.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard sections.first == "rand" else {
            throw BitViTError.invalidArgument("RandAugment config '\(config)' must start with 'rand'")
        }
        var magnitude = Self.levelDenominator, layers = 2, probability = 0.5
        var std = 0.0, maxMagnitude = Self.levelDenominator, increasing = false
        for section in sections.dropFirst() {
            guard let digit = section.firstIndex(where: { $0.isNumber }) else {
                throw BitViTError.invalidArgument("RandAugment config '\(config)': section '\(section)' has no value")
            }
            let key = String(section[..<digit]), text = String(section[digit...])
            guard let value = Double(text) else {
                throw BitViTError.invalidArgument("RandAugment config '\(config)': '\(text)' is not a number")
            }
            switch key {
            case "m": magnitude = value
            case "n": layers = Int(value)
            case "p": probability = value
            case "mstd": std = value > 100 ? .infinity : value
            case "mmax": maxMagnitude = value
            case "inc": increasing = value != 0
            default:
                throw BitViTError.invalidArgument("RandAugment config '\(config)': unknown section '\(section)'")
            }
        }
        guard layers >= 0, !interpolations.isEmpty, !fill.isEmpty else {
            throw BitViTError.invalidArgument("RandAugment config '\(config)': invalid parameters")
        }
        self.init(operations: increasing ? Operation.increasingSet : Operation.standardSet,
                  layerCount: layers, magnitude: magnitude, magnitudeStd: std, magnitudeMax: maxMagnitude,
                  probability: probability, interpolations: interpolations, fill: fill)
    }

    public init(operations: [Operation] = Operation.increasingSet, layerCount: Int = 2, magnitude: Double = 9,
                magnitudeStd: Double = 0.5, magnitudeMax: Double = levelDenominator, probability: Double = 0.5,
                interpolations: [Interpolation] = [.bicubic], fill: [UInt8] = Normalization.imagenet.meanPixel,
                translateFraction: Double = 0.45) {
        precondition(!operations.isEmpty && !interpolations.isEmpty && !fill.isEmpty, "invalid RandAugment setup")
        self.operations = operations
        self.layerCount = layerCount
        self.magnitude = magnitude
        self.magnitudeStd = magnitudeStd
        self.magnitudeMax = magnitudeMax
        self.probability = probability
        self.interpolations = interpolations
        self.fill = fill
        self.translateFraction = translateFraction
    }

    public func apply(to image: Image, using rng: inout RandomGenerator) -> Image {
        let chosen = (0..<layerCount).map { _ in operations[rng.nextInt(below: operations.count)] }
        var image = image
        for operation in chosen {
            if probability < 1 && rng.nextDouble() > probability { continue }
            image = apply(operation, magnitude: sampleMagnitude(using: &rng), to: image, using: &rng)
        }
        return image
    }

    /// The magnitude one operation call uses.
    func sampleMagnitude(using rng: inout RandomGenerator) -> Double {
        var m = magnitude
        if magnitudeStd == .infinity {
            m = rng.uniform(0, magnitude)
        } else if magnitudeStd > 0 {
            m = rng.gaussian(mean: magnitude, std: magnitudeStd)
        }
        return max(0, min(m, magnitudeMax))
    }

    /// Applies one operation at a given magnitude (level), drawing signs and interpolation from `rng`.
    public func apply(_ operation: Operation, magnitude level: Double, to image: Image,
                      using rng: inout RandomGenerator) -> Image {
        let fraction = level / Self.levelDenominator
        func randomlyNegated(_ v: Double) -> Double { rng.nextDouble() > 0.5 ? -v : v }
        func enhanceFactor() -> Double { fraction * 1.8 + 0.1 }
        func increasingEnhanceFactor() -> Double { max(0.1, 1 + randomlyNegated(fraction * 0.9)) }
        func warp(_ matrix: AffineMatrix) -> Image {
            let interpolation = interpolations.count == 1 ? interpolations[0]
                : interpolations[rng.nextInt(below: interpolations.count)]
            return image.warped(by: matrix, interpolation: interpolation, fill: fill)
        }
        switch operation {
        case .autoContrast: return image.autocontrasted()
        case .equalize: return image.equalized()
        case .invert: return image.inverted()
        case .rotate:
            let degrees = randomlyNegated(fraction * 30)
            return warp(.rotation(degrees: degrees, width: image.width, height: image.height))
        case .posterize: return image.posterized(bits: Int(fraction * 4))
        case .posterizeIncreasing: return image.posterized(bits: 4 - Int(fraction * 4))
        case .solarize: return image.solarized(threshold: min(256, Int(fraction * 256)))
        case .solarizeIncreasing: return image.solarized(threshold: 256 - min(256, Int(fraction * 256)))
        case .solarizeAdd: return image.solarizeAdded(min(128, Int(fraction * 110)))
        case .color: return image.colorEnhanced(enhanceFactor())
        case .colorIncreasing: return image.colorEnhanced(increasingEnhanceFactor())
        case .contrast: return image.contrastEnhanced(enhanceFactor())
        case .contrastIncreasing: return image.contrastEnhanced(increasingEnhanceFactor())
        case .brightness: return image.brightnessEnhanced(enhanceFactor())
        case .brightnessIncreasing: return image.brightnessEnhanced(increasingEnhanceFactor())
        case .sharpness: return image.sharpnessEnhanced(enhanceFactor())
        case .sharpnessIncreasing: return image.sharpnessEnhanced(increasingEnhanceFactor())
        case .shearX: return warp(AffineMatrix(1, randomlyNegated(fraction * 0.3), 0, 0, 1, 0))
        case .shearY: return warp(AffineMatrix(1, 0, 0, randomlyNegated(fraction * 0.3), 1, 0))
        case .translateXRelative:
            let pixels = randomlyNegated(fraction * translateFraction) * Double(image.width)
            return warp(AffineMatrix(1, 0, pixels, 0, 1, 0))
        case .translateYRelative:
            let pixels = randomlyNegated(fraction * translateFraction) * Double(image.height)
            return warp(AffineMatrix(1, 0, 0, 0, 1, pixels))
        }
    }
}
