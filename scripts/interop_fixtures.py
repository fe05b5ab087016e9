#!/usr/bin/env python3
"""Writes the interoperability fixtures of Tests/BitViTInteropTests/Fixtures from the official
PyTorch code of DeiT (timm), GSB, Q-ViT and BHViT.

Run by hand, never in CI or at run time. The official model classes are imported from checkouts
given on the command line; none of their code is in this repository.

    python scripts/interop_fixtures.py --family deit  --deit  CHECKOUT_OF_facebookresearch/deit
    python scripts/interop_fixtures.py --family gsb   --gsb   CHECKOUT_OF_IMRL/GSB-Vision-Transformer
    python scripts/interop_fixtures.py --family qvit  --qvit  CHECKOUT_OF_YanjingLi0202/Q-ViT
    python scripts/interop_fixtures.py --family bhvit --bhvit CHECKOUT_OF_IMRL/BHViT

Environments used for the committed files (CPU, float32):
- deit:  Python 3.11, torch 2.15.0, timm 1.0.31 (facebookresearch/deit at its HEAD for the
         checkpoint layout and arguments).
- gsb:   Python 3.11, torch 2.15.0, timm 0.4.12 (the timm generation the code was written
         against: `timm.models.layers.helpers`, `create_optimizer(args, model)` with the 0.4.x
         no-weight-decay rule, which decays 0-dim tensors).
- qvit:  Python 3.11, torch 2.15.0, timm 0.5.4 (the same API and weight-decay rule, plus
         timm's CPU `Lamb`, which the README's apex `fusedlamb` needs CUDA for).
- bhvit: Python 3.11, torch 2.15.0, timm 1.0.31, transformers 4.39.2.

What each case writes (NAME below), all tensors float32 unless said:
- NAME.pth: the checkpoint exactly as the official training script saves it (`model`,
  `optimizer`, `lr_scheduler`, `epoch`, `scaler`, `args`, and `model_ema` where the script
  keeps an EMA), taken after five warm-up training steps (so lazily initialized quantizer
  scales and BatchNorm statistics hold trained values, see `warm_up`).
- NAME_eval.safetensors: `input` [B,3,S,S] and `logits` [B,classes], the official model's
  evaluation-mode output for that checkpoint.
- NAME_step.safetensors: one training step from the checkpoint's weights with a fresh
  optimizer built as the official script builds it (its parameter groups), its loss and train
  mode (dropout and drop path 0): `input`, `labels` (class ids as floats), `teacher_logits`
  (when the loss distils, so no teacher is needed to replay it), `loss` [1], and per official
  name `grad.NAME` (every parameter's gradient) and `after.NAME` (every parameter and buffer
  after the step). Metadata: `optimizer`, `lr`, `weight_decay`, `betas`, `eps`, `no_decay`
  (comma-separated names of the parameters in weight-decay-free groups), `max_grad_norm`
  (LAMB), `loss` (the objective).

BHViT's official geometry is fixed (224×224 input, widths 64/128/256/512: every preset has
more than 13 M parameters), and the full-size DeiT-S check needs 22 M, so those cases are not
committed as checkpoints. Their parameters are synthesized by a rule that Swift reproduces
bit for bit (`synthesized_value` below, `SynthesizedStateDict` in the tests) and only the
recipe and the outputs are committed:
- NAME_recipe.json: per official state entry: name, shape, low, high, seed
  (value i = float32(low + (high - low) * u_i), u_i = (fmix32(seed ^ (i * 0x9E3779B9)) >> 8) / 2^24,
  arithmetic in float64).
- NAME_eval.safetensors with `logits` only; the input batch is synthesized by the same rule
  (metadata `input_shape`, `input_low`, `input_high`, `input_seed`).
- NAME_step.safetensors (BHViT-Tiny only) with a sample of every tensor instead of the whole:
  `grad.NAME`, `after.NAME` at the indices k*(n-1)//(m-1), k < m = min(n, 32), of the
  flattened tensor; the optimizer starts fresh (BHViT's AdamW, weight decay 0).
"""
import argparse
import json
import math
import os
import sys
from functools import partial

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from official_code import FixedTeacher, import_from, official_args, official_class  # noqa: E402

BATCH = 4
CLASSES = 10
TINY = dict(img=16, patch=4, dim=24, depth=2, heads=2)


# ---------------------------------------------------------------------------------------------
# Shared functions


def to_f32(t):
    return t.detach().to(torch.float32).contiguous().clone()


def save_safetensors(path, tensors, metadata=None):
    from safetensors.torch import save_file
    save_file({k: to_f32(v) for k, v in tensors.items()}, path, metadata=metadata)


