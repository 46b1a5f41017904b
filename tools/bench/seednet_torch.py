"""seednet_torch.py — the seed network of DESIGN.md in PyTorch, our weights
loaded from safetensors (read here with json + numpy: no safetensors
package), and MNIST IDX files. Shared by export_onnx.py and torch_bench.py."""
import json
import struct
from collections import OrderedDict

import numpy as np
import torch
from torch import nn

DTYPES = {"F32": np.float32, "F16": np.float16}


def seednet():
    """conv 12x5x5 -> relu -> maxpool 2 -> flatten (C,H,W) -> dense 1728->10."""
    return nn.Sequential(OrderedDict(
        conv=nn.Conv2d(1, 12, 5),
        relu=nn.ReLU(),
        pool=nn.MaxPool2d(2),
        flatten=nn.Flatten(),
        fc=nn.Linear(1728, 10),
    ))


def read_safetensors(path):
    """{name: float32 array} of a safetensors file (F32 or F16)."""
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    head = json.loads(buf[8:8 + n])
    base = 8 + n
    out = {}
    for name, t in head.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        arr = np.frombuffer(buf[base + a:base + b], dtype=DTYPES[t["dtype"]])
        out[name] = arr.astype(np.float32).reshape(t["shape"])
    return out


def load_seednet(path):
    model = seednet()
    sd = {k: torch.from_numpy(v.copy()) for k, v in read_safetensors(path).items()}
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
