"""Genre precision@10 of "songs like this" on the shared GTZAN clips.

Protocol: index ../shared/data/gtzan (208 clips) with the default model; for every clip, take its
10 nearest neighbours in the catalog (itself excluded) by cosine similarity of embeddings, and
count the share whose true genre (the folder) equals the clip's. Mean over clips, and per genre.
Note the classes are unbalanced (blues 68, jazz 58, others 8-14): a genre with 8 clips can reach at
most 7/10, so per-genre figures are shown beside the chance level (the genre's share of the rest).

Run: ``.venv/bin/python benchmarks/similarity.py [--db PATH]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import data_dir, git_revision, machine, save_result

from genrekit.library.catalog import index_folder
from genrekit.library.similarity import Catalog


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, default=None, help="keep the catalog here")
    args = parser.parse_args()
    gtzan = data_dir() / "gtzan"
    with tempfile.TemporaryDirectory() as scratch:
        db = args.db or Path(scratch) / "gtzan.sqlite"
        start = time.perf_counter()
        summary = index_folder(gtzan, db, workers=2, progress=False)
        index_seconds = time.perf_counter() - start
        catalog = Catalog.load(db)
    genres = np.array([Path(p).parent.name for p in catalog.paths])
    scores = catalog.vectors @ catalog.vectors.T
    np.fill_diagonal(scores, -np.inf)
    neighbours = np.argsort(-scores, axis=1)[:, :10]
    precision = (genres[neighbours] == genres[:, None]).mean(axis=1)
    per_genre = {}
    for genre in sorted(set(genres)):
        mask = genres == genre
        chance = (mask.sum() - 1) / (len(genres) - 1)
        per_genre[genre] = {
            "tracks": int(mask.sum()),
            "precision_at_10": float(precision[mask].mean()),
            "chance": round(float(chance), 3),
        }
    result = {
        "machine": machine(),
        "revision": git_revision(),
        "embedding": catalog.model,
        "tracks": len(genres),
        "index": {
            "seconds": round(index_seconds, 1),
            "indexed": summary.indexed,
            "failed": summary.failed,
            "workers": 2,
        },
        "precision_at_10": float(precision.mean()),
        "per_genre": per_genre,
    }
    save_result("similarity", result)


if __name__ == "__main__":
    main()
