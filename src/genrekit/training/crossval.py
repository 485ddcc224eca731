"""Cross-validation: outer k-fold predictions of a configured model, tuned on inner folds only.

Protocol: the outer k-fold (by track, by group, or the named leaky ``segment-random``) estimates
performance; each outer training side is fitted by ``genrekit.training.fitting`` (grid search,
calibration and rejector on its inner folds), never on the fold being tested. Rows of one track
are scored together (song-level), and degraded training copies are never scored.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from genrekit.aggregate import mean_by_track, verdicts
from genrekit.models.bundle import weights_size
from genrekit.training.config import ExperimentConfig
from genrekit.training.datasets import Dataset
from genrekit.training.evaluate import EvaluationReport
from genrekit.training.fitting import Fitted, fit_rows, scored_on_originals, track_features
from genrekit.training.splits import PROTOCOL_DESCRIPTIONS, Split, kfold


def protocol_record(config: ExperimentConfig, dataset: Dataset) -> dict[str, Any]:
    """What a report and a manifest say about how the figures were obtained."""
    return {
        "name": config.protocol,
        "description": f"{config.folds}-fold {PROTOCOL_DESCRIPTIONS[config.protocol]}; "
        + (
            f"hyper-parameters by {config.inner_folds}-fold grid search inside each training side"
            if config.grid
            else "fixed hyper-parameters (no grid)"
        ),
        "folds": config.folds,
        "inner_folds": config.inner_folds,
        "seed": config.seed,
        "scoring": config.scoring,
        "data_fingerprint_sha256": dataset.fingerprint(),
    }


@dataclass
class _Folds:
    """What the outer folds produced, row by row and fold by fold."""

    probabilities: np.ndarray
    calibrated: np.ndarray
    fold_of: np.ndarray
    """The fold that scored each row (-1: never scored, a training copy)."""
    chosen: list[dict[str, Any]]
    calibrations: list[Any]
    kept: list[float | None]
    train_accuracy: list[float]
    fit_seconds: float = 0.0
    predict_seconds: float = 0.0
    history: Any = None
    last: Any = None
    """The last fold's fitted estimator."""


def _run_folds(config: ExperimentConfig, dataset: Dataset, splits: list[Any]) -> _Folds:
    """Fit (with inner search) and score every outer fold."""
    from genrekit.calibration import Calibrator, log_scores

    labels, y = dataset.labels, dataset.y
    folds = _Folds(
        np.zeros((len(y), len(labels))), np.zeros((len(y), len(labels))), np.full(len(y), -1),
        [], [], [], [],
    )  # fmt: skip
    for index, split in enumerate(splits):
        start = time.perf_counter()
        fitted = fit_rows(config, dataset, split.train)
        folds.fit_seconds += time.perf_counter() - start
        estimator, calibration = fitted.estimator, fitted.calibration
        seen = estimator.predict(dataset.matrix[split.train])  # the overfitting check
        folds.train_accuracy.append(float((seen == y[split.train]).mean()))
        start = time.perf_counter()
        scores = estimator.predict_proba(dataset.matrix[split.test])
        folds.predict_seconds += time.perf_counter() - start
        columns = [list(estimator.classes_).index(label) for label in labels]
        folds.probabilities[split.test] = scores[:, columns]
        calibrator = calibration.calibrator if calibration else Calibrator()
        folds.kept.append(_kept_share(config, dataset, split, fitted))
        folds.calibrated[split.test] = calibrator(
            log_scores(estimator, dataset.matrix[split.test])[:, columns]
        )
        folds.fold_of[split.test] = index
        folds.chosen.append(fitted.chosen)
        folds.calibrations.append(calibration)
        folds.history = folds.history or getattr(estimator, "history_", None)
        folds.last = estimator
    return folds