def batch(seed, size, img, classes=CLASSES):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(size, 3, img, img, generator=g)
    labels = torch.randint(0, classes, (size,), generator=g)
    teacher = torch.randn(size, classes, generator=g) * 2
    return x, labels, teacher


def optimizer_groups(optimizer, model):
    """Official parameter name of every optimizer parameter, and the no-decay names."""
    names = {id(p): n for n, p in model.named_parameters()}
    no_decay = []
    for group in optimizer.param_groups:
        if group.get("weight_decay", 0) == 0:
            no_decay += [names[id(p)] for p in group["params"]]
    return names, sorted(no_decay)


def step_record(model, optimizer, loss_fn, x, labels, teacher, extra_meta):
    """One training step; returns the fixture tensors and metadata."""
    names, no_decay = optimizer_groups(optimizer, model)
    out = {"input": x, "labels": labels.float()}
    if teacher is not None:
        out["teacher_logits"] = teacher
    model.train()
    optimizer.zero_grad()
    loss = loss_fn(model(x))
    loss.backward()
    for n, p in model.named_parameters():
        if p.grad is not None:
            out[f"grad.{n}"] = p.grad.clone()
    optimizer.step()
    out["loss"] = loss.detach().reshape(1)
    for n, t in model.state_dict().items():
        out[f"after.{n}"] = t
    g0 = optimizer.param_groups[0]
    meta = {
        "optimizer": type(optimizer).__name__,
        "lr": repr(g0["lr"]),
        "weight_decay": repr(max(g.get("weight_decay", 0) for g in optimizer.param_groups)),
        "betas": ",".join(repr(b) for b in g0.get("betas", ())),
        "eps": repr(g0.get("eps", 0)),
        "no_decay": ",".join(no_decay),
    }
    meta.update(extra_meta)
    return out, meta


def write_case(out_dir, name, model, make_optimizer, loss_fn, checkpoint, eval_x, step_x, step_labels,
               step_teacher, extra_meta=None):
    torch.save(checkpoint, os.path.join(out_dir, f"{name}.pth"))
    model.eval()
    with torch.no_grad():
        logits = model(eval_x)
    save_safetensors(os.path.join(out_dir, f"{name}_eval.safetensors"), {"input": eval_x, "logits": logits})
    tensors, meta = step_record(model, make_optimizer(), loss_fn, step_x, step_labels, step_teacher, extra_meta or {})
    save_safetensors(os.path.join(out_dir, f"{name}_step.safetensors"), tensors, meta)
    print(f"{name}: logits {tuple(logits.shape)}, loss {tensors['loss'].item():.6f}")


WARM_UP_STEPS = 5


def warm_up(model, optimizer, loss_with, seed):
    """Stands in for training: every parameter named `*.bias` that is still all zeros (the
    official initialization) gets small random values, then a few training steps on random
    batches give lazily initialized quantizer state and BatchNorm statistics trained values.

    The random biases keep the fixture free of ties: a binary layer's pre-activation is a sum
    of ±c terms that often cancels exactly, and with a zero bias (which a dead channel keeps
    forever) the rounding noise of the summation order (about 1e-10) would decide on which
    side of a binarizer's threshold at 0 it falls, differently in every GEMM implementation."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") and not p.any():
                p.copy_((torch.rand(p.shape, generator=g) - 0.5) * 0.04)
    model.train()
    for step in range(WARM_UP_STEPS):
        x, y, t = batch(seed + 1000 * step, BATCH, TINY["img"])
        optimizer.zero_grad()
        loss_with(y, t)(model(x)).backward()
        optimizer.step()


def train_and_write(args, name, model, a, losses, base, seed, distilled, extra_meta, ema=None):
    """The official script's optimizer, scheduler and loss scaler for `model` and `a` (its
    parsed arguments); warm-up, then the checkpoint, evaluation and step fixtures of `name`.
    `base` is the script's label criterion, wrapped in its `DistillationLoss`."""
    from timm.optim import create_optimizer
    from timm.scheduler import create_scheduler
    from timm.utils import NativeScaler
    a.lr = a.lr * a.batch_size / 512.0          # the scripts' linear scaling (one process)
    optimizer = create_optimizer(a, model)
    scheduler, _ = create_scheduler(a, optimizer)
    scaler = NativeScaler()

    def loss_with(labels, teacher):
        crit = losses.DistillationLoss(base, FixedTeacher(teacher), a.distillation_type,
                                       a.distillation_alpha, a.distillation_tau)
        return lambda outputs: first(crit(None, outputs, labels))

    warm_up(model, optimizer, loss_with, seed)
    checkpoint = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                  "lr_scheduler": scheduler.state_dict(), "epoch": 0}
    if ema is not None:
        from timm.utils import get_state_dict
        ema.update(model)
        checkpoint["model_ema"] = get_state_dict(ema)
    checkpoint.update({"scaler": scaler.state_dict(), "args": a})
    x1, y1, t1 = batch(seed + 1, BATCH, TINY["img"])
    teacher = t1 if distilled else None
    meta = dict(extra_meta)
    if "max_grad_norm" in optimizer.param_groups[0]:
        meta["max_grad_norm"] = repr(optimizer.param_groups[0]["max_grad_norm"])
    write_case(args.out, name, model, lambda: create_optimizer(a, model), loss_with(y1, teacher), checkpoint,
               batch(seed + 2, BATCH, TINY["img"])[0], x1, y1, teacher, meta)


