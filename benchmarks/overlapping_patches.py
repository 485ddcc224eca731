"""Overlapping patches against the shipped non-overlapping ones, each collection judged on its
own unheard artists.

musicnn hears a clip as 3 s patches; the shipped representation takes them end to end (10 per
30 s clip), so a beat or a chord change cut by a patch border is never heard whole. The
challenger takes a patch every half patch (19 per 30 s clip; 1.9 times the networks' work) and
pools them the same way (mean and standard deviation of each output). Everything else is the
default's recipe (``configs/gtzan-audio/musicnn-lda.toml``: loudness normalization, two training
copies, shrinkage LDA chosen by inner artist folds, calibration and rejector on the training
side), trained on both collections, with the folds of ``second_collection.py`` (each
collection split by its own artists, fold k testing GTZAN's fold k and taffc's together), so
the two representations are paired per repetition.

    python benchmarks/overlapping_patches.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np
from _common import REPO, result_header, save_result
from calibration import figures
from second_collection import collection_folds, kept_shares, track_outcomes
from selection import paired_interval
from sklearn.metrics import balanced_accuracy_score

from genrekit.features import FeatureSet, register_representation
from genrekit.features import musicnn as musicnn_features
from genrekit.pretrained import musicnn
from genrekit.training.config import load_config
from genrekit.training.featurize import featurize
from genrekit.training.fitting import fit_rows
from genrekit.training.train import _load

CONFIG = REPO / "configs" / "gtzan-audio" / "musicnn-lda.toml"
HALF_PATCH = musicnn.PATCH_FRAMES // 2
OVERLAPPING = FeatureSet(
    "musicnn_half_overlap",
    musicnn_features.COLUMNS,
    lambda samples, rate: musicnn_features.pool(
        musicnn_features.patch_rows(samples, rate, HALF_PATCH)
    ),
    provenance=musicnn.provenance,
)
"""The challenger: the shipped columns, from a patch every half patch (93 frames, 1.49 s)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    register_representation(OVERLAPPING)
    config = load_config(CONFIG)
    variants = {
        "end to end (shipped)": config,
        "half-overlapping": replace(
            config, representation=replace(config.representation, name=OVERLAPPING.name)
        ),
    }
    datasets = {
        name: featurize(_load(variant), variant.representation, 1, False, variant.augment_copies)[0]
        for name, variant in variants.items()
    }
    shipped, challenger = datasets.values()
    assert list(shipped.tracks) == list(challenger.tracks), "the two datasets must pair row by row"
    first = set(_load(replace(config, also=[])).tracks)
    in_first = np.array([track in first for track in shipped.tracks])
    started = time.perf_counter()
    collections = (("gtzan", in_first), ("taffc", ~in_first))
    scores: dict[str, list[float]] = {}
    pooled: dict[str, list[np.ndarray]] = {}
    for seed in range(args.repeats):
        found: dict[str, list[np.ndarray]] = {}
        for gtzan_rows, taffc_rows, test_rows in collection_folds(shipped, in_first, seed):
            train_rows = np.concatenate([gtzan_rows, taffc_rows])
            for name, variant in variants.items():
                dataset = datasets[name]
                fitted = fit_rows(variant, dataset, train_rows)
                for collection, part in collections:
                    outcome = track_outcomes(
                        fitted, dataset, test_rows[part[test_rows]], config.keep_share
                    )
                    for what, values in zip(("predicted", "truth", "calibrated", "kept"), outcome):
                        found.setdefault(f"{name} {collection} {what}", []).append(values)
        for name in variants:
            for collection, _ in collections:
                key = f"{name} {collection}"
                predicted = np.concatenate(found[f"{key} predicted"])
                truth = np.concatenate(found[f"{key} truth"])
                scores.setdefault(f"{key} accuracy", []).append(float((predicted == truth).mean()))
                scores.setdefault(f"{key} balanced_accuracy", []).append(
                    float(balanced_accuracy_score(truth, predicted))
                )
                for what in ("truth", "calibrated", "kept"):
                    pooled.setdefault(f"{key} {what}", []).extend(found[f"{key} {what}"])
        print(seed, {k: round(v[-1], 3) for k, v in scores.items()}, flush=True)
    result = result_header(
        f"python benchmarks/overlapping_patches.py --repeats {args.repeats}",
        time.perf_counter() - started,
        f"{args.repeats} x 5-fold stratified group k-fold by artist, drawn on each collection "
        "separately; the default's recipe trained on both collections per fold",
    )
    labels = np.array(shipped.labels)
    for collection, _ in collections:
        for measure in ("accuracy", "balanced_accuracy"):
            base = np.array(scores[f"end to end (shipped) {collection} {measure}"])
            other = np.array(scores[f"half-overlapping {collection} {measure}"])
            result[f"{measure} on {collection}'s unheard artists"] = {
                "end to end (shipped)": round(float(base.mean()), 4),
                "half-overlapping": round(float(other.mean()), 4),
                "half-overlapping - shipped": round(float((other - base).mean()), 4),
                "interval": paired_interval(other - base),
                "repetitions won / lost": [int((other > base).sum()), int((other < base).sum())],
            }
        for name in variants:
            key = f"{name} {collection}"
            truth = np.concatenate(pooled[f"{key} truth"])
            result[f"{key}: calibrated confidence"] = figures(
                np.vstack(pooled[f"{key} calibrated"]), np.searchsorted(labels, truth)
            )
            result[f"{key}: rejector keeps"] = kept_shares(
                np.concatenate(pooled[f"{key} kept"]), truth
            )
    result["per_repeat"] = {k: [round(v, 4) for v in values] for k, values in scores.items()}
    save_result("overlapping_patches", result)


if __name__ == "__main__":
    main()
