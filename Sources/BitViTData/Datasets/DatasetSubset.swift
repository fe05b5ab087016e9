import BitViTCore

/// How many samples of every class a split takes.
public enum PerClassAmount: Equatable, Sendable, CustomStringConvertible {
    /// `round(fraction · n_c)` of a class's `n_c` samples, `fraction` in (0, 1).
    case fraction(Double)
    /// This many samples of every class.
    case count(Int)

    public var description: String {
        switch self {
        case .fraction(let f): return "\(f) of each class"
        case .count(let k): return "\(k) per class"
        }
    }
}

/// A selection of another data set's samples, in the order of `baseIndices`.
///
/// Index `i` of the subset is sample `baseIndices[i]` of `base`; class names are the base's.
public final class DatasetSubset: ImageDataset {
    /// The data set the samples come from.
    public let base: any ImageDataset
    /// The base index of every subset sample.
    public let baseIndices: [Int]

    /// Selects `indices` of `base`; throws `BitViTError.invalidArgument` for an index outside
    /// `0..<base.count`.
    public init(base: any ImageDataset, indices: [Int]) throws {
        if let bad = indices.first(where: { $0 < 0 || $0 >= base.count }) {
            throw BitViTError.invalidArgument("subset index \(bad) is outside 0..<\(base.count)")
        }
        self.base = base
        self.baseIndices = indices
    }

    public var count: Int { baseIndices.count }
    public var classNames: [String] { base.classNames }
    public func label(at index: Int) -> Int { base.label(at: baseIndices[index]) }
    public func image(at index: Int) throws -> Image { try base.image(at: baseIndices[index]) }
}

extension ImageDataset {
    /// The samples at `indices`, in that order.
    public func subset(_ indices: [Int]) throws -> DatasetSubset {
        try DatasetSubset(base: self, indices: indices)
    }

    /// The first `k` samples of every class in index order (GSB's limited-data setting), kept in
    /// index order. Throws `BitViTError.invalidArgument` when a class has fewer than `k` samples.
    public func firstPerClass(_ k: Int) throws -> DatasetSubset {
        let groups = try checkedGroups(k)
        return try subset(groups.flatMap { $0.prefix(k) }.sorted())
    }

    /// `k` samples of every class drawn without replacement by a generator seeded with `seed`,
    /// kept in index order. Throws `BitViTError.invalidArgument` when a class has fewer than `k`.
    public func randomPerClass(_ k: Int, seed: UInt64) throws -> DatasetSubset {
        var rng = RandomGenerator(seed: seed)
        let chosen = try checkedGroups(k).flatMap { group in
            partialShuffle(group, first: k, using: &rng).prefix(k)
        }
        return try subset(chosen.sorted())
    }

    /// Splits the samples into training and validation parts, stratified by class: each class
    /// gives `round(validationFraction · n_c)` of its `n_c` samples, drawn with a generator seeded
    /// with `seed`, to validation. Both parts keep index order and together cover every sample once.
    public func stratifiedSplit(validationFraction: Double,
                                seed: UInt64) throws -> (train: DatasetSubset, validation: DatasetSubset) {
        try stratifiedSplit(validation: .fraction(validationFraction), seed: seed)
    }

    /// Splits the samples into disjoint training and validation parts, stratified by class.
    ///
    /// Every class gives `validation` of its samples (`.fraction(f)`: `round(f · n_c)` of its
    /// `n_c`; `.count(k)`: `k`), drawn without replacement by a generator seeded with `seed`.
    /// Without `trainingPerClass` the rest of the class is the training part, so the two parts
    /// cover every sample once. With `trainingPerClass: k` (GSB's limited-data setting) the
    /// training part is the first `k` samples of every class in index order and the validation
    /// samples are drawn from the others, so training keeps exactly the images
    /// `firstPerClass(k)` selects. Both parts keep index order.
    ///
    /// Throws `BitViTError.invalidArgument` when a class has too few samples or the validation
    /// part would be empty.
    public func stratifiedSplit(validation amount: PerClassAmount, seed: UInt64, trainingPerClass: Int? = nil) throws
        -> (train: DatasetSubset, validation: DatasetSubset) {
        switch amount {
        case .fraction(let f):
            guard f > 0, f < 1 else { throw BitViTError.invalidArgument("validation fraction \(f) must be in (0, 1)") }
        case .count(let k):
            guard k > 0 else { throw BitViTError.invalidArgument("validation images per class must be positive, not \(k)") }
        }
        let groups = try trainingPerClass.map { try checkedGroups($0) } ?? indicesByClass
        var rng = RandomGenerator(seed: seed)
        var train: [Int] = [], validation: [Int] = []
        for (label, group) in groups.enumerated() {
            let kept = trainingPerClass.map { Array(group.prefix($0)) } ?? []
            let candidates = trainingPerClass.map { Array(group.dropFirst($0)) } ?? group
            let take: Int
            switch amount {
            case .fraction(let f): take = Int((f * Double(group.count)).rounded())
            case .count(let k): take = k
            }
            guard take <= candidates.count else {
                let outside = trainingPerClass.map { " outside the \($0) training images" } ?? ""
                throw BitViTError.invalidArgument(
                    "class \(label) (\(classNames[label])) has \(candidates.count) samples\(outside), fewer than the \(take) validation images asked for")
            }
            let shuffled = partialShuffle(candidates, first: take, using: &rng)
            validation += shuffled.prefix(take)
            train += trainingPerClass == nil ? Array(shuffled.dropFirst(take)) : kept
        }
        guard !validation.isEmpty else {
            throw BitViTError.invalidArgument("the validation part is empty (\(amount) of classes with \(groups.map(\.count)) samples)")
        }
        return (try subset(train.sorted()), try subset(validation.sorted()))
    }

    private func checkedGroups(_ k: Int) throws -> [[Int]] {
        guard k > 0 else { throw BitViTError.invalidArgument("samples per class must be positive, not \(k)") }
        let groups = indicesByClass
        if let short = groups.indices.first(where: { groups[$0].count < k }) {
            throw BitViTError.invalidArgument(
                "class \(short) (\(classNames[short])) has \(groups[short].count) samples, fewer than the \(k) asked for")
        }
        return groups
    }
}

/// `values` with a uniformly random selection of `first` elements moved to the front
/// (the first `first` steps of a Fisher–Yates shuffle).
func partialShuffle(_ values: [Int], first: Int, using rng: inout RandomGenerator) -> [Int] {
    var values = values
    for i in 0..<min(first, values.count) {
        let j = i + rng.nextInt(below: values.count - i)
        values.swapAt(i, j)
    }
    return values
}
