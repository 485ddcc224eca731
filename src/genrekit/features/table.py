"""Feature rows of audio files, cached by content: the pieces (clips or segments) every vector
representation is extracted from, and tables of them in the Kaggle GTZAN format.

Columns: ``filename, length, <the representation's features>, label``. Whole clips are named
``<id>.wav`` and segments ``<id>.<n>.wav`` (as in ``features_30_sec.csv`` /
``features_3_sec.csv``), where ``<id>`` is the file's stem, so rows made from
``blues.00000.flac`` join the Kaggle table's ``blues.00000.wav``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from genrekit.audio import LastWindowPolicy, load_audio, segment, split_evenly
from genrekit.errors import AudioDecodeError, AudioError
from genrekit.features import RepresentationSpec, feature_set, prepare

T = TypeVar("T")


@dataclass(frozen=True)
class TableJob:
    """One file to turn into rows."""

    path: Path
    label: str | None
    segment_seconds: float | None = None
    """Cut into fixed windows (``<id>.<n>.wav`` rows), like ``features_3_sec.csv``."""
    hop_seconds: float | None = None
    clip_seconds: float | None = None
    """Without ``segment_seconds``: cut into about this long equal clips (None: the whole file)."""
    last: LastWindowPolicy = "drop"
    spec: RepresentationSpec = field(default_factory=RepresentationSpec)
    augment_copy: int = 0
    """When > 0, that degraded training copy (``genrekit.degrade.training_copy``) is analysed."""
    augment_seed: int = 0
    narrow_version: str = ""
    """When set, that version of ``genrekit.degrade.NARROW_BAND_VERSIONS`` is analysed."""


CACHE_VERSION = 2
"""Bump when feature extraction changes, so cached rows from older code are not reused."""


def cache_dir() -> Path | None:
    """``$GENREKIT_CACHE`` (``off`` disables caching), else ``~/.cache/genrekit/features``."""
    setting = os.environ.get("GENREKIT_CACHE", "")
    if setting == "off":
        return None
    return Path(setting) if setting else Path.home() / ".cache" / "genrekit" / "features"


def _cache_file(job: TableJob, suffix: str = ".json") -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    copies: list[int | str] = []  # clean rows keep their keys
    if job.augment_copy:
        from genrekit.degrade import TRAINING_COPIES_VERSION

        copies = [TRAINING_COPIES_VERSION]
    if job.narrow_version:
        copies += ["narrow", job.narrow_version]
    settings = json.dumps(
        [CACHE_VERSION, job.segment_seconds, job.hop_seconds, job.clip_seconds, job.last,
         job.spec.to_dict(), job.augment_copy, job.augment_seed, *copies],
        sort_keys=True,
    )  # fmt: skip
    digest = hashlib.sha256(settings.encode())
    with job.path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    key = digest.hexdigest()
    return folder / key[:2] / f"{key}{suffix}"


def pieces_for_file(job: TableJob) -> list[dict[str, Any]] | AudioError:
    """The file's pieces (clips or segments) as ``{"suffix", "length", "values"}``, or the error
    that stopped it (returned, so batches go on). Cached by file content and extraction
    settings, so a renamed or relabelled file still hits the cache."""
    try:
        cached = _cache_file(job) if job.path.is_file() else None
    except OSError as error:  # permission denied, or gone since the folder was listed
        return AudioDecodeError(job.path, f"cannot be read ({error.strerror})")
    if cached is not None and cached.is_file():
        return json.loads(cached.read_text())
    extracted = extract_pieces(job)
    if isinstance(extracted, AudioError):
        return extracted
    pieces = [
        {"suffix": suffix, "length": length, "values": values.tolist()}
        for suffix, length, values in extracted
    ]
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        temporary = cached.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(pieces))
        temporary.replace(cached)  # atomic: parallel workers never see half a file
    return pieces


def rows_for_file(job: TableJob) -> list[dict[str, object]] | AudioError:
    """The file's rows of a features table (Kaggle-style names ``<stem><suffix>.wav``)."""
    pieces = pieces_for_file(job)
    if isinstance(pieces, AudioError):
        return pieces
    return _rows(job, feature_set(job.spec.name).columns, pieces)


def matrix_for_file(job: TableJob) -> tuple[list[str], np.ndarray] | AudioError:
    """What training needs of one file: each piece's name suffix and a (pieces × features)
    matrix, without the detour through table rows."""
    pieces = pieces_for_file(job)
    if isinstance(pieces, AudioError):
        return pieces
    values = np.array([piece["values"] for piece in pieces], dtype=np.float64)
    return [str(piece["suffix"]) for piece in pieces], values


