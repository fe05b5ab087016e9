"""Classifies preprocessed images with a .bitvit model through BitViT's C API, from Python.

Usage: python3 classify.py <libBitViTC.so> <model.bitvit> <images.f32>
  images.f32: float32 values (native byte order) in [batch, channels, side, side] order,
  already resized and normalized as the model says.
Prints per image its top-3 classes with probabilities, then every logit.
Needs only the standard library (ctypes, array, math).
"""
import array
import ctypes
import math
import sys


class BitViT:
    """The functions of bitvit.h, with their argument and result types."""

    OK = 0

    def __init__(self, library_path):
        lib = ctypes.CDLL(library_path)
        model = ctypes.c_void_p
        lib.bitvit_api_version.restype = ctypes.c_uint32
        lib.bitvit_status_string.argtypes = [ctypes.c_int]
        lib.bitvit_status_string.restype = ctypes.c_char_p
        lib.bitvit_last_error.restype = ctypes.c_char_p
        lib.bitvit_model_load.argtypes = [ctypes.c_char_p, ctypes.POINTER(model)]
        lib.bitvit_model_load.restype = ctypes.c_int
        lib.bitvit_model_free.argtypes = [model]
        lib.bitvit_model_free.restype = None
        for name in ("channels", "image_size", "classes"):
            getattr(lib, "bitvit_model_" + name).argtypes = [model]
            getattr(lib, "bitvit_model_" + name).restype = ctypes.c_size_t
        lib.bitvit_model_class_name.argtypes = [model, ctypes.c_size_t]
        lib.bitvit_model_class_name.restype = ctypes.c_char_p
        lib.bitvit_model_set_threads.argtypes = [model, ctypes.c_int]
        lib.bitvit_model_set_threads.restype = ctypes.c_int
        lib.bitvit_model_logits.argtypes = [model, ctypes.POINTER(ctypes.c_float), ctypes.c_size_t,
                                            ctypes.POINTER(ctypes.c_float), ctypes.c_size_t]
        lib.bitvit_model_logits.restype = ctypes.c_int
        if lib.bitvit_api_version() // 1000 != 1:
            raise RuntimeError("libBitViTC has API version %d, expected 1.x" % lib.bitvit_api_version())
        self.lib = lib

    def check(self, status, what):
        if status != self.OK:
            reason = self.lib.bitvit_status_string(status).decode()
            raise RuntimeError("%s: %s: %s" % (what, reason, self.lib.bitvit_last_error().decode()))


class Model:
    def __init__(self, bitvit, path):
        self.bitvit, self.lib = bitvit, bitvit.lib
        self.handle = ctypes.c_void_p()
        bitvit.check(self.lib.bitvit_model_load(path.encode(), ctypes.byref(self.handle)), path)
        self.channels = self.lib.bitvit_model_channels(self.handle)
        self.side = self.lib.bitvit_model_image_size(self.handle)
        self.classes = self.lib.bitvit_model_classes(self.handle)
        self.class_names = [self.lib.bitvit_model_class_name(self.handle, i).decode() for i in range(self.classes)]

    def close(self):
        self.lib.bitvit_model_free(self.handle)
        self.handle = None

    def logits(self, images):
        """Logits of `images` (an array('f') of whole preprocessed images), one list per image."""
        per_image = self.channels * self.side * self.side
        batch = len(images) // per_image
        if batch == 0 or len(images) != batch * per_image:
            raise ValueError("%d floats is not a whole number of %d-float images" % (len(images), per_image))
        inputs = (ctypes.c_float * len(images)).from_buffer(images)
        out = (ctypes.c_float * (batch * self.classes))()
        self.bitvit.check(self.lib.bitvit_model_logits(self.handle, inputs, batch, out, len(out)), "logits")
        return [list(out[i * self.classes:(i + 1) * self.classes]) for i in range(batch)]


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: classify.py <libBitViTC.so> <model.bitvit> <images.f32>")
    model = Model(BitViT(sys.argv[1]), sys.argv[2])
    images = array.array("f")
    with open(sys.argv[3], "rb") as f:
        images.frombytes(f.read())
    for i, row in enumerate(model.logits(images)):
        largest = max(row)
        exps = [math.exp(x - largest) for x in row]
        ranked = sorted(range(len(row)), key=lambda c: (-row[c], c))[:3]
        print("image %d:" % i, ", ".join("[%d] %s %.4f" % (c, model.class_names[c], exps[c] / sum(exps)) for c in ranked))
        print("logits %d:" % i, " ".join(repr(x) for x in row))
    model.close()


if __name__ == "__main__":
    main()
