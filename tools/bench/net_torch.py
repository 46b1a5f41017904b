"""net_torch.py — the network a weights file describes, in PyTorch, our
weights loaded from safetensors (read here with json + numpy: no
safetensors package), and MNIST IDX files. Shared by export_onnx.py and
torch_bench.py.

The file's __metadata__ "architecture" lists the layers as [kind, name,
size, k] (c/digitlens.h, dl_arch_from_meta); a file without it is the seed
network. Each layer becomes the PyTorch module of the same name, so the
state_dict names are the file's tensor names (conv1.weight, fc.bias, ...)."""
import json
import struct
from collections import OrderedDict

import numpy as np
import torch
from torch import nn

DTYPES = {"F32": np.float32, "F16": np.float16}

# the seed network: a file without "architecture" metadata
SEEDNET = [["conv", "conv", 12, 5], ["relu", "relu"], ["maxpool", "pool", 2],
           ["flatten", "flatten"], ["dense", "fc", 10]]


def build_net(layers):
    """nn.Sequential of the layers [kind, name, size, k] for a 1x28x28 input."""
    mods, c, h, w, flat = OrderedDict(), 1, 28, 28, None
    for spec in layers:
        kind, name = spec[0], spec[1]
        if kind == "conv":
            oc, k = spec[2], spec[3]
            mods[name] = nn.Conv2d(c, oc, k)
            c, h, w = oc, h - k + 1, w - k + 1
        elif kind == "relu":
            mods[name] = nn.ReLU()
        elif kind == "maxpool":
            mods[name] = nn.MaxPool2d(spec[2])
            h, w = h // spec[2], w // spec[2]
        elif kind == "flatten":
            mods[name] = nn.Flatten()
            flat = c * h * w
        elif kind == "dense":
            mods[name] = nn.Linear(flat, spec[2])
            flat = spec[2]
        else:
            raise SystemExit(f"architecture: unknown layer kind {kind!r}")
    return nn.Sequential(mods)


def read_safetensors(path):
    """({name: float32 array}, metadata dict) of a safetensors file (F32 or F16)."""
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    head = json.loads(buf[8:8 + n])
    base = 8 + n
    out = {}
    for name, t in head.items():
        if name == "__metadata__":
            continue
        if t["dtype"] not in DTYPES:
            raise SystemExit(f"{path}: {name}: dtype {t['dtype']} not read here (F32 or F16 weights only)")
        a, b = t["data_offsets"]
        arr = np.frombuffer(buf[base + a:base + b], dtype=DTYPES[t["dtype"]])
        out[name] = arr.astype(np.float32).reshape(t["shape"])
    return out, head.get("__metadata__", {})


def architecture(meta):
    """The layer list of a file's metadata (the seed network's without one)."""
    return json.loads(meta["architecture"]) if "architecture" in meta else SEEDNET


def load_net(path):
    """The file's network with its weights."""
    tensors, meta = read_safetensors(path)
    model = build_net(architecture(meta))
    sd = {k: torch.from_numpy(v.copy()) for k, v in tensors.items()}
    model.load_state_dict(sd, strict=False)
    missing = set(model.state_dict()) - set(sd)
    if missing:
        raise SystemExit(f"{path}: missing tensors {sorted(missing)}")
    return model


def read_idx(path):
    """uint8 array: (n, 28, 28) for images, (n,) for labels."""
    with open(path, "rb") as f:
        buf = f.read()
    magic, n = struct.unpack(">II", buf[:8])
    if magic == 0x803:
        return np.frombuffer(buf[16:], dtype=np.uint8).reshape(n, 28, 28)
    if magic == 0x801:
        return np.frombuffer(buf[8:], dtype=np.uint8)
    raise SystemExit(f"{path}: not an MNIST IDX file (magic {magic:#x})")
