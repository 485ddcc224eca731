"""Approximate (HNSW) vs exact similarity search: recall@10 and time per query.

Protocol: (1) the real catalog of the 208 shared GTZAN clips; (2) a 100,000-track catalog made by
repeating those real embeddings with Gaussian jitter (noise of norm ≈ 0.5 on unit vectors): same
statistics, but clustered around 208 points, so easier than a real library; (3) 100,000 uniform
random unit vectors of the same dimension: no structure at all, the hard case for HNSW. For 500
queries (catalog tracks, themselves excluded), recall@10 = share of the exact top-10 that the
HNSW search returns.

Run: ``.venv/bin/python benchmarks/ann_recall.py`` (needs the ``ann`` extra: faiss-cpu)
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from _common import data_dir, git_revision, machine, save_result

from genrekit.library.catalog import index_folder
from genrekit.library.similarity import Catalog, hnsw_index


def measure(catalog: Catalog, queries: np.ndarray, scratch: Path) -> dict[str, float]:
    start = time.perf_counter()
    catalog.ann = hnsw_index(catalog.vectors, scratch / f"{len(catalog.ids)}.hnsw")
    build = time.perf_counter() - start
    index, recalls, times = catalog.ann, [], {"exact": 0.0, "ann": 0.0}
    for row in queries:
        me = {int(catalog.ids[row])}
        catalog.ann = None
        start = time.perf_counter()
        truth = {n.id for n in catalog.nearest(catalog.vectors[row], 10, exclude=me)}
        times["exact"] += time.perf_counter() - start
        catalog.ann = index
        start = time.perf_counter()
        found = {n.id for n in catalog.nearest(catalog.vectors[row], 10, exclude=me)}
        times["ann"] += time.perf_counter() - start
        recalls.append(len(truth & found) / 10)
    return {
        "tracks": len(catalog.ids),
        "queries": len(queries),
        "recall_at_10": float(np.mean(recalls)),
        "ms_per_query_exact": 1000 * times["exact"] / len(queries),
        "ms_per_query_ann": 1000 * times["ann"] / len(queries),
        "index_build_seconds": build,
    }


def main() -> None:
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        db = scratch / "gtzan.sqlite"
        index_folder(data_dir() / "gtzan", db, workers=2, progress=False)
        real = Catalog.load(db, ann=False)
        results = {"gtzan_208": measure(real, np.arange(len(real.ids)), scratch)}
        copies = -(-100_000 // len(real.ids))
        z = np.repeat(real.vectors, copies, axis=0)[:100_000]
        z = z + rng.normal(0, 0.5 / np.sqrt(z.shape[1]), z.shape)
        large = Catalog(
            np.arange(len(z)), [f"synthetic/{i}" for i in range(len(z))],
            [None] * len(z), z / np.linalg.norm(z, axis=1, keepdims=True), real.model,
            np.zeros(z.shape[1]), np.ones(z.shape[1]),
        )  # fmt: skip
        queries = rng.choice(len(z), 500, replace=False)
        results["jittered_100k"] = measure(large, queries, scratch)
        uniform = rng.standard_normal(z.shape)
        large.vectors = uniform / np.linalg.norm(uniform, axis=1, keepdims=True)
        results["uniform_random_100k"] = measure(large, queries, scratch)
    result = {"machine": machine(), "revision": git_revision(), **results}
    save_result("ann_recall", result)


if __name__ == "__main__":
    main()
