"""Experiments: a TOML config → cross-validated report → final model bundle.

The estimate comes from ``genrekit.training.crossval`` (hyper-parameters chosen on inner folds
of each outer training side only, never on the fold being tested); the final model repeats the
same fitting (``genrekit.training.fitting``: grid search, calibration, rejector) on all data,
and ``compare`` puts several configs' estimates side by side. Configs are read by
``genrekit.training.config``; features made by ``genrekit.training.featurize``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from genrekit.errors import AudioError, ConfigError
from genrekit.features import RepresentationSpec
from genrekit.training.config import ExperimentConfig
from genrekit.training.crossval import cross_validate
from genrekit.training.datasets import Dataset, joined, load_dataset, with_label_map
from genrekit.training.evaluate import EvaluationReport
from genrekit.training.featurize import NARROW_MARK, featurize
from genrekit.training.fitting import Calibration, fit_rows


def _load(config: ExperimentConfig) -> Dataset:
    """The config's dataset — its first collection joined by any ``also`` ones, in the first's
    genres — with groups and the label map applied."""
    dataset = joined(
        load_dataset(config.data, groups=config.groups),
        [load_dataset(path, groups=groups) for path, groups in config.also],
    )
    return with_label_map(dataset, config.label_map) if config.label_map else dataset


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

    source = _load(config)
    dataset, errors = featurize(
        source, config.representation, workers, progress, config.augment_copies
    )
    report = cross_validate(config, dataset)
    if report_dir is not None:
        report.write(report_dir)
    if out is None:
        return report, None, errors
    fitted = fit_rows(config, dataset, np.arange(len(dataset)))
    metrics = report.metrics()
    metrics.pop("folds", None)
    metrics.pop("reliability", None)
    calibration = fitted.calibration
    narrow_band = None
    if config.narrow_band_head:
        narrow_band = _narrow_band_head(config, source, Path(out), workers, progress)
    bundle = save_bundle(
        out,
        fitted.estimator,
        name=config.name,
        description=config.description,
        labels=dataset.labels,
        representation=config.representation,
        training={
            "data": dataset.describe(),
            "config": config.to_dict(),
            "chosen_params": fitted.chosen,
            "protocol": report.protocol,
        },
        metrics=metrics,
        reference_features=dataset.matrix[~dataset.augmented],
        calibration=None if calibration is None else _calibration_manifest(config, calibration),
        novelty=fitted.novelty,
        keep_share=config.keep_share,
        narrow_band=narrow_band,
    )
    return report, bundle, errors


def _narrow_band_head(
    config: ExperimentConfig, source: Dataset, bundle: Path, workers: int, progress: bool
) -> dict[str, Any]:
    """Fit the same recipe on each file, its copies and its narrow-band versions, save it in the
    bundle's ``NARROW_BAND_FOLDER`` with a rejector that knows narrow-band music (one reference
    row per track and version), and return the main manifest's ``narrow_band`` section.

    Measured before it was adopted (benchmarks/band_copies.py): sending narrow input to this
    head keeps every full-band figure and lifts the telephone band; trained into the one head,
    the same rows cost clean accuracy."""
    from genrekit.aggregate import mean_by_track
    from genrekit.bandwidth import NARROW_BAND_KEEP_SHARE, BandTest
    from genrekit.degrade import NARROW_BAND_VERSIONS
    from genrekit.models.bundle import NARROW_BAND_FOLDER, save_bundle
    from genrekit.novelty import NoveltyScore

    dataset, _ = featurize(
        source, config.representation, workers, progress, config.augment_copies,
        narrow_versions=True,
    )  # fmt: skip
    fitted = fit_rows(config, dataset, np.arange(len(dataset)), rejector=False)  # its own below
    version = np.array([item.id.partition(NARROW_MARK)[2] for item in dataset.items])
    narrow = np.flatnonzero(version != "")
    keys = [f"{dataset.tracks[row]}~{version[row]}" for row in narrow]
    features, first = mean_by_track(dataset.matrix[narrow], keys)
    by_group = config.protocol == "group" and dataset.groups is not None
    groups = np.asarray(dataset.groups if by_group else dataset.tracks)[narrow[first]]
    calibration = fitted.calibration
    save_bundle(
        bundle / NARROW_BAND_FOLDER,
        fitted.estimator,
        name=f"{config.name}-narrow-band",
        description=f"{config.name}'s head for narrow-band input (a phone line, audio through "
        "8 kHz): the same recipe, also trained on each file's narrow-band versions",
        labels=dataset.labels,
        representation=config.representation,
        training={
            "data": dataset.describe(),
            "narrow_band_versions": list(NARROW_BAND_VERSIONS),
            "chosen_params": fitted.chosen,
        },
        metrics={"measured": "benchmarks/band_copies.py (BENCHMARKS.md)"},
        reference_features=dataset.matrix[narrow],
        calibration=None if calibration is None else _calibration_manifest(config, calibration),
        novelty=NoveltyScore.fit(features, groups),
        keep_share=NARROW_BAND_KEEP_SHARE,
    )
    return {
        "folder": NARROW_BAND_FOLDER,
        **BandTest().to_manifest(),
        "what": "input whose power density above_hz lies more than narrow_below_db under its "
        "density inside_hz, or more than floor_wall_db under it with only a flat 16-bit floor "
        "up to far_hz (a phone line, audio through 8 kHz) is judged by this head and its "
        "rejector",
    }


def _calibration_manifest(
    config: ExperimentConfig, calibration: Calibration
) -> dict[str, dict[str, Any]]:
    """The manifest's ``calibration`` section for the final model."""
    return {
        "calibration": {
            **calibration.calibrator.to_manifest(),
            "fitted": f"on {calibration.fitted_on} of all training data",
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
        same = (config.data, config.also, config.protocol, config.folds, config.seed) == (
            first.data, first.also, first.protocol, first.folds, first.seed,
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

    from genrekit.reports.comparison import comparison_page

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
