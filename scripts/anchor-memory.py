"""Resident memory of ONNX Runtime running timm's DeiT at batch 1 (FP32 and dynamic int8), the
memory anchor of `bitvit bench compare`. Run by hand or by that command with the anchors' python
(`PY=$(bash ../shared/bench/setup-anchors.sh)`); never at BitViT's run time.

Exports the model to ONNX in this process (PyTorch, timm), then measures each runtime in a fresh
child process that imports only numpy and onnxruntime: its resident memory after the imports,
and its peak after creating the session and running 10 batch-1 inferences.
Prints one line per runtime: `<runtime> rss_before_mb=<f> peak_rss_mb=<f> engine_mb=<f>`.
Usage: anchor-memory.py [--model deit_small_patch16_224] [--threads 2]
"""
import argparse, os, subprocess, sys, tempfile

CHILD = r'''
import sys
import numpy as np, onnxruntime as ort
def status_mb(key):
    # VmHWM is this process image's peak (getrusage's maxrss would keep the parent's across exec).
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1]) * 1024 / 1e6
def rss_mb():
    return status_mb('VmRSS')
before = rss_mb()
so = ort.SessionOptions(); so.intra_op_num_threads = int(sys.argv[2]); so.inter_op_num_threads = 1
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
s = ort.InferenceSession(sys.argv[1], so, providers=['CPUExecutionProvider'])
x = np.random.randn(1, 3, int(sys.argv[3]), int(sys.argv[3])).astype(np.float32)
for _ in range(10): s.run(None, {'x': x})
peak = status_mb('VmHWM')
print(f"{sys.argv[4]} rss_before_mb={before:.1f} peak_rss_mb={peak:.1f} engine_mb={peak - before:.1f}", flush=True)
'''

ap = argparse.ArgumentParser()
ap.add_argument('--model', default='deit_small_patch16_224')
ap.add_argument('--img', type=int, default=224)
ap.add_argument('--classes', type=int, default=1000)
ap.add_argument('--threads', type=int, default=2)
a = ap.parse_args()

import torch, timm
from onnxruntime.quantization import quantize_dynamic, QuantType
tmp = tempfile.mkdtemp()
m = timm.create_model(a.model, pretrained=False, num_classes=a.classes, img_size=a.img).eval()
fp32 = os.path.join(tmp, 'm.onnx'); int8 = os.path.join(tmp, 'm_int8.onnx')
torch.onnx.export(m, torch.randn(1, 3, a.img, a.img), fp32, input_names=['x'], output_names=['y'], opset_version=18, dynamo=False)
quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8)
for path, name in [(fp32, 'onnxruntime-fp32'), (int8, 'onnxruntime-int8')]:
    subprocess.run([sys.executable, '-c', CHILD, path, str(a.threads), str(a.img), name], check=True)
