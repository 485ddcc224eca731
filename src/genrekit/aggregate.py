"""From window or clip probabilities to one verdict per track: the one place it is decided.

A track's probabilities are the mean of its rows' probabilities (its clips, windows or
segments), its label the most probable one. Training, evaluation and prediction all use this.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


def track_probabilities(probabilities: np.ndarray, rows_of: Iterable[Sequence[int]]) -> np.ndarray:
    """(tracks, classes): the mean of each track's rows of ``probabilities``."""
    return np.stack([probabilities[list(rows)].mean(axis=0) for rows in rows_of])


def verdicts(labels: Sequence[str], probabilities: np.ndarray) -> np.ndarray:
    """The most probable label of each row of ``probabilities`` (ties: the first label)."""
    return np.asarray(labels)[np.atleast_2d(probabilities).argmax(axis=1)]


def ranked(labels: Sequence[str], scores: np.ndarray, digits: int = 6) -> dict[str, float]:
    """Label → score, highest first (ties keep label order); what every result shows."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    return {labels[i]: round(float(scores[i]), digits) for i in order}