# ---------------------------------------------------------------------------------------------
# DeiT (timm), checkpoints as facebookresearch/deit's main.py saves them


def deit_cases(args):
    import timm
    from timm.utils import ModelEma
    from timm.loss import LabelSmoothingCrossEntropy
    script = os.path.join(args.deit, "main.py")
    losses = import_from(args.deit, "losses")
    for distilled in (False, True):
        torch.manual_seed(1)
        name = "deit_tiny_distilled" if distilled else "deit_tiny"
        arch = "deit_tiny_distilled_patch16_224" if distilled else "deit_tiny_patch16_224"
        argv = ["--model", arch, "--batch-size", str(BATCH), "--input-size", str(TINY["img"]),
                "--drop-path", "0", "--mixup", "0", "--cutmix", "0", "--model-ema",
                "--distillation-type", "hard" if distilled else "none"]
        a = official_args(script, argv)
        a.nb_classes = CLASSES
        model = timm.create_model(arch, pretrained=False, num_classes=CLASSES, img_size=TINY["img"],
                                  patch_size=TINY["patch"], embed_dim=TINY["dim"], depth=TINY["depth"],
                                  num_heads=TINY["heads"], drop_rate=a.drop, drop_path_rate=a.drop_path)
        if distilled:
            model.set_distilled_training(True)      # training mode returns both heads, as DeiT's own class
        ema = ModelEma(model, decay=a.model_ema_decay, device="cpu", resume="")
        train_and_write(args, name, model, a, losses, LabelSmoothingCrossEntropy(smoothing=a.smoothing), 10, distilled,
                        {"loss": f"DistillationLoss(LabelSmoothingCrossEntropy({a.smoothing}), {a.distillation_type}, "
                                 f"alpha {a.distillation_alpha})"}, ema=ema)
        if distilled:
            # Facebook's release files hold the weights alone under "model".
            torch.save({"model": model.state_dict()}, os.path.join(args.out, "deit_tiny_distilled_release.pth"))
    synthesized_deit_small(args, timm)


def synthesized_deit_small(args, timm):
    model = timm.create_model("deit_small_patch16_224", pretrained=False)
    recipe = synthesize(model)
    write_recipe(args.out, "deit_small_224", recipe)
    x, meta = synthesized_input(2, 224)
    model.eval()
    with torch.no_grad():
        logits = model(x)
    save_safetensors(os.path.join(args.out, "deit_small_224_eval.safetensors"), {"logits": logits}, meta)
    print(f"deit_small_224: logits {tuple(logits.shape)}")


# ---------------------------------------------------------------------------------------------
# GSB, stages 1 and 2, checkpoints as train_stage{1,2}.py save them


def gsb_cases(args):
    losses = import_from(args.gsb, "losses")
    for stage in (1, 2):
        torch.manual_seed(2)
        script = os.path.join(args.gsb, f"train_stage{stage}.py")
        module = import_from(args.gsb, "One_bit_vit_weight" if stage == 1 else "One_bit_vit_new")
        a = official_args(script, ["--batch-size", str(BATCH), "--input-size", str(TINY["img"]),
                                         "--distillation-type", "hard"])
        # The script's configuration object, with the fixture's geometry.
        config = official_class(script, "OQ_VitConfig")(hidden_size=TINY["dim"], num_attention_heads=TINY["heads"])
        config.input_size = a.input_size
        config.weight_quant_method = a.weight_quant_method
        config.input_quant_method = a.input_quant_method
        config.clip_init_val = a.clip_init_val
        config.learnable_scaling = a.learnable_scaling
        config.sym_quant_qkvo = a.sym_quant_qkvo
        config.weight_layerwise = a.weight_layerwise
        config.input_layerwise = a.input_layerwise
        config.not_quantize_attention = a.not_quantize_attention
        # onebits_deit_small_patch16_224{,_w32} fix patch 16 and depth 12; the class is the same.
        model = module.lowbit_VisionTransformer(config=config, num_classes=CLASSES, patch_size=TINY["patch"],
                                                depth=TINY["depth"], mlp_ratio=4, qkv_bias=True,
                                                norm_layer=module.Q_OVitLayerNorm)
        train_and_write(args, f"gsb_stage{stage}", model, a, losses, torch.nn.CrossEntropyLoss(), 20, True,
                        {"loss": f"DistillationLoss(CrossEntropyLoss, hard, alpha {a.distillation_alpha})"})


