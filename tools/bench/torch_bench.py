"""torch_bench.py — PyTorch CPU (Debian's python3-torch) on the network a
weights file describes (net_torch.py: the same layers, names and shapes):
seconds per training epoch of 60,000 MNIST images (Adam, batch 64, the
same recipe as ours but WITHOUT augmentation: plain tensors indexed by a
shuffled permutation, no DataLoader — the fastest input path PyTorch has)
and forward throughput over the 10,000 test images (batches of 100, as
dl_evaluate), plus one-image forward latency. Prints one JSON object.

    python3 tools/bench/torch_bench.py [--weights F] [--data DIR] [--threads 2]
        [--epochs N] [--batches N] [--reps N] [--classify-reps N]

--batches N times N batches per repetition and scales to a 60,000-image
epoch (938 batches of 64) instead of timing whole epochs."""
import argparse
import json
import os
import statistics
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
from torch import nn  # noqa: E402

from net_torch import architecture, build_net, load_net, read_idx, read_safetensors  # noqa: E402


def stats(xs, unit):
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs),
            "reps": len(xs), "unit": unit}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", default="weights/seednet.safetensors")
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=2, help="timed epochs")
    ap.add_argument("--batches", type=int, default=0,
                    help="time this many batches per repetition, scaled to an epoch")
    ap.add_argument("--reps", type=int, default=2000, help="one-image forward repetitions")
    ap.add_argument("--classify-reps", type=int, default=10,
                    help="timed passes over the test set (after 2 warm-up passes)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    xtr = torch.from_numpy(read_idx(f"{args.data}/train-images-idx3-ubyte").copy())
    ytr = torch.from_numpy(read_idx(f"{args.data}/train-labels-idx1-ubyte").copy()).long()
    xte = torch.from_numpy(read_idx(f"{args.data}/t10k-images-idx3-ubyte").copy())
    xtr = xtr.float().div_(255).unsqueeze(1)  # (60000,1,28,28), as ours: x/255
    xte = xte.float().div_(255).unsqueeze(1)
    n, batch = xtr.shape[0], 64
    steps_epoch = (n + batch - 1) // batch

    # ---- training: a fresh model of the file's network, Adam lr 2e-3 (our
    # peak lr), batch 64
    layers = architecture(read_safetensors(args.weights)[1])
    model = build_net(layers)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    loss_fn = nn.CrossEntropyLoss()

    def run(steps, perm):
        for s in range(steps):
            idx = perm[(s * batch) % n:(s * batch) % n + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
        return float(loss)

    run(20, torch.randperm(n))  # warm-up
    per_epoch = []
    steps = args.batches if args.batches > 0 else steps_epoch
    for _ in range(args.epochs):
        perm = torch.randperm(n)
        t0 = time.perf_counter()
        run(steps, perm)
        per_epoch.append((time.perf_counter() - t0) * steps_epoch / steps)

    # ---- inference with our weights
    model = load_net(args.weights).eval()
    cls = []
    with torch.inference_mode():
        for r in range(args.classify_reps + 2):
            t0 = time.perf_counter()
            for b in range(0, xte.shape[0], 100):
                model(xte[b:b + 100]).argmax(1)
            if r >= 2:
                cls.append(time.perf_counter() - t0)
        one = []
        x1 = [xte[k:k + 1] for k in range(100)]
        for r in range(-args.reps // 10, args.reps):
            t0 = time.perf_counter()
            model(x1[r % 100])
            if r >= 0:
                one.append((time.perf_counter() - t0) * 1e6)

    out = {
        "torch": torch.__version__,
        "layers": [s[0] for s in layers],
        "threads": torch.get_num_threads(),
        "train_epoch": {**stats(per_epoch, "s"), "images": n, "batch": batch,
                        "augment": False, "optimizer": "Adam",
                        "batches_timed": steps, "scaled": steps != steps_epoch},
        "classify_test": {**stats(cls, "s"), "images": xte.shape[0], "batch": 100},
        "forward": stats(one, "us"),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
