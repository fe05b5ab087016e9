// swift-tools-version:6.0
import PackageDescription

// System libraries come from Debian packages through pkg-config; `scripts/setup` installs them.
let package = Package(
    name: "BitViT",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "BitViT", targets: [
            "BitViTCore", "BitViTNN", "BitViTQuant", "BitViTModels",
            "BitViTData", "BitViTTrain", "BitViTDeploy",
        ]),
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

        // MARK: ISA-specific kernels (per-function target attributes, run-time dispatch)
        .target(name: "CBitKernels"),

        // MARK: Swift modules, bottom to top
        .target(name: "BitViTCore", dependencies: ["CBLAS", "CBitKernels", "CZlib"]),
        .target(name: "BitViTNN", dependencies: ["BitViTCore"]),
        .target(name: "BitViTQuant", dependencies: ["BitViTCore", "BitViTNN"]),
        .target(name: "BitViTModels", dependencies: ["BitViTCore", "BitViTNN", "BitViTQuant"]),
        .target(name: "BitViTData", dependencies: [
            "BitViTCore", "CZlib", "CTurboJPEG", "CPNG",
        ]),
        .target(name: "BitViTTrain", dependencies: [
            "BitViTCore", "BitViTNN", "BitViTQuant", "BitViTModels", "BitViTData", "CPNG", "CZlib",
            .product(name: "Yams", package: "Yams"),
        ]),
        .target(name: "BitViTDeploy", dependencies: [
            "BitViTCore", "BitViTNN", "BitViTQuant", "BitViTModels", "CBitKernels",
        ]),
        .target(name: "BitViTDistributed", dependencies: ["BitViTTrain", "CMPI"]),
        .executableTarget(name: "bitvit", dependencies: [
            "BitViTCore", "BitViTNN", "BitViTQuant", "BitViTModels", "BitViTData",
            "BitViTTrain", "BitViTDeploy", "BitViTDistributed",
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
        .testTarget(name: "BitViTModelsTests", dependencies: ["BitViTModels", "BitViTTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "BitViTDataTests", dependencies: ["BitViTData", "BitViTTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "BitViTTrainTests", dependencies: ["BitViTTrain", "BitViTTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "BitViTDeployTests", dependencies: ["BitViTDeploy", "BitViTTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "BitViTDistributedTests", dependencies: ["BitViTDistributed", "BitViTTrain", "BitViTTestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
