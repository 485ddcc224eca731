"""Your library teaches it: a library simulation from the shared data.

Songs of some artists get genre tags (their collection's label, spelled as people do: ``Hip-Hop``,
``hip hop``, ``HipHop`` …), the other artists' songs none; ``genrekit``'s own path turns the tags
into labels (``Vocabulary``), learns from the songs' embeddings (``learn.teach``, the code
``learn --db`` runs) and saves a bundle, and the bundle judges the untagged songs — by artists it
never heard. Side by side, on the same songs: the personal model alone, the personal model with
the default as a prior (what ``learn`` ships), and the shipped default.

Scenarios:
- ``taffc → taffc``: taffc's artists split in two halves at random (``--repeats`` splits); one
  half tagged, the other predicted.
- ``GTZAN → taffc``: every GTZAN clip tagged, every in-taxonomy taffc clip predicted (the
  default was trained on GTZAN too: the personal model here is close to it).

"The default" here is the shipped recipe trained on GTZAN alone (``DEFAULT_CONFIG`` without its
``[[data.also]]``, saved once under ``benchmarks/cache/``): the shipped bundle also learned
taffc's songs, so judging taffc with it, or lending it as the prior, would score songs it was
trained on. It is both the "default" column and the prior of "personal + prior". The prior's
weight is chosen by ``learn`` on the tagged half's own held-out songs; fixed weights are shown
beside it. Labels: ``Vocabulary`` lent that default's genres, as ``learn --db`` is (a genre it
knows needs 2 tagged songs); both personal columns learn the same labels. Embeddings: the
default's representation of each 30 s clip (what ``index`` stores).

    python benchmarks/library_teaches.py [--repeats 10]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from _common import REPO, data_dir, git_revision, machine, save_result, taffc_in_taxonomy

from genrekit.calibration import expected_calibration_error
from genrekit.models.bundle import load_bundle
from genrekit.predict import Classifier
from genrekit.teach.learn import Examples, held_out_protocol, teach
from genrekit.teach.prior import lent_genres
from genrekit.teach.vocabulary import Vocabulary
from genrekit.training.config import load_config
from genrekit.training.datasets import from_audio_folder
from genrekit.training.featurize import featurize

SPELLINGS = {
    "hiphop": ["Hip-Hop", "hip hop", "HipHop", "Rap"],
    "blues": ["Blues", "blues", "Blues "],
    "country": ["Country", "country"],
    "jazz": ["Jazz", "jazz"],
    "reggae": ["Reggae", "reggae"],
    "classical": ["Classical", "classical"],
    "metal": ["Metal", "Heavy Metal"],
    "rock": ["Rock", "rock", "Classic Rock"],
    "pop": ["Pop", "pop"],
    "disco": ["Disco", "disco"],
}
"""How people spell each label in their tags (``Vocabulary`` must make them one label)."""


PRIOR_WEIGHTS = (0.0, 1.0, 4.0)
"""Fixed weights of the default's prior, beside the one ``learn`` measures on the tagged songs."""
DEFAULT_CONFIG = REPO / "configs" / "gtzan-audio" / "musicnn-lda.toml"


def gtzan_only_default() -> Path:
    """The default's recipe trained on GTZAN alone (taffc is what it judges), saved once per
    version of the recipe's config (the folder is named by its digest)."""
    from genrekit.training.train import train

    digest = hashlib.sha256(DEFAULT_CONFIG.read_bytes()).hexdigest()[:12]
    folder = REPO / "benchmarks" / "cache" / f"library_teaches-musicnn-lda-gtzan-only-{digest}"
    if not (folder / "manifest.json").is_file():
        config = replace(load_config(DEFAULT_CONFIG), also=[], name=folder.name)
        train(config, folder, workers=1, progress=False)
    return folder


def songs(collection: str) -> tuple[np.ndarray, list[str], list[str]]:
    """Embeddings, labels and artists of a collection's in-taxonomy clips."""
    spec = load_bundle().representation
    if collection == "gtzan":
        dataset = from_audio_folder(data_dir() / "gtzan")
        artist_of = {
            row["id"]: row["artist"]
            for row in csv.DictReader((data_dir() / "gtzan_artists.csv").open())
        }
        artists = [f"gtzan {artist_of[item.id]}" for item in dataset.items]
    else:
        dataset, artists = taffc_in_taxonomy()
    featured, errors = featurize(dataset, spec, workers=1, progress=False)
    assert not errors and len(featured.items) == len(artists)
    return featured.matrix, [str(label) for label in featured.y], artists


def tag_like_people(labels: list[str], rng: random.Random) -> list[list[str]]:
    return [[rng.choice(SPELLINGS[label])] for label in labels]


def personal_bundles(
    x: np.ndarray, tags: list[list[str]], artists: list[str], folder: Path, default: Path
) -> tuple[dict[str, Classifier], Vocabulary]:
    """The personal model with and without the prior, learned as ``learn --db`` does."""
    spec = load_bundle().representation
    vocabulary = Vocabulary(lent=lent_genres(spec, default))
    labels = vocabulary.label_songs(list(zip(tags, artists, strict=True)))
    keep = [i for i, label in enumerate(labels) if label]
    groups = np.array([f"artist:{artists[i].casefold()}" for i in keep])
    examples = Examples(
        x[keep], np.array([labels[i] for i in keep]), np.array([str(i) for i in keep]),
        groups, held_out_protocol(groups, "artist"),
    )  # fmt: skip
    found = {}
    for name, prior in (("personal", False), ("personal + prior", True)):
        out = folder / name.replace(" + ", "-")
        teach(examples, spec, out, data={}, sources=[], errors=[], prior=prior,
              prior_model=default)  # fmt: skip
        found[name] = Classifier.load(out, reject=False)
    return found, vocabulary


