import BitViTData
import Testing

@Suite struct SubsetTests {
    /// 3 classes with 5, 7 and 4 samples, interleaved irregularly.
    let labels = [0, 1, 2, 1, 0, 1, 1, 2, 0, 1, 2, 0, 1, 0, 1, 2]

    func counts(_ subset: DatasetSubset) -> [Int] {
        subset.indicesByClass.map(\.count)
    }

    @Test func firstPerClassTakesTheEarliestSamplesOfEachClass() throws {
        let dataset = try syntheticDataset(labels: labels, classes: 3)
        let subset = try dataset.firstPerClass(3)
        #expect(counts(subset) == [3, 3, 3])
        #expect(subset.baseIndices == [0, 1, 2, 3, 4, 5, 7, 8, 10])
        #expect(subset.labels == subset.baseIndices.map { labels[$0] })
        #expect(try subset.image(at: 8).pixels.first == 10, "subset sample 8 is base sample 10")
    }

    @Test func randomPerClassIsBalancedAndSeeded() throws {
        let dataset = try syntheticDataset(labels: labels, classes: 3)
        let a = try dataset.randomPerClass(4, seed: 7)
        let b = try dataset.randomPerClass(4, seed: 7)
        #expect(counts(a) == [4, 4, 4])
        #expect(a.baseIndices == b.baseIndices)
        #expect(a.baseIndices == a.baseIndices.sorted())
        let others = try (1...20).map { try dataset.randomPerClass(4, seed: UInt64($0)).baseIndices }
        #expect(others.contains { $0 != a.baseIndices }, "different seeds should pick different samples")
    }

    @Test func tooFewSamplesIsAnError() throws {
        let dataset = try syntheticDataset(labels: labels, classes: 3)
        #expect(throws: BitViTError.self) { try dataset.firstPerClass(5) }
        #expect(throws: BitViTError.self) { try dataset.randomPerClass(0, seed: 1) }
    }

    @Test func stratifiedSplitIsDisjointCompleteAndBalanced() throws {
        let many = (0..<300).map { ($0 * 7) % 3 }
        let dataset = try syntheticDataset(labels: many, classes: 3)
        let (train, validation) = try dataset.stratifiedSplit(validationFraction: 0.2, seed: 3)
        #expect(Set(train.baseIndices).isDisjoint(with: validation.baseIndices))
        #expect((train.baseIndices + validation.baseIndices).sorted() == Array(0..<300))
        #expect(counts(validation) == [20, 20, 20])
        #expect(counts(train) == [80, 80, 80])
        let again = try dataset.stratifiedSplit(validationFraction: 0.2, seed: 3)
        #expect(again.validation.baseIndices == validation.baseIndices)
        let other = try dataset.stratifiedSplit(validationFraction: 0.2, seed: 4)
        #expect(other.validation.baseIndices != validation.baseIndices)
        #expect(throws: BitViTError.self) { try dataset.stratifiedSplit(validationFraction: 1, seed: 3) }
    }

    @Test func stratifiedSplitByCountIsDisjointAndBalanced() throws {
        let many = (0..<90).map { ($0 * 7) % 3 }
        let dataset = try syntheticDataset(labels: many, classes: 3)
        let (train, validation) = try dataset.stratifiedSplit(validation: .count(4), seed: 5)
        #expect(counts(validation) == [4, 4, 4] && counts(train) == [26, 26, 26])
        #expect(Set(train.baseIndices).isDisjoint(with: validation.baseIndices))
        #expect((train.baseIndices + validation.baseIndices).sorted() == Array(0..<90))
        #expect(throws: BitViTError.self) { try dataset.stratifiedSplit(validation: .count(31), seed: 5) }
        #expect(throws: BitViTError.self) { try dataset.stratifiedSplit(validation: .count(0), seed: 5) }
    }

    /// With a limited training set (GSB's first K per class) training keeps exactly those images
    /// and validation comes from the others of the class.
    @Test func limitedTrainingKeepsTheFirstImagesAndValidatesOnOthers() throws {
        let many = (0..<90).map { ($0 * 7) % 3 }
        let dataset = try syntheticDataset(labels: many, classes: 3)
        let first = try dataset.firstPerClass(10)
        for amount in [PerClassAmount.count(5), .fraction(0.2)] {
            let (train, validation) = try dataset.stratifiedSplit(validation: amount, seed: 9, trainingPerClass: 10)
            #expect(train.baseIndices == first.baseIndices, "\(amount)")
            #expect(counts(validation) == (amount == .count(5) ? [5, 5, 5] : [6, 6, 6]), "0.2 of each class's 30")
            #expect(Set(validation.baseIndices).isDisjoint(with: first.baseIndices))
            #expect(validation.labels == validation.baseIndices.map { many[$0] })
        }
        #expect(throws: BitViTError.self) { try dataset.stratifiedSplit(validation: .count(21), seed: 9, trainingPerClass: 10) }
    }
}
