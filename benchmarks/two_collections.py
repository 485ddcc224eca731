"""Does training on both collections help? GTZAN plus taffc, each judged on the other's unheard
artists.

The head is the default's (standardize → shrinkage LDA, ``SHRINKAGE``) on the default's catalog
embeddings (each clip's 1000 musicnn values, no training copies; catalogs from
``benchmarks/rejector.py``'s cache). Two questions, each under artist folds with paired
differences:

1. GTZAN's unheard artists (10 × 5-fold stratified group k-fold by artist on GTZAN's 208 clips):
   trained on the GTZAN training side alone, or on it plus all 84 taffc clips in GTZAN's genres.
2. taffc's unheard artists (10 × 5-fold group k-fold by artist on taffc's 84 clips, stratified
   by genre): the GTZAN-only model (all 208 clips; what ships) against one trained on all GTZAN
   clips plus the taffc training side — what a user's own labelled songs added to the default
   would do for music like theirs.

    python benchmarks/two_collections.py
"""

from __future__ import annotations

import csv

import numpy as np
from _common import data_dir, git_revision, machine, save_result
from rejector import REPEATS, catalog, embeddings, gtzan_table, repeated_folds
from selection import paired_interval
from tag_prior import head

from genrekit.training.splits import kfold

FOLDS = 5


def taffc_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """taffc's clips in GTZAN's genres: embeddings, genres, artists."""
    data = data_dir()
    found = embeddings(catalog("taffc", data / "taffc"))
    rows = [r for r in csv.DictReader((data / "taffc" / "manifest.csv").open())
            if r["label"] != "other"]  # fmt: skip
    x = np.stack([found[str((data / r["file"]).resolve())] for r in rows])
    return x, np.array([r["label"] for r in rows]), np.array([r["artist"] for r in rows])


def per_repeat(correct: list[np.ndarray], size: int) -> np.ndarray:
    """Accuracy of each repetition from its folds' right/wrong arrays (FOLDS per repetition)."""
    sums = [
        sum(int(c.sum()) for c in correct[i : i + FOLDS]) for i in range(0, len(correct), FOLDS)
    ]
    return np.array(sums) / size


def summary(alone: np.ndarray, both: np.ndarray) -> dict:
    return {
        "one_collection": round(float(alone.mean()), 4),
        "both_collections": round(float(both.mean()), 4),
        "difference": round(float((both - alone).mean()), 4),
        "interval": paired_interval(both - alone),
        "wins": int((both > alone).sum()),
        "losses": int((both < alone).sum()),
    }


def main() -> None:
    gx, gy, gartists = gtzan_table()
    tx, ty, tartists = taffc_table()
    alone, both = [], []
    for split in repeated_folds(gy, gartists):
        test_x, truth = gx[split.test], gy[split.test]
        alone.append(head(gx[split.train], gy[split.train]).predict(test_x) == truth)
        x = np.vstack([gx[split.train], tx])
        y = np.concatenate([gy[split.train], ty])
        both.append(head(x, y).predict(test_x) == truth)
    gtzan = summary(per_repeat(alone, len(gy)), per_repeat(both, len(gy)))

    shipped = head(gx, gy).predict(tx) == ty
    alone, both = [], []
    tracks = np.arange(len(ty)).astype(str)
    for repeat in range(REPEATS):
        for split in kfold(ty, tracks, n_splits=FOLDS, protocol="group", groups=tartists,
                           seed=repeat):  # fmt: skip
            alone.append(shipped[split.test])
            x = np.vstack([gx, tx[split.train]])
            y = np.concatenate([gy, ty[split.train]])
            both.append(head(x, y).predict(tx[split.test]) == ty[split.test])
    taffc = summary(per_repeat(alone, len(ty)), per_repeat(both, len(ty)))
    save_result("two_collections", {
        "command": "python benchmarks/two_collections.py",
        "machine": machine(),
        "revision": git_revision(),
        "protocol": f"{REPEATS} x {FOLDS}-fold stratified group k-fold by artist on each "
                    "collection; shrinkage LDA on the default's catalog embeddings (no training "
                    "copies); paired differences per repetition, 95 % t interval",
        "gtzan_unheard_artists (GTZAN alone vs GTZAN + all taffc)": gtzan,
        "taffc_unheard_artists (all GTZAN vs all GTZAN + taffc training side)": taffc,
    })  # fmt: skip


if __name__ == "__main__":
    main()