# ---------------------------------------------------------------------------------------------
# Q-ViT, 2/3/4 bits, checkpoints as main.py saves them


def qvit_cases(args):
    module = import_from(args.qvit, "quant_vision_transformer")
    losses = import_from(args.qvit, "losses")
    script = os.path.join(args.qvit, "main.py")
    for bits in (2, 3, 4):
        torch.manual_seed(3)
        # The README's recipe: LAMB, weight decay 0, hard distillation. `fusedlamb` is apex's CUDA
        # kernel; timm's `lamb` is its CPU equivalent (same update, global-norm clip 1.0).
        a = official_args(script, ["--batch-size", str(BATCH), "--input-size", str(TINY["img"]),
                                         "--opt", "lamb", "--weight-decay", "0", "--lr", "3e-4",
                                         "--drop-path", "0", "--distillation-type", "hard"])
        model = module.lowbit_VisionTransformer(
            nbits=bits, img_size=TINY["img"], patch_size=TINY["patch"], embed_dim=TINY["dim"], depth=TINY["depth"],
            num_heads=TINY["heads"], mlp_ratio=4, qkv_bias=True, norm_layer=partial(nn.LayerNorm, eps=1e-6),
            num_classes=CLASSES, drop_rate=a.drop, drop_path_rate=a.drop_path)
        train_and_write(args, f"qvit_w{bits}", model, a, losses, torch.nn.CrossEntropyLoss(), 30, True,
                        {"loss": f"DistillationLoss(CrossEntropyLoss, hard, alpha {a.distillation_alpha})"})


def first(x):
    return x[0] if isinstance(x, tuple) else x


# ---------------------------------------------------------------------------------------------
# BHViT (synthesized parameters; see the header)


