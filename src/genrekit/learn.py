"""Your own genres from a few examples: a classifier on the frozen pretrained embeddings.

``learn`` takes labelled audio (one folder per label, or M3U playlists per label), extracts the
shipped default model's representation (the pretrained musicnn embeddings, so a handful of
tracks per label is enough), estimates accuracy by leave-one-artist-out (leave-one-track-out when
the files carry no artist tag), calibrates a temperature and a rejection threshold on those
held-out predictions, and saves a normal bundle that ``predict``, ``index``, the API and the web
app load like any other.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from genrekit.datasets import Dataset, Item, audio_files, rows_by_track
from genrekit.errors import AudioError, ConfigError

MIN_EXAMPLES = 3
"""Fewest tracks per label ``learn`` accepts: one to test while at least two teach."""

SHRINKAGE = 0.8
"""Covariance shrinkage of the LDA: the value the default model's nested search chose on GTZAN
(its manifest); with a handful of examples per label there is nothing to tune on. Measured
against logistic regression and nearest centroids in benchmarks/few_shot.py."""


@dataclass
class LearnResult:
    """What ``learn`` measured and where it saved the model."""

    bundle: Path | None
    labels: list[str]
    counts: dict[str, int]
    protocol: str
    accuracy: float
    confusion: list[list[int]]
    errors: list[AudioError]

    def summary(self) -> str:
        header = "true \\ predicted".ljust(18) + " ".join(
            f"{label[:10]:>10}" for label in self.labels
        )
        rows = [
            f"{label[:18]:18}" + " ".join(f"{count:>10}" for count in row)
            for label, row in zip(self.labels, self.confusion)
        ]
        counts = ", ".join(f"{label} {n}" for label, n in self.counts.items())
        return "\n".join(
            [f"examples: {counts}", f"{self.protocol}: accuracy {self.accuracy:.3f}", header, *rows]
        )


def examples(folder: Path | None, playlists: dict[str, Path]) -> tuple[Dataset, list[AudioError]]:
    """Labelled items from subfolders of ``folder`` and from playlists, artists from tags, and
    the playlist entries refused (not regular files)."""
    from genrekit import playlists as playlist_files

    found: list[tuple[str, Path]] = []
    refused: list[AudioError] = []
    if folder is not None:
        if not folder.is_dir():
            raise ConfigError(f"{folder}: not a folder")
        for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
            found += [(sub.name, path) for path in audio_files(sub)]
    for label, playlist in playlists.items():
        listing = playlist_files.read(playlist)
        found += [(label, path) for path in listing.songs]
        refused += listing.refused
    if not found:
        where = folder if folder is not None else ", ".join(map(str, playlists.values()))
        raise ConfigError(f"{where}: no labelled audio (one subfolder of audio files per label)")
    items = [
        Item(f"{n}:{path.stem}", label, f"{n}:{path.stem}", path, _artist(path))
        for n, (label, path) in enumerate(found)
    ]
    return Dataset(items, str(folder or "playlists")), refused


def _artist(path: Path) -> str | None:
    """The file's artist tag, lower-cased (one artist however it is capitalized), or None."""
    from genrekit.playlists import entry

    artist = entry(path).artist
    return artist.lower() if artist else None


def check_examples(dataset: Dataset) -> None:
    """At least two labels and ``MIN_EXAMPLES`` usable tracks of each, or a ConfigError saying
    what is missing."""
    counts = Counter(item.label for item in dataset.items)
    if len(counts) < 2:
        raise ConfigError(
            f"{dataset.source}: only one label ({', '.join(map(str, counts))}); "
            "give at least two, one subfolder each"
        )
    few = {label: n for label, n in counts.items() if n < MIN_EXAMPLES}
    if few:
        listed = ", ".join(f"{label} ({n})" for label, n in sorted(few.items()))
        raise ConfigError(
            f"{dataset.source}: fewer than {MIN_EXAMPLES} usable tracks for {listed}; add more"
        )


