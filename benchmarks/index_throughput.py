"""Library indexing throughput: seconds per 30 s clip, in-process and on a local Dask cluster.

Protocol: the first N GTZAN clips (default 60, 30 s each) indexed into a fresh catalog with the
default model, once in this process (1 core) and once on a local Dask cluster of 2 worker
processes (cluster start-up included). Feeds docs/scaling.md.

Run: ``.venv/bin/python benchmarks/index_throughput.py [--files N]``
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from _common import RESULTS, data_dir, git_revision, machine

from genrekit.datasets import audio_files
from genrekit.library import index_folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=60)
    args = parser.parse_args()
    clips = audio_files(data_dir() / "gtzan")[: args.files]
    timings = {}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "music"
        folder.mkdir()
        for clip in clips:
            (folder / clip.name).symlink_to(clip)
        for name, workers in (("in_process_1_core", 1), ("dask_local_2_workers", 2)):
            start = time.perf_counter()
            summary = index_folder(
                folder, Path(scratch) / f"{name}.sqlite", workers=workers, progress=False
            )
            seconds = time.perf_counter() - start
            assert summary.indexed == len(clips)
            timings[name] = {
                "seconds": round(seconds, 1),
                "seconds_per_clip": round(seconds / len(clips), 3),
                "clips_per_hour": round(3600 * len(clips) / seconds),
            }
    result = {"machine": machine(), "revision": git_revision(), "clips": len(clips), **timings}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "index_throughput.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
