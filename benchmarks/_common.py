"""Helpers shared by the benchmark scripts: where the data is, what machine this is."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"


def data_dir() -> Path:
    """``$GENREKIT_DATA`` or ``../shared/data`` beside the repository."""
    return Path(os.environ.get("GENREKIT_DATA", REPO.parent / "shared" / "data"))


def machine() -> str:
    """A one-line description of the machine the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def git_revision() -> str:
    try:
        return subprocess.check_output(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, text=True, stderr=subprocess.DEVNULL
        ).strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def result_header(command: str, seconds: float, protocol: str) -> dict[str, Any]:
    """What every recorded result starts with: how to rerun it, where, at which commit, how long
    it took (s) and under which protocol."""
    return {
        "command": command,
        "machine": machine(),
        "revision": git_revision(),
        "seconds": round(seconds, 1),
        "protocol": protocol,
    }


def save_result(name: str, result: dict) -> None:
    """Write ``result`` to benchmarks/results/``name``.json and print it."""
    import json

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def taffc_in_taxonomy() -> tuple[Any, list[str]]:
    """The taffc clips in GTZAN's genres as a ``Dataset`` (one item per clip, labelled), and
    each clip's artist (from the manifest)."""
    import csv

    from genrekit.training.datasets import Dataset, Item

    rows = [
        r
        for r in csv.DictReader((data_dir() / "taffc" / "manifest.csv").open())
        if r["label"] != "other"
    ]
    items = [
        Item(Path(r["file"]).stem, r["label"], Path(r["file"]).stem, data_dir() / r["file"])
        for r in rows
    ]
    return Dataset(items, "taffc"), [r["artist"] for r in rows]
