"""The shipped recipe with and without the second collection, each collection judged on its own
unheard artists.

The recipe is the default's config (``configs/gtzan-audio/musicnn-lda.toml``: loudness-normalized
musicnn features, two training copies per clip, shrinkage LDA chosen by 3-fold artist grid
search, calibration and rejector on the training side), fitted by ``genrekit.training.fitting``
as ``genrekit train`` fits it. Each repetition draws 5-fold stratified group k-fold by artist on
GTZAN's 208 clips and, separately, on taffc's 84 songs in GTZAN's genres; fold k's test side is
GTZAN's fold k plus taffc's fold k. "GTZAN alone" trains on GTZAN's training side only; "both"
adds taffc's training side (the config's ``[[data.also]]``); "both, equal priors" gives LDA
equal class priors instead of the training side's genre shares (GTZAN's 208 clips hold 68
blues and 58 jazz but 8 metal, hip-hop and reggae each; taffc adds five genres only).

Figures: accuracy; balanced accuracy (the mean of the genres' recalls: what a test set with as
many songs of every genre would score); the calibrated confidence on the test songs (ECE,
the share of the most common confidence, AUROC of right vs wrong); and the share of the test
songs (all in the known genres) the training side's rejector keeps, per collection and genre.
Same folds, so figures are paired per repetition (95 % t interval over repetitions; they reuse
the same songs, so the interval is narrower than a fresh sample's would be). Degraded training
copies are trained on and never scored.

    python benchmarks/second_collection.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np
from _common import REPO, result_header, save_result
from calibration import figures
from selection import paired_interval
from sklearn.metrics import balanced_accuracy_score

from genrekit.aggregate import mean_by_track, verdicts
from genrekit.calibration import log_scores
from genrekit.training.config import load_config
from genrekit.training.featurize import featurize
from genrekit.training.fitting import fit_rows, track_features
from genrekit.training.splits import kfold
from genrekit.training.train import _load

CONFIG = REPO / "configs" / "gtzan-audio" / "musicnn-lda.toml"
FOLDS = 5


def collection_folds(dataset, in_first: np.ndarray, seed: int) -> list[tuple[np.ndarray, ...]]:
    """Per fold: (GTZAN training rows, taffc training rows, test rows); each collection split
    by its own artists, copies kept with their clip and never tested."""
    originals = ~dataset.augmented
    sides = []
    for part in (in_first, ~in_first):
        rows = np.flatnonzero(part & originals)
        splits = kfold(dataset.y[rows], dataset.tracks[rows], n_splits=FOLDS, protocol="group",
                       groups=dataset.groups[rows], seed=seed)  # fmt: skip
        sides.append([(set(dataset.tracks[rows[s.train]]), rows[s.test]) for s in splits])
    folds = []
    for (gtzan_train, gtzan_test), (taffc_train, taffc_test) in zip(*sides):
        gtzan_rows = np.flatnonzero(np.isin(dataset.tracks, list(gtzan_train)))
        taffc_rows = np.flatnonzero(np.isin(dataset.tracks, list(taffc_train)))
        folds.append((gtzan_rows, taffc_rows, np.concatenate([gtzan_test, taffc_test])))
    return folds


def track_outcomes(
    fitted, dataset, test_rows: np.ndarray, keep_share: float
) -> tuple[np.ndarray, ...]:
    """Predicted and true genre of each test track (its rows' probabilities averaged), its
    calibrated probabilities (the training side's calibrator, as a bundle applies it) and
    whether the training side's rejector keeps it as known (typicality ≥ 1 − keep_share)."""
    estimator = fitted.estimator
    columns = [list(estimator.classes_).index(label) for label in dataset.labels]
    x = dataset.matrix[test_rows]
    per_track, first = mean_by_track(
        estimator.predict_proba(x)[:, columns], dataset.tracks[test_rows]
    )
    calibrated, _ = mean_by_track(
        fitted.calibration.calibrator(log_scores(estimator, x)[:, columns]),
        dataset.tracks[test_rows],
    )
    features, _ = track_features(dataset, test_rows)
    kept = fitted.novelty.typicality(features) >= 1 - keep_share
    return verdicts(dataset.labels, per_track), dataset.y[test_rows][first], calibrated, kept


def kept_shares(kept: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Share of songs kept as known: all, then per genre, then the lowest genre's."""
    shares = {"all": round(float(kept.mean()), 4)}
    per_genre = {str(g): round(float(kept[truth == g].mean()), 4) for g in np.unique(truth)}
    lowest = min(per_genre, key=per_genre.__getitem__)
    return shares | per_genre | {"lowest genre": f"{lowest} {per_genre[lowest]}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    config = load_config(CONFIG)
    dataset, _ = featurize(_load(config), config.representation, 1, False, config.augment_copies)
    first = set(_load(replace(config, also=[])).tracks)
    in_first = np.array([track in first for track in dataset.tracks])
    started = time.perf_counter()
    equal = {"priors": [1 / len(dataset.labels)] * len(dataset.labels)}
    variants = {
        "alone": (config, False),
        "both": (config, True),
        "both, equal priors": (replace(config, params={**config.params, **equal}), True),
    }
    scores: dict[str, dict[str, list[float]]] = {
        f"{name} {measure} {collection}": []
        for name in variants
        for measure in ("accuracy", "balanced_accuracy")
        for collection in ("gtzan", "taffc")
    }
    confidence: dict[str, list[np.ndarray]] = {
        f"{name} {collection}": [] for name in variants for collection in ("gtzan", "taffc")
    }
    confidence_truth: dict[str, list[np.ndarray]] = {key: [] for key in confidence}
    kept: dict[str, list[np.ndarray]] = {key: [] for key in confidence}
    for seed in range(args.repeats):
        found: dict[str, list[np.ndarray]] = {}
        for gtzan_rows, taffc_rows, test_rows in collection_folds(dataset, in_first, seed):
            for name, (variant, with_taffc) in variants.items():
                train_rows = np.concatenate([gtzan_rows, taffc_rows]) if with_taffc else gtzan_rows
                fitted = fit_rows(variant, dataset, train_rows)
                for collection, part in (("gtzan", in_first), ("taffc", ~in_first)):
                    predicted, truth, calibrated, known = track_outcomes(
                        fitted, dataset, test_rows[part[test_rows]], config.keep_share
                    )
                    kept[f"{name} {collection}"].append(known)
                    found.setdefault(f"{name} {collection} predicted", []).append(predicted)
                    found.setdefault(f"{name} {collection} truth", []).append(truth)
                    confidence[f"{name} {collection}"].append(calibrated)
                    confidence_truth[f"{name} {collection}"].append(
                        np.searchsorted(dataset.labels, truth)
                    )
        for name in variants:
            for collection in ("gtzan", "taffc"):
                predicted = np.concatenate(found[f"{name} {collection} predicted"])
                truth = np.concatenate(found[f"{name} {collection} truth"])
                scores[f"{name} accuracy {collection}"].append(float((predicted == truth).mean()))
                scores[f"{name} balanced_accuracy {collection}"].append(
                    float(balanced_accuracy_score(truth, predicted))
                )
        print(seed, {k: round(v[-1], 3) for k, v in scores.items()}, flush=True)
    result = result_header(
        f"python benchmarks/second_collection.py --repeats {args.repeats}",
        time.perf_counter() - started,
        f"{args.repeats} x {FOLDS}-fold stratified group k-fold by artist, drawn on each "
        "collection separately; the default's recipe (grid search, copies) per fold",
    )
    for measure in ("accuracy", "balanced_accuracy"):
        for collection in ("gtzan", "taffc"):
            alone = np.array(scores[f"alone {measure} {collection}"])
            entry = {"gtzan_alone": round(float(alone.mean()), 4)}
            for name in ("both", "both, equal priors"):
                other = np.array(scores[f"{name} {measure} {collection}"])
                entry[name] = round(float(other.mean()), 4)
                entry[f"{name} - alone"] = round(float((other - alone).mean()), 4)
                entry[f"{name} - alone interval"] = paired_interval(other - alone)
            both = np.array(scores[f"both {measure} {collection}"])
            equal = np.array(scores[f"both, equal priors {measure} {collection}"])
            entry["both, equal priors - both"] = round(float((equal - both).mean()), 4)
            entry["both, equal priors - both interval"] = paired_interval(equal - both)
            result[f"{measure} on {collection}'s unheard artists"] = entry
    result["calibrated confidence, every repetition's test songs pooled"] = {
        key: figures(np.vstack(confidence[key]), np.concatenate(confidence_truth[key]))
        for key in confidence
    }
    result["rejector: share of the known test songs kept, every repetition pooled"] = {
        key: kept_shares(
            np.concatenate(kept[key]),
            np.array(dataset.labels)[np.concatenate(confidence_truth[key])],
        )
        for key in kept
    }
    result["per_repeat"] = {k: [round(v, 4) for v in values] for k, values in scores.items()}
    save_result("second_collection", result)


if __name__ == "__main__":
    main()
