"""From window or clip rows to one row and one verdict per track: the one place it is decided.

A track's probabilities (log-scores, features) are the mean of its rows' (its clips, windows or
segments), its label the most probable one. Training, evaluation and prediction all use this.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


def _rows_by_track(tracks: Iterable[object]) -> dict[str, list[int]]:
    """Row indices of each track (windows, segments), tracks in order of first appearance."""
    rows_of: dict[str, list[int]] = {}
    for row, track in enumerate(tracks):
        rows_of.setdefault(str(track), []).append(row)
    return rows_of


def mean_by_track(values: np.ndarray, tracks: Iterable[object]) -> tuple[np.ndarray, np.ndarray]:
    """``(means, first_rows)``: the mean of each track's rows of ``values`` (probabilities,
    log-scores or features; tracks in order of first appearance) and each track's first row
    (where its label is read)."""
    groups = list(_rows_by_track(tracks).values())
    means = np.stack([values[rows].mean(axis=0) for rows in groups])
    return means, np.array([rows[0] for rows in groups])


def verdicts(labels: Sequence[str], probabilities: np.ndarray) -> np.ndarray:
    """The most probable label of each row of ``probabilities`` (ties: the first label)."""
    return np.asarray(labels)[np.atleast_2d(probabilities).argmax(axis=1)]


def ranked(labels: Sequence[str], scores: np.ndarray, digits: int = 6) -> dict[str, float]:
    """Label → score, highest first (ties keep label order); what every result shows."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    return {labels[i]: round(float(scores[i]), digits) for i in order}
