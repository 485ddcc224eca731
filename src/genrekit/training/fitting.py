"""Fitting one model on a set of rows, the way every protocol does it.

``fit_rows`` does everything a training side needs, each inner fold fitted once: every grid
candidate (built by ``models.classical.build_pipeline``, nets included) is fitted on inner folds
of those rows only and scored song-level (a track's window probabilities averaged); the best
one is refitted on all the rows; the calibrator is fitted on the best candidate's held-out
inner-fold log-scores — or, for an estimator that holds out tracks of its own (the nets' early
stopping split), on those tracks' logits, so that a net is never refitted just to calibrate —
and the novelty rejector is fitted on the rows' tracks. ``genrekit.training.crossval`` calls it
for each outer training side; ``genrekit.training.train`` for the final model on all data.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score
from sklearn.model_selection import ParameterGrid

from genrekit.aggregate import mean_by_track, verdicts
from genrekit.errors import ConfigError
from genrekit.models.classical import build_pipeline
from genrekit.training.config import ExperimentConfig, block_columns
from genrekit.training.datasets import Dataset
from genrekit.training.splits import Split, kfold

SCORERS = {
    "accuracy": accuracy_score,
    "balanced_accuracy": balanced_accuracy_score,
    "f1_macro": partial(f1_score, average="macro"),
}
"""How a grid candidate is scored on its inner folds' tracks (the config's ``scoring``)."""


@dataclass(frozen=True)
class Calibration:
    """What held-out predictions of the training side say about a fitted model's confidence."""

    calibrator: Any
    """A ``Calibrator`` fitted on held-out track log-scores (``calibration.log_scores``)."""
    inner_ece: float
    fitted_on: str
    """Which held-out tracks, in words (for reports and manifests)."""


@dataclass(frozen=True)
class Fitted:
    """One training side, fitted: the model, its chosen settings, calibrator and rejector."""

    estimator: Any
    chosen: dict[str, Any]
    """The grid candidate chosen on inner folds (empty without a grid)."""
    calibration: Calibration | None
    """None when the rows are too few for held-out tracks (probabilities stay the model's)."""
    novelty: Any
    """The ``NoveltyScore`` rejector; None for window representations or when not asked for."""


@dataclass(frozen=True)
class _HeldOut:
    """One candidate's predictions of its inner folds' held-out tracks."""

    log_scores: np.ndarray
    """(tracks, labels): each track's mean log-score."""
    truth: np.ndarray
    """(tracks,): each track's label index."""
    score: float
    """The config's ``scoring``, song-level, averaged over the inner folds (NaN when there is
    no grid to choose from: the fits serve calibration only)."""


def fit_rows(
    config: ExperimentConfig, dataset: Dataset, rows: np.ndarray, *, rejector: bool = True
) -> Fitted:
    """Grid search, final fit, calibration and (unless not ``rejector``: a caller that fits
    its own) rejector of a model trained on ``rows``."""
    candidates: list[dict[str, Any]] = list(ParameterGrid(config.grid)) if config.grid else [{}]
    prototype = build_estimator(config, candidates[0])
    own_held_out = getattr(prototype, "holds_out_tracks", False)
    scorer = _scorer(config) if len(candidates) > 1 else None
    held_out: list[_HeldOut] = []
    if scorer is not None or not own_held_out:
        inner = _inner_or_none(config, dataset, rows, required=scorer is not None)
        if inner is not None:
            held_out = Parallel(n_jobs=config.jobs)(
                delayed(_held_out)(config, dataset, rows, candidate, inner, scorer)
                for candidate in candidates
            )
    best = int(np.argmax([h.score for h in held_out])) if held_out else 0
    estimator = _fit(build_estimator(config, candidates[best]), dataset, rows)
    if own_held_out:
        how = "logits of the training tracks the net held out for early stopping"
        calibration = _calibration(*_own_held_out(estimator), how)
    elif held_out:
        how = f"{config.inner_folds}-fold {config.protocol} out-of-fold track log-scores"
        calibration = _calibration(held_out[best].log_scores, held_out[best].truth, how)
    else:
        calibration = None
    novelty = novelty_for(config, dataset, rows) if rejector else None
    return Fitted(estimator, candidates[best], calibration, novelty)


def build_estimator(config: ExperimentConfig, candidate: dict[str, Any]) -> Any:
    """The config's unfitted estimator with one grid ``candidate``'s settings (``pca`` is the
    PCA step's components, anything else a model parameter)."""
    params = {k: v for k, v in candidate.items() if k != "pca"}
    return build_pipeline(
        config.model,
        {**config.params, **params},
        pca=candidate.get("pca", config.pca),
        pca_block=block_columns(config) or None,
        seed=config.seed,
    )


