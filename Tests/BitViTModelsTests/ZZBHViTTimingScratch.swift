import BitViTModels
import Foundation
import Testing

@Suite struct ZZBHViTTimingScratch {
    @Test func timing() throws {
        guard ProcessInfo.processInfo.environment["BHVIT_TIMING"] != nil else { return }
        var config = BHViTConfig.tinyCIFAR
        if let d = ProcessInfo.processInfo.environment["BHVIT_DEPTHS"] {
            let depths = d.split(separator: ",").map { Int($0)! }
            for i in 0..<depths.count { config.stages[i].depth = depths[i] }
        }
        let batch = Int(ProcessInfo.processInfo.environment["BHVIT_BATCH"] ?? "64")!
        let model = try BHViT(config)
        print("params", model.parameterCount)
        model.train()
        var rng = RandomGenerator(seed: 0)
        let images = Tensor.randn([batch, 3, 32, 32], using: &rng)
        let labels = (0..<batch).map { _ in rng.nextInt(below: 10) }
        func step() {
            model.zeroGrad()
            let loss = Tensor.crossEntropy(logits: model(images).logits, labels: labels)
            loss.backward()
        }
        step()
        let profile = ProcessInfo.processInfo.environment["BHVIT_PROFILE"] != nil
        OpProfiler.isEnabled = profile
        OpProfiler.reset()
        let start = Date()
        let steps = 3
        for _ in 0..<steps { step() }
        let s = Date().timeIntervalSince(start) / Double(steps)
        print(String(format: "step %.3f s, %.1f img/s", s, Double(batch) / s))
        if profile { print(OpProfiler.table(perSteps: steps)) }
        OpProfiler.isEnabled = false
    }
}
