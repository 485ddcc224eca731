"""Choosing the default recipe on enough evidence: repeated artist folds, paired differences,
and a second collection.

Each recipe (a training config, as ``genrekit train`` runs it) is cross-validated on GTZAN's
208 clips under 5-fold stratified group k-fold by artist, repeated with seeds 0..repeats-1; a
seed gives every recipe the same folds (checked), so the recipes' accuracies are compared as
paired differences per repetition, with a 95 % interval (t over repetitions; the repetitions
reuse the same clips, so the interval is narrower than a fresh sample's would be). The second
collection: each recipe's final model (all 208 clips, as shipped) predicts taffc's 84 clips in
GTZAN's genres; the paired difference on the same clips gets a 95 % bootstrap interval over
clips. The decision rule is written in BENCHMARKS.md (*Choosing the default*).

    python benchmarks/selection.py [--repeats 10]
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from _common import REPO, data_dir, git_revision, machine, save_result
from scipy import stats

from genrekit.predict import Classifier
from genrekit.training.config import ExperimentConfig, load_config
from genrekit.training.crossval import cross_validate
from genrekit.training.featurize import featurize
from genrekit.training.train import _load, train

CONFIGS = REPO / "configs" / "gtzan-audio"
DEFAULT = "default: loudness normalization, shrinkage LDA, +2 training copies"
RECIPES = {
    DEFAULT: ("musicnn-lda.toml", None),
    "previous default: no level normalization, logistic regression": ("musicnn-logreg.toml", None),
    "shrinkage LDA without training copies": ("musicnn-lda.toml", 0),
}
"""Name → (config file, training copies overriding the config's; None keeps them)."""
BOOTSTRAP = 2000
INTERVAL = 0.95


def recipe_config(file: str, copies: int | None) -> ExperimentConfig:
    """The recipe on GTZAN alone: taffc is the second collection every choice is checked on, so
    a config's ``[[data.also]]`` collections are not trained on here."""
    config = replace(load_config(CONFIGS / file), also=[])
    return config if copies is None else replace(config, augment_copies=copies)


def repeated_folds(config: ExperimentConfig, repeats: int) -> list[dict]:
    """Accuracy, macro-F1 and fold sizes of each repetition of the artist-fold CV."""
    dataset, _ = featurize(_load(config), config.representation, 1, False, config.augment_copies)
    runs = []
    for seed in range(repeats):
        report = cross_validate(replace(config, seed=seed), dataset)
        metrics = report.metrics()
        folds = sorted(
            tuple(sorted(report.y_true[report.fold_of == f])) for f in np.unique(report.fold_of)
        )
        runs.append({"seed": seed, "accuracy": metrics["accuracy"],
                     "macro_f1": metrics["macro_f1"], "folds": hash(tuple(folds))})  # fmt: skip
    return runs


def taffc_correct(config: ExperimentConfig) -> list[bool]:
    """Whether the recipe's final model (all GTZAN clips) is right on each taffc clip in
    GTZAN's genres (the rejector off: the genre itself is scored)."""
    rows = [r for r in csv.DictReader((data_dir() / "taffc" / "manifest.csv").open())
            if r["label"] != "other"]  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        train(config, Path(folder) / "model", progress=False)
        classifier = Classifier.load(Path(folder) / "model", reject=False)
        return [
            classifier.predict(data_dir() / r["file"], timeline=False).label == r["label"]
            for r in rows
        ]


def paired_interval(differences: np.ndarray) -> list[float]:
    """The mean difference's t interval over repetitions."""
    mean, sem = differences.mean(), stats.sem(differences)
    low, high = stats.t.interval(INTERVAL, len(differences) - 1, loc=mean, scale=sem)
    return [round(float(low), 4), round(float(high), 4)]


def bootstrap_interval(a: np.ndarray, b: np.ndarray, seed: int = 0) -> list[float]:
    """Percentile bootstrap interval of mean(a) − mean(b) over paired clips."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(a), size=(BOOTSTRAP, len(a)))
    differences = a[draws].mean(1) - b[draws].mean(1)
    tail = (1 - INTERVAL) / 2 * 100
    return [round(float(v), 4) for v in np.percentile(differences, [tail, 100 - tail])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10, help="repetitions of the 5-fold CV")
    args = parser.parse_args()
    started = time.perf_counter()
    gtzan: dict[str, list[dict]] = {}
    taffc: dict[str, np.ndarray] = {}
    for name, (file, copies) in RECIPES.items():
        config = recipe_config(file, copies)
        gtzan[name] = repeated_folds(config, args.repeats)
        taffc[name] = np.array(taffc_correct(config), dtype=float)
    default_folds = [r["folds"] for r in gtzan[DEFAULT]]
    same_folds = all([r["folds"] for r in runs] == default_folds for runs in gtzan.values())
    recipes = {}
    for name, runs in gtzan.items():
        entry: dict = {}
        for metric in ("accuracy", "macro_f1"):
            values = np.array([r[metric] for r in runs])
            entry[f"gtzan_{metric}"] = {
                "mean": round(float(values.mean()), 4),
                "std_over_repeats": round(float(values.std(ddof=1)), 4),
                "per_repeat": [round(float(v), 4) for v in values],
            }
        entry["taffc_accuracy"] = round(float(taffc[name].mean()), 4)
        if name != DEFAULT:
            for metric in ("accuracy", "macro_f1"):
                difference = np.array([r[metric] for r in runs]) - np.array(
                    [r[metric] for r in gtzan[DEFAULT]]
                )
                entry[f"gtzan_{metric}_minus_default"] = {
                    "mean": round(float(difference.mean()), 4),
                    "interval": paired_interval(difference),
                    "wins": int((difference > 0).sum()),
                }
            entry["taffc_accuracy_minus_default"] = {
                "mean": round(float(taffc[name].mean() - taffc[DEFAULT].mean()), 4),
                "interval": bootstrap_interval(taffc[name], taffc[DEFAULT]),
            }
        recipes[name] = entry
    save_result("selection", {
        "command": f"python benchmarks/selection.py --repeats {args.repeats}",
        "machine": machine(),
        "revision": git_revision(),
        "protocol": f"GTZAN: {args.repeats} x 5-fold stratified group k-fold by artist (seeds "
                    f"0..{args.repeats - 1}), the configs' own inner folds, calibration and "
                    "training copies; paired differences per repetition, 95 % t interval; taffc: "
                    "84 clips in GTZAN's genres, each recipe's final model on all GTZAN clips, "
                    "paired bootstrap interval over clips, rejector off",
        "same_folds_for_every_recipe": same_folds,
        "seconds": round(time.perf_counter() - started, 1),
        "recipes": recipes,
    })  # fmt: skip


if __name__ == "__main__":
    main()
