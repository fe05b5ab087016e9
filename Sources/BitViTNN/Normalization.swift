/// LayerNorm over the last axis with a learned affine transform (`weight` = 1, `bias` = 0).
public final class LayerNorm: Module, Layer {
    public let weight: Tensor
    public let bias: Tensor
    public let eps: Float

    public init(_ dim: Int, eps: Float = 1e-5) {
        self.eps = eps
        weight = Tensor.ones([dim])
        bias = Tensor.zeros([dim])
        super.init()
        parameter("weight", weight)
        parameter("bias", bias)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.layerNorm(weight: weight, bias: bias, eps: eps)
    }
}

/// Batch normalization with running statistics (PyTorch `BatchNorm1d/2d` state names:
/// `weight`, `bias`, buffers `running_mean`, `running_var`, `num_batches_tracked`).
///
/// `channelAxis` 1 normalizes `[B, C, H, W]` maps; −1 normalizes token tensors `[B, N, C]`
/// over all B·N tokens per channel.
public final class BatchNorm: Module, Layer {
    public let weight: Tensor
    public let bias: Tensor
    public let runningMean: Tensor
    public let runningVariance: Tensor
    public let batchesTracked: Tensor
    public let channelAxis: Int
    public let momentum: Float
    public let eps: Float
    /// Set by data-parallel training with synchronized BatchNorm: training-mode statistics are
    /// then those of the global batch (see `Tensor.batchNorm(…statisticsSum:)`).
    public var statisticsSum: CrossProcessSum?

    public init(_ channels: Int, channelAxis: Int = 1, momentum: Float = 0.1, eps: Float = 1e-5) {
        self.channelAxis = channelAxis
        self.momentum = momentum
        self.eps = eps
        weight = Tensor.ones([channels])
        bias = Tensor.zeros([channels])
        runningMean = Tensor.zeros([channels])
        runningVariance = Tensor.ones([channels])
        batchesTracked = Tensor.zeros([])
        super.init()
        parameter("weight", weight)
        parameter("bias", bias)
        buffer("running_mean", runningMean)
        buffer("running_var", runningVariance)
        buffer("num_batches_tracked", batchesTracked)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        if isTraining { batchesTracked.data[0] += 1 }
        return x.batchNorm(channelAxis: channelAxis, weight: weight, bias: bias,
                           runningMean: runningMean, runningVariance: runningVariance,
                           training: isTraining, momentum: momentum, eps: eps, statisticsSum: statisticsSum)
    }
}
