// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Ember",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Ember", targets: ["Ember"]),
        .executable(name: "two-layer-tensors", targets: ["TwoLayerTensors"]),
        .executable(name: "two-layer-autograd", targets: ["TwoLayerAutograd"]),
        .executable(name: "two-layer-custom-function", targets: ["TwoLayerCustomFunction"]),
        .executable(name: "ember-bench", targets: ["EmberBench"]),
        .executable(name: "ember-gpu-check", targets: ["EmberGPUCheck"]),
    ],
    targets: [
        // MARK: - Public API
        .target(name: "Ember", dependencies: ["CEmberKernels"], path: "Sources/Ember"),
        .target(name: "CEmberKernels", path: "Sources/CEmberKernels"),

        // MARK: - Examples
        .executableTarget(name: "TwoLayerTensors", dependencies: ["Ember"], path: "Examples/two-layer-tensors"),
        .executableTarget(name: "TwoLayerAutograd", dependencies: ["Ember"], path: "Examples/two-layer-autograd"),
        .executableTarget(
            name: "TwoLayerCustomFunction", dependencies: ["Ember"], path: "Examples/two-layer-custom-function"),

        // MARK: - Benchmarks
        .executableTarget(name: "EmberBench", dependencies: ["Ember", "CEmberBench"], path: "Benchmarks/ember-bench"),
        .target(name: "CEmberBench", path: "Benchmarks/CEmberBench"),
        .executableTarget(name: "EmberGPUCheck", dependencies: ["Ember"], path: "Benchmarks/ember-gpu-check"),

        // MARK: - Tests
        .testTarget(name: "EmberTests", dependencies: ["Ember", "CEmberKernels"], resources: [.copy("Fixtures")]),
    ],
    swiftLanguageModes: [.v6]
)
