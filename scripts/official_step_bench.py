#!/usr/bin/env python3
"""Times one training step of the official PyTorch code of GSB (stage 2), Q-ViT and BHViT, as
their training scripts run it: forward, loss, backward, optimizer step, on random images.

Run by hand; it is the baseline of `bitvit bench train --method …` (docs/performance.md). The
official model classes are imported from a checkout given on the command line; none of their
code is in this repository. Each family needs the environment its code was written for
(the same ones `scripts/interop_fixtures.py` uses):

    python official_step_bench.py gsb   --checkout CHECKOUT_OF_IMRL/GSB-Vision-Transformer  # timm 0.4.12
    python official_step_bench.py qvit  --checkout CHECKOUT_OF_YanjingLi0202/Q-ViT          # timm 0.5.4
    python official_step_bench.py bhvit --checkout CHECKOUT_OF_IMRL/BHViT                   # timm 1.0, transformers 4.39

Geometry (GSB and Q-ViT): `--geometry small` is the DeiT-Ti width on 32×32 images, patch 4
(dim 192, depth 12, 3 heads, 66 tokens with the distillation token), `--geometry 224` DeiT-S at
224 (dim 384, depth 12, 6 heads, patch 16, 198 tokens); 10 classes. BHViT-Tiny exists only at
224 in the official code (its windows need 14×14 and 7×7 maps in stages 3 and 4).

The step, per family (the official training script's loss and optimizer):
- gsb: `train_stage2.py` — DeiT hard distillation (α 0.5, plain CE) through the official
  `DistillationLoss`, timm 0.4 `create_optimizer` (AdamW, weight decay 0.05, lr 1e-3·B/512);
- qvit: `main.py` with the README's recipe — hard distillation, LAMB with weight decay 0
  (timm's CPU `Lamb`: the README's apex `fusedlamb` needs CUDA), lr 3e-4·B/512, drop path 0.1;
- bhvit: `main_new.py` with `scripts/run_BHViT.sh`'s flags (BHViT-Tiny, FP downsampling,
  shift branches) — the official `DistributionLoss` against the teacher, AdamW, weight decay 0.
The teacher is not run: its logits are fixed random values (the teacher's forward is the same
full-precision inference whatever the student, so both sides leave it out).

Prints one line in the format of `bitvit bench train`:
    train model=official-<family>-<geometry> img/s=<f> ms/step=<f> cpu_ms/step=<f> peak_rss=<MB> threads=<n> params=<n> batch=<n>

`cpu_ms/step` is the process's CPU time over all threads. With `--threads 1` it measures the
work of a step whatever else runs on the machine (PyTorch's OpenMP threads spin while waiting,
so with more threads it also counts spinning).
"""
import argparse
import os
import resource
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from official_code import FixedTeacher, import_from, official_args, official_class  # noqa: E402

CLASSES = 10
GEOMETRIES = {
    "small": dict(img=32, patch=4, dim=192, depth=12, heads=3),
    "224": dict(img=224, patch=16, dim=384, depth=12, heads=6),
}


def first(x):
    return x[0] if isinstance(x, tuple) else x


def gsb_step(checkout, g, batch):
    from timm.optim import create_optimizer
    script = os.path.join(checkout, "train_stage2.py")
    module = import_from(checkout, "One_bit_vit_new")
    losses = import_from(checkout, "losses")
    a = official_args(script, ["--batch-size", str(batch), "--input-size", str(g["img"]),
                               "--distillation-type", "hard"])
    config = official_class(script, "OQ_VitConfig")(hidden_size=g["dim"], num_attention_heads=g["heads"])
    for key in ("weight_quant_method", "input_quant_method", "clip_init_val", "learnable_scaling",
                "sym_quant_qkvo", "weight_layerwise", "input_layerwise", "not_quantize_attention"):
        setattr(config, key, getattr(a, key))
    config.input_size = a.input_size
    model = module.lowbit_VisionTransformer(config=config, num_classes=CLASSES, patch_size=g["patch"],
                                            depth=g["depth"], mlp_ratio=4, qkv_bias=True,
                                            norm_layer=module.Q_OVitLayerNorm)
    a.lr = a.lr * a.batch_size / 512.0
    optimizer = create_optimizer(a, model)
    return model, optimizer, hard_distillation(losses, a)


