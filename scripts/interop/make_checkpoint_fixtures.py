#!/usr/bin/env python3
"""Writes the PyTorch checkpoint fixtures of the BitViTCore tests.

Run by hand (never at build or test time) with a Python that has torch and safetensors, for
example the speed-anchor environment:

    PY=$(bash ../shared/bench/setup-anchors.sh)
    $PY scripts/interop/make_checkpoint_fixtures.py [output-dir]

The default output is Tests/BitViTCoreTests/Fixtures/pytorch. Every file in it is either the
output of a real `torch.save` / `safetensors.torch.save_file`, a real file re-packed the way
other tools re-pack (deflated zip, big-endian byte order), or a hostile file crafted byte by
byte. `expected.json` records, for each readable fixture, what PyTorch itself reads back
(`torch.load(weights_only=False)`): every tensor's dtype, shape and values, which tensors
share storage, and the layout. `hostile/manifest.json` lists the hostile files with a
fragment of the error message the reader must give.
"""

import argparse
import io
import json
import os
import struct
import sys
import zipfile

import torch
import torch.nn as nn
from safetensors.torch import save_file


class Tiny(nn.Module):
    """A miniature ViT-like model: every kind of state a real one has (weights, biases, a
    free parameter, LayerNorm, BatchNorm with its int64 counter)."""

    def __init__(self):
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, 3))
        self.patch = nn.Linear(4, 3)
        self.norm = nn.LayerNorm(3)
        self.bn = nn.BatchNorm1d(3)
        self.head = nn.Linear(3, 2)

    def forward(self, x):
        return self.head(self.bn(self.norm(self.patch(x)) + self.cls_token[0, 0]))


def tiny_model(seed):
    torch.manual_seed(seed)
    model = Tiny()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p))
    model.train()
    model(torch.randn(5, 4))  # updates BatchNorm running stats and num_batches_tracked
    return model


def trained(model):
    """One AdamW step, so the optimizer state is real."""
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    model(torch.randn(5, 4)).square().mean().backward()
    opt.step()
    return opt


def training_args():
    return argparse.Namespace(model="deit_tiny_patch16_224", lr=5e-4, epochs=300, drop_path=0.1,
                              model_ema=True, resume="", seed=0, input_size=224, smoothing=0.1,
                              mixup_mode=None, milestones=[30, 60])


def describe(obj):
    """What torch.load reads: {name: {dtype, shape, values[, integers]}} for a dict of tensors."""
    out = {}
    for name, t in obj.items():
        if not isinstance(t, torch.Tensor):
            continue
        entry = {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape),
                 "values": t.detach().to(torch.float32).flatten().tolist()}
        if not (t.is_floating_point()):
            entry["integers"] = t.detach().to(torch.int64).flatten().tolist()
        out[name] = entry
    return out