def learn(
    folder: Path | None,
    out: Path | None,
    *,
    playlists: dict[str, Path] | None = None,
    workers: int = 1,
    progress: bool = True,
) -> LearnResult:
    """Train, estimate and save a model of the user's labels (see the module docstring)."""
    from genrekit.featurize import featurize
    from genrekit.models.bundle import load_bundle, save_bundle

    dataset, refused = examples(folder, playlists or {})
    check_examples(dataset)  # before the slow part: a wrong folder fails at once
    spec = load_bundle().representation
    featured, errors = featurize(dataset, spec, workers, progress)
    tracks = _one_per_track(featured)
    check_examples(tracks)
    x, y = featured.matrix, featured.y
    keys, protocol = _held_out_keys(featured)
    labels = sorted(set(y))
    per_track = _mean_by(_held_out_scores(x, y, keys), featured.tracks)  # mean log-scores
    truth = np.eye(len(labels))[np.searchsorted(labels, y)]
    track_truth = _mean_by(truth, featured.tracks).argmax(1)
    predicted = per_track.argmax(1)
    confusion = _confusion(track_truth, predicted, len(labels))
    result = LearnResult(
        None, labels, dict(Counter(str(item.label) for item in tracks.items)),
        protocol, float((predicted == track_truth).mean()), confusion.tolist(), refused + errors,
    )  # fmt: skip
    if out is None:
        return result
    from genrekit.calibration import Calibrator, expected_calibration_error
    from genrekit.novelty import NoveltyScore

    calibrator = Calibrator.fit(per_track, track_truth)
    first_rows = [r[0] for r in rows_by_track(featured.tracks).values()]
    ece = expected_calibration_error(calibrator(per_track), track_truth)
    result.bundle = save_bundle(
        out,
        _model().fit(x, y),
        name=out.name,
        description=f"Learned from your examples ({', '.join(labels)}) on {spec.name} embeddings",
        labels=labels,
        representation=spec,
        training={
            "data": featured.describe(),
            "protocol": {"description": protocol},
            "examples": sorted({str(path.resolve()) for path in featured.paths}),
        },
        metrics={"accuracy": result.accuracy, "protocol": protocol, "n": len(track_truth)},
        reference_features=x,
        calibration={"calibration": {
            **calibrator.to_manifest(), "fitted": f"on {protocol} held-out logits",
            "ece_held_out": round(ece, 4),
        }},
        novelty=NoveltyScore.fit(_mean_by(x, featured.tracks), keys[first_rows]),
    )  # fmt: skip
    return result


def _held_out_keys(featured: Dataset) -> tuple[np.ndarray, str]:
    """What each row is held out by (its artist when the tags name two or more artists, else
    its track), and the protocol's name."""
    artists = [item.group for item in featured.items]
    if all(artists) and len(set(artists)) > 1:
        return np.array(artists), "leave-one-artist-out"
    return np.array(featured.tracks), "leave-one-track-out (no artist tags)"


def _confusion(truth: np.ndarray, predicted: np.ndarray, count: int) -> np.ndarray:
    """(count × count) confusion counts: rows the truth, columns the prediction."""
    confusion = np.zeros((count, count), dtype=int)
    np.add.at(confusion, (truth, predicted), 1)
    return confusion


def _model() -> Any:
    from genrekit.models.classical import build_pipeline

    return build_pipeline("lda", {"shrinkage": SHRINKAGE})


MISSING_CLASS_GAP = 30.0
"""How far below a row's lowest log-score a label its model never saw is put (its probability
then rounds to 0, as the model cannot say it)."""


