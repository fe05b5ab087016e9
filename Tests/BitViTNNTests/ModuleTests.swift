import BitViTNN
import BitViTTestSupport
import Testing

final class TinyNet: Module, Layer {
    let first: Linear
    let norm: BatchNorm
    let blocks: ModuleList<Linear>

    override init() {
        var rng = RandomGenerator(seed: 1)
        first = Linear(4, 3, rng: &rng)
        norm = BatchNorm(3, channelAxis: -1)
        blocks = ModuleList([Linear(3, 3, bias: false, rng: &rng), Linear(3, 2, rng: &rng)])
        super.init()
        child("first", first)
        child("norm", norm)
        child("blocks", blocks)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        blocks.reduce(norm(first(x))) { $1($0) }
    }
}

@Suite struct ModuleTests {
    @Test func namesAreHierarchicalAndStable() {
        let net = TinyNet()
        #expect(net.namedParameters().map(\.name) == [
            "first.weight", "first.bias", "norm.weight", "norm.bias",
            "blocks.0.weight", "blocks.1.weight", "blocks.1.bias"])
        #expect(net.namedBuffers().map(\.name) == ["norm.running_mean", "norm.running_var", "norm.num_batches_tracked"])
        #expect(net.parameterCount == 12 + 3 + 3 + 3 + 9 + 6 + 2)
    }

    @Test func strictAndNonStrictLoading() throws {
        let source = TinyNet(), target = TinyNet()
        source.first.weight.withMutableData { $0.update(repeating: 0.5) }
        try target.load(source.stateDict())
        #expect(target.first.weight.scalars == source.first.weight.scalars)

        var partial = source.stateDict()
        partial["first.weight"] = nil
        partial["extra"] = Tensor(1)
        #expect(throws: BitViTError.self) { try target.load(partial) }
        let report = try target.load(partial, strict: false)
        #expect(report.missing == ["first.weight"] && report.unexpected == ["extra"])

        var wrong = source.stateDict()
        wrong["first.bias"] = Tensor.zeros([4])
        #expect(throws: BitViTError.self) { try target.load(wrong, strict: false) }
    }

    @Test func modesPropagateAndBatchNormTracksStatistics() {
        let net = TinyNet()
        var rng = RandomGenerator(seed: 2)
        let x = Tensor.randn([5, 4], using: &rng)
        _ = net(x)
        #expect(net.norm.batchesTracked.item() == 1)
        #expect(net.norm.runningMean.scalars != [0, 0, 0])
        net.eval()
        #expect(!net.blocks[1].isTraining)
        let a = withNoGrad { net(x) }, b = withNoGrad { net(x.slice(axis: 0, 0..<2)) }
        assertClose(b.scalars, Array(a.scalars.prefix(4)), atol: 1e-6, "eval output does not depend on the batch")
    }

    @Test func dropoutAndDropPathOnlyActInTraining() {
        let random = RandomSource(seed: 3)
        let drop = Dropout(0.5, random: random), path = DropPath(0.5, random: random)
        let x = Tensor.ones([64, 16])
        let y = drop(x), z = path(x)
        #expect(Set(y.scalars) == [0, 2])
        for row in 0..<64 {
            let values = Set(z.scalars[(row * 16)..<(row * 16 + 16)])
            #expect(values == [0] || values == [2], "drop path keeps or drops whole samples")
        }
        drop.eval(); path.eval()
        #expect(drop(x).scalars == x.scalars && path(x).scalars == x.scalars)
    }

    @Test func layerGradientsPassFiniteDifferences() {
        let net = TinyNet()
        var rng = RandomGenerator(seed: 4)
        let x = Tensor.randn([6, 4], using: &rng)
        checkGradients("TinyNet", inputs: [x] + net.parameters, samples: 6) { _ in net(x) }
    }
}

@Suite struct TransformerLayerTests {
    @Test func dropoutInsideAttentionAndMLPFollowsEvalMode() {
        var rng = RandomGenerator(seed: 5)
        let random = RandomSource(seed: 6)
        let attention = MultiHeadSelfAttention(dim: 8, heads: 2, projDrop: 0.5, random: random, rng: &rng)
        let mlp = MLP(dim: 8, hidden: 16, drop: 0.5, random: random, rng: &rng)
        let x = Tensor.randn([2, 3, 8], using: &rng)
        attention.eval()
        mlp.eval()
        let a1 = withNoGrad { attention(x) }, a2 = withNoGrad { attention(x) }
        let m1 = withNoGrad { mlp(x) }, m2 = withNoGrad { mlp(x) }
        #expect(a1.scalars == a2.scalars && m1.scalars == m2.scalars, "no dropout in evaluation")
        #expect(attention.namedModules().map(\.name).contains("proj_drop"))
        #expect(mlp.namedModules().map(\.name).contains("drop"))
    }
}
