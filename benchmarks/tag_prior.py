"""musicnn's own genre tags as a prior for the trained head: does it help on unheard artists and
on another collection?

The pretrained networks were trained on a million songs' tags (MSD: rock, pop, jazz, blues,
country, Hip-Hop, metal …; MTT: classical, country, metal …). Their mean tag scores over a clip
become a zero-shot distribution over GTZAN's genres (``GENRE_TAGS``; reggae has no tag, so it gets
the mean of the song's other genre scores: neutral), and are pooled log-linearly with the trained
head, as ``genrekit.teach.prior`` pools a personal model with the default:
``log p(genre) = log p_head(genre) + weight · log q_tags(genre)`` (+ a constant).

- Head: standardize → shrinkage LDA (0.8, the default's choice when this was measured) on the
  default's catalog embeddings (each clip's 1000 musicnn values; no training copies); its exact
  log-posteriors come from the decision function, which never underflows.
- GTZAN: 10 × 5-fold stratified group k-fold by artist; the weight chosen from ``WEIGHTS`` on
  3 inner artist folds of each training side (accuracy; ties to the smaller weight); paired
  difference against weight 0 (the head alone) per repetition, 95 % t interval.
- taffc: 84 clips in GTZAN's genres, head fitted on all of GTZAN, weight chosen on GTZAN's inner
  folds; paired bootstrap interval over clips. The zero-shot tags alone are reported too.

The catalogs come from ``benchmarks/rejector.py``'s cache (indexed there if missing).

    python benchmarks/tag_prior.py
"""

from __future__ import annotations

import csv

import numpy as np
from _common import data_dir, git_revision, machine, save_result
from rejector import REPEATS, catalog, embeddings, gtzan_table, repeated_folds
from scipy.special import logsumexp
from selection import bootstrap_interval, paired_interval
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from genrekit.features.musicnn import COLUMNS, tag_column
from genrekit.training.splits import kfold

GENRE_TAGS = {
    "blues": [("MSD", "blues")],
    "classical": [("MTT", "classical")],
    "country": [("MSD", "country"), ("MTT", "country")],
    "disco": [("MSD", "dance"), ("MSD", "funk")],
    "hiphop": [("MSD", "Hip-Hop")],
    "jazz": [("MSD", "jazz")],
    "metal": [("MSD", "metal"), ("MSD", "heavy metal"), ("MTT", "metal")],
    "pop": [("MSD", "pop")],
    "reggae": [],
    "rock": [("MSD", "rock"), ("MSD", "classic rock"), ("MSD", "hard rock")],
}
"""Each GTZAN genre's musicnn tags (source network, tag); their mean scores are summed."""
WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
SHRINKAGE = 0.8
INNER_FOLDS = 3
FLOOR = 1e-3


def tag_log_prior(features: np.ndarray, genres: list[str]) -> np.ndarray:
    """(rows, genres): log of the zero-shot distribution the tags give."""
    index = {name: i for i, name in enumerate(COLUMNS)}
    scores = np.full((len(features), len(genres)), np.nan)
    for column, genre in enumerate(genres):
        tags = GENRE_TAGS[genre]
        if tags:
            columns = [index[tag_column(source, tag)] for source, tag in tags]
            scores[:, column] = features[:, columns].sum(axis=1)
    neutral = np.nanmean(scores, axis=1, keepdims=True)
    scores = np.where(np.isnan(scores), neutral, scores) + FLOOR
    return np.log(scores / scores.sum(axis=1, keepdims=True))


def head(x: np.ndarray, y: np.ndarray):
    model = LinearDiscriminantAnalysis(solver="lsqr", shrinkage=SHRINKAGE)
    return make_pipeline(StandardScaler(), model).fit(x, y)


def log_posteriors(model, x: np.ndarray) -> np.ndarray:
    scores = model.decision_function(x)
    return scores - logsumexp(scores, axis=1, keepdims=True)


