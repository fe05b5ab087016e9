// swift-tools-version:6.0
import PackageDescription

// System libraries come from Debian packages through pkg-config; `scripts/setup` installs them.
let package = Package(
    name: "BitViT",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "BitViT", targets: [
            "BitViTPlatform", "BitViTCore", "BitViTNN", "BitViTQuant", "BitViTModels", "BitViTImage",
            "BitViTData", "BitViTTrain", "BitViTRuntime", "BitViTExport", "BitViTTools",
        ]),
        .library(name: "BitViTRuntime", targets: ["BitViTRuntime"]),
        .executable(name: "bitvit", targets: ["bitvit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // MARK: System libraries
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        // TurboJPEG reports decode errors by return value (libjpeg's handler would exit()).
        .systemLibrary(name: "CTurboJPEG", pkgConfig: "libturbojpeg",
                       providers: [.apt(["libturbojpeg0-dev"])]),

        // MARK: C targets (per-function target attributes, run-time dispatch)
        .target(name: "CBitViTPlatform"),
        .target(name: "CBitKernels", dependencies: ["CBitViTPlatform"]),

        // MARK: Swift modules, bottom to top
        .target(name: "BitViTPlatform", dependencies: ["CBitViTPlatform", "CBLAS"]),
        .target(name: "BitViTCore", dependencies: ["BitViTPlatform", "CBitViTPlatform", "CBitKernels", "CBLAS"]),
        .target(name: "BitViTNN", dependencies: ["BitViTCore"]),
        .target(name: "BitViTQuant", dependencies: ["BitViTCore", "BitViTNN", "CBitKernels"]),
        .target(name: "BitViTModels", dependencies: ["BitViTCore", "BitViTNN", "BitViTQuant"]),
        .target(name: "BitViTImage", dependencies: ["BitViTPlatform", "CTurboJPEG", "CPNG"]),
        .target(name: "BitViTData", dependencies: ["BitViTCore", "BitViTImage", "CZlib"]),
        .target(name: "BitViTTrain", dependencies: [
            "BitViTCore", "BitViTNN", "BitViTQuant", "BitViTModels", "BitViTData", "CBitKernels", "CPNG", "CZlib",
            .product(name: "Yams", package: "Yams"),
        ]),
        .target(name: "BitViTRuntime", dependencies: [
            "BitViTPlatform", "BitViTCore", "BitViTModels", "CBitViTPlatform", "CBitKernels",
        ]),
        .target(name: "BitViTExport", dependencies: [
            "BitViTCore", "BitViTNN", "BitViTQuant", "BitViTModels", "BitViTRuntime",
        ]),
        .target(name: "BitViTTools", dependencies: [
            "BitViTCore", "BitViTNN", "BitViTQuant", "BitViTModels", "BitViTData", "BitViTTrain",
            "BitViTRuntime", "BitViTExport",
            .product(name: "Yams", package: "Yams"),
        ]),
        .executableTarget(name: "bitvit", dependencies: [
            "BitViTCore", "BitViTNN", "BitViTQuant", "BitViTModels", "BitViTData",
            "BitViTTrain", "BitViTRuntime", "BitViTExport", "BitViTTools", "CBitKernels",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // MARK: Tests (reference data lives in each target's Fixtures folder)
        .target(name: "BitViTTestSupport", dependencies: ["BitViTCore"], path: "Sources/BitViTTestSupport"),
        .testTarget(name: "BitViTCoreTests", dependencies: ["BitViTCore", "BitViTTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "BitViTNNTests", dependencies: ["BitViTNN", "BitViTTestSupport"]),
        .testTarget(name: "BitViTQuantTests", dependencies: ["BitViTQuant", "BitViTTestSupport", "CBitKernels"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "BitViTModelsTests", dependencies: ["BitViTModels", "BitViTTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "BitViTDataTests", dependencies: ["BitViTData", "BitViTTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "BitViTTrainTests", dependencies: ["BitViTTrain", "BitViTTools", "BitViTTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "BitViTRuntimeTests", dependencies: [
            "BitViTRuntime", "BitViTExport", "BitViTModels", "BitViTCore", "CBitKernels", "BitViTTestSupport",
        ], resources: [.copy("Fixtures")]),
    ],
    swiftLanguageModes: [.v5]
)
