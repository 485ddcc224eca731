"""Experiments: a TOML config → cross-validated report → final model bundle.

Protocol: the outer k-fold (by track, by group, or the named leaky ``segment-random``) estimates
performance; hyper-parameters are chosen by grid search on inner folds of each outer training
side only, never on the fold being tested. The final model repeats the grid search on all data.

Configs are read by ``genrekit.config``; features made by ``genrekit.featurize``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score
from sklearn.model_selection import GridSearchCV, ParameterGrid
from sklearn.pipeline import Pipeline

from genrekit.aggregate import track_probabilities, verdicts
from genrekit.config import ExperimentConfig, block_columns
from genrekit.datasets import Dataset, load_dataset, rows_by_track, with_label_map
from genrekit.errors import AudioError, ConfigError
from genrekit.evaluate import EvaluationReport
from genrekit.features import RepresentationSpec
from genrekit.featurize import featurize
from genrekit.models.bundle import weights_size
from genrekit.models.classical import build_pipeline, grid_for_pipeline
from genrekit.splits import PROTOCOL_DESCRIPTIONS, Split, kfold


def _load(config: ExperimentConfig) -> Dataset:
    """The config's dataset, with groups and the label map applied."""
    dataset = load_dataset(config.data, groups=config.groups)
    return with_label_map(dataset, config.label_map) if config.label_map else dataset


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


