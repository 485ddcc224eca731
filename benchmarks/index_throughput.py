"""Library indexing throughput on full-length songs: sampled regions against every 30 s.

Protocol: N songs of 4 minutes (default 20), each written as FLAC by joining 8 GTZAN clips of one
genre (the clips decoded, concatenated and re-encoded at 22.05 kHz), indexed into a fresh catalog
with the default model: in this process on 1 core, hearing each song in its evenly spread regions
(the default) and hearing every 30 s (``--full``); and on a local Dask cluster of 1 and of 2
worker processes (cluster start-up included), regions. Core-seconds per song are this process's
CPU time (in-process runs); songs per hour are from wall time. The two Dask catalogs' genres and
embeddings are compared with the in-process one (they must be identical). Feeds docs/scaling.md.

Run: ``.venv/bin/python benchmarks/index_throughput.py [--songs N]``
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
from _common import data_dir, git_revision, machine, save_result

from genrekit.audio import load_audio
from genrekit.library.catalog import index_folder
from genrekit.training.datasets import audio_files

CLIPS_PER_SONG = 8


def make_songs(folder: Path, count: int) -> None:
    """``count`` 4-minute FLAC songs, each 8 consecutive clips of one genre joined."""
    genres = sorted(g for g in (data_dir() / "gtzan").iterdir() if g.is_dir())
    by_genre = {g.name: audio_files(g) for g in genres}
    made = 0
    while made < count:
        for genre, clips in by_genre.items():
            start = (made // len(by_genre)) * CLIPS_PER_SONG % max(1, len(clips))
            chosen = (clips * 2)[start : start + CLIPS_PER_SONG]
            samples = np.concatenate([load_audio(c, sample_rate=22050).samples for c in chosen])
            soundfile.write(folder / f"{genre}-song{made:03d}.flac", samples, 22050)
            made += 1
            if made == count:
                return


def catalog(db: Path) -> dict[str, tuple[str, bytes]]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT path, genre, embedding FROM tracks").fetchall()
    return {path: (genre, embedding) for path, genre, embedding in rows}


def timed_index(folder: Path, db: Path, dask_workers: int, full: bool) -> tuple[float, float]:
    """Wall and CPU seconds of indexing ``folder`` in this process (``dask_workers`` 0) or on a
    local Dask cluster of that many worker processes, its start-up included."""
    wall, cpu = time.perf_counter(), time.process_time()
    if dask_workers == 0:
        summary = index_folder(folder, db, progress=False, full=full)
    else:
        from dask.distributed import LocalCluster

        with LocalCluster(
            n_workers=dask_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None,
        ) as cluster:  # fmt: skip
            summary = index_folder(
                folder, db, scheduler=cluster.scheduler_address, progress=False, full=full
            )
    assert summary.failed == 0 and summary.skipped == 0, summary
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--songs", type=int, default=20)
    args = parser.parse_args()
    runs = {  # name: (Dask workers, 0 for in-process; every 30 s)
        "in-process, 1 core, regions (default)": (0, False),
        "in-process, 1 core, every 30 s (--full)": (0, True),
        "Dask, 1 worker, regions": (1, False),
        "Dask, 2 workers, regions": (2, False),
    }
    timings, catalogs = {}, {}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "music"
        folder.mkdir()
        make_songs(folder, args.songs)
        for n, (name, (dask_workers, full)) in enumerate(runs.items()):
            db = Path(scratch) / f"run{n}.sqlite"
            wall, cpu = timed_index(folder, db, dask_workers, full)
            catalogs[name] = catalog(db)
            timings[name] = {
                "seconds": round(wall, 1),
                "songs_per_hour": round(3600 * args.songs / wall),
            }
            if dask_workers == 0:
                timings[name]["core_seconds_per_song"] = round(cpu / args.songs, 3)
    default = catalogs["in-process, 1 core, regions (default)"]
    identical = {name: found == default for name, found in catalogs.items() if "Dask" in name}
    result = {
        "machine": machine(),
        "revision": git_revision(),
        "songs": args.songs,
        "minutes_per_song": CLIPS_PER_SONG / 2,
        "runs": timings,
        "dask_catalogs_identical_to_in_process": identical,
    }
    save_result("index_throughput", result)


if __name__ == "__main__":
    main()
