/// A labeled image classification data set with random access, used alike by the trainer, the
/// evaluator and `DataLoader`.
///
/// Conforming types must allow `image(at:)` and `label(at:)` from several threads at once (the
/// loader decodes on background threads). Indices run over `0..<count`; labels over
/// `0..<classNames.count`. An index outside `0..<count` is a programming error.
public protocol ImageDataset: AnyObject {
    /// Number of samples.
    var count: Int { get }
    /// Class names in label order (label `i` is `classNames[i]`).
    var classNames: [String] { get }
    /// The label of sample `index`; cheap (never decodes an image).
    func label(at index: Int) -> Int
    /// The image of sample `index` as 8-bit HWC; may decode a file and throw an error naming it.
    func image(at index: Int) throws -> Image
}

extension ImageDataset {
    /// Number of classes.
    public var classCount: Int { classNames.count }

    /// Every sample's label, in index order.
    public var labels: [Int] { (0..<count).map(label(at:)) }

    /// Sample indices grouped by class: element `c` lists the indices labeled `c`, ascending.
    public var indicesByClass: [[Int]] {
        var groups = [[Int]](repeating: [], count: classCount)
        for index in 0..<count { groups[label(at: index)].append(index) }
        return groups
    }
}
