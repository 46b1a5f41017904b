"""export_onnx.py — the network a weights file describes (its
"architecture" metadata; none: the seed network), with those weights,
exported to ONNX (opset 13) by Debian's python3-torch, for
tools/bench/onnx.mjs.

    python3 tools/bench/export_onnx.py [--weights FILE] [--out FILE]

The batch dimension is dynamic; input "x" (B,1,28,28), output "logits" (B,10)."""
import argparse
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402

from net_torch import load_net  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", default="weights/seednet.safetensors")
    ap.add_argument("--out", default="build/bench/seednet.onnx")
    args = ap.parse_args()
    model = load_net(args.weights).eval()
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    x = torch.zeros(1, 1, 28, 28)
    torch.onnx.export(model, x, args.out, opset_version=13, input_names=["x"],
                      output_names=["logits"],
                      dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}})
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes, torch {torch.__version__})")


if __name__ == "__main__":
    main()
