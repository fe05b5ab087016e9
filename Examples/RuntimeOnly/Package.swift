// swift-tools-version:6.0
import PackageDescription

// An app that runs exported `.bitvit` models and links nothing but BitViT's runtime library:
// `scripts/check-runtime-only` builds it and checks that no training module was compiled.
let package = Package(
    name: "RuntimeOnly",
    platforms: [.macOS(.v13)],
    dependencies: [.package(name: "BitViT", path: "../..")],
    targets: [
        .executableTarget(name: "RuntimeOnly", dependencies: [.product(name: "BitViTRuntime", package: "BitViT")]),
    ],
    swiftLanguageModes: [.v5]
)