def choose_weight(x: np.ndarray, y: np.ndarray, artists: np.ndarray, genres: list[str]) -> float:
    """The weight with the best inner-fold accuracy on one training side."""
    correct = np.zeros(len(WEIGHTS))
    tracks = np.arange(len(y)).astype(str)
    inner = kfold(y, tracks, n_splits=INNER_FOLDS, protocol="group", groups=artists, seed=0)
    for split in inner:
        model = head(x[split.train], y[split.train])
        own = log_posteriors(model, x[split.test])
        prior = tag_log_prior(x[split.test], genres)
        for i, weight in enumerate(WEIGHTS):
            predicted = np.array(genres)[(own + weight * prior).argmax(1)]
            correct[i] += (predicted == y[split.test]).sum()
    return WEIGHTS[int(np.argmax(correct))]  # argmax: the first (smallest) of equals


def main() -> None:
    x, y, artists = gtzan_table()
    genres = sorted(set(y))
    head_alone, fused, chosen = [], [], []
    for split in repeated_folds(y, artists):
        weight = choose_weight(x[split.train], y[split.train], artists[split.train], genres)
        model = head(x[split.train], y[split.train])
        own = log_posteriors(model, x[split.test])
        prior = tag_log_prior(x[split.test], genres)
        truth = y[split.test]
        head_alone.append((np.array(genres)[own.argmax(1)] == truth).sum())
        fused.append((np.array(genres)[(own + weight * prior).argmax(1)] == truth).sum())
        chosen.append(weight)
    per_repeat = len(y)
    alone = np.add.reduceat(head_alone, np.arange(0, len(head_alone), 5)) / per_repeat
    pooled = np.add.reduceat(fused, np.arange(0, len(fused), 5)) / per_repeat

    data = data_dir()
    found = embeddings(catalog("taffc", data / "taffc"))
    rows = [r for r in csv.DictReader((data / "taffc" / "manifest.csv").open())
            if r["label"] != "other"]  # fmt: skip
    taffc_x = np.stack([found[str((data / r["file"]).resolve())] for r in rows])
    taffc_y = np.array([r["label"] for r in rows])
    weight = choose_weight(x, y, artists, genres)
    model = head(x, y)
    own, prior = log_posteriors(model, taffc_x), tag_log_prior(taffc_x, genres)
    right_alone = (np.array(genres)[own.argmax(1)] == taffc_y).astype(float)
    right_fused = (np.array(genres)[(own + weight * prior).argmax(1)] == taffc_y).astype(float)
    tags_only = float((np.array(genres)[prior.argmax(1)] == taffc_y).mean())
    save_result("tag_prior", {
        "command": "python benchmarks/tag_prior.py",
        "machine": machine(),
        "revision": git_revision(),
        "protocol": f"GTZAN: {REPEATS} x 5-fold stratified group k-fold by artist on the "
                    "default's catalog embeddings (no training copies), weight from 3 inner "
                    "artist folds; taffc: 84 clips in GTZAN's genres, head on all GTZAN",
        "gtzan": {
            "head_alone": {"mean": round(float(alone.mean()), 4),
                           "per_repeat": [round(float(v), 4) for v in alone]},
            "head_with_tag_prior": {"mean": round(float(pooled.mean()), 4),
                                    "per_repeat": [round(float(v), 4) for v in pooled]},
            "difference": {"mean": round(float((pooled - alone).mean()), 4),
                           "interval": paired_interval(pooled - alone),
                           "wins": int((pooled > alone).sum()),
                           "losses": int((pooled < alone).sum())},
            "weights_chosen": {str(w): chosen.count(w) for w in WEIGHTS},
        },
        "taffc": {
            "weight": weight,
            "head_alone": round(float(right_alone.mean()), 4),
            "head_with_tag_prior": round(float(right_fused.mean()), 4),
            "tags_alone": round(tags_only, 4),
            "difference_interval": bootstrap_interval(right_fused, right_alone),
        },
    })  # fmt: skip


if __name__ == "__main__":
    main()
