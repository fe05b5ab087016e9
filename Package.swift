// swift-tools-version:6.0
import PackageDescription

// System libraries come from Debian packages through pkg-config; `scripts/setup` installs them.
let package = Package(
    name: "BitViT",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "BitViT", targets: [
            "BitViTPlatform", "BitViTCore", "BitViTNN", "BitViTQuant", "BitViTModels", "BitViTImage",
            "BitViTData", "BitViTTrain", "BitViTRuntime", "BitViTExport", "BitViTInterop", "BitViTTools",
        ]),
        .library(name: "BitViTRuntime", targets: ["BitViTRuntime"]),
        // Data-parallel training over Open MPI, apart so that the library needs no MPI.
        .library(name: "BitViTDistributed", targets: ["BitViTDistributed"]),
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
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),

        // MARK: C targets (per-function target attributes, run-time dispatch)
        .target(name: "CBitViTPlatform"),
        .target(name: "CBitKernels", dependencies: ["CBitViTPlatform"]),

        // MARK: Swift modules, bottom to top
        .target(name: "BitViTPlatform", dependencies: ["CBitViTPlatform", "CBLAS"]),
        .target(name: "BitViTCore", dependencies: ["BitViTPlatform", "CBitViTPlatform", "CBitKernels", "CZlib"]),
        .target(name: "BitViTNN", dependencies: ["BitViTCore"]),
        .target(name: "BitViTQuant", dependencies: ["BitViTNN"]),
        .target(name: "BitViTModels", dependencies: ["BitViTCore", "BitViTNN", "BitViTQuant"]),
        .target(name: "BitViTImage", dependencies: ["BitViTPlatform", "CTurboJPEG", "CPNG"]),
        .target(name: "BitViTData", dependencies: ["BitViTCore", "BitViTImage", "CZlib"]),
        // Official checkpoints (timm/DeiT, GSB, Q-ViT, BHViT names) in and out.
        .target(name: "BitViTInterop", dependencies: ["BitViTCore", "BitViTNN", "BitViTModels"]),
        .target(name: "BitViTTrain", dependencies: [
            "BitViTCore", "BitViTQuant", "BitViTModels", "BitViTData", "BitViTInterop", "CBitKernels", "CPNG",
            .product(name: "Yams", package: "Yams"),
        ]),
        .target(name: "BitViTRuntime", dependencies: ["BitViTPlatform", "CBitViTPlatform", "CBitKernels"]),
        .target(name: "BitViTExport", dependencies: ["BitViTCore", "BitViTQuant", "BitViTModels", "BitViTRuntime"]),
        .target(name: "BitViTTools", dependencies: [
            "BitViTPlatform", "BitViTCore", "BitViTNN", "BitViTModels", "BitViTImage", "BitViTData", "BitViTTrain",
            "BitViTRuntime", "BitViTExport", "BitViTInterop", "CBitKernels",
            .product(name: "Yams", package: "Yams"),
        ]),
        // Data-parallel training over Open MPI (ProcessGroup over MPI).
        .target(name: "BitViTDistributed", dependencies: ["BitViTTrain", "CMPI"]),
        .executableTarget(name: "bitvit", dependencies: [
            "BitViTPlatform", "BitViTCore", "BitViTModels", "BitViTData", "BitViTTrain", "BitViTRuntime", "BitViTTools",
            "BitViTDistributed",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // MARK: Tests (reference data lives in each target's Fixtures folder)
        // Checks that need several processes, run under mpirun by BitViTDistributedTests.
        .executableTarget(name: "bitvit-distributed-checks", dependencies: ["BitViTDistributed", "BitViTTrain"],
                          path: "Tests/BitViTDistributedChecks"),
        .target(name: "BitViTTestSupport", dependencies: ["BitViTCore"], path: "Sources/BitViTTestSupport"),
        .testTarget(name: "BitViTCoreTests", dependencies: ["BitViTCore", "BitViTTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "BitViTNNTests", dependencies: ["BitViTNN", "BitViTTestSupport"]),
        .testTarget(name: "BitViTQuantTests", dependencies: ["BitViTQuant", "BitViTTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "BitViTModelsTests", dependencies: ["BitViTCore", "BitViTQuant", "BitViTModels", "BitViTTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "BitViTDataTests", dependencies: ["BitViTCore", "BitViTData", "BitViTTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "BitViTTrainTests", dependencies: ["BitViTTrain", "BitViTTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "BitViTToolsTests", dependencies: [
            "BitViTCore", "BitViTModels", "BitViTData", "BitViTTrain", "BitViTRuntime", "BitViTExport", "BitViTInterop",
            "BitViTTools", "BitViTTestSupport",
        ]),
        .testTarget(name: "BitViTRuntimeTests", dependencies: [
            "BitViTCore", "BitViTQuant", "BitViTModels", "BitViTRuntime", "BitViTExport", "CBitKernels", "BitViTTestSupport",
        ], resources: [.copy("Fixtures")]),
        .testTarget(name: "BitViTInteropTests", dependencies: [
            "BitViTCore", "BitViTNN", "BitViTModels", "BitViTData", "BitViTTrain", "BitViTInterop", "BitViTTestSupport",
        ], resources: [.copy("Fixtures")]),
        .testTarget(name: "BitViTDistributedTests", dependencies: ["BitViTDistributed", "BitViTTrain"]),
    ],
    swiftLanguageModes: [.v5]
)