def _fold_records(config: ExperimentConfig, folds: _Folds) -> dict[str, Any]:
    """What a report keeps of the folds beyond the scores: calibration, rejection, learning
    curves and the model's size."""
    records: dict[str, Any] = {}
    if all(folds.calibrations):
        records["calibration"] = {
            "method": "temperature and power of logit gaps, fitted on "
            + folds.calibrations[0].fitted_on,
            "per_fold": [c.calibrator.to_manifest() for c in folds.calibrations if c],
        }
    if all(k is not None for k in folds.kept):
        records["rejection"] = {
            "method": "novelty (distance to the nearest training tracks), threshold "
            f"{1 - config.keep_share:.2f} typicality",
            "held_out_known_kept_per_fold": folds.kept,
            "held_out_known_kept_mean": round(float(np.mean(folds.kept)), 4),  # type: ignore[arg-type]
        }
    if folds.history:
        records["history"] = folds.history  # learning curves of the first fold
    records["model_bytes"] = weights_size(folds.last)  # the last fold's model, as bundled
    return records


def cross_validate(config: ExperimentConfig, dataset: Dataset) -> EvaluationReport:
    """Outer k-fold predictions of the configured model, tuned on inner folds only.

    Rows of one track (windows, segments) are scored together: their class probabilities are
    averaged into one prediction per track and fold (song-level); the report also records the
    window-level accuracy and the majority vote over windows.
    """

    labels = dataset.labels
    y = dataset.y
    splits = kfold(
        y,
        dataset.tracks,
        n_splits=config.folds,
        protocol=config.protocol,
        groups=dataset.groups,
        seed=config.seed,
    )
    splits = scored_on_originals(splits, dataset.augmented)
    folds = _run_folds(config, dataset, splits)
    scored = folds.fold_of >= 0  # degraded training copies are never scored
    y, probabilities = y[scored], folds.probabilities[scored]
    calibrated, fold_of, tracks = (
        folds.calibrated[scored],
        folds.fold_of[scored],
        dataset.tracks[scored],
    )
    keys = [f"{fold}/{track}" for fold, track in zip(fold_of, tracks)]
    track_probabilities, first_rows = mean_by_track(probabilities, keys)
    track_calibrated, _ = mean_by_track(calibrated, keys)
    window_votes = verdicts(labels, probabilities)
    track_truth = y[first_rows]
    extra: dict[str, Any] = {
        "config": config.to_dict(),  # with the protocol's data fingerprint: reproducible
        "chosen_params_per_fold": folds.chosen,
        "fit_seconds_total": round(folds.fit_seconds, 2),
        "predict_seconds_total": round(folds.predict_seconds, 3),
        "rows_per_track": round(len(y) / len(first_rows), 2),
        "train_accuracy_mean": round(float(np.mean(folds.train_accuracy)), 4),
    }
    if len(first_rows) < len(y):  # several windows per track: how windows and their votes do
        votes = np.eye(len(labels))[np.searchsorted(labels, window_votes)]
        majority = verdicts(labels, mean_by_track(votes, keys)[0])  # ties: the first label
        extra["window_accuracy"] = float((window_votes == y).mean())
        extra["majority_vote_accuracy"] = float((majority == track_truth).mean())
    extra.update(_fold_records(config, folds))
    return EvaluationReport(
        title=f"{config.name} — cross-validation",
        labels=labels,
        y_true=track_truth,
        y_pred=verdicts(labels, track_probabilities),
        protocol=protocol_record(config, dataset),
        fold_of=fold_of[first_rows],
        extra=extra,
        probabilities=track_calibrated if all(folds.calibrations) else None,
    )


def _kept_share(
    config: ExperimentConfig, dataset: Dataset, split: Split, fitted: Fitted
) -> float | None:
    """Share of a fold's held-out tracks (all in the taxonomy) that the rejector fitted on its
    training side keeps: should be close to ``keep_share``."""
    if fitted.novelty is None:
        return None
    features, _ = track_features(dataset, split.test)
    return round(float((fitted.novelty.typicality(features) >= 1 - config.keep_share).mean()), 4)
