"""Robustness and generalisation of the musicnn transfer model under artist-disjoint folds.

For every GTZAN clip in ``../shared/data/gtzan`` the musicnn features are computed clean and under
each degradation of ``genrekit.degrade.CONDITIONS`` (DC offset, hard clipping, 8 kHz sample rate,
−30 dB, 20 dB SNR noise, MP3 96 kbit/s, 44.1 kHz stereo), for each preprocessing variant, plus
``--copies`` randomly degraded training copies (``degrade.random_degradation``). Then, for each
variant: outer 5-fold stratified group k-fold by artist (``gtzan_artists.csv``); on each training
side a class-balanced logistic regression's C is chosen by 3-fold group grid search on the
training artists only and a temperature is fitted on those inner folds' out-of-fold
probabilities; the held-out artists' clips are scored clean and under every condition.
Accuracy, macro-F1 and ECE (15 bins) per condition; the worst drop from clean.

    python benchmarks/robustness.py [--copies 2] [--workers 2]

Features are cached in ``benchmarks/cache/`` (not committed); results go to
``benchmarks/results/robustness.json``.
"""

from __future__ import annotations

import argparse
import json
import time
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from _common import REPO, RESULTS, data_dir, git_revision, machine

from genrekit.audio import Audio, load_audio
from genrekit.calibration import expected_calibration_error, fit_temperature
from genrekit.degrade import CONDITIONS, random_degradation
from genrekit.features import RepresentationSpec, feature_set, prepare
from genrekit.predict import calibrate

CACHE = REPO / "benchmarks" / "cache"
VARIANTS = {
    "as shipped before (no level normalization)": "none",
    "loudness normalization (high-pass + gated RMS)": "loudness",
}
GRID_C = (0.003, 0.01, 0.03, 0.1)
FOLDS, INNER_FOLDS, SEED = 5, 3, 0


def clip_features(job: tuple[str, str, str, int]) -> np.ndarray:
    """musicnn features of one clip after a named condition (or random copy ``-n``)."""
    path, condition, normalize, copy = job
    spec = RepresentationSpec(name="musicnn", normalize=normalize)  # type: ignore[arg-type]
    audio = load_audio(path, sample_rate=spec.sample_rate)
    if copy:
        samples = random_degradation(
            audio.samples, audio.sample_rate, seed=zlib.crc32(f"{Path(path).name}:{copy}".encode())
        )
    else:
        samples = CONDITIONS[condition](audio.samples, audio.sample_rate)
    degraded = Audio(samples, audio.sample_rate, path, audio.source_sample_rate, 1, False)
    return feature_set(spec.name).extract(prepare(degraded, spec), spec.sample_rate)


def features_for(
    paths: list[str], normalize: str, copies: int, workers: int
) -> dict[str, np.ndarray]:
    """condition (or ``copy-n``) → (clips, 1000) features, cached on disk."""
    CACHE.mkdir(parents=True, exist_ok=True)
    names = [*CONDITIONS, *(f"copy-{n}" for n in range(1, copies + 1))]
    result = {}
    for name in names:
        cached = CACHE / f"robustness-{normalize}-{name.replace(' ', '_').replace('/', '_')}.npy"
        if cached.is_file():
            result[name] = np.load(cached)
            continue
        copy = int(name.split("-")[1]) if name.startswith("copy-") else 0
        jobs = [(p, name, normalize, copy) for p in paths]
        start = time.perf_counter()
        with ProcessPoolExecutor(workers) as pool:
            result[name] = np.stack(list(pool.map(clip_features, jobs, chunksize=4)))
        np.save(cached, result[name])
        print(f"  {normalize} / {name}: {time.perf_counter() - start:.0f} s", flush=True)
    return result


