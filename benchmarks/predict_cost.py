"""CPU time of one prediction with the default model, per 30 s clip, on one thread.

For real GTZAN clips: ``Classifier.predict`` end to end (decode, loudness normalization, musicnn
features, LDA, calibration, novelty score, styles), without and with the per-window timeline,
after one warm-up clip (models loaded). Median CPU seconds (process time) per clip.

Run: ``.venv/bin/python benchmarks/predict_cost.py [--clips N]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from _common import RESULTS, data_dir, git_revision, machine


def main() -> None:
    from threadpoolctl import threadpool_limits

    from genrekit.predict import Classifier

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=21)
    args = parser.parse_args()
    threadpool_limits(1)
    clips = sorted((data_dir() / "gtzan").glob("*/*.flac"))[:: max(1, 208 // args.clips)]
    clips = clips[: args.clips]
    classifier = Classifier.load()
    classifier.predict(clips[0], timeline=True)  # warm-up: sessions and caches loaded
    costs: dict[str, list[float]] = {"without timeline": [], "with timeline": []}
    for clip in clips:
        for name, timeline in (("without timeline", False), ("with timeline", True)):
            start = time.process_time()
            classifier.predict(clip, timeline=timeline)
            costs[name].append(time.process_time() - start)
    record = {
        "command": f"python benchmarks/predict_cost.py --clips {args.clips}",
        "machine": machine(),
        "revision": git_revision(),
        "protocol": f"{len(clips)} GTZAN clips of 30 s, default model "
        f"{classifier.bundle.model_id}, one thread, CPU seconds (process time) per clip, median",
        "median_cpu_seconds_per_clip": {
            k: round(statistics.median(v), 3) for k, v in costs.items()
        },
    }
    (RESULTS / "predict_cost.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
