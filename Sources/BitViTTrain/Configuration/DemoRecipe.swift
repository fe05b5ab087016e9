extension TrainConfig {
    /// The recipe `bitvit demo` trains: a small binary (GSB stage 2) ViT on Fashion-MNIST, the
    /// same text as `recipes/gsb-vit-mnist.yaml` (a test keeps the two equal; docs/results.md has
    /// its measured result). `recipes/vit-mnist.yaml` is its full-precision counterpart.
    public static let demoRecipe = """
        # A small binary ViT on Fashion-MNIST: the `bitvit demo` default (scripts/demo).
        # GSB stage 2 (docs/quantization.md): W1A1 block linears, binary Q/K, 3-group GSB on the Value
        # tensor and the attention matrix, 8-bit patch embedding and head; trained from scratch without a
        # teacher (the paper's two-stage, distilled recipe is recipes/gsb-stage1.yaml → gsb-stage2.yaml).
        # The geometry and optimization are those of recipes/vit-mnist.yaml (the full-precision
        # baseline), so the two runs compare directly. The best checkpoint is selected on 6,000 validation
        # images carved from the training split (10 % of every class, `data.validation`); the test split
        # is measured once, after training. Measured result: docs/results.md.
        name: gsb-vit-mnist
        model:
          name: gsb-vit-mnist      # preset: 28×28 grayscale, 10 classes, GSB stage 2
          patch_size: 7            # 16 patches + class token
          dim: 128
          depth: 4
          heads: 4
          mlp_ratio: 2
        data:
          dataset: fashion-mnist   # /usr/share/datasets/fashion-mnist (Debian dataset-fashion-mnist)
          batch_size: 128
          validation:
            size: 0.1
          augmentation:
            horizontal_flip: true
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
          epochs: 6
          seed: 0
        """

    /// The resolved demo recipe.
    public static func demo(overrides: [String] = []) throws -> TrainConfig {
        try resolve(recipeText: demoRecipe, source: "embedded demo recipe", overrides: overrides)
    }
}
