"""Where genrekit finds shared data (the GTZAN clips, features table and example excerpts)."""

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
