/// The data sets a recipe can name (`data.dataset`): the one list of their names, their
/// normalization statistics and, where the data set fixes them, their class names.
public enum DatasetKind: String, NamedChoice {
    /// Fashion-MNIST, IDX files (default location: Debian's `dataset-fashion-mnist`).
    case fashionMNIST = "fashion-mnist"
    /// MNIST digits, IDX files.
    case mnist
    /// CIFAR-10, binary batches or an image folder.
    case cifar10
    /// CIFAR-100, the binary release (fine labels).
    case cifar100
    /// `<root>/train/<class>/*`, `<root>/test/<class>/*` (JPEG or PNG).
    case imageFolder = "image-folder"

    /// The per-channel statistics images are normalized with (ImageNet's for image folders).
    public var normalization: Normalization {
        switch self {
        case .fashionMNIST: return .fashionMNIST
        case .mnist: return .mnist
        case .cifar10: return .cifar10
        case .cifar100: return .cifar100
        case .imageFolder: return .imagenet
        }
    }

    /// The class names in label order when the data set fixes them; nil when they come from
    /// the data (image folders, CIFAR-100's label files).
    public var classNames: [String]? {
        switch self {
        case .fashionMNIST: return StandardClassNames.fashionMNIST
        case .mnist: return StandardClassNames.mnist
        case .cifar10: return StandardClassNames.cifar10
        case .cifar100, .imageFolder: return nil
        }
    }
}
