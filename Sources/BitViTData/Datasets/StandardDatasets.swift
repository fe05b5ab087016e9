import BitViTCore
import Foundation

/// The training or the test part of a data set's official release.
public enum DatasetSplit: String, Sendable, CaseIterable {
    case train, test
}

/// Fashion-MNIST (Xiao et al., 2017): 28×28 gray, 10 classes, 60,000 train / 10,000 test.
public enum FashionMNIST {
    /// Where Debian's `dataset-fashion-mnist` package installs the four gzip IDX files.
    public static let defaultDirectory = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")

    /// Reads `split` from `directory` (`train-*` or `t10k-*` IDX files, `.gz` or raw).
    public static func load(split: DatasetSplit, directory: URL = defaultDirectory) throws -> InMemoryDataset {
        try IDXReader.dataset(directory: directory, split: split, classNames: StandardClassNames.fashionMNIST)
    }
}

/// MNIST digits (LeCun et al.): 28×28 gray, 10 classes, same file names as Fashion-MNIST.
public enum MNIST {
    /// Reads `split` from `directory` (`train-*` or `t10k-*` IDX files, `.gz` or raw).
    public static func load(split: DatasetSplit, directory: URL) throws -> InMemoryDataset {
        try IDXReader.dataset(directory: directory, split: split, classNames: StandardClassNames.mnist)
    }
}

extension IDXReader {
    /// Reads the conventional file pair of `split` from `directory`:
    /// `train-images-idx3-ubyte` + `train-labels-idx1-ubyte`, or `t10k-…` for the test split,
    /// each with or without `.gz`. Throws `BitViTError.missing` naming the paths tried.
    public static func dataset(directory: URL, split: DatasetSplit, classNames: [String]) throws -> InMemoryDataset {
        let prefix = split == .train ? "train" : "t10k"
        func locate(_ name: String) throws -> URL {
            for candidate in [name + ".gz", name] {
                let url = directory.appendingPathComponent(candidate)
                if FileManager.default.fileExists(atPath: url.path) { return url }
            }
            throw BitViTError.missing("\(directory.path)/\(name)(.gz)")
        }
        return try dataset(images: try locate("\(prefix)-images-idx3-ubyte"),
                           labels: try locate("\(prefix)-labels-idx1-ubyte"),
                           classNames: classNames)
    }
}

/// Class names of the standard data sets, in label order.
public enum StandardClassNames {
    public static let mnist = (0...9).map(String.init)

    public static let fashionMNIST = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]

    public static let cifar10 = [
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
    ]

    public static let cifar100Coarse = [
        "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
        "household_electrical_devices", "household_furniture", "insects", "large_carnivores",
        "large_man-made_outdoor_things", "large_natural_outdoor_scenes",
        "large_omnivores_and_herbivores", "medium_mammals", "non-insect_invertebrates", "people",
        "reptiles", "small_mammals", "trees", "vehicles_1", "vehicles_2",
    ]

    public static let cifar100Fine = [
        "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
        "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
        "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
        "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
        "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain",
        "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
        "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket",
        "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
        "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor",
        "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
    ]
}
