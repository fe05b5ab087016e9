// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets for BitViT's readers (docs/reliability.md, "Fuzzing"). Each executable
// defines `LLVMFuzzerTestOneInput` and hands it to libFuzzer's driver from its `main`;
// `scripts/fuzz` builds them with `-sanitize=fuzzer,address` for Swift and C, which instruments
// the whole build (BitViT and Yams included) for coverage and AddressSanitizer and links
// libFuzzer, so the library's own build settings stay untouched. `fuzz-seeds`, an ordinary
// program built the same way, writes the seed corpora under Corpus/.
let fuzzTargets = [
    "model-file", "engine", "safetensors", "checkpoint", "pytorch", "pickle",
    "idx", "cifar", "image", "recipe", "comparison",
]

let package = Package(
    name: "BitViTFuzz",
    platforms: [.macOS(.v13)],
    dependencies: [.package(name: "BitViT", path: "..")],
    targets: [
        .target(name: "CFuzzerDriver"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzerDriver", .product(name: "BitViT", package: "BitViT")]),
        .executableTarget(name: "fuzz-seeds", dependencies: [.product(name: "BitViT", package: "BitViT")]),
    ] + fuzzTargets.map { name in
        .executableTarget(name: name, dependencies: [
            "FuzzSupport", .product(name: "BitViT", package: "BitViT"),
        ])
    },
    swiftLanguageModes: [.v5]
)
