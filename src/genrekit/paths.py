"""Where genrekit finds shared data (the GTZAN clips, features table and example excerpts), and
how file names are shown."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DATA_DIR = Path("../shared/data")


def data_dir() -> Path:
    """``$GENREKIT_DATA``, else ``../shared/data`` (relative to the working directory)."""
    return Path(os.environ.get("GENREKIT_DATA", DEFAULT_DATA_DIR))


def examples_dir() -> Path:
    """The example excerpts shipped beside the data (may not exist)."""
    return data_dir() / "examples"


def printable(path: str | Path) -> str:
    """A file name as text that prints and saves anywhere: bytes that are not UTF-8 (a name from
    an older system) shown as ``\\xNN`` (``caf\\xe9.mp3``)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")
