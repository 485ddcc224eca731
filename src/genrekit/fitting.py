"""Fitting one model on a set of rows, the way every protocol does it.

Hyper-parameters by grid search on inner folds of those rows only (nets scored per track, their
windows' probabilities averaged), a calibrator fitted on the same inner folds' held-out
log-scores, and the novelty rejector of the rows' tracks. ``genrekit.crossval`` calls this for
each outer training side; ``genrekit.train`` for the final model on all data.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score
from sklearn.model_selection import GridSearchCV, ParameterGrid
from sklearn.pipeline import Pipeline

from genrekit.aggregate import track_probabilities, verdicts
from genrekit.config import ExperimentConfig, block_columns
from genrekit.datasets import Dataset, rows_by_track
from genrekit.errors import ConfigError
from genrekit.models.classical import build_pipeline, grid_for_pipeline
from genrekit.splits import Split, kfold


def search(
    config: ExperimentConfig, dataset: Dataset, rows: np.ndarray
) -> tuple[Any, dict[str, Any]]:
    """Fit on ``rows``: grid search over inner folds of those rows (same protocol) or plain fit."""
    pipeline = build_pipeline(
        config.model,
        config.params,
        pca=config.pca,
        pca_block=block_columns(config) or None,
        seed=config.seed,
    )
    x, y = dataset.matrix[rows], dataset.y[rows]
    if not isinstance(pipeline, Pipeline):  # a neural net: validation split by track
        return search_net(config, dataset, rows)
    if not config.grid:
        return clone(pipeline).fit(x, y), {}
    inner = inner_splits(config, dataset, rows)
    search = GridSearchCV(
        pipeline,
        grid_for_pipeline(pipeline, config.grid),
        cv=[(s.train, s.test) for s in inner],
        scoring=config.scoring,
        n_jobs=config.jobs,
        error_score="raise",
    )
    search.fit(x, y)
    best = {
        k.removeprefix("model__").removeprefix("estimator__"): v
        for k, v in search.best_params_.items()
    }
    return search.best_estimator_, best


def inner_splits(config: ExperimentConfig, dataset: Dataset, rows: np.ndarray) -> list[Split]:
    """Inner folds of ``rows`` under the config's protocol; degraded copies are trained on and
    never scored."""
    groups = dataset.groups[rows] if dataset.groups is not None else None
    splits = kfold(dataset.y[rows], dataset.tracks[rows], n_splits=config.inner_folds,
                   protocol=config.protocol, groups=groups, seed=config.seed)  # fmt: skip
    return scored_on_originals(splits, dataset.augmented[rows])


def scored_on_originals(splits: list[Split], augmented: np.ndarray) -> list[Split]:
    return [Split(split.train, split.test[~augmented[split.test]]) for split in splits]


@dataclass(frozen=True)
class Calibration:
    """What held-out predictions of the training side say about a fitted model's confidence."""

    calibrator: Any
    """A ``Calibrator`` fitted on inner-fold out-of-fold log-scores (``log_scores``)."""
    inner_ece: float


def calibration_for(
    config: ExperimentConfig, dataset: Dataset, rows: np.ndarray, estimator: Any
) -> Calibration | None:
    """The calibrator from out-of-fold log-scores of ``estimator``'s settings on inner folds
    of ``rows`` (never the rows being tested); None for nets and for data too small for inner
    folds (probabilities then stay as the model gives them)."""
    from genrekit.calibration import Calibrator, expected_calibration_error, log_scores

    if not isinstance(estimator, Pipeline):
        return None
    try:
        inner = inner_splits(config, dataset, rows)
    except (ValueError, ConfigError):  # too few tracks per genre for inner folds: no estimate
        return None
    labels = list(estimator.classes_)
    held_out, truth = [], []
    for split in inner:
        fitted = clone(estimator).fit(
            dataset.matrix[rows[split.train]], dataset.y[rows[split.train]]
        )
        test = rows[split.test]
        scores = log_scores(fitted, dataset.matrix[test])
        columns = [list(fitted.classes_).index(label) for label in labels]
        by_track = rows_by_track(dataset.tracks[test]).values()
        held_out.append(track_probabilities(scores[:, columns], by_track))  # mean log-scores
        truth += [labels.index(dataset.y[test][r[0]]) for r in by_track]
    track_scores, truth_array = np.vstack(held_out), np.array(truth)
    calibrator = Calibrator.fit(track_scores, truth_array)
    ece = expected_calibration_error(calibrator(track_scores), truth_array)
    return Calibration(calibrator, ece)


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
    by_track = list(rows_by_track(dataset.tracks[rows]).values())
    features = track_probabilities(dataset.matrix[rows], by_track)  # the mean of each track's rows
    return features, rows[[r[0] for r in by_track]]


NET_SCORES = {
    "accuracy": accuracy_score,
    "balanced_accuracy": balanced_accuracy_score,
    "f1_macro": partial(f1_score, average="macro"),
}


def search_net(
    config: ExperimentConfig, dataset: Dataset, rows: np.ndarray
) -> tuple[Any, dict[str, Any]]:
    """Fit a net on ``rows``; with a grid, each candidate is scored song-level (probabilities
    averaged over a track's windows) on inner folds of those rows, and the best one refitted."""

    def fit(candidate: dict[str, Any], fit_rows: np.ndarray) -> Any:
        net = build_pipeline(config.model, {**config.params, **candidate}, seed=config.seed)
        x, y = dataset.matrix[fit_rows], dataset.y[fit_rows]
        return net.fit(x, y, groups=dataset.tracks[fit_rows])

    if not config.grid:
        return fit({}, rows), {}
    if config.scoring not in NET_SCORES:
        raise ConfigError(f"{config.name}: nets are scored by {', '.join(NET_SCORES)}")
    score = NET_SCORES[config.scoring]
    inner = inner_splits(config, dataset, rows)
    best, best_score = {}, -np.inf
    for candidate in ParameterGrid(config.grid):
        scores = []
        for split in inner:
            test = rows[split.test]
            net = fit(candidate, rows[split.train])
            truth, predicted = per_track(net, dataset, test)
            scores.append(score(truth, predicted))
        if np.mean(scores) > best_score:
            best, best_score = candidate, float(np.mean(scores))
    return fit(best, rows), best


def per_track(net: Any, dataset: Dataset, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True and predicted label per track of ``rows`` (window probabilities averaged)."""
    probabilities = net.predict_proba(dataset.matrix[rows])
    groups = list(rows_by_track(dataset.tracks[rows]).values())
    truth = np.array([dataset.y[rows][r[0]] for r in groups])
    return truth, verdicts(net.classes_, track_probabilities(probabilities, groups))
