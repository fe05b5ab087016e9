import Testing
import BitViTCore
import BitViTModels

/// `eval()` must reach every stochastic layer: a module that holds a `DropPath` or `Dropout`
/// without registering it as a child would keep dropping in evaluation.
@Suite struct EvaluationModeTests {
    static let specs: [ModelSpec] = [
        ModelSpec(name: "vit-mnist", classes: 10, depth: 2, dropRate: 0.3, dropPathRate: 0.5),
        ModelSpec(name: "gsb-vit-mnist", classes: 10, depth: 2, dropPathRate: 0.5),
        ModelSpec(name: "gsb-vit-mnist", classes: 10, depth: 2, dropPathRate: 0.5, options: ["stage": "1"]),
        ModelSpec(name: "qvit-vit-mnist", classes: 10, depth: 2, dropRate: 0.3, dropPathRate: 0.5),
        ModelSpec(name: "w1a1-vit-mnist", classes: 10, depth: 2, dropRate: 0.3, dropPathRate: 0.5),
        ModelSpec(name: "qvit-swin-mnist", classes: 10, dropPathRate: 0.5),
        ModelSpec(name: "bhvit-tiny-cifar", classes: 10, dropPathRate: 0.5),
    ]

    @Test(arguments: specs)
    func evaluationIsDeterministicWithDropPathAndDropout(spec: ModelSpec) throws {
        let model = try ModelZoo.make(spec, seed: 3)
        let geometry = try ModelZoo.inputGeometry(spec)
        var rng = RandomGenerator(seed: 11)
        let images = Tensor.randn([2, geometry.inChannels, geometry.imageSize, geometry.imageSize], using: &rng)
        model.train()
        let trained = withNoGrad { (model(images).logits, model(images).logits) }     // also initializes lazy quantizers
        #expect(trained.0.scalars != trained.1.scalars, "\(spec.name): drop path is active in training")
        model.eval()
        let first = withNoGrad { model(images).logits }, second = withNoGrad { model(images).logits }
        #expect(first.scalars == second.scalars, "\(spec.name): evaluation must not drop anything")
    }
}
