"""Evaluation protocols: which examples may be trained on while which are tested.

- ``track``: stratified k-fold over tracks; every window/segment of a track sits on one side.
- ``group``: the same over groups (e.g. artists), when the dataset has them.
- ``segment-random``: stratified k-fold over rows, ignoring tracks. This is the leaky split of
  many GTZAN notebooks; it exists only to show how much it inflates a figure.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from genrekit.errors import ConfigError

Protocol = Literal["track", "group", "segment-random"]
PROTOCOLS: tuple[str, ...] = get_args(Protocol)

PROTOCOL_DESCRIPTIONS = {
    "track": "stratified k-fold by track (no track on both sides of a split; optimistic when "
    "one artist's songs fall on both sides)",
    "group": "stratified k-fold by group, e.g. artist (no group on both sides of a split)",
    "segment-random": "LEAKY: stratified k-fold over segments, windows of one track on both sides",
}


@dataclass(frozen=True)
class Split:
    """Row indices of one fold."""

    train: np.ndarray
    test: np.ndarray


def split_keys(
    protocol: Protocol, tracks: np.ndarray, groups: np.ndarray | None
) -> np.ndarray | None:
    """The ids that must not cross a split under ``protocol`` (None for the leaky protocol)."""
    if protocol == "track":
        return tracks
    if protocol == "group":
        if groups is None:
            raise ConfigError("protocol 'group' needs a group (e.g. artist) for every item")
        return groups
    if protocol == "segment-random":
        return None
    raise ConfigError(f"unknown protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")


def kfold(
    labels: np.ndarray,
    tracks: np.ndarray,
    *,
    n_splits: int = 5,
    protocol: Protocol = "track",
    groups: np.ndarray | None = None,
    seed: int = 0,
) -> list[Split]:
    """Stratified k-fold splits under ``protocol``; verifies that no key crosses a split."""
    keys = split_keys(protocol, tracks, groups)
    placeholder = np.zeros(len(labels))
    _check_enough(labels, n_splits)
    if keys is None:
        splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        folds = splitter.split(placeholder, labels)
    else:
        if len(set(keys)) < n_splits:
            raise ConfigError(f"{n_splits} folds need at least {n_splits} distinct {protocol}s")
        splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        folds = splitter.split(placeholder, labels, groups=keys)
    splits = [Split(np.asarray(train), np.asarray(test)) for train, test in folds]
    if keys is not None:
        for split in splits:
            assert_disjoint(split, keys)
    return splits


def holdout(
    labels: np.ndarray,
    tracks: np.ndarray,
    *,
    test_fraction: float = 0.2,
    protocol: Protocol = "track",
    groups: np.ndarray | None = None,
    seed: int = 0,
) -> Split:
    """One stratified train/test split: the first fold of ``round(1 / test_fraction)`` folds, or
    of fewer when there are fewer distinct tracks (groups) than that, but at least two."""
    keys = split_keys(protocol, tracks, groups)
    distinct = len(set(keys)) if keys is not None else len(labels)
    n_splits = max(2, min(round(1 / test_fraction), distinct))
    with warnings.catch_warnings():
        # Only the first fold is used: a genre with fewer tracks than folds is simply absent from
        # the held-out part, which scikit-learn's warning about k-fold does not need to say.
        warnings.filterwarnings("ignore", "The least populated class", UserWarning)
        return kfold(labels, tracks, n_splits=n_splits, protocol=protocol, groups=groups,
                     seed=seed)[0]  # fmt: skip


def _check_enough(labels: np.ndarray, n_splits: int) -> None:
    """A plain-words ``ConfigError`` where scikit-learn would stop with its own message (naming
    ``n_splits`` and "members"): when no label has ``n_splits`` examples to spread over the
    folds."""
    per_label = Counter(map(str, labels))
    if max(per_label.values(), default=0) < n_splits:
        counts = ", ".join(f"{label} {n}" for label, n in sorted(per_label.items()))
        raise ConfigError(
            f"too little data for {n_splits} folds: every label has fewer than {n_splits} "
            f"examples ({counts}); add data or lower the number of folds"
        )


class SplitLeakError(RuntimeError):
    """A split put the same track or group on both sides: a bug, never a user's mistake."""


def assert_disjoint(split: Split, keys: np.ndarray) -> None:
    """Raise ``SplitLeakError`` if any track/group id is on both sides of ``split``."""
    shared = set(keys[split.train]) & set(keys[split.test])
    if shared:
        raise SplitLeakError(f"leak: {len(shared)} ids on both sides, e.g. {sorted(shared)[:3]}")
