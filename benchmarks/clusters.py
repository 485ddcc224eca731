"""Library groups: how well K-means groups agree with the genres, and how fast they are found.

Agreement of ``genrekit clusters``' K-means (k = the number of genres, fixed seed) with the
genres of the shared clips — NMI and purity — for the musicnn embeddings (what the catalog
stores) and the 57 GTZAN-table features, each under three geometries: z-scored then unit length
(what ``clusters`` ships), unit length only, z-scored only. Data: the 208 GTZAN clips (10
genres) and the 84 in-taxonomy taffc clips (5 genres). Speed: ``clusters`` on 10,000 generated
embeddings of the default's width, a given k and ``-k auto``.

    python benchmarks/clusters.py
"""

from __future__ import annotations

import time

import numpy as np
from _common import data_dir, git_revision, machine, save_result, taffc_in_taxonomy
from sklearn.metrics import normalized_mutual_info_score

from genrekit.features import RepresentationSpec, feature_set
from genrekit.library.mixes import choose_count, kmeans, unit_rows
from genrekit.models.bundle import load_bundle
from genrekit.training.datasets import Dataset, from_audio_folder
from genrekit.training.featurize import featurize


def zscored(x: np.ndarray) -> np.ndarray:
    return (x - x.mean(axis=0)) / np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)


GEOMETRIES = {
    "z-score + unit length (shipped)": unit_rows,
    "unit length": lambda x: x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12),
    "z-score": zscored,
}


def purity(truth: list[str], assignment: np.ndarray) -> float:
    truth_a = np.array(truth)
    return float(
        sum(
            max(np.sum(truth_a[assignment == c] == label) for label in set(truth_a))
            for c in set(assignment)
        )
        / len(truth_a)
    )


def collection(name: str) -> Dataset:
    if name == "GTZAN":
        return from_audio_folder(data_dir() / "gtzan")
    return taffc_in_taxonomy()[0]


def main() -> None:
    specs = {
        "musicnn embeddings": load_bundle().representation,
        "57 GTZAN-table features": RepresentationSpec(name="gtzan57"),
    }
    agreement = []
    for name in ("GTZAN", "taffc"):
        dataset = collection(name)
        for features, spec in specs.items():
            featured, _ = featurize(dataset, spec, workers=1, progress=False)
            truth = [str(label) for label in featured.y]
            for geometry, transform in GEOMETRIES.items():
                assignment, _ = kmeans(transform(featured.matrix), len(set(truth)))
                agreement.append({
                    "data": name, "features": features, "geometry": geometry,
                    "k": len(set(truth)),
                    "nmi": round(float(normalized_mutual_info_score(truth, assignment)), 4),
                    "purity": round(purity(truth, assignment), 4),
                })  # fmt: skip
    rng = np.random.default_rng(0)
    width = len(feature_set(load_bundle().representation.name).columns)
    generated = rng.normal(0, 1, (20, width))[rng.integers(0, 20, 10_000)]
    generated += rng.normal(0, 1.0, generated.shape)
    vectors = unit_rows(generated)
    started = time.perf_counter()
    kmeans(vectors, 20)
    given_k = time.perf_counter() - started
    started = time.perf_counter()
    chosen, reason = choose_count(vectors)
    auto = time.perf_counter() - started
    save_result(
        "clusters",
        {
            "agreement": agreement,
            "speed_10000_songs": {
                "k=20 seconds": round(given_k, 2),
                "k=auto seconds": round(auto, 2),
                "auto chose": chosen,
                "reason": reason,
            },
            "protocol": "K-means (n_init 10, seed 0) with k = the number of genres; NMI and "
            "purity against the clips' genres; no labels used to form the groups",
            "machine": machine(),
            "revision": git_revision(),
            "command": "python benchmarks/clusters.py",
        },
    )


if __name__ == "__main__":
    main()
