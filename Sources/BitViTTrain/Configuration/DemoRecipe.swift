extension TrainConfig {
    /// The recipe `bitvit demo` trains: a small full-precision ViT on Fashion-MNIST (the same
    /// text as `recipes/vit-mnist.yaml`; docs/results.md has its measured result).
    public static let demoRecipe = """
        # A small full-precision ViT on Fashion-MNIST: the `bitvit demo` default.
        # Measured result (2 cores): see docs/results.md.
        name: vit-mnist
        model:
          name: vit-mnist          # preset: 28×28 grayscale, 10 classes
          patch_size: 7            # 16 patches: 4× fewer tokens than the preset's patch 4
          dim: 128
          depth: 4
          heads: 4
          mlp_ratio: 2
        data:
          dataset: fashion-mnist   # /usr/share/datasets/fashion-mnist (Debian dataset-fashion-mnist)
          batch_size: 128
          augmentation:
            horizontal_flip: true    # no random crop: width 96 with 2-pixel crops reached 87.2 %
        optimizer:
          name: adamw
          lr: 2e-3
          weight_decay: 0.05
          clip_grad_norm: 1.0
        schedule:
          name: cosine
          warmup_epochs: 1
          warmup_lr: 1e-4
          min_lr: 1e-5
          stepping: iteration
        loss:
          label_smoothing: 0.1
        training:
          epochs: 10
          seed: 0
        """

    /// The resolved demo recipe.
    public static func demo(overrides: [String] = []) throws -> TrainConfig {
        try resolve(recipeText: demoRecipe, source: "embedded demo recipe", overrides: overrides)
    }
}
