"""Learning your own labels from few examples: accuracy against examples per label, and active
(``genrekit suggest``'s uncertainty + diversity) against random choice of the next labels.

Features: the default model's musicnn representation of the 208 GTZAN clips (cached by
benchmarks/robustness.py). Protocol: 5-fold stratified group k-fold by artist; on each training
side, k clips per genre are drawn (all when a genre has fewer), a logistic regression is fitted
exactly as ``genrekit learn`` fits it, and the held-out artists' clips are scored; 5 draws per
fold. Active learning: from 3 clips per genre, 20 more labels in 4 rounds of 5, chosen at random
or by ``genrekit.teach.learn.most_informative`` from the training side's pool.

    python benchmarks/few_shot.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from _common import RESULTS, data_dir, git_revision, machine
from robustness import features_for
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedGroupKFold

from genrekit.teach.learn import _model, most_informative

SHOTS = (3, 5, 10, 20)
START = 3
"""Active learning starts from ``genrekit learn``'s minimum of 3 examples per label."""
DRAWS, FOLDS, SEED = 5, 5, 0
ROUNDS, BATCH = 4, 5


def score(train: np.ndarray, test: np.ndarray, x, y) -> tuple[float, float]:
    predicted = _model().fit(x[train], y[train]).predict(x[test])
    return float((predicted == y[test]).mean()), float(
        f1_score(y[test], predicted, average="macro")
    )


def draw(rng, rows: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    picked = [rng.permutation(rows[y[rows] == g])[:k] for g in np.unique(y[rows])]
    return np.concatenate(picked)


def main() -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # small dense fits: one BLAS thread is ~20x faster than two here
    root = data_dir()
    paths = sorted(str(p) for p in (root / "gtzan").glob("*/*.flac"))
    artist_of = pd.read_csv(root / "gtzan_artists.csv", dtype=str).set_index("id")["artist"]
    ids = [Path(p).stem for p in paths]
    y = np.array([i.split(".")[0] for i in ids])
    artists = np.array([artist_of[i] for i in ids])
    x = features_for(paths, "loudness", 0, 2)["clean"]
    unit = (x - x.mean(0)) / x.std(0)
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    rng = np.random.default_rng(SEED)
    shots = {k: [] for k in SHOTS}
    strategies = {"random": [], "active": []}
    for train, test in StratifiedGroupKFold(FOLDS, shuffle=True, random_state=SEED).split(
        x, y, artists
    ):
        for _ in range(DRAWS):
            for k in SHOTS:
                shots[k].append(score(draw(rng, train, y, k), test, x, y))
            start = draw(rng, train, y, START)
            for strategy in strategies:
                labelled = list(start)
                for _ in range(ROUNDS):
                    pool = np.setdiff1d(train, labelled)
                    if strategy == "random":
                        chosen = rng.permutation(pool)[:BATCH]
                    else:
                        probabilities = (
                            _model().fit(x[labelled], y[labelled]).predict_proba(x[pool])
                        )
                        chosen = pool[most_informative(probabilities, unit[pool], BATCH)]
                    labelled += list(chosen)
                strategies[strategy].append(score(np.array(labelled), test, x, y))
    summary = lambda runs: {  # noqa: E731
        "accuracy_mean": round(float(np.mean([r[0] for r in runs])), 4),
        "accuracy_std": round(float(np.std([r[0] for r in runs])), 4),
        "macro_f1_mean": round(float(np.mean([r[1] for r in runs])), 4),
        "runs": len(runs),
    }
    record = {
        "command": "python benchmarks/few_shot.py",
        "machine": machine(),
        "revision": git_revision(),
        "protocol": f"{FOLDS}-fold stratified group k-fold by artist, {DRAWS} draws per fold; "
        "features: musicnn with loudness normalization; model: genrekit learn's",
        "examples_per_label": {str(k): summary(v) for k, v in shots.items()},
        f"next_20_labels_from_{START}_per_label": {k: summary(v) for k, v in strategies.items()},
    }
    (RESULTS / "few_shot.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
