"""Confidence that varies with the music and ranks right answers above wrong ones.

Side by side in one run, for the default recipe (``configs/gtzan-audio/musicnn-lda.toml``):

- ``logit gaps`` (what genrekit does): the model's logits, a temperature and a power on the
  gaps fitted on inner folds' held-out logits (``genrekit.calibration.Calibrator``);
- ``clipped probabilities`` (what it did): the log of LDA's probabilities clipped at 1e-12 and a
  temperature alone — shrinkage LDA's runners-up underflow, so most songs got one confidence.

Protocols: GTZAN under artist-disjoint 5-fold cross-validation, repeated with ``--repeats``
seeds (calibration fitted inside each training side, never on the fold it scores), and taffc
(another collection, 84 clips in GTZAN's genres, never used to train or tune) predicted by a
model fitted on all of GTZAN. Figures per method: accuracy, ECE (15 bins), the share of
predictions that carry the most common top confidence (3 decimals), and the AUROC of the top
confidence for telling right answers from wrong ones.

    python benchmarks/calibration.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import csv
import time
from dataclasses import replace

import numpy as np
from _common import REPO, data_dir, git_revision, machine, save_result
from sklearn.metrics import roc_auc_score

import genrekit.calibration as calibration
from genrekit.calibration import PROBABILITY_FLOOR, expected_calibration_error
from genrekit.training.config import load_config
from genrekit.training.crossval import cross_validate
from genrekit.training.featurize import featurize
from genrekit.training.fitting import fit_rows
from genrekit.training.train import _load

CONFIG = REPO / "configs" / "gtzan-audio" / "musicnn-lda.toml"
OLD_POWER_RANGE = (1.0, 1.0)
"""The clipped-probabilities method had a temperature only."""


def clipped_log_probabilities(estimator, features):
    """The scores calibration used before: log-probabilities clipped at 1e-12."""
    return np.log(np.clip(estimator.predict_proba(features), PROBABILITY_FLOOR, 1.0))


METHODS = {
    "logit gaps": (calibration.log_scores, calibration.POWER_RANGE),
    "clipped probabilities": (clipped_log_probabilities, OLD_POWER_RANGE),
}


def use(method: str) -> None:
    """Make genrekit's training calibrate the way ``method`` does."""
    scores, powers = METHODS[method]
    calibration.log_scores = scores
    calibration.POWER_RANGE = powers


def figures(probabilities: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    confidence = probabilities.max(1)
    right = probabilities.argmax(1) == truth
    _, counts = np.unique(np.round(confidence, 3), return_counts=True)
    return {
        "n": len(truth),
        "accuracy": round(float(right.mean()), 4),
        "ece": round(expected_calibration_error(probabilities, truth), 4),
        "share_of_most_common_confidence": round(float(counts.max() / len(truth)), 4),
        "auroc_right_vs_wrong": round(float(roc_auc_score(right, confidence)), 4),
    }


def taffc_features(spec) -> tuple[np.ndarray, list[str]]:
    """Each in-taxonomy taffc clip's features (its clips' mean), as the default sees them."""
    from genrekit.predict import Classifier

    classifier = Classifier.load(reject=False)
    assert classifier.spec == spec
    rows = list(csv.DictReader((data_dir() / "taffc" / "manifest.csv").open()))
    known = [r for r in rows if r["label"] != "other"]
    features = [classifier.analyse_file(data_dir() / r["file"], timeline=False)[1] for r in known]
    return np.stack(features), [r["label"] for r in known]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="seeds of the 5-fold CV")
    args = parser.parse_args()
    config = replace(load_config(CONFIG), also=[])  # GTZAN alone: taffc is the check
    dataset, _ = featurize(_load(config), config.representation, 1, False, config.augment_copies)
    taffc_x, taffc_labels = taffc_features(config.representation)
    started = time.perf_counter()
    result: dict = {"methods": {}}
    for method in METHODS:
        use(method)
        runs = []
        for seed in range(args.repeats):
            report = cross_validate(replace(config, seed=seed), dataset)
            truth = np.searchsorted(report.labels, report.y_true)
            runs.append(figures(report.probabilities, truth))
        fitted = fit_rows(config, dataset, np.arange(len(dataset)))
        estimator = fitted.estimator
        columns = [list(estimator.classes_).index(label) for label in dataset.labels]
        scores = calibration.log_scores(estimator, taffc_x)[:, columns]
        taffc = figures(
            fitted.calibration.calibrator(scores), np.searchsorted(dataset.labels, taffc_labels)
        )
        result["methods"][method] = {
            "gtzan_artist_folds": {
                "per_seed": runs,
                **{
                    f"{name}_mean": round(float(np.mean([r[name] for r in runs])), 4)
                    for name in runs[0]
                    if name != "n"
                },
            },
            "taffc": {**taffc, "calibrator": fitted.calibrator.to_manifest()},
        }
    result.update(
        protocol="GTZAN: artist-disjoint 5-fold CV repeated over seeds 0..repeats-1, "
        "calibration fitted on inner folds of each training side; taffc: 84 in-taxonomy clips "
        "of another collection, model and calibration fitted on all GTZAN clips",
        config=str(CONFIG.relative_to(REPO)),
        seconds=round(time.perf_counter() - started, 1),
        machine=machine(),
        revision=git_revision(),
        command="python benchmarks/calibration.py --repeats " + str(args.repeats),
    )
    save_result("calibration", result)


if __name__ == "__main__":
    main()