def _held_out_scores(x: np.ndarray, y: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Log-scores (``calibration.log_scores``) of each row from a model that never saw its key
    (artist or track)."""
    from genrekit.calibration import log_scores

    labels = sorted(set(y))
    result = np.zeros((len(y), len(labels)))  # a key holding a whole label: the flat prior
    for key in np.unique(keys):
        test = keys == key
        if len(set(y[~test])) < 2:
            continue
        model = _model().fit(x[~test], y[~test])
        columns = [labels.index(c) for c in model.classes_]
        scores = log_scores(model, x[test])
        rows = np.full((int(test.sum()), len(labels)), np.nan)
        rows[:, columns] = scores
        lowest = scores.min(axis=1, keepdims=True) - MISSING_CLASS_GAP
        result[test] = np.where(np.isnan(rows), lowest, rows)
    return result


def _mean_by(values: np.ndarray, tracks: np.ndarray) -> np.ndarray:
    """The mean of each track's rows, tracks in order of first appearance."""
    from genrekit.aggregate import track_probabilities

    return track_probabilities(values, rows_by_track(tracks).values())


def _one_per_track(dataset: Dataset) -> Dataset:
    seen: dict[str, Item] = {}
    for item in dataset.items:
        seen.setdefault(item.track, item)
    return Dataset(list(seen.values()), dataset.source)


@dataclass(frozen=True)
class Suggestion:
    """A library track worth labelling next."""

    id: int
    path: str
    guess: str
    """The model's current best label for it."""
    confidence: float
    uncertainty: float
    """1 − (best − second-best calibrated probability): 1 when the model cannot tell."""


def suggest(db: str | Path, model: str | Path, n: int = 20) -> list[Suggestion]:
    """The ``n`` catalog tracks whose labels would teach ``model`` most: the most uncertain
    ones (smallest margin between its two best labels), spread out by farthest-first selection
    in the embedding space so that the list does not repeat one kind of music; tracks the model
    learned from are left out."""
    from genrekit.library import open_catalog
    from genrekit.predict import Classifier
    from genrekit.similarity import Catalog

    classifier = Classifier.load(model)
    catalog = Catalog.load(db, ann=False)
    if catalog.model.split("/")[-1] != classifier.spec.name:
        raise ConfigError(
            f"{db}: indexed with {catalog.model}, but {model} reads {classifier.spec.name} "
            "features; index the library with the model your examples were learned on"
        )
    connection = open_catalog(db)
    stored = dict(connection.execute(
        "SELECT id, embedding FROM tracks WHERE status = 'ok'"
    ).fetchall())  # fmt: skip
    connection.close()
    learned = set(classifier.bundle.manifest.get("training", {}).get("examples", []))
    rows = [i for i, path in enumerate(catalog.paths) if str(Path(path).resolve()) not in learned]
    if not rows:
        return []
    raw = np.stack([np.frombuffer(stored[int(catalog.ids[i])], np.float32) for i in rows])
    probabilities = classifier.probabilities(raw.astype(np.float64))
    uncertainty = margin_uncertainty(probabilities)
    picked = most_informative(probabilities, catalog.vectors[rows], n)
    labels = classifier.labels
    return [
        Suggestion(
            int(catalog.ids[rows[p]]),
            catalog.paths[rows[p]],
            labels[int(probabilities[p].argmax())],
            round(float(probabilities[p].max()), 4),
            round(float(uncertainty[p]), 4),
        )
        for p in picked
    ]


CANDIDATE_FACTOR = 5
"""Suggestions are spread over the ``CANDIDATE_FACTOR × n`` most uncertain tracks."""


def margin_uncertainty(probabilities: np.ndarray) -> np.ndarray:
    """1 − (best − second-best probability) per row: 1 when two labels tie."""
    ordered = np.sort(probabilities, axis=1)
    return 1.0 - (ordered[:, -1] - ordered[:, -2])


def most_informative(probabilities: np.ndarray, vectors: np.ndarray, n: int) -> list[int]:
    """Rows to label next: among the most uncertain, spread out by farthest-first selection on
    unit-length ``vectors`` (uncertainty plus diversity)."""
    uncertainty = margin_uncertainty(probabilities)
    candidates = np.argsort(-uncertainty, kind="stable")[: CANDIDATE_FACTOR * n]
    picked = _farthest_first(vectors[candidates], uncertainty[candidates], n)
    return [int(candidates[p]) for p in picked]


def _farthest_first(vectors: np.ndarray, weights: np.ndarray, n: int) -> list[int]:
    """Greedy selection: start at the heaviest row, then repeatedly the row whose weight times
    cosine distance to the nearest picked row is largest (uncertain and unlike the picks)."""
    picked = [int(np.argmax(weights))]
    distance = 1.0 - vectors @ vectors[picked[0]]
    while len(picked) < min(n, len(vectors)):
        gain = weights * distance
        gain[picked] = -np.inf
        best = int(np.argmax(gain))
        picked.append(best)
        distance = np.minimum(distance, 1.0 - vectors @ vectors[best])
    return picked