def _fit(estimator: Any, dataset: Dataset, rows: np.ndarray) -> Any:
    """``estimator`` fitted on ``rows``; one that holds out tracks of its own gets the rows'
    tracks, so that its validation split never shares a track with its training side."""
    x, y = dataset.matrix[rows], dataset.y[rows]
    if getattr(estimator, "holds_out_tracks", False):
        return estimator.fit(x, y, tracks=dataset.tracks[rows])
    return estimator.fit(x, y)


def _inner_or_none(
    config: ExperimentConfig, dataset: Dataset, rows: np.ndarray, *, required: bool
) -> list[Split] | None:
    """Inner folds of ``rows``; None when there are too few tracks per genre for them (an
    error instead when a grid needs them)."""
    try:
        return inner_splits(config, dataset, rows)
    except (ValueError, ConfigError):
        if required:
            raise
        return None


def inner_splits(config: ExperimentConfig, dataset: Dataset, rows: np.ndarray) -> list[Split]:
    """Inner folds of ``rows`` under the config's protocol; degraded copies are trained on and
    never scored."""
    groups = dataset.groups[rows] if dataset.groups is not None else None
    splits = kfold(dataset.y[rows], dataset.tracks[rows], n_splits=config.inner_folds,
                   protocol=config.protocol, groups=groups, seed=config.seed)  # fmt: skip
    return scored_on_originals(splits, dataset.augmented[rows])


def scored_on_originals(splits: list[Split], augmented: np.ndarray) -> list[Split]:
    return [Split(split.train, split.test[~augmented[split.test]]) for split in splits]


def _held_out(
    config: ExperimentConfig,
    dataset: Dataset,
    rows: np.ndarray,
    candidate: dict[str, Any],
    inner: list[Split],
    scorer: Any,
) -> _HeldOut:
    """``candidate`` fitted once per inner fold: its held-out tracks' mean log-scores, their
    labels, and, with a ``scorer``, its song-level score (window probabilities averaged per
    track)."""
    from genrekit.calibration import log_scores, softmax

    labels = sorted(set(dataset.y[rows]))
    track_scores, truth, fold_scores = [], [], []
    for split in inner:
        fitted = _fit(build_estimator(config, candidate), dataset, rows[split.train])
        test = rows[split.test]
        columns = [list(fitted.classes_).index(label) for label in labels]
        scores = log_scores(fitted, dataset.matrix[test])[:, columns]
        means, first_rows = mean_by_track(scores, dataset.tracks[test])
        track_truth = dataset.y[test][first_rows]
        if scorer is not None:
            probabilities, _ = mean_by_track(softmax(scores), dataset.tracks[test])
            fold_scores.append(scorer(track_truth, verdicts(labels, probabilities)))
        track_scores.append(means)
        truth.append(np.searchsorted(labels, track_truth))
    score = float(np.mean(fold_scores)) if fold_scores else float("nan")
    return _HeldOut(np.vstack(track_scores), np.concatenate(truth), score)


def _scorer(config: ExperimentConfig) -> Any:
    """The song-level scorer that picks a grid candidate (the config's ``scoring``)."""
    if config.scoring not in SCORERS:
        raise ConfigError(f"{config.name}: scoring is one of {', '.join(SCORERS)}")
    return SCORERS[config.scoring]


def _own_held_out(net: Any) -> tuple[np.ndarray, np.ndarray]:
    """The mean logits and label index of each track a net held out for early stopping."""
    means, first_rows = mean_by_track(net.validation_logits_, net.validation_tracks_)
    return means, np.searchsorted(net.classes_, net.validation_targets_[first_rows])


def _calibration(track_scores: np.ndarray, truth: np.ndarray, how: str) -> Calibration | None:
    """A calibrator fitted on held-out track log-scores, with its ECE on them; None without
    held-out tracks."""
    from genrekit.calibration import Calibrator, expected_calibration_error

    if len(truth) == 0:
        return None
    calibrator = Calibrator.fit(track_scores, truth)
    ece = expected_calibration_error(calibrator(track_scores), truth)
    return Calibration(calibrator, ece, how)


def novelty_for(config: ExperimentConfig, dataset: Dataset, rows: np.ndarray) -> Any:
    """The novelty rejector of a model trained on ``rows``: one row per original track (its
    clips' mean), grouped by artist under the ``group`` protocol, else by track; None for
    window representations."""
    from genrekit.novelty import NoveltyScore

    if dataset.features is None or dataset.features.ndim != 2:
        return None
    features, first_rows = track_features(dataset, rows)
    by_group = config.protocol == "group" and dataset.groups is not None
    group_of = dataset.groups if by_group else dataset.tracks
    return NoveltyScore.fit(features, np.asarray(group_of)[first_rows])


def track_features(dataset: Dataset, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One feature row per original track among ``rows`` (the mean of its clips; degraded
    copies left out), and each track's first row."""
    rows = rows[~dataset.augmented[rows]]
    features, first_rows = mean_by_track(dataset.matrix[rows], dataset.tracks[rows])
    return features, rows[first_rows]
