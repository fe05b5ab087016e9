import BitViTModels
import BitViTRuntime
import Foundation
import Testing

/// `Classifier`, the runtime's front door: the engine's logits, rankings with class names,
/// thread choice, errors for bad input.
@Suite("Classifier")
struct ClassifierTests {
    /// A classifier of the small model of `spec` (see `EngineTestModels`), loaded from memory.
    static func classifier(_ spec: ModelSpec, kernels: Classifier.Kernels = .bitPacked, threads: Int? = nil) throws -> Classifier {
        try Classifier(bytes: EngineTestModels.export(EngineTestModels.model(spec), spec), kernels: kernels, threads: threads)
    }

    @Test("Logits are the engine's, from memory and from a file, with either kernels",
          arguments: [EngineTestModels.spec("vit-mnist"), EngineTestModels.spec("gsb-vit-mnist")])
    func logitsAreTheEngines(_ spec: ModelSpec) throws {
        let images = try EngineTestModels.fashionMNIST().images.scalars[..<(3 * 784)].map { $0 }
        let bytes = try EngineTestModels.export(EngineTestModels.model(spec), spec)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("classifier-\(UUID().uuidString).bitvit")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        for kernels in Classifier.Kernels.allCases {
            let engine = try InferenceEngine(ModelFile(bytes: bytes), floatKernels: kernels == .float)
            let expected = images.withUnsafeBufferPointer { engine.logits($0.baseAddress!, batch: 3) }
            let fromFile = try Classifier(contentsOf: url, kernels: kernels)
            #expect(try fromFile.logits(images) == expected)
            #expect(try Classifier(bytes: bytes[...], kernels: kernels).logits(images) == expected)
            #expect(try fromFile.classify(images).flatMap(\.logits) == expected)
            #expect(fromFile.inputShape == [1, 28, 28] && fromFile.valuesPerImage == 784 && fromFile.classCount == 10)
            #expect(fromFile.classNames == EngineTestModels.classNames && fromFile.preprocessing == EngineTestModels.preprocessing)
        }
    }

    @Test("Rankings: softmax probabilities, most probable first, ties by label, class names")
    func rankings() throws {
        let classifier = try Self.classifier(EngineTestModels.spec("vit-mnist"))
        let result = try classifier.classify(EngineTestModels.fashionMNIST().images.scalars[..<784].map { $0 })[0]
        let p = result.probabilities
        #expect(abs(p.reduce(0, +) - 1) < 1e-12 && p.allSatisfy { $0 > 0 })
        let top = result.topK(3)
        #expect(top.count == 3 && top[0] == result.best)
        #expect(zip(top, top.dropFirst()).allSatisfy { $0.logit >= $1.logit && $0.probability >= $1.probability })
        #expect(top.allSatisfy { $0.name == EngineTestModels.classNames[$0.label] && $0.logit == result.logits[$0.label] && $0.probability == p[$0.label] })
        #expect(result.topK(50).count == 10 && result.topK(0).isEmpty && result.topK(-2).isEmpty)
        #expect(Set(result.topK(10).map(\.label)) == Set(0..<10))

        var tied = result
        tied.logits = [1, 3, 3, 0, 3, 2, 0, 0, 0, 0]
        #expect(tied.topK(4).map(\.label) == [1, 2, 4, 5])
        // The exponentials are Float's (as `bitvit predict` has always computed them).
        #expect(abs(tied.best.probability - exp(3) / (3 * exp(3) + exp(2) + exp(1) + 5)) < 1e-6)
    }

    @Test("Any thread count gives the same logits up to summation order; the choice is the classifier's alone")
    func threads() throws {
        let spec = EngineTestModels.spec("gsb-vit-mnist")
        let images = try EngineTestModels.fashionMNIST().images.scalars[..<(4 * 784)].map { $0 }
        let classifier = try Self.classifier(spec, threads: 1)
        let one = try classifier.logits(images)
        let process = Parallel.threadCount
        for threads in [2, 3, nil] {
            classifier.threads = threads
            // Kernels split their sums by thread count, so the logits may differ in the last bits.
            let logits = try classifier.logits(images)
            let scale = one.map(abs).max() ?? 1
            let difference = zip(logits, one).map { abs($0 - $1) }.max() ?? .infinity
            #expect(logits.count == one.count && difference <= 1e-5 * scale,
                    "threads \(String(describing: threads)): largest difference \(difference), logits up to \(scale)")
        }
        #expect(Parallel.threadCount == process)
        classifier.threads = 0
        #expect(classifier.threads == 1)
        classifier.threads = 1 << 20
        #expect(classifier.threads == 1024)
        #expect(try Self.classifier(spec, threads: -3).threads == 1)
    }

    @Test("Calls from several threads at once are served one at a time, each correctly")
    func sharedBetweenThreads() throws {
        let classifier = try Self.classifier(EngineTestModels.spec("vit-mnist"))
        let images = try EngineTestModels.fashionMNIST().images.scalars[..<(2 * 784)].map { $0 }
        let expected = try classifier.logits(images)
        let lock = NSLock()
        var results: [[Float]] = []
        DispatchQueue.concurrentPerform(iterations: 6) { _ in
            let logits = (try? classifier.logits(images)) ?? []
            lock.withLock { results.append(logits) }
        }
        #expect(results.count == 6 && results.allSatisfy { $0 == expected })
    }

    @Test("Bad input: a clear error naming the expected image size")
    func badInput() throws {
        let classifier = try Self.classifier(EngineTestModels.spec("vit-mnist"))
        #expect { try classifier.logits([Float](repeating: 0, count: 785)) } throws: {
            "\($0)".contains("785 floats are not a whole, non-zero number of 1×28×28 images (784 floats each)")
        }
        #expect { try classifier.classify([]) } throws: { "\($0)".contains("0 floats") }
        #expect { try Classifier(bytes: [UInt8](repeating: 7, count: 100), name: "blob") } throws: { "\($0)".contains("blob") }
        #expect { try Classifier(contentsOf: URL(fileURLWithPath: "/nonexistent/model.bitvit")) } throws: { "\($0)".contains("/nonexistent/model.bitvit") }
    }
}
