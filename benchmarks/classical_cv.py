"""Cross-validate every classical model config on the GTZAN features table, side by side.

Protocol: 10-fold stratified k-fold by track (the table has one row per track), hyper-parameters
by 3-fold grid search inside each outer training side. This is ``genrekit compare`` over
``configs/gtzan57/*.toml``; the table, per-model reports and HTML go to
benchmarks/results/classical/. Run: ``.venv/bin/python benchmarks/classical_cv.py``
"""

from __future__ import annotations

import sys
from pathlib import Path

from _common import REPO, RESULTS, git_revision, machine

from genrekit.training.config import load_config
from genrekit.training.train import compare


def main(config_paths: list[str]) -> None:
    paths = [Path(p) for p in config_paths] or sorted((REPO / "configs" / "gtzan57").glob("*.toml"))
    out = RESULTS / "classical"
    compare([load_config(p) for p in paths], out, progress=False)
    table = (out / "comparison.md").read_text()
    header = f"Machine: {machine()}; genrekit revision {git_revision()}.\n"
    (out / "comparison.md").write_text(header + table)
    print(header + table)


if __name__ == "__main__":
    main(sys.argv[1:])