def shared_groups(obj):
    groups = {}
    for name, t in obj.items():
        if isinstance(t, torch.Tensor):
            groups.setdefault(t.untyped_storage().data_ptr(), []).append(name)
    return [g for g in groups.values() if len(g) > 1]


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "Tests/BitViTCoreTests/Fixtures/pytorch")
    os.makedirs(os.path.join(out, "hostile"), exist_ok=True)
    expected = {}

    def save(name, obj, **kwargs):
        path = os.path.join(out, name)
        torch.save(obj, path, **kwargs)
        return path

    def record(name, state_dict_path, layout, prefixes, ignored, tensors=None, fmt="torchZip", ema=None):
        loaded = torch.load(os.path.join(out, name), weights_only=False) if fmt != "safetensors" else None
        sd = tensors
        if sd is None:
            sd = loaded
            for key in state_dict_path:
                sd = sd[key]
            if prefixes:
                sd = {k[len("".join(prefixes)):]: v for k, v in sd.items()}
        entry = {"format": fmt, "path": layout, "removedPrefixes": prefixes, "ignored": ignored,
                 "tensors": describe(sd), "shared": shared_groups(sd)}
        if ema is not None:
            entry["ema"] = ema
        expected[name] = entry

    # 1. Every dtype, including uint16 (written with _rebuild_tensor_v3 and an untyped storage),
    #    a 0-d tensor and an empty one with its own (empty) storage.
    base = torch.tensor([0.0, 1.5, -2.25, 3.0e4, -7.0, 0.099975586])
    dtypes = {
        "f32": base.clone(), "f16": base.to(torch.float16), "bf16": base.to(torch.bfloat16),
        "f64": base.to(torch.float64) / 3, "i64": torch.tensor([0, -1, 2**40, -(2**40), 7, 16777217]),
        "i32": torch.tensor([0, -1, 2**31 - 1, -(2**31), 5, 6], dtype=torch.int32),
        "i16": torch.tensor([0, -1, 32767, -32768, 5, 6], dtype=torch.int16),
        "i8": torch.tensor([0, -1, 127, -128, 5, 6], dtype=torch.int8),
        "u8": torch.tensor([0, 1, 255, 128, 5, 6], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True, True, False, False]),
        "u16": torch.tensor([0, 1, 65535, 40000, 5, 6], dtype=torch.int32).to(torch.uint16),
        "scalar": torch.tensor(2.5), "matrix": torch.arange(12, dtype=torch.float32).reshape(3, 4),
        "empty": torch.zeros(0, 3),
    }
    save("dtypes.pt", dtypes)
    record("dtypes.pt", [], [], [], [])

    # 2. A DeiT-style training checkpoint (main.py of the DeiT repository saves these keys).
    model, ema_model = tiny_model(1), tiny_model(2)
    opt = trained(model)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=30)
    save("deit_training.pt", {
        "model": model.state_dict(), "optimizer": opt.state_dict(), "lr_scheduler": sched.state_dict(),
        "epoch": 7, "model_ema": ema_model.state_dict(), "scaler": {"scale": 65536.0, "growth_factor": 2.0},
        "args": training_args(), "max_accuracy": 71.25,
    })
    record("deit_training.pt", ["model"], ["model"], [],
           ["optimizer", "lr_scheduler", "epoch", "model_ema", "scaler", "args", "max_accuracy"],
           ema={"path": ["model_ema"], "tensors": describe(ema_model.state_dict())})

    # 3. A timm-style checkpoint (train.py): state_dict + state_dict_ema, saved from a
    #    DataParallel model, so every name starts with "module.".
    wrapped = nn.DataParallel(tiny_model(3))
    save("timm_ddp.pt", {"epoch": 12, "arch": "tiny", "state_dict": wrapped.state_dict(),
                         "optimizer": trained(wrapped.module).state_dict(), "version": 2,
                         "args": training_args(), "metric": 0.5,
                         "state_dict_ema": nn.DataParallel(tiny_model(4)).state_dict()})
    record("timm_ddp.pt", ["state_dict"], ["state_dict"], ["module."],
           ["epoch", "arch", "optimizer", "version", "args", "metric", "state_dict_ema"],
           ema={"path": ["state_dict_ema"], "prefixes": ["module."],
                "tensors": describe({k[7:]: v for k, v in nn.DataParallel(tiny_model(4)).state_dict().items()})})

    # 4. Shared storages: the same tensor twice, views, slices with offsets, a transposed and
    #    a strided view, a broadcast (stride 0) view, an empty slice, and a module whose head
    #    is tied to its embedding (distinct tensors on one storage).
    torch.manual_seed(5)
    w = torch.randn(4, 6)
    tied = nn.Sequential(nn.Embedding(6, 4), nn.Linear(4, 6, bias=False))
    tied[1].weight = tied[0].weight
    shared = {
        "w": w, "w_again": w, "w_view": w.view(6, 4), "rows": w[1:3], "column": w[:, 2],
        "transposed": w.t(), "every_other": w[:, ::2], "broadcast": torch.randn(3, 1).expand(3, 4),
        "empty": w[0:0], "corner": w[2:, 3:].t(),
    }
    for k, v in tied.state_dict().items():
        shared["tied." + k] = v
    save("shared.pt", shared)
    record("shared.pt", [], [], [], [])

    # 5. The legacy (pre-1.6) stream format and older pickle protocols.
    legacy = {"model": model.state_dict(), "epoch": 3, "args": training_args(),
              "rows": w[1:3], "w": w}
    save("legacy.pt", legacy, _use_new_zipfile_serialization=False)
    record("legacy.pt", ["model"], ["model"], [], ["epoch", "args", "rows", "w"], fmt="torchLegacy")
    save("protocol1.pt", {"model": model.state_dict(), "args": training_args(), "epoch": 1}, pickle_protocol=1)
    record("protocol1.pt", ["model"], ["model"], [], ["args", "epoch"])
    save("protocol4.pt", {"model": model.state_dict(), "args": training_args(), "epoch": 4}, pickle_protocol=4)
    record("protocol4.pt", ["model"], ["model"], [], ["args", "epoch"])

    # 6. Rebuild functions beyond _rebuild_tensor_v2: parameters (with and without state)
    #    and a tensor carrying a Python attribute (_rebuild_from_type_v2).
    p = nn.Parameter(torch.tensor([1.0, 2.0]))
    ps = nn.Parameter(torch.tensor([3.0, 4.0]))
    ps.note = "hello"
    x = torch.tensor([5.0, 6.0])
    x.note = 7
    save("rebuilds.pt", {"param": p, "param_with_state": ps, "with_attribute": x})
    record("rebuilds.pt", [], [], [], [])

    # 7. A whole pickled module (torch.save(model)), read through its inert records.
    save("whole_module.pt", model)
    expected["whole_module.pt"] = {"format": "torchZip", "path": ["<module>"], "removedPrefixes": [], "ignored": [],
                                   "tensors": describe(model.state_dict()), "shared": []}

    # 8. torch.compile's "_orig_mod." prefix under a DataParallel "module." prefix.
    compiled = {"module._orig_mod." + k: v for k, v in model.state_dict().items()}
    save("compiled_ddp.pt", {"state_dict": compiled})
    expected["compiled_ddp.pt"] = {"format": "torchZip", "path": ["state_dict"], "removedPrefixes": ["module.", "_orig_mod."],
                                   "ignored": [], "tensors": describe(model.state_dict()), "shared": []}

    # 9. Container variants: no CRC-32s, deflate-compressed entries, big-endian byte order.
    torch.serialization.set_crc32_options(False)
    save("no_crc.pt", {"model": model.state_dict()})
    torch.serialization.set_crc32_options(True)
    record("no_crc.pt", ["model"], ["model"], [], [])

    src = save("deflated_src.pt", {"model": model.state_dict(), "epoch": 9})
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(os.path.join(out, "deflated.pt"), "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
    os.remove(src)
    record("deflated.pt", ["model"], ["model"], [], ["epoch"])

    be_tensors = {"f32": base.clone(), "f16": base.to(torch.float16), "bf16": base.to(torch.bfloat16),
                  "i64": dtypes["i64"], "f64": dtypes["f64"], "u8": dtypes["u8"]}
    src = save("big_endian_src.pt", be_tensors)
    widths = [t.element_size() for t in be_tensors.values()]  # storage keys are "0", "1", … in this order
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(os.path.join(out, "big_endian.pt"), "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            parts = info.filename.split("/")
            if parts[-1] == "byteorder":
                data = b"big"
            elif len(parts) == 3 and parts[1] == "data":
                width = widths[int(parts[2])]
                data = b"".join(data[i:i + width][::-1] for i in range(0, len(data), width))
            zout.writestr(info.filename, data)
    os.remove(src)
    for name, t in torch.load(os.path.join(out, "big_endian.pt")).items():
        assert torch.equal(t, be_tensors[name]), name  # PyTorch itself reads the crafted file back
    record("big_endian.pt", [], [], [], [])

    # 10. safetensors files as timm and Hugging Face write them.
    sd16 = {k: v.to(torch.float16) if v.is_floating_point() else v for k, v in model.state_dict().items()}
    save_file(sd16, os.path.join(out, "timm_f16.safetensors"), metadata={"format": "pt"})
    record("timm_f16.safetensors", [], [], [], [], tensors=sd16, fmt="safetensors")
    mixed = {"bf16": base.to(torch.bfloat16).reshape(2, 3), "i64": dtypes["i64"], "bool": dtypes["bool"],
             "scalar": torch.tensor(1.25)}
    save_file(mixed, os.path.join(out, "mixed.safetensors"), metadata={"format": "pt", "source": "bitvit fixtures"})
    record("mixed.safetensors", [], [], [], [], tensors=mixed, fmt="safetensors")

    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")

    write_hostile(os.path.join(out, "hostile"), os.path.join(out, "dtypes.pt"))
    write_plain_pickles(os.path.join(out, "pickles"))


def write_plain_pickles(out):
    """One plain-data object pickled by CPython with every protocol 0-5: the reader must decode
    all six to the same value (the tests check the fields named here)."""
    import collections
    import pickle
    os.makedirs(out, exist_ok=True)
    value = {
        "ints": [0, 1, -1, 255, 256, 65535, 65536, -129, 2**31 - 1, -(2**31), 2**62, -(2**63), 2**70, -(2**70)],
        "floats": [0.0, -0.0, 1.5, -2.25e-7, 1e300, float("inf")],
        "text": ["", "plain", "quote ' and \"", "back\\slash\nnewline\ttab", "caf\u00e9 \u65e5\u672c \U0001F600"],
        "bytes": b"\x00\x01\xfe\xff\\'\"",
        "nested": (1, (2, [3, {"four": 4}]), ()),
        "set": {3, 1, 2},
        "frozen": frozenset(["a"]),
        "ordered": collections.OrderedDict([("b", 1), ("a", 2)]),
        "int_keys": {0: "zero", 7: "seven"},
        "flags": [None, True, False],
        "shared": None,
        "namespace": argparse.Namespace(lr=0.5, name="x", steps=[1, 2]),
    }
    inner = [1, 2]
    value["shared"] = [inner, inner]
    for protocol in range(6):
        with open(os.path.join(out, "protocol%d.pkl" % protocol), "wb") as f:
            pickle.dump(value, f, protocol=protocol)


def write_hostile(out, template):
    """Hostile and damaged files, each with a fragment of the error the reader must give."""
    manifest = {}
    with zipfile.ZipFile(template) as z:
        records = {info.filename: z.read(info.filename) for info in z.infolist()}
    prefix = next(n for n in records if n.endswith("/data.pkl"))[:-len("data.pkl")]

    def as_zip(name, pickle, expect, extra=None):
        path = os.path.join(out, name)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zout:
            for filename, data in records.items():
                zout.writestr(filename, pickle if filename.endswith("/data.pkl") else data)
            for filename, data in (extra or {}).items():
                zout.writestr(prefix + filename, data)
        manifest[name] = expect

    def raw(name, data, expect):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        manifest[name] = expect

    def storage(key, count, type_name="FloatStorage"):
        return (b"(X\x07\x00\x00\x00storage" + b"ctorch\n" + type_name.encode() + b"\n"
                + b"X" + struct.pack("<I", len(key)) + key.encode() + b"X\x03\x00\x00\x00cpu"
                + b"\x8a\x08" + struct.pack("<q", count) + b"tQ")

    def tensor(storage_bytes, offset, size, stride):
        ints = lambda xs: b"(" + b"".join(b"\x8a\x08" + struct.pack("<q", x) for x in xs) + b"t"
        return (b"ctorch._utils\n_rebuild_tensor_v2\n(" + storage_bytes + b"\x8a\x08" + struct.pack("<q", offset)
                + ints(size) + ints(stride) + b"\x89ccollections\nOrderedDict\n)RtR")

    # The classic exploit: call os.system through REDUCE.
    as_zip("os_system.pt", b"\x80\x02cos\nsystem\nX\x0a\x00\x00\x00echo pwned\x85R.", "refusing 'os.system'")
    # The same, as protocol 4 names it (STACK_GLOBAL), through builtins.eval.
    as_zip("builtins_eval.pt", b"\x80\x04\x8c\x08builtins\x8c\x04eval\x93\x8c\x0aprint(\"x\")\x85R.", "refusing 'builtins.eval'")
    # subprocess inside an otherwise plausible state dict.
    as_zip("subprocess_in_dict.pt", b"\x80\x02}(X\x01\x00\x00\x00wcsubprocess\ncheck_output\n]X\x02\x00\x00\x00id\x85\x85Ru.",
           "refusing 'subprocess.check_output'")
    # A legacy-format stream whose first pickle is the exploit.
    raw("legacy_os_system.pt", b"\x80\x02cposix\nsystem\nX\x02\x00\x00\x00id\x85R.", "refusing 'posix.system'")
    # 20 000 nested one-tuples (constant stack, unbounded depth).
    as_zip("deep_tuples.pt", b"\x80\x02N" + b"\x85" * 20000 + b".", "nested deeper than the limit")
    # 5 000 nested MARKs.
    as_zip("deep_marks.pt", b"\x80\x02" + b"(" * 5000 + b".", "nested MARKs")
    # A list that contains itself.
    as_zip("cycle.pt", b"\x80\x02]q\x00h\x00a.", "reference cycle")
    # A memo index that was never stored (after storing the largest possible one).
    as_zip("huge_memo_index.pt", b"\x80\x02]r\xff\xff\xff\xffj\xfe\xff\xff\xff.", "memo index 4294967294 was never stored")
    # A string that declares 4 GB.
    as_zip("oversized_string.pt", b"\x80\x02X\xf0\xff\xff\xff" + b"abc.", "needs 4294967280 bytes")
    # A 2 GB integer.
    as_zip("oversized_long.pt", b"\x80\x02\x8b\xff\xff\xff\x7f" + b"\x00" * 8 + b".", "exceeds the limit")
    # A tensor whose declared storage size disagrees with the record.
    as_zip("storage_size_mismatch.pt", b"\x80\x02" + tensor(storage("0", 10 ** 15), 0, [1], [1]) + b".", "holds 24 bytes")
    # A tensor that reads past its storage (record data/0 holds 6 float32 values).
    as_zip("view_past_storage.pt", b"\x80\x02}X\x01\x00\x00\x00w" + tensor(storage("0", 6), 2, [1 << 20], [1]) + b"s.",
           "reaches element 1048577")
    # A storage record that is missing.
    as_zip("missing_storage.pt", b"\x80\x02" + tensor(storage("999", 1), 0, [1], [1]) + b".", "storage '999' is missing")
    # A storage type that is not one.
    as_zip("bad_storage_type.pt", b"\x80\x02" + tensor(storage("0", 6, "Tensor"), 0, [1], [1]) + b".",
           "not a storage type")
    # A quantized-tensor rebuild function.
    as_zip("qtensor.pt", b"\x80\x02ctorch._utils\n_rebuild_qtensor\n)R.", "_rebuild_qtensor")
    # Out-of-band buffers (protocol 5).
    as_zip("next_buffer.pt", b"\x80\x05\x97.", "out-of-band buffers")
    # An unknown opcode.
    as_zip("unknown_opcode.pt", b"\x80\x02\xff.", "unknown opcode")
    # A pickle that never stops.
    as_zip("no_stop.pt", b"\x80\x02]", "without a STOP")
    # Popping below a MARK.
    as_zip("stack_underflow.pt", b"\x80\x02N(a.", "stack underflow")
    # A TorchScript archive.
    as_zip("torchscript.pt", b"\x80\x02}.", "TorchScript", extra={"constants.pkl": b"\x80\x02).", "code/__torch__.py": b""})
    # A real checkpoint cut in half (the central directory is gone).
    with open(template, "rb") as f:
        whole = f.read()
    raw("truncated.pt", whole[: len(whole) // 2], "end-of-central-directory")
    # A zip whose ZIP64 end record claims ten million entries.
    zip64 = bytearray(whole)
    z64 = zip64.rindex(b"PK\x06\x06")
    zip64[z64 + 24:z64 + 40] = struct.pack("<QQ", 10 ** 7, 10 ** 7)
    raw("too_many_entries.pt", bytes(zip64), "zip entries exceed the limit")
    # A storage record whose bytes were damaged (the CRC-32 catches it).
    with zipfile.ZipFile(template) as z:
        info = z.getinfo(prefix + "data/0")
    name_length, extra_length = struct.unpack("<HH", whole[info.header_offset + 26:info.header_offset + 30])
    data_start = info.header_offset + 30 + name_length + extra_length
    damaged = bytearray(whole)
    damaged[data_start + 1] ^= 0xFF
    raw("crc_mismatch.pt", bytes(damaged), "CRC-32")
    # Not a checkpoint at all.
    raw("not_a_checkpoint.pt", b"GIF89a\x01\x00\x01\x00", "not a checkpoint BitViT reads")
    # A tar-format file of PyTorch < 0.4.
    raw("tar_format.pt", b"\x00" * 257 + b"ustar\x0000" + b"\x00" * 250, "tar-format")
    # A plain pickle that is not a torch.save file.
    raw("plain_pickle.pt", b"\x80\x02}q\x00.", "magic number is missing")

    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