def qvit_step(checkout, g, batch):
    from functools import partial
    from timm.optim import create_optimizer
    module = import_from(checkout, "quant_vision_transformer")
    losses = import_from(checkout, "losses")
    a = official_args(os.path.join(checkout, "main.py"),
                      ["--batch-size", str(batch), "--input-size", str(g["img"]), "--opt", "lamb",
                       "--weight-decay", "0", "--lr", "3e-4", "--distillation-type", "hard"])
    model = module.lowbit_VisionTransformer(
        nbits=4, img_size=g["img"], patch_size=g["patch"], embed_dim=g["dim"], depth=g["depth"],
        num_heads=g["heads"], mlp_ratio=4, qkv_bias=True, norm_layer=partial(nn.LayerNorm, eps=1e-6),
        num_classes=CLASSES, drop_rate=a.drop, drop_path_rate=a.drop_path)
    a.lr = a.lr * a.batch_size / 512.0
    optimizer = create_optimizer(a, model)
    return model, optimizer, hard_distillation(losses, a)


def hard_distillation(losses, a):
    base = torch.nn.CrossEntropyLoss()          # the scripts' final choice of base criterion

    def loss(outputs, labels, teacher):
        crit = losses.DistillationLoss(base, FixedTeacher(teacher), a.distillation_type,
                                       a.distillation_alpha, a.distillation_tau)
        return first(crit(None, outputs, labels))
    return loss


def bhvit_step(checkout, g, batch):
    from timm.optim import create_optimizer
    models = import_from(checkout, "models")
    losses = import_from(checkout, "losses")
    a = official_args(os.path.join(checkout, "main_new.py"),
                      ["--batch-size", str(batch), "--model", os.path.join(checkout, "configs", "BHViT_tiny"),
                       "--model-type", "dbhvit", "--replace-ln-bn", "--weight-bits", "1", "--input-bits", "1",
                       "--shift3", "--shift5", "--some-fp", "--drop-path", "0", "--dropout", "0",
                       "--weight-decay", "0", "--opt", "adamw", "--lr", "5e-4"])
    a.nb_classes = CLASSES
    model = models.get_model(a, a.model, a.model_type, a.weight_bits, a.input_bits)
    a.lr = a.lr * a.batch_size / 512.0
    optimizer = create_optimizer(a, model)
    kd = losses.DistributionLoss()
    return model, optimizer, lambda outputs, labels, teacher: kd(outputs.logits, teacher)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("family", choices=["gsb", "qvit", "bhvit"])
    p.add_argument("--checkout", required=True, help="checkout of the family's official repository")
    p.add_argument("--geometry", choices=sorted(GEOMETRIES), default="small")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--iters", type=int, default=5, help="timed steps (after 2 warm-up steps)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    if args.family == "bhvit" and args.geometry != "224":
        p.error("the official BHViT code builds only the 224 geometry (--geometry 224)")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    g = GEOMETRIES[args.geometry]
    make = {"gsb": gsb_step, "qvit": qvit_step, "bhvit": bhvit_step}[args.family]
    model, optimizer, loss_fn = make(os.path.abspath(args.checkout), g, args.batch)
    model.train()
    x = torch.randn(args.batch, 3, g["img"], g["img"])
    labels = torch.randint(0, CLASSES, (args.batch,))
    teacher = torch.randn(args.batch, CLASSES) * 2

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), labels, teacher)
        loss.item()                              # the scripts read the loss every step
        loss.backward()
        optimizer.step()

    for _ in range(2):
        step()
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(args.iters):
        step()
    seconds = (time.perf_counter() - start) / args.iters
    cpu_seconds = (time.process_time() - cpu_start) / args.iters
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    params = sum(p.numel() for p in model.parameters())
    name = {"gsb": "gsb-stage2", "qvit": "qvit-w4a4", "bhvit": "bhvit-tiny"}[args.family]
    print(f"train model=official-{name}-{args.geometry} img/s={args.batch / seconds:.2f} ms/step={seconds * 1000:.1f} "
          f"cpu_ms/step={cpu_seconds * 1000:.1f} "
          f"peak_rss={peak / 1e6:.0f}MB threads={torch.get_num_threads()} params={params} batch={args.batch}")


if __name__ == "__main__":
    main()
