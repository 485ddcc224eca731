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

from genrekit.aggregate import mean_by_track
from genrekit.errors import AudioError, ConfigError
from genrekit.training.datasets import Dataset, Item, audio_files

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

    def per_label(self) -> dict[str, float]:
        """Share of each label's held-out songs that were predicted right."""
        return {
            label: (row[i] / sum(row) if sum(row) else 0.0)
            for i, (label, row) in enumerate(zip(self.labels, self.confusion, strict=True))
        }

    def write_html(self, path: str | Path, notes: list[str] | None = None) -> Path:
        """The estimate as a page a person reads on a phone: the figure and what it means, each
        genre's share right, the confusions, and how the labels were made (``notes``)."""
        import pandas as pd

        from genrekit.reports.html_page import HtmlReport, paragraph, table

        page = HtmlReport(
            "Your model, honestly measured",
            f"{self.accuracy:.0%} of songs right ({self.protocol}: each song judged by a model "
            "that never heard its artist)",
        )
        right = self.per_label()
        page.add(
            "Per genre",
            paragraph(
                "How many of each genre's songs the model named right when it had not "
                "heard their artist: the genres to add examples to come first."
            ),
            table(
                pd.DataFrame(
                    {
                        "genre": self.labels,
                        "songs": [self.counts.get(x, 0) for x in self.labels],
                        "right": [right[x] for x in self.labels],
                    }
                )
                .sort_values("right")
                .set_index("genre"),
                "{:.0%}",
            ),
        )
        confusion = pd.DataFrame(self.confusion, index=self.labels, columns=self.labels)
        confusion.index.name = "tagged \\ heard as"
        page.add("Confusions", paragraph("Rows: the songs' tags; columns: what the model heard."),
                 table(confusion))  # fmt: skip
        if notes:
            page.add("How the labels were made", *(paragraph(note) for note in notes))
        return page.write(path)

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
    from genrekit.library import playlists as playlist_files

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
    from genrekit.library.playlists import entry

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
    from genrekit.models.bundle import load_bundle
    from genrekit.training.featurize import featurize

    dataset, refused = examples(folder, playlists or {})
    check_examples(dataset)  # before the slow part: a wrong folder fails at once
    spec = load_bundle().representation
    featured, errors = featurize(dataset, spec, workers, progress)
    check_examples(_one_per_track(featured))
    keys, protocol = _held_out_keys(featured)
    return teach(
        Examples(featured.matrix, featured.y, np.asarray(featured.tracks), keys, protocol),
        spec,
        out,
        data=featured.describe(),
        sources=sorted({str(path.resolve()) for path in featured.paths}),
        errors=refused + errors,
    )


@dataclass(frozen=True)
class Examples:
    """What a personal model learns from: feature rows with their labels, the track of each row
    (several rows per track for long files) and what each row is held out by when estimating
    (its artist, else its track)."""

    x: np.ndarray
    y: np.ndarray
    tracks: np.ndarray
    keys: np.ndarray
    protocol: str


def teach(
    examples: Examples,
    spec: Any,
    out: Path | None,
    *,
    data: dict[str, Any],
    sources: list[str],
    errors: list[AudioError],
    prior: bool = True,
    prior_model: str | Path | None = None,
) -> LearnResult:
    """Estimate (held out by ``examples.keys``), calibrate and save a personal model: the one
    core of ``learn`` from folders and playlists and of learning from a library's tags. With
    ``prior``, labels the default model knows borrow its judgement (``genrekit.teach.prior``),
    in the estimate as in the saved model; ``prior_model`` lends another bundle's judgement
    instead of the default's (a benchmark's default trained without the songs it judges)."""
    import warnings

    from genrekit.calibration import Calibrator, expected_calibration_error
    from genrekit.models.bundle import save_bundle
    from genrekit.novelty import NoveltyScore
    from genrekit.teach.prior import Prior

    x, y, tracks = examples.x, examples.y, examples.tracks
    labels = sorted(set(y))
    with warnings.catch_warnings():  # a label with one song in a fold: LDA says so, harmlessly
        warnings.simplefilter("ignore", UserWarning)
        per_track, first_rows = mean_by_track(_held_out_scores(x, y, examples.keys), tracks)
        model = _model().fit(x, y) if out is not None else None
    truth = np.eye(len(labels))[np.searchsorted(labels, y)]
    track_truth = truth[first_rows].argmax(1)
    calibrator = Calibrator.fit(per_track, track_truth)
    probabilities = calibrator(per_track)
    lent = Prior.of_default(labels, spec, prior_model) if prior else None
    track_features, _ = mean_by_track(x, tracks)
    if lent is not None:
        lent = lent.weighed(probabilities, track_features, track_truth)
        probabilities = lent.pool(probabilities, track_features)
    predicted = probabilities.argmax(1)
    confusion = _confusion(track_truth, predicted, len(labels))
    counts = Counter(labels[i] for i in track_truth)
    protocol = examples.protocol + (
        f" (with the default model's prior, weight {lent.weight:g})" if lent else ""
    )
    result = LearnResult(
        None, labels, {label: counts[label] for label in labels}, protocol,
        float((predicted == track_truth).mean()), confusion.tolist(), errors,
    )  # fmt: skip
    if out is None:
        return result
    ece = expected_calibration_error(probabilities, track_truth)
    result.bundle = save_bundle(
        out,
        model,
        name=out.name,
        description=f"Learned from your examples ({', '.join(labels)}) on {spec.name} embeddings",
        labels=labels,
        representation=spec,
        training={"data": data, "protocol": {"description": protocol}, "examples": sources},
        metrics={"accuracy": result.accuracy, "protocol": protocol, "n": len(track_truth),
                 "ece": round(ece, 4)},
        reference_features=x,
        calibration={
            "calibration": {**calibrator.to_manifest(), "fitted": f"on {protocol} held-out logits"},
            **({"prior": lent.to_manifest()} if lent else {}),
        },
        novelty=NoveltyScore.fit(*_novelty_sample(track_features, examples.keys[first_rows])),
    )  # fmt: skip
    return result


