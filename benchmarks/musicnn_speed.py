"""CPU time of musicnn embedding extraction per 30 s clip, on one thread, side by side.

For real GTZAN clips (decoded at 16 kHz once, outside the timing), per clip: the log-mel front end,
then each network on the clip's ten 3 s patches — in onnxruntime one patch per call (what
genrekit runs, ``musicnn.PATCHES_PER_RUN``) and all ten in one call, and in the PyTorch port (one
thread, ten at once), all in one run on the same clips, so the ratios share the load. Also: the
time to load each runtime's model once per process, the resident memory it adds, and the peak
memory of onnxruntime with one and with ten patches per call (one first, so the rise shows).

Run: ``.venv/bin/python benchmarks/musicnn_speed.py [--clips N]``
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import numpy as np
from _common import data_dir, git_revision, machine, save_result


def _cpu(function) -> tuple[float, object]:
    start = time.process_time()
    value = function()
    return time.process_time() - start, value


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=20)
    args = parser.parse_args()

    from genrekit.audio import load_audio
    from genrekit.pretrained import musicnn

    clips = sorted((data_dir() / "gtzan").glob("*/*.flac"))[:: max(1, 208 // args.clips)]
    audio = [load_audio(path, sample_rate=musicnn.SAMPLE_RATE).samples for path in clips]
    models = ("MSD_musicnn", "MTT_musicnn")
    load_seconds, memory_mb = {}, {}
    for model in models:
        before = _rss_mb()
        load_seconds[f"{model} onnx"], _ = _cpu(lambda m=model: musicnn._session(m))
        memory_mb[f"{model} onnx"] = round(_rss_mb() - before, 1)
    musicnn.run(models[0], np.zeros((1, 187, 96), np.float32))  # first-call warm-up

    times: dict[str, list[float]] = {"log-mel front end": []}
    for model in models:
        for runtime in ("onnx", "onnx 10 per call", "pytorch"):
            times[f"{model} {runtime}"] = []
    peak_mb = {}
    clip_patches = []
    for samples in audio:
        seconds, frames = _cpu(lambda s=samples: musicnn.log_mel(s))
        times["log-mel front end"].append(seconds)
        clip_patches.append(musicnn.patches(frames))
    for batch_size, runtime in ((1, "onnx"), (10, "onnx 10 per call")):
        for model in models:  # one model over every clip, then the other
            for patches in clip_patches:
                run = _cpu(lambda m=model, p=patches, b=batch_size: musicnn.run(m, p, b))[0]
                times[f"{model} {runtime}"].append(run)
        peak_mb[f"{batch_size} patch(es) per call"] = round(_rss_mb())
    # PyTorch last: once imported, its thread pool slowed onnxruntime's timings here.
    import torch

    from genrekit.pretrained import networks

    torch.set_num_threads(1)
    for model in models:
        before = _rss_mb()
        load_seconds[f"{model} pytorch"], _ = _cpu(lambda m=model: networks.load(m))
        memory_mb[f"{model} pytorch"] = round(_rss_mb() - before, 1)
    for samples in audio:
        patches = musicnn.patches(musicnn.log_mel(samples))
        for model in models:
            network, batch = networks.load(model), torch.from_numpy(patches)
            with torch.inference_mode():
                times[f"{model} pytorch"].append(_cpu(lambda n=network, b=batch: n(b))[0])
    median = {name: round(statistics.median(v), 3) for name, v in times.items()}
    result = {
        "machine": machine(),
        "revision": git_revision(),
        "protocol": f"{len(audio)} GTZAN clips of 30 s (10 patches each), CPU seconds per clip "
        "(process time, one thread), median",
        "median_cpu_seconds_per_clip": median,
        "onnx_speedup_over_pytorch": {
            model: round(median[f"{model} pytorch"] / median[f"{model} onnx"], 2)
            for model in models
        },
        "model_load_cpu_seconds": {k: round(v, 3) for k, v in load_seconds.items()},
        "model_load_added_rss_mb": memory_mb,
        "peak_rss_mb_after_onnx": peak_mb,
    }
    save_result("musicnn_speed", result)


if __name__ == "__main__":
    main()