def bhvit_cases(args):
    from timm.optim import create_optimizer
    models = import_from(args.bhvit, "models")
    losses = import_from(args.bhvit, "losses")
    script = os.path.join(args.bhvit, "main_new.py")
    for preset, config_dir in (("tiny", "BHViT_tiny"), ("small", "BHViT")):
        for downsampling in ("fp", "binary"):
            name = f"bhvit_{preset}_{downsampling}"
            argv = ["--batch-size", "2", "--model", os.path.join(args.bhvit, "configs", config_dir),
                    "--model-type", "dbhvit", "--replace-ln-bn", "--weight-bits", "1", "--input-bits", "1",
                    "--shift3", "--shift5", "--drop-path", "0", "--dropout", "0", "--weight-decay", "0",
                    "--opt", "adamw", "--lr", "5e-4"]
            if downsampling == "fp":
                argv.append("--some-fp")
            a = official_args(script, argv)
            a.nb_classes = CLASSES
            model = models.get_model(a, a.model, a.model_type, a.weight_bits, a.input_bits)
            recipe = synthesize(model)
            write_recipe(args.out, name, recipe)
            x, meta = synthesized_input(2, 224)
            model.eval()
            with torch.no_grad():
                logits = model(x).logits
            save_safetensors(os.path.join(args.out, f"{name}_eval.safetensors"), {"logits": logits}, meta)
            print(f"{name}: logits {tuple(logits.shape)}")
            if preset != "tiny":
                continue
            a.lr = a.lr * a.batch_size / 512.0
            optimizer = create_optimizer(a, model)
            x1, step_meta = synthesized_input(2, 224, seed=0xBEEF)
            t1 = batch(41, 2, 8, classes=CLASSES)[2]
            kd = losses.DistributionLoss()
            loss_fn = lambda out: kd(out.logits, t1)
            tensors, meta = step_record(model, optimizer, loss_fn, x1, torch.zeros(2, dtype=torch.long), t1,
                                        dict(step_meta, loss="DistributionLoss (KD only)"))
            sampled = {}
            for key, t in tensors.items():
                if key.startswith(("grad.", "after.")):
                    flat = t.reshape(-1)
                    n = flat.numel()
                    m = min(n, 32)
                    idx = [k * (n - 1) // (m - 1) if m > 1 else 0 for k in range(m)]
                    sampled[key] = flat[idx]
                elif not key.startswith(("exp_avg", "labels", "input")):
                    sampled[key] = t
            save_safetensors(os.path.join(args.out, f"{name}_step.safetensors"), sampled, meta)
            print(f"{name}: step loss {tensors['loss'].item():.6f}")


# ---------------------------------------------------------------------------------------------
# Synthesized parameters (reproduced bit for bit by the Swift tests)


def fmix32(h):
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    h = h ^ (h >> np.uint32(16))
    return h


def synthesized_value(n, low, high, seed):
    i = np.arange(n, dtype=np.uint64)
    mixed = (np.uint64(seed) ^ ((i * np.uint64(0x9E3779B9)) & np.uint64(0xFFFFFFFF))).astype(np.uint32)
    u = (fmix32(mixed) >> np.uint32(8)).astype(np.float64) / float(1 << 24)
    return (low + (high - low) * u).astype(np.float32)


def value_range(name, shape):
    """The interval a parameter or buffer is drawn from, by its official name and shape."""
    leaf = name.rsplit(".", 1)[-1]
    if leaf == "running_var":
        return 0.5, 1.5
    if leaf == "running_mean":
        return -0.25, 0.25
    if leaf == "num_batches_tracked":
        return 10.0, 10.0
    if leaf == "init_state":
        return 1.0, 1.0
    if name.endswith("prelu.weight"):
        return 0.15, 0.35
    if "att_prob_quantizer" in name:
        return (0.05, 0.09) if leaf == "alpha" else (0.0, 0.01)
    if "layerscale" in name and leaf == "alpha":
        return 0.05, 0.15
    if leaf in ("a1", "parm"):
        return 0.3, 0.7
    if len(shape) == 1 and leaf == "weight":                      # norms
        return 0.75, 1.25
    if "position_embeddings" in name or leaf in ("pos_embed", "cls_token", "dist_token"):
        return -0.04, 0.04
    if len(shape) >= 2:
        fan_in = int(np.prod(shape[1:]))
        bound = 1.0 / math.sqrt(fan_in)
        return -bound, bound
    return -0.05, 0.05


def synthesize(model):
    """Fills every parameter and buffer of `model` by the rule; returns the recipe."""
    recipe = []
    state = model.state_dict()
    for index, (name, t) in enumerate(state.items()):
        low, high = value_range(name, tuple(t.shape))
        seed = (0x1234567 + 7919 * index) & 0xFFFFFFFF
        values = synthesized_value(t.numel(), low, high, seed).reshape(tuple(t.shape))
        with torch.no_grad():
            t.copy_(torch.from_numpy(values).to(t.dtype))
        recipe.append({"name": name, "shape": list(t.shape), "low": low, "high": high, "seed": seed})
    return recipe


def synthesized_input(size, img, seed=0xC0FFEE):
    """An image batch [size, 3, img, img] in [-2, 2) by the rule, and the metadata to rebuild it."""
    n = size * 3 * img * img
    x = torch.from_numpy(synthesized_value(n, -2.0, 2.0, seed).reshape(size, 3, img, img))
    return x, {"input_shape": f"{size},3,{img},{img}", "input_low": "-2", "input_high": "2", "input_seed": str(seed)}


def write_recipe(out_dir, name, recipe):
    with open(os.path.join(out_dir, f"{name}_recipe.json"), "w") as f:
        json.dump(recipe, f, separators=(",", ":"))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--family", required=True, choices=["deit", "gsb", "qvit", "bhvit"])
    p.add_argument("--deit", help="checkout of facebookresearch/deit")
    p.add_argument("--gsb", help="checkout of IMRL/GSB-Vision-Transformer")
    p.add_argument("--qvit", help="checkout of YanjingLi0202/Q-ViT")
    p.add_argument("--bhvit", help="checkout of IMRL/BHViT")
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "Tests", "BitViTInteropTests",
                                                 "Fixtures"))
    args = p.parse_args()
    checkout = getattr(args, args.family)
    if not checkout:
        p.error(f"--{args.family} CHECKOUT is required")
    setattr(args, args.family, os.path.abspath(checkout))
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(2)
    {"deit": deit_cases, "gsb": gsb_cases, "qvit": qvit_cases, "bhvit": bhvit_cases}[args.family](args)


if __name__ == "__main__":
    main()