def windows_for_file(job: TableJob) -> list[np.ndarray] | AudioError:
    """The job's window arrays (channels × frames) of one file, for window representations,
    cached by file content and settings as ``.npz`` like feature rows; or the error."""
    cached = _cache_file(job, ".npz") if job.path.is_file() else None
    if cached is not None and cached.is_file():
        with np.load(cached) as stored:
            return [stored[f"arr_{n}"] for n in range(len(stored.files))]
    extracted = extract_pieces(job)
    if isinstance(extracted, AudioError):
        return extracted
    windows = [values for _, _, values in extracted]
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        temporary = cached.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(temporary, *windows)  # stored as arr_0, arr_1, … in order
        temporary.replace(cached)
    return windows


def extract_pieces(job: TableJob) -> list[tuple[str, int, np.ndarray]] | AudioError:
    """Decode, preprocess and cut one file as the job says, then extract each piece:
    (name suffix, samples in the piece, features) per piece, or the error that stopped it."""
    try:
        audio = load_audio(job.path, sample_rate=job.spec.sample_rate)
    except AudioError as error:
        return error
    if job.augment_copy:
        from genrekit.degrade import training_copy

        degraded = training_copy(
            audio.samples, audio.sample_rate, job.augment_copy, job.augment_seed
        )
        audio = replace(audio, samples=degraded)
    if job.narrow_version:
        from genrekit.degrade import NARROW_BAND_VERSIONS

        narrowed = NARROW_BAND_VERSIONS[job.narrow_version](audio.samples, audio.sample_rate)
        audio = replace(audio, samples=narrowed)
    samples = prepare(audio, job.spec)
    extract = feature_set(job.spec.name).extract
    return [
        (suffix, len(piece), extract(piece, audio.sample_rate))
        for suffix, piece in _pieces(job, samples, audio.sample_rate)
    ]


def _rows(job: TableJob, columns: tuple[str, ...], pieces: list[dict]) -> list[dict[str, object]]:
    stem = job.path.stem
    return [
        {"filename": f"{stem}{p['suffix']}.wav", "length": p["length"],
         **dict(zip(columns, p["values"])), "label": job.label or ""}
        for p in pieces
    ]  # fmt: skip


def _pieces(job: TableJob, samples: np.ndarray, rate: int) -> list[tuple[str, np.ndarray]]:
    """(name suffix, samples) of each row: whole clips, even clips, or fixed segments."""
    if job.segment_seconds is None:
        clips = split_evenly(samples, rate, job.clip_seconds)
        if len(clips) == 1:
            return [("", clips[0].samples)]
        return [(f".{n}", clip.samples) for n, clip in enumerate(clips)]
    hop = job.hop_seconds or job.segment_seconds
    windows = segment(samples, rate, job.segment_seconds, hop, last=job.last)
    return [(f".{n}", window.samples) for n, window in enumerate(windows)]


def map_jobs(
    function: Callable[[TableJob], T], jobs: Iterable[TableJob], workers: int = 1
) -> Iterator[tuple[TableJob, T]]:
    """``function`` over jobs, in ``workers`` processes if more than one; yields in order, as
    results arrive (so a progress bar moves)."""
    jobs = list(jobs)
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield job, function(job)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from zip(jobs, pool.map(function, jobs, chunksize=1))


def extract_rows(
    jobs: Iterable[TableJob], workers: int = 1
) -> Iterator[tuple[TableJob, list[dict[str, object]] | AudioError]]:
    """``rows_for_file`` over jobs, in ``workers`` processes if more than one; yields in order."""
    return map_jobs(rows_for_file, jobs, workers)


def rows_to_table(rows: list[dict[str, object]], spec_name: str = "gtzan57") -> pd.DataFrame:
    """Rows as a DataFrame with the table's column order (empty rows give an empty table)."""
    from genrekit.paths import printable

    columns = ["filename", "length", *feature_set(spec_name).columns, "label"]
    rows = [{**row, "filename": printable(str(row["filename"]))} for row in rows]
    return pd.DataFrame(rows, columns=columns)


def write_table(table: pd.DataFrame, out: str | Path) -> Path:
    """Write ``.csv`` or ``.parquet`` by the file's suffix."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".parquet":
        table.to_parquet(out, index=False)
    elif out.suffix == ".csv":
        table.to_csv(out, index=False)
    else:
        raise ValueError(f"{out}: write .csv or .parquet")
    return out
