#!/usr/bin/env python3
"""Reference outputs of the evaluation transform (torchvision Resize + CenterCrop, as timm, DeiT,
GSB, Q-ViT and BHViT evaluate), for Tests/BitViTDataTests/EvaluationTransformReferenceTests.swift.

Run by hand (never at build or test time) with torch/torchvision/Pillow installed, from the
repository root:

    PY=$(bash ../shared/bench/setup-anchors.sh)
    $PY scripts/eval_transform_reference.py

It writes Tests/BitViTDataTests/Fixtures/eval_transform/: for every case an input PNG made from a
seeded generator, the expected 8-bit output of Resize(floor(size / crop_pct), interpolation)
followed by CenterCrop(size) (PNG, lossless), and cases.json with the settings, the resize
target, and statistics of the normalized tensor (ToTensor + Normalize with ImageNet mean/std).
"""
import json
import math
import os
import random

import PIL
import torch
import torchvision
from PIL import Image
from torchvision import transforms
from torchvision.transforms import InterpolationMode

OUT = os.path.join("Tests", "BitViTDataTests", "Fixtures", "eval_transform")
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

# name, width, height, mode, size, crop_pct, interpolation
CASES = [
    ("cifar-224", 32, 32, "RGB", 224, 0.875, "bicubic"),      # upsampled CIFAR: Resize(256) + CenterCrop(224)
    ("landscape-down", 120, 90, "RGB", 64, 0.875, "bicubic"),  # downscaling, wide image
    ("portrait-gray", 29, 45, "L", 24, 0.875, "bicubic"),      # tall gray image, odd crop offsets
    ("bilinear", 50, 37, "RGB", 24, 0.875, "bilinear"),        # another interpolation
    ("full-crop", 40, 30, "RGB", 30, 1.0, "bicubic"),          # crop_pct 1: resize only along the long side
]


def make_input(width, height, mode, seed):
    """Smooth gradients plus noise, so the resampling filters see both."""
    rng = random.Random(seed)
    channels = 1 if mode == "L" else 3
    data = []
    for y in range(height):
        for x in range(width):
            for c in range(channels):
                base = (x * 255 // max(1, width - 1) + y * 255 // max(1, height - 1) * (c + 1)) // (c + 2)
                data.append(max(0, min(255, base + rng.randint(-60, 60))))
    return Image.frombytes(mode, (width, height), bytes(data))


def main():
    os.makedirs(OUT, exist_ok=True)
    records = []
    for i, (name, w, h, mode, size, crop_pct, interp) in enumerate(CASES):
        image = make_input(w, h, mode, seed=1000 + i)
        image.save(os.path.join(OUT, f"{name}-input.png"))
        resize_to = math.floor(size / crop_pct)  # timm's scale_size; DeiT's int(256 / 224 * size) agrees here
        mode_enum = InterpolationMode.BICUBIC if interp == "bicubic" else InterpolationMode.BILINEAR
        geometric = transforms.Compose([transforms.Resize(resize_to, interpolation=mode_enum),
                                        transforms.CenterCrop(size)])
        cropped = geometric(image)
        cropped.save(os.path.join(OUT, f"{name}-expected.png"))
        mean, std = (MEAN[:1], STD[:1]) if mode == "L" else (MEAN, STD)
        tensor = transforms.Normalize(mean, std)(transforms.ToTensor()(cropped))
        flat = tensor.flatten()
        positions = [int(p * (flat.numel() - 1) / 15) for p in range(16)]
        records.append({
            "name": name, "width": w, "height": h, "channels": 1 if mode == "L" else 3,
            "size": size, "crop_pct": crop_pct, "interpolation": interp, "resize_to": resize_to,
            "normalized_channel_means": [float(tensor[c].double().mean()) for c in range(tensor.shape[0])],
            "normalized_samples": {str(p): float(flat[p]) for p in positions},
        })
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({"generator": "scripts/eval_transform_reference.py",
                   "versions": {"torch": torch.__version__, "torchvision": torchvision.__version__,
                                "Pillow": PIL.__version__},
                   "cases": records}, f, indent=1)
        f.write("\n")
    print(f"wrote {len(records)} cases to {OUT}")


if __name__ == "__main__":
    main()
