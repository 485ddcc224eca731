"""Whole-process cold start of ``genrekit predict`` on one 30 s clip, as a user runs it.

Each run is a fresh process (imports, model load, decoding, features, prediction, printing). The
median of several runs is reported, with and without the per-segment timeline, beside the bare
interpreter start-up measured in the same loop, with each command's peak resident memory; also a
10-minute song (20 joined clips, made in a child process so this one stays small: a child's
peak memory counts what it inherited at fork), and the clip with a copy of the default that lacks
its narrow-band head (what loading that head costs).

Run: ``.venv/bin/python benchmarks/predict_cold_start.py [--runs N]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import data_dir, git_revision, machine, save_result

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "genrekit predict CLIP": ["{genrekit}", "predict", "{clip}"],
    "genrekit predict CLIP --no-timeline": ["{genrekit}", "predict", "{clip}", "--no-timeline"],
    "genrekit predict SONG (10 min)": ["{genrekit}", "predict", "{song}"],
    "genrekit predict SONG (10 min) --no-timeline": ["{genrekit}", "predict", "{song}",
                                                      "--no-timeline"],
    "genrekit predict CLIP --no-timeline, default without its narrow-band head": [
        "{genrekit}", "predict", "{clip}", "--no-timeline", "--model", "{without_head}"],
}  # fmt: skip


def without_narrow_band_head(folder: Path) -> Path:
    """A copy of the default bundle in ``folder`` with its narrow-band head taken out."""
    import json
    import shutil

    from genrekit.models.bundle import MANIFEST, NARROW_BAND_FOLDER, resolve_model_path

    shutil.copytree(resolve_model_path(None), folder)
    shutil.rmtree(folder / NARROW_BAND_FOLDER)
    manifest = json.loads((folder / MANIFEST).read_text())
    del manifest["narrow_band"]
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return folder


def ten_minute_song(path: Path) -> None:
    """A 10-minute FLAC of 20 GTZAN clips (10 rock, 10 jazz) joined: peak memory of a long song."""
    import numpy as np
    import soundfile

    from genrekit.audio import load_audio

    clips = [sorted((data_dir() / "gtzan" / g).glob("*.flac"))[:10] for g in ("rock", "jazz")]
    samples = np.concatenate([load_audio(c).samples for group in clips for c in group])
    soundfile.write(path, samples[: 600 * 22050], 22050)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--make-song", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make_song:
        ten_minute_song(args.make_song)
        return
    clip = data_dir() / "gtzan" / "blues" / "blues.00000.flac"
    scratch = tempfile.TemporaryDirectory()
    song = Path(scratch.name) / "ten-minutes.flac"
    subprocess.run([sys.executable, __file__, "--make-song", str(song)], check=True)
    without_head = without_narrow_band_head(Path(scratch.name) / "without-head")
    genrekit = str(Path(sys.executable).parent / "genrekit")
    subprocess.run([genrekit, "predict", str(clip)], check=True, capture_output=True)  # caches
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    peak_mb: dict[str, float] = dict.fromkeys(COMMANDS, 0.0)
    for _ in range(args.runs):
        for name, template in COMMANDS.items():
            command = [
                part.format(genrekit=genrekit, clip=clip, song=song, without_head=without_head)
                for part in template
            ]
            start = time.perf_counter()
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
            _, status, usage = os.wait4(process.pid, 0)  # this child's own peak memory
            times[name].append(time.perf_counter() - start)
            assert os.waitstatus_to_exitcode(status) == 0, name
            peak_mb[name] = max(peak_mb[name], usage.ru_maxrss / 1024)
    result = {
        "machine": machine(),
        "revision": git_revision(),
        "clip": clip.name,
        "runs": args.runs,
        "median_seconds": {name: round(statistics.median(v), 3) for name, v in times.items()},
        "peak_resident_mb": {name: round(v) for name, v in peak_mb.items()},
        "all_seconds": {name: [round(t, 3) for t in v] for name, v in times.items()},
    }
    save_result("predict_cold_start", result)


if __name__ == "__main__":
    main()
