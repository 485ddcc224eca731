"""Is this music like anything the model was taught? A nearest-neighbour novelty score.

The calibrated maximum probability cannot say "unknown": measured leave-one-genre-out under
artist folds (benchmarks/open_world.py, BENCHMARKS.md) it ranks unknown genres no better than
chance (AUROC ≈ 0.5) and keeps noise and sweeps as confident genres. The distance from a track's
features to its nearest training tracks does much better, so genrekit's rejector is that:

- features are standardized with the training tracks' mean and standard deviation;
- a track's *distance* is the mean Euclidean distance to its ``NEIGHBOURS`` nearest training
  tracks;
- its *typicality* is the share of the training tracks' own held-out distances (each measured
  against training tracks of other artists, or other tracks where artists are unknown) that are
  at least as large: 0.5 is an ordinary training track, 0.01 stranger than 99 % of them;
- a track is *known* when its typicality is at or above the threshold ``1 − keep_share``.
  ``DEFAULT_KEEP_SHARE`` (0.99, threshold 0.01) was chosen on another collection's recordings
  (taffc) by ``benchmarks/rejector.py``: 0.95 kept 95 % of the training tracks' own held-out
  distances but only 90 % of GTZAN's unheard artists and 93 % of taffc, because artists differ
  more between collections and folds than within a training side (BENCHMARKS.md, *Where
  "unknown" begins*).

The arrays travel in the bundle as ``novelty.npz`` (plain arrays, loaded without pickle).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

NEIGHBOURS = 10
DEFAULT_KEEP_SHARE = 0.99
"""Share of the training tracks' held-out distances the rejection threshold keeps (module text)."""
FILE = "novelty.npz"
_STORE_DTYPES = {"centre": np.float32, "scale": np.float32, "reference": np.float16,
                 "held_out": np.float32}  # fmt: skip
"""Standardized features are O(1): half precision keeps distances to 3 digits at half the size."""


@dataclass(frozen=True)
class NoveltyScore:
    """The training tracks' standardized features and held-out distances."""

    centre: np.ndarray
    scale: np.ndarray
    reference: np.ndarray
    """(training tracks, features), standardized."""
    held_out: np.ndarray
    """Sorted held-out distances of the training tracks."""
    neighbours: int = NEIGHBOURS
    """Nearest tracks averaged: ``NEIGHBOURS``, fewer when the training set is too small."""

    @classmethod
    def fit(cls, features: np.ndarray, groups: np.ndarray) -> NoveltyScore:
        """From one row per training track and its group (artist, or the track itself)."""
        centre, scale = _standardizer(features)
        held_out = held_out_distances(features, groups)
        finite = np.sort(held_out[np.isfinite(held_out)])
        return cls(centre, scale, (features - centre) / scale, finite, _neighbours(groups))

    def distance(self, features: np.ndarray) -> np.ndarray:
        """Mean distance of each row of ``features`` to its nearest training tracks."""
        queries = (np.atleast_2d(features) - self.centre) / self.scale
        return _mean_nearest(_pairwise(queries, self.reference), self.neighbours)

    def typicality(self, features: np.ndarray) -> np.ndarray:
        """Share of held-out training distances at least as large as each row's distance."""
        if len(self.held_out) == 0:  # one group only: nothing was ever held out
            return np.ones(len(np.atleast_2d(features)))
        distance = self.distance(features)
        larger = len(self.held_out) - np.searchsorted(self.held_out, distance, side="left")
        return larger / len(self.held_out)

    def save(self, path: Path) -> None:
        arrays = {name: getattr(self, name).astype(dtype) for name, dtype in _STORE_DTYPES.items()}
        arrays["neighbours"] = np.array(self.neighbours)
        with path.open("wb") as handle:
            np.savez(handle, **arrays)

    @classmethod
    def load(cls, path: Path) -> NoveltyScore:
        with np.load(path, allow_pickle=False) as stored:
            centre, scale, reference, held_out = (
                stored[name].astype(np.float64) for name in _STORE_DTYPES
            )
            return cls(centre, scale, reference, held_out, int(stored["neighbours"]))


def held_out_distances(features: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Each training row's mean distance to its nearest rows of *other* groups (standardized
    features), in the rows' order: the distances an unheard artist's track would have; inf where
    no other group exists."""
    centre, scale = _standardizer(features)
    reference = (features - centre) / scale
    distances = _pairwise(reference, reference)
    distances[groups[:, None] == groups[None, :]] = np.inf  # never its own artist (or itself)
    return _mean_nearest(distances, _neighbours(groups))


def _standardizer(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The training rows' mean and standard deviation (1 where a feature is constant)."""
    scale = features.std(axis=0)
    scale[scale == 0] = 1.0
    return features.mean(axis=0), scale


def _neighbours(groups: np.ndarray) -> int:
    """``NEIGHBOURS``, fewer when the largest group leaves too few rows of other groups."""
    _, sizes = np.unique(groups, return_counts=True)
    return max(1, min(NEIGHBOURS, len(groups) - int(sizes.max())))


def _pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    squared = (a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2 * a @ b.T
    return np.sqrt(np.maximum(squared, 0.0))


def _mean_nearest(distances: np.ndarray, neighbours: int) -> np.ndarray:
    k = min(neighbours, distances.shape[1])
    return np.sort(distances, axis=1)[:, :k].mean(axis=1)
