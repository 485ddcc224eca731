"""What the command line adds to indexing: ``genrekit index -j 2`` against ``index_folder`` in
this process with 2 Dask workers, on the same songs, side by side (start-up included in both).

Songs: N 4-minute FLACs made as ``benchmarks/index_throughput.py`` makes them. The command runs
as a new process (its imports, the model load, the cluster start, the workers' own model loads),
like a person typing it; ``genrekit index --help`` alone is timed too (the CLI's own start-up).

    python benchmarks/index_cli.py [--songs 40]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import git_revision, machine, save_result
from index_throughput import make_songs

from genrekit.library.catalog import index_folder

GENREKIT = Path(sys.executable).with_name("genrekit")


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        music = Path(folder) / "music"
        music.mkdir()
        make_songs(music, args.songs)
        help_seconds = timed([str(GENREKIT), "index", "--help"])
        cli = timed([str(GENREKIT), "index", str(music), "--db", f"{folder}/cli.sqlite", "-j", "2"])
        started = time.perf_counter()
        index_folder(music, f"{folder}/in-process.sqlite", workers=2, progress=False)
        in_process = time.perf_counter() - started
    save_result(
        "index_cli",
        {
            "songs": args.songs,
            "cli_seconds": round(cli, 1),
            "cli_songs_per_hour": round(3600 * args.songs / cli),
            "in_process_seconds": round(in_process, 1),
            "in_process_songs_per_hour": round(3600 * args.songs / in_process),
            "cli_help_seconds": round(help_seconds, 2),
            "protocol": "the same 4-minute songs, 2 local Dask workers, start-up included",
            "machine": machine(),
            "revision": git_revision(),
            "command": f"python benchmarks/index_cli.py --songs {args.songs}",
        },
    )


if __name__ == "__main__":
    main()