def scores(classifier: Classifier, x: np.ndarray, truth: list[str]) -> dict:
    """Accuracy, ECE and per-label accuracy of ``classifier`` on the songs ``x`` (a song whose
    label the model lacks is wrong at any confidence: a zero column stands for its label)."""
    probabilities = classifier.probabilities(x)
    labels = list(classifier.labels)
    missing = sorted(set(truth) - set(labels))
    probabilities = np.hstack([probabilities, np.zeros((len(truth), len(missing)))])
    labels += missing
    truth_a, predicted_a = np.array(truth), np.array(labels)[probabilities.argmax(1)]
    per_label = {
        label: round(float((predicted_a[truth_a == label] == label).mean()), 3)
        for label in sorted(set(truth))
    }
    ece = expected_calibration_error(probabilities, np.array([labels.index(t) for t in truth]))
    return {
        "accuracy": round(float((truth_a == predicted_a).mean()), 4),
        "ece": round(ece, 4),
        "per_label": per_label,
    }


def scenario(
    x_tagged, labels_tagged, artists_tagged, x_new, labels_new, rng: random.Random
) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        tags = tag_like_people(labels_tagged, rng)
        default_path = gtzan_only_default()
        models, vocabulary = personal_bundles(
            x_tagged, tags, artists_tagged, Path(folder), default_path
        )
        default = Classifier.load(default_path, reject=False)
        result = {name: scores(c, x_new, labels_new) for name, c in models.items()}
        pooled = models["personal + prior"]
        result["chosen prior weight"] = pooled.prior.weight if pooled.prior else None
        if pooled.prior is not None:  # the prior's weight, side by side on the same songs
            shipped = pooled.prior
            for weight in PRIOR_WEIGHTS:
                pooled.prior = replace(shipped, weight=weight)
                fixed = scores(pooled, x_new, labels_new)
                del fixed["ece"]  # the pool's calibration was fitted for the chosen weight
                result[f"prior weight {weight:g}"] = fixed
            pooled.prior = shipped
        result["default"] = scores(default, x_new, labels_new)
        result["labels_learned"] = sorted(vocabulary.kept)
        result["set_aside"] = vocabulary.set_aside
        result["tagged_songs"], result["predicted_songs"] = len(labels_tagged), len(labels_new)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10, help="random artist halves of taffc")
    args = parser.parse_args()
    started = time.perf_counter()
    taffc_x, taffc_labels, taffc_artists = songs("taffc")
    gtzan_x, gtzan_labels, gtzan_artists = songs("gtzan")
    rng = random.Random(0)
    halves = []
    for _ in range(args.repeats):
        names = sorted(set(taffc_artists))
        rng.shuffle(names)
        tagged = set(names[: len(names) // 2])
        rows = np.array([artist in tagged for artist in taffc_artists])
        halves.append(
            scenario(
                taffc_x[rows],
                [taffc_labels[i] for i in np.flatnonzero(rows)],
                [taffc_artists[i] for i in np.flatnonzero(rows)],
                taffc_x[~rows],
                [taffc_labels[i] for i in np.flatnonzero(~rows)],
                rng,
            )
        )
    summary = {
        name: {
            "accuracy_mean": round(float(np.mean([h[name]["accuracy"] for h in halves])), 4),
            "accuracy_std": round(float(np.std([h[name]["accuracy"] for h in halves])), 4),
            **(
                {"ece_mean": round(float(np.mean([h[name]["ece"] for h in halves])), 4)}
                if "ece" in halves[0][name]
                else {}
            ),
        }
        for name in (
            "personal",
            "personal + prior",
            "default",
            *tuple(f"prior weight {w:g}" for w in PRIOR_WEIGHTS),
        )
        if all(name in h for h in halves)
    }
    paired = [h["personal + prior"]["accuracy"] - h["default"]["accuracy"] for h in halves]
    summary["personal + prior − default (paired)"] = {
        "mean": round(float(np.mean(paired)), 4),
        "min": round(float(np.min(paired)), 4),
        "max": round(float(np.max(paired)), 4),
    }
    across = scenario(gtzan_x, gtzan_labels, gtzan_artists, taffc_x, taffc_labels, rng)
    result = {
        "taffc → taffc (artist halves)": {"summary": summary, "splits": halves},
        "GTZAN → taffc": across,
        "protocol": "songs of the tagged artists teach; songs of the other artists (never heard) "
        "are predicted; taffc halves drawn at random by artist, --repeats times; the default "
        "and the prior: the shipped recipe trained on GTZAN alone",
        "seconds": round(time.perf_counter() - started, 1),
        "machine": machine(),
        "revision": git_revision(),
        "command": f"python benchmarks/library_teaches.py --repeats {args.repeats}",
    }
    save_result("library_teaches", json.loads(json.dumps(result)))


if __name__ == "__main__":
    main()