def _search(
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
        return _search_net(config, dataset, rows)
    if not config.grid:
        return clone(pipeline).fit(x, y), {}
    inner = _inner_splits(config, dataset, rows)
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


def _inner_splits(config: ExperimentConfig, dataset: Dataset, rows: np.ndarray) -> list[Split]:
    """Inner folds of ``rows`` under the config's protocol; degraded copies are trained on and
    never scored."""
    groups = dataset.groups[rows] if dataset.groups is not None else None
    splits = kfold(dataset.y[rows], dataset.tracks[rows], n_splits=config.inner_folds,
                   protocol=config.protocol, groups=groups, seed=config.seed)  # fmt: skip
    return _scored_on_originals(splits, dataset.augmented[rows])


def _scored_on_originals(splits: list[Split], augmented: np.ndarray) -> list[Split]:
    return [Split(split.train, split.test[~augmented[split.test]]) for split in splits]


@dataclass(frozen=True)
class Calibration:
    """What held-out predictions of the training side say about a fitted model's confidence."""

    calibrator: Any
    """A ``Calibrator`` fitted on inner-fold out-of-fold log-scores (``log_scores``)."""
    inner_ece: float


def _calibration(
    config: ExperimentConfig, dataset: Dataset, rows: np.ndarray, estimator: Any
) -> Calibration | None:
    """The calibrator from out-of-fold log-scores of ``estimator``'s settings on inner folds
    of ``rows`` (never the rows being tested); None for nets and for data too small for inner
    folds (probabilities then stay as the model gives them)."""
    from genrekit.calibration import Calibrator, expected_calibration_error, log_scores

    if not isinstance(estimator, Pipeline):
        return None
    try:
        inner = _inner_splits(config, dataset, rows)
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
    features, first_rows = _track_features(dataset, rows)
    by_group = config.protocol == "group" and dataset.groups is not None
    group_of = dataset.groups if by_group else dataset.tracks
    return NoveltyScore.fit(features, np.asarray(group_of)[first_rows])


def _track_features(dataset: Dataset, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One feature row per original track among ``rows`` (the mean of its clips; degraded
    copies left out), and each track's first row."""
    rows = rows[~dataset.augmented[rows]]
    by_track = list(rows_by_track(dataset.tracks[rows]).values())
    features = track_probabilities(dataset.matrix[rows], by_track)  # the mean of each track's rows
    return features, rows[[r[0] for r in by_track]]


_NET_SCORES = {
    "accuracy": accuracy_score,
    "balanced_accuracy": balanced_accuracy_score,
    "f1_macro": partial(f1_score, average="macro"),
}


def _search_net(
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
    if config.scoring not in _NET_SCORES:
        raise ConfigError(f"{config.name}: nets are scored by {', '.join(_NET_SCORES)}")
    score = _NET_SCORES[config.scoring]
    inner = _inner_splits(config, dataset, rows)
    best, best_score = {}, -np.inf
    for candidate in ParameterGrid(config.grid):
        scores = []
        for split in inner:
            test = rows[split.test]
            net = fit(candidate, rows[split.train])
            truth, predicted = _per_track(net, dataset, test)
            scores.append(score(truth, predicted))
        if np.mean(scores) > best_score:
            best, best_score = candidate, float(np.mean(scores))
    return fit(best, rows), best


def _per_track(net: Any, dataset: Dataset, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True and predicted label per track of ``rows`` (window probabilities averaged)."""
    probabilities = net.predict_proba(dataset.matrix[rows])
    groups = list(rows_by_track(dataset.tracks[rows]).values())
    truth = np.array([dataset.y[rows][r[0]] for r in groups])
    return truth, verdicts(net.classes_, track_probabilities(probabilities, groups))


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
        estimator, best = _search(config, dataset, split.train)
        folds.fit_seconds += time.perf_counter() - start
        seen = estimator.predict(dataset.matrix[split.train])  # the overfitting check
        folds.train_accuracy.append(float((seen == y[split.train]).mean()))
        start = time.perf_counter()
        scores = estimator.predict_proba(dataset.matrix[split.test])
        folds.predict_seconds += time.perf_counter() - start
        columns = [list(estimator.classes_).index(label) for label in labels]
        folds.probabilities[split.test] = scores[:, columns]
        calibration = _calibration(config, dataset, split.train, estimator)
        calibrator = calibration.calibrator if calibration else Calibrator()
        folds.kept.append(_kept_share(config, dataset, split))
        folds.calibrated[split.test] = calibrator(
            log_scores(estimator, dataset.matrix[split.test])[:, columns]
        )
        folds.fold_of[split.test] = index
        folds.chosen.append(best)
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
            "method": "temperature and power of logit gaps, fitted on inner-fold out-of-fold "
            "tracks",
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
    splits = _scored_on_originals(splits, dataset.augmented)
    folds = _run_folds(config, dataset, splits)
    scored = folds.fold_of >= 0  # degraded training copies are never scored
    y, probabilities = y[scored], folds.probabilities[scored]
    calibrated, fold_of, tracks = (
        folds.calibrated[scored],
        folds.fold_of[scored],
        dataset.tracks[scored],
    )
    keys = (f"{fold}/{track}" for fold, track in zip(fold_of, tracks))
    rows_of = list(rows_by_track(keys).values())
    window_votes = verdicts(labels, probabilities)
    majority = [_majority(labels, list(window_votes[r])) for r in rows_of]
    track_truth = np.array([y[r[0]] for r in rows_of])
    extra: dict[str, Any] = {
        "config": config.to_dict(),  # with the protocol's data fingerprint: reproducible
        "chosen_params_per_fold": folds.chosen,
        "fit_seconds_total": round(folds.fit_seconds, 2),
        "predict_seconds_total": round(folds.predict_seconds, 3),
        "rows_per_track": round(len(y) / len(rows_of), 2),
        "train_accuracy_mean": round(float(np.mean(folds.train_accuracy)), 4),
    }
    if len(rows_of) < len(y):
        extra["window_accuracy"] = float((window_votes == y).mean())
        extra["majority_vote_accuracy"] = float((np.array(majority) == track_truth).mean())
    track_calibrated = track_probabilities(calibrated, rows_of)
    track_folds = np.array([fold_of[r[0]] for r in rows_of])
    extra.update(_fold_records(config, folds))
    return EvaluationReport(
        title=f"{config.name} — cross-validation",
        labels=labels,
        y_true=track_truth,
        y_pred=verdicts(labels, track_probabilities(probabilities, rows_of)),
        protocol=protocol_record(config, dataset),
        fold_of=track_folds,
        extra=extra,
        probabilities=track_calibrated if all(folds.calibrations) else None,
    )


def _majority(labels: list[str], votes: list[str]) -> str:
    """The most voted label (ties: the first in ``labels``)."""
    return max(labels, key=lambda label: (votes.count(label), -labels.index(label)))


def _kept_share(config: ExperimentConfig, dataset: Dataset, split: Split) -> float | None:
    """Share of a fold's held-out tracks (all in the taxonomy) that the rejector fitted on its
    training side keeps: should be close to ``keep_share``."""
    novelty = novelty_for(config, dataset, split.train)
    if novelty is None:
        return None
    features, _ = _track_features(dataset, split.test)
    return round(float((novelty.typicality(features) >= 1 - config.keep_share).mean()), 4)


def train(
    config: ExperimentConfig,
    out: str | Path | None,
    report_dir: str | Path | None = None,
    *,
    workers: int = 1,
    progress: bool = True,
) -> tuple[EvaluationReport, Path | None, list[AudioError]]:
    """Cross-validate, write the report, fit the final model and save it as a bundle."""
    from genrekit.models.bundle import save_bundle

    dataset = _load(config)
    dataset, errors = featurize(
        dataset, config.representation, workers, progress, config.augment_copies
    )
    report = cross_validate(config, dataset)
    if report_dir is not None:
        report.write(report_dir)
    if out is None:
        return report, None, errors
    everything = np.arange(len(dataset))
    estimator, best = _search(config, dataset, everything)
    metrics = report.metrics()
    metrics.pop("folds", None)
    metrics.pop("reliability", None)
    calibration = _calibration(config, dataset, everything, estimator)
    novelty = novelty_for(config, dataset, everything)
    bundle = save_bundle(
        out,
        estimator,
        name=config.name,
        description=config.description,
        labels=dataset.labels,
        representation=config.representation,
        training={
            "data": dataset.describe(),
            "config": config.to_dict(),
            "chosen_params": best,
            "protocol": report.protocol,
        },
        metrics=metrics,
        reference_features=dataset.matrix[~dataset.augmented],
        calibration=None if calibration is None else _calibration_manifest(config, calibration),
        novelty=novelty,
        keep_share=config.keep_share,
    )
    return report, bundle, errors


def _calibration_manifest(
    config: ExperimentConfig, calibration: Calibration
) -> dict[str, dict[str, Any]]:
    """The manifest's ``calibration`` section for the final model."""
    how = (
        f"on {config.inner_folds}-fold {config.protocol} out-of-fold track logits "
        "of all training data"
    )
    return {
        "calibration": {
            **calibration.calibrator.to_manifest(),
            "fitted": how,
            "ece_held_out": round(calibration.inner_ece, 4),
        }
    }


def _comparable(configs: list[ExperimentConfig]) -> ExperimentConfig:
    """The first config, once every config is known to name the same data, protocol, folds and
    seed (so their figures can share a table)."""
    if not configs:
        raise ConfigError("compare needs at least one config")
    first = configs[0]
    for config in configs[1:]:
        same = (config.data, config.protocol, config.folds, config.seed) == (
            first.data, first.protocol, first.folds, first.seed,
        )  # fmt: skip
        if not same:
            raise ConfigError(
                f"{config.name}: compare needs the same data, protocol, folds and seed as "
                f"{first.name}"
            )
    return first


def _comparison_markdown(heading: str, rows: list[dict[str, Any]]) -> str:
    """The comparison as a Markdown table under ``heading``, rows in the order given."""
    lines = [
        heading,
        "",
        "| model | accuracy | macro-F1 | fit time, all folds (s) | predict (ms/row) | size (KB) |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['model']} | {r['accuracy_mean']:.3f} ± {r['accuracy_std']:.3f} "
        f"| {r['macro_f1_mean']:.3f} ± {r['macro_f1_std']:.3f} | {r['fit_seconds_total']:.1f} "
        f"| {r['predict_ms_per_row']:.3f} | {r['model_bytes'] / 1024:.0f} |"
        for r in rows
    ]
    return "\n".join(lines) + "\n"


def compare(
    configs: list[ExperimentConfig], out: str | Path, *, workers: int = 1, progress: bool = True
) -> list[dict[str, Any]]:
    """Cross-validate several configs under the same folds and write one comparison.

    Every config must name the same data and protocol (kind, folds, seed), so that the rows of the
    table are comparable. Writes ``out/<name>/report.*`` per model, ``out/comparison.md`` and
    ``.json``, and ``out/comparison.html``; returns the table rows, best mean accuracy first.
    Prediction time is per row: a clip for feature-vector models, a window for window models.
    """
    import json

    from genrekit.comparison import comparison_page

    first = _comparable(configs)
    out = Path(out)
    source = _load(first)
    featurized: dict[tuple[RepresentationSpec, int], tuple[Dataset, list[AudioError]]] = {}
    rows = []
    for config in configs:
        key = (config.representation, config.augment_copies)
        if key not in featurized:  # each representation extracted once
            featurized[key] = featurize(
                source, config.representation, workers, progress, config.augment_copies
            )
        dataset, _ = featurized[key]
        report = cross_validate(config, dataset)
        report.write(out / config.name)
        metrics = report.metrics()
        rows.append(
            {
                "model": config.name,
                "accuracy_mean": metrics["accuracy_mean"],
                "accuracy_std": metrics["accuracy_std"],
                "macro_f1_mean": metrics["macro_f1_mean"],
                "macro_f1_std": metrics["macro_f1_std"],
                "fit_seconds_total": report.extra["fit_seconds_total"],
                "predict_ms_per_row": 1000 * report.extra["predict_seconds_total"] / len(dataset),
                "model_bytes": report.extra["model_bytes"],
                "protocol": report.protocol["description"],
            }
        )
    rows.sort(key=lambda row: -row["accuracy_mean"])
    out.mkdir(parents=True, exist_ok=True)
    heading = f"Protocol: {rows[0]['protocol']}. Data: {first.data} ({len(source)} files)."
    (out / "comparison.md").write_text(_comparison_markdown(heading, rows))
    (out / "comparison.json").write_text(json.dumps(rows, indent=2) + "\n")
    comparison_page([out / c.name for c in configs], "genrekit compare").write(
        out / "comparison.html"
    )
    failures = {str(e) for _, problems in featurized.values() for e in problems}
    if failures:
        (out / "errors.txt").write_text("".join(f"{e}\n" for e in sorted(failures)))
    return rows