NOVELTY_TRACKS = 3000
"""Songs the rejector compares a new song with, at most (a fixed random sample of a larger
library): its typicality is a rank among their distances, which 3,000 songs resolve finely,
while all pairwise distances of 10,000 songs would take 800 MB and most of a minute."""


def _novelty_sample(features: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(features) <= NOVELTY_TRACKS:
        return features, groups
    rows = np.sort(np.random.default_rng(0).choice(len(features), NOVELTY_TRACKS, replace=False))
    return features[rows], groups[rows]


def _held_out_keys(featured: Dataset) -> tuple[np.ndarray, str]:
    """What each row is held out by (its artist when the tags name two or more artists, else
    its track), and the protocol's name."""
    artists = [item.group for item in featured.items]
    if all(artists) and len(set(artists)) > 1:
        keys = np.array(artists)
        return keys, held_out_protocol(keys, "artist")
    keys = np.array(featured.tracks)
    return keys, held_out_protocol(keys, "track") + " (no artist tags)"


def held_out_protocol(keys: np.ndarray, by: str) -> str:
    """The estimate's protocol in words (``_one_at_a_time`` decides which)."""
    if _one_at_a_time(keys):
        return f"leave-one-{by}-out"
    return f"{HELD_OUT_FOLDS}-fold {by}-grouped"


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


HELD_OUT_FOLDS = 5
"""With more than ``HELD_OUT_FOLDS × 2`` artists (or tracks), the estimate holds out one of
this many artist-grouped folds at a time instead of one artist: a library of thousands of songs
is then learned in seconds, not one fit per artist."""


def _one_at_a_time(keys: np.ndarray) -> bool:
    """Whether the estimate holds one key out at a time (few keys) or grouped folds."""
    return len(np.unique(keys)) <= HELD_OUT_FOLDS * 2


def _held_out_parts(keys: np.ndarray) -> list[np.ndarray]:
    """Boolean masks of the rows held out together: one key at a time, or ``HELD_OUT_FOLDS``
    folds of whole keys (assigned by a fixed shuffle) when there are many keys."""
    distinct = np.unique(keys)
    if _one_at_a_time(keys):
        return [keys == key for key in distinct]
    shuffled = np.random.default_rng(0).permutation(len(distinct)) % HELD_OUT_FOLDS
    fold_of = dict(zip(distinct, shuffled, strict=True))
    assigned = np.array([fold_of[key] for key in keys])
    return [assigned == fold for fold in range(HELD_OUT_FOLDS)]


def _held_out_scores(x: np.ndarray, y: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Log-scores (``calibration.log_scores``) of each row from a model that never saw its key
    (artist or track)."""
    from genrekit.calibration import log_scores

    labels = sorted(set(y))
    result = np.zeros((len(y), len(labels)))  # a key holding a whole label: the flat prior
    for test in _held_out_parts(keys):
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
    from genrekit.library.similarity import Catalog
    from genrekit.library.store import open_catalog
    from genrekit.predict import Classifier

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
