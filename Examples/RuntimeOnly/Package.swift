// swift-tools-version:6.0
import PackageDescription

// Apps that run exported `.bitvit` models and link nothing of BitViT but its runtime libraries:
// `RuntimeOnly` the runtime alone (preprocessed tensors in), `ClassifyImage` the runtime and
// the image decoders (image files in). `scripts/check-runtime-only` builds each and checks that
// no training module was compiled.
let package = Package(
    name: "RuntimeOnly",
    platforms: [.macOS(.v13)],
    dependencies: [.package(name: "BitViT", path: "../..")],
    targets: [
        .executableTarget(name: "RuntimeOnly", dependencies: [.product(name: "BitViTRuntime", package: "BitViT")]),
        .executableTarget(name: "ClassifyImage", dependencies: [.product(name: "BitViTRuntimeImages", package: "BitViT")]),
    ],
    swiftLanguageModes: [.v5]
)