def evaluate(
    features: dict[str, np.ndarray], y: np.ndarray, artists: np.ndarray, copies: int
) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import StratifiedGroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    labels = np.array(sorted(set(y)))

    def model(c: float):
        return make_pipeline(
            StandardScaler(), LogisticRegression(C=c, max_iter=5000, class_weight="balanced")
        )

    def training(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        blocks = [features["clean"][rows]] + [
            features[f"copy-{n}"][rows] for n in range(1, copies + 1)
        ]
        return np.vstack(blocks), np.tile(y[rows], copies + 1)

    outer = StratifiedGroupKFold(FOLDS, shuffle=True, random_state=SEED)
    probabilities = {name: np.zeros((len(y), len(labels))) for name in CONDITIONS}
    chosen = []
    for train, test in outer.split(y, y, artists):
        inner = list(
            StratifiedGroupKFold(INNER_FOLDS, shuffle=True, random_state=SEED).split(
                train, y[train], artists[train]
            )
        )
        best, best_score, best_oof = None, -1.0, None
        for c in GRID_C:
            oof = np.zeros((len(train), len(labels)))
            for inner_train, inner_test in inner:
                x_fit, y_fit = training(train[inner_train])
                oof[inner_test] = (
                    model(c).fit(x_fit, y_fit).predict_proba(features["clean"][train[inner_test]])
                )
            score = f1_score(y[train], labels[oof.argmax(1)], average="macro")
            if score > best_score:
                best, best_score, best_oof = c, score, oof
        temperature = fit_temperature(best_oof, np.searchsorted(labels, y[train]))
        chosen.append({"C": best, "temperature": round(temperature, 3)})
        x_fit, y_fit = training(train)
        fitted = model(best).fit(x_fit, y_fit)
        for name in CONDITIONS:
            probabilities[name][test] = calibrate(
                fitted.predict_proba(features[name][test]), temperature
            )
    rows = {}
    for name in CONDITIONS:
        predicted = labels[probabilities[name].argmax(1)]
        rows[name] = {
            "accuracy": round(float(accuracy_score(y, predicted)), 4),
            "macro_f1": round(float(f1_score(y, predicted, average="macro")), 4),
            "ece": round(
                expected_calibration_error(probabilities[name], np.searchsorted(labels, y)), 4
            ),
        }
    clean = rows["clean"]["accuracy"]
    worst = min(rows, key=lambda n: rows[n]["accuracy"])
    return {
        "conditions": rows,
        "worst_condition": worst,
        "worst_drop": round(clean - rows[worst]["accuracy"], 4),
        "chosen_per_fold": chosen,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    import pandas as pd

    root = data_dir()
    paths = sorted(str(p) for p in (root / "gtzan").glob("*/*.flac"))
    artist_of = pd.read_csv(root / "gtzan_artists.csv", dtype=str).set_index("id")["artist"]
    ids = [Path(p).stem for p in paths]
    y = np.array([i.split(".")[0] for i in ids])
    artists = np.array([artist_of[i] for i in ids])
    results = {}
    for title, normalize in VARIANTS.items():
        features = features_for(paths, normalize, args.copies, args.workers)
        results[f"{title}, no augmentation"] = evaluate(features, y, artists, 0)
        if args.copies:
            results[f"{title}, +{args.copies} degraded copies per training clip"] = evaluate(
                features, y, artists, args.copies
            )
    record = {
        "command": f"python benchmarks/robustness.py --copies {args.copies}",
        "machine": machine(),
        "revision": git_revision(),
        "protocol": f"{FOLDS}-fold stratified group k-fold by artist ({len(set(artists))} artists, {len(y)} clips); "
        f"C from {list(GRID_C)} by {INNER_FOLDS}-fold group grid search (macro-F1) and temperature on the training artists only; "
        "degradations applied to the held-out clips only",
        "results": results,
    }
    (RESULTS / "robustness.json").write_text(json.dumps(record, indent=2) + "\n")
    for name, result in results.items():
        print(f"\n{name}: worst drop {result['worst_drop']:.3f} ({result['worst_condition']})")
        for condition, row in result["conditions"].items():
            print(
                f"  {condition:32s} acc {row['accuracy']:.3f}  F1 {row['macro_f1']:.3f}  ECE {row['ece']:.3f}"
            )


if __name__ == "__main__":
    main()
