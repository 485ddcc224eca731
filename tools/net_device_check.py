"""The nets' device check: one CNN fitted on the CPU and on the GPU, same data, same seed.

Windows shaped like the ``logmel`` representation's (128 mel bands × 130 frames: 3 s), ten
classes told apart by a band pattern under noise; a held-out set of the same kind scores each
fit. Prints (and writes to ``--out``) the fit seconds and held-out accuracy per device: the
result should agree within noise, the time is the point. Needs only numpy, scikit-learn and
PyTorch (it runs where genrekit's audio stack is not installed: ``PYTHONPATH=src``).

    PYTHONPATH=src python3 tools/net_device_check.py --windows 3000 --epochs 8 --out net.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import torch

from genrekit.models.nets import NetClassifier

BANDS, FRAMES, CLASSES = 128, 130, 10


def windows(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, CLASSES, count)
    x = rng.normal(0.0, 1.0, (count, BANDS, FRAMES)).astype(np.float32)
    for label in range(CLASSES):  # each class lifts its own stretch of bands
        rows = y == label
        x[rows, label * 12 : label * 12 + 12, :] += 0.6
    return x, np.array([f"class{c}" for c in y])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    x, y = windows(args.windows, seed=0)
    test_x, test_y = windows(max(500, args.windows // 5), seed=1)
    devices = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]
    result: dict = {
        "machine": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "cpu_threads": torch.get_num_threads(),
        "windows": args.windows,
        "epochs": args.epochs,
        "runs": {},
    }
    for device in devices:
        net = NetClassifier("cnn", epochs=args.epochs, batch_size=64, patience=args.epochs,
                            device=device)  # fmt: skip
        started = time.perf_counter()
        net.fit(x, y)
        if device == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - started
        accuracy = float((net.predict(test_x) == test_y).mean())
        result["runs"][device] = {"fit_seconds": round(seconds, 2), "accuracy": round(accuracy, 4)}
        print(device, result["runs"][device], flush=True)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(text + "\n")


if __name__ == "__main__":
    main()
