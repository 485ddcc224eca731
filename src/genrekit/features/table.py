"""Feature tables in the Kaggle GTZAN format: one row per clip or segment, for a folder of audio.

Columns: ``filename, length, <57 features>, label``. Whole clips are named ``<id>.wav`` and segments
``<id>.<n>.wav`` (as in ``features_30_sec.csv`` / ``features_3_sec.csv``), where ``<id>`` is the
file's stem, so rows made from ``blues.00000.flac`` join the Kaggle table's ``blues.00000.wav``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from genrekit.audio import LastWindowPolicy, load_audio, segment, split_evenly
from genrekit.errors import AudioError
from genrekit.features import RepresentationSpec, feature_set, prepare


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


def rows_for_file(job: TableJob) -> list[dict[str, object]] | AudioError:
    """Feature rows of one file, or the error that stopped it (returned, so batches go on)."""
    features = feature_set(job.spec.name)
    try:
        audio = load_audio(job.path, sample_rate=job.spec.sample_rate)
    except AudioError as error:
        return error
    samples = prepare(audio, job.spec)
    stem = job.path.stem
    if job.segment_seconds is None:
        clips = split_evenly(samples, audio.sample_rate, job.clip_seconds)
        names = (
            [f"{stem}.wav"] if len(clips) == 1 else [f"{stem}.{n}.wav" for n in range(len(clips))]
        )
        pieces = [(name, clip.samples) for name, clip in zip(names, clips)]
    else:
        segments = segment(
            samples,
            audio.sample_rate,
            job.segment_seconds,
            job.hop_seconds or job.segment_seconds,
            last=job.last,
        )
        pieces = [(f"{stem}.{n}.wav", s.samples) for n, s in enumerate(segments)]
    rows = []
    for name, piece in pieces:
        values = features.extract(piece, audio.sample_rate)
        rows.append(
            {
                "filename": name,
                "length": len(piece),
                **dict(zip(features.columns, values)),
                "label": job.label or "",
            }
        )
    return rows


def extract_rows(
    jobs: Iterable[TableJob], workers: int = 1
) -> Iterator[tuple[TableJob, list[dict[str, object]] | AudioError]]:
    """``rows_for_file`` over jobs, in ``workers`` processes if more than one; yields in order."""
    jobs = list(jobs)
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield job, rows_for_file(job)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from zip(jobs, pool.map(rows_for_file, jobs, chunksize=1))


def rows_to_table(rows: list[dict[str, object]], spec_name: str = "gtzan57") -> pd.DataFrame:
    """Rows as a DataFrame with the table's column order (empty rows give an empty table)."""
    columns = ["filename", "length", *feature_set(spec_name).columns, "label"]
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


def features_matrix(table: pd.DataFrame, spec_name: str = "gtzan57") -> np.ndarray:
    """The feature columns of a table as float64, in the feature set's order."""
    return table[list(feature_set(spec_name).columns)].to_numpy(dtype=np.float64)
