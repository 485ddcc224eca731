"""Songs like this: similarity search over a library catalog (``genrekit.library.catalog``).

Similarity: cosine between track embeddings (the model's input features averaged over the
track's clips), after z-scoring each feature over the catalog so that no large-valued feature
(a variance in Hz², say) dominates. Search is exact below ``ANN_THRESHOLD`` tracks; above it an
HNSW index (faiss) is built, persisted beside the catalog and rebuilt when the catalog changes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from genrekit.errors import ConfigError
from genrekit.library.catalog import model_key
from genrekit.library.store import open_catalog

ANN_THRESHOLD = 50_000
"""Catalogs with at least this many tracks are searched through an approximate (HNSW) index."""


@dataclass(frozen=True)
class Neighbour:
    id: int
    path: str
    genre: str | None
    score: float


@dataclass
class Catalog:
    """The successfully indexed tracks of a catalog, with standardized embeddings in memory."""

    ids: np.ndarray
    paths: list[str]
    genres: list[str | None]
    vectors: np.ndarray
    model: str
    _centre: np.ndarray
    _scale: np.ndarray
    ann: Any = None
    """A faiss HNSW index over ``vectors`` (inner product), or None for exact search."""

    @classmethod
    def load(cls, db: str | Path, *, ann: bool | None = None) -> Catalog:
        """Load the indexed tracks; ``ann`` None decides by ``ANN_THRESHOLD``."""
        if not Path(db).is_file():
            raise ConfigError(f"{db}: no such catalog (run genrekit index first)")
        connection = open_catalog(db)
        rows = connection.execute(
            "SELECT id, path, genre, embedding FROM tracks WHERE status = 'ok' ORDER BY id"
        ).fetchall()
        meta = dict(connection.execute("SELECT key, value FROM meta").fetchall())
        connection.close()
        if not rows:
            raise ConfigError(f"{db}: the catalog holds no indexed tracks")
        raw = np.stack([np.frombuffer(r[3], dtype=np.float32) for r in rows]).astype(np.float64)
        centre, scale = raw.mean(axis=0), raw.std(axis=0)
        scale[scale == 0] = 1.0
        catalog = cls(
            np.array([r[0] for r in rows]),
            [r[1] for r in rows],
            [r[2] for r in rows],
            np.empty(0),
            meta.get("model", ""),
            centre,
            scale,
        )
        catalog.vectors = catalog.standardize(raw)
        if ann or (ann is None and len(rows) >= ANN_THRESHOLD):
            catalog.ann = hnsw_index(catalog.vectors, Path(f"{db}.hnsw"))
        return catalog

    def standardize(self, raw: np.ndarray) -> np.ndarray:
        """Unit-length standardized embeddings, so that a dot product is a cosine similarity."""
        z = (np.atleast_2d(raw).astype(np.float64) - self._centre) / self._scale
        return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)

    def nearest(
        self,
        query: np.ndarray,
        k: int = 10,
        *,
        genre: str | None = None,
        exclude: set[int] | frozenset[int] = frozenset(),
    ) -> list[Neighbour]:
        """The ``k`` most similar tracks to a standardized ``query``.

        With an HNSW index, candidates come from it (generously over-fetched when filtering by
        genre); if filtering leaves fewer than ``k``, the search falls back to exact.
        """
        wanted = k + len(exclude)
        if self.ann is not None:
            fetch = min(len(self.ids), wanted if genre is None else 8 * wanted)
            scores, rows = self.ann.search(query.reshape(1, -1).astype(np.float32), fetch)
            found = self._filter(rows[0][rows[0] >= 0], scores[0], k, genre, exclude)
            if len(found) == k or fetch == len(self.ids):
                return found
        scores = self.vectors @ query.ravel()
        order = np.argsort(-scores, kind="stable")
        return self._filter(order, scores[order], k, genre, exclude)

    def _filter(
        self, rows: np.ndarray, scores: np.ndarray, k: int, genre: str | None, exclude
    ) -> list[Neighbour]:
        found = []
        for i, score in zip(rows, scores):
            if int(self.ids[i]) in exclude or (genre and self.genres[i] != genre):
                continue
            found.append(Neighbour(int(self.ids[i]), self.paths[i], self.genres[i], float(score)))
            if len(found) == k:
                break
        return found

    def require_model(self, classifier: Any) -> None:
        """A ConfigError unless ``classifier`` makes the embeddings this catalog holds."""
        if model_key(classifier) != self.model:
            raise ConfigError(
                f"the catalog was indexed with {self.model}, not {model_key(classifier)}; "
                "use that model"
            )

    def genre_named(self, genre: str | None) -> str | None:
        """The catalog's spelling of ``genre`` (any case), or a ConfigError naming the genres
        it holds (a typo must not silently find nothing)."""
        if genre is None:
            return None
        known = sorted({g for g in self.genres if g})
        for name in known:
            if name.lower() == genre.strip().lower():
                return name
        raise ConfigError(f"no track of genre {genre!r} in the catalog; genres: {', '.join(known)}")

    def position(self, track: int | str | Path) -> int | None:
        """Row of a track given by id or path, if it is in the catalog."""
        if isinstance(track, int) or str(track).isdigit():
            hits = np.flatnonzero(self.ids == int(str(track)))
            return int(hits[0]) if len(hits) else None
        path = str(Path(track).resolve())  # the catalog stores resolved paths
        return self.paths.index(path) if path in self.paths else None


def hnsw_index(vectors: np.ndarray, path: Path) -> Any:
    """An HNSW inner-product index over unit ``vectors``, reused from ``path`` when it was built
    from exactly these vectors (a checksum in ``path``.json says so), else built and saved."""
    import faiss

    data = np.ascontiguousarray(vectors, dtype=np.float32)
    checksum = hashlib.sha256(data.tobytes()).hexdigest()
    sidecar = path.with_name(path.name + ".json")
    if (
        path.is_file()
        and sidecar.is_file()
        and json.loads(sidecar.read_text()).get("sha256") == checksum
    ):
        index: Any = faiss.read_index(str(path))  # an IndexHNSWFlat, as written below
        index.hnsw.efSearch = 128
        return index
    index = faiss.IndexHNSWFlat(data.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 80
    index.add(data)
    index.hnsw.efSearch = 128
    faiss.write_index(index, str(path))
    sidecar.write_text(json.dumps({"sha256": checksum, "tracks": len(data)}))
    return index


def similar(
    db: str | Path,
    query: str | Path | int,
    *,
    k: int = 10,
    genre: str | None = None,
    model: str | Path | None = None,
    ann: bool | None = None,
) -> list[Neighbour]:
    """Tracks most like ``query``: a catalog track id or path, or any audio file."""
    catalog = Catalog.load(db, ann=ann)
    genre = catalog.genre_named(genre)
    row = catalog.position(query)
    if row is None and str(query).isdigit() and not Path(str(query)).exists():
        raise ConfigError(f"{db}: no track with id {query}")
    if row is not None:
        return catalog.nearest(
            catalog.vectors[row], k, genre=genre, exclude={int(catalog.ids[row])}
        )
    from genrekit.predict import Classifier

    return similar_to_file(catalog, Classifier.load(model), Path(str(query)), k=k, genre=genre)


def similar_to_file(
    catalog: Catalog, classifier: Any, path: Path, *, k: int = 10, genre: str | None = None
) -> list[Neighbour]:
    """Catalog tracks most like an audio file (which need not be in the catalog)."""
    catalog.require_model(classifier)
    _, embedding = classifier.analyse_file(path, timeline=False)
    return catalog.nearest(catalog.standardize(embedding), k, genre=genre)


def recommend(
    db: str | Path,
    seeds: Sequence[str | int],
    *,
    k: int = 10,
    match_genres: bool = True,
    model: str | Path | None = None,
) -> list[Neighbour]:
    """Suggestions for someone who likes ``seeds``: catalog tracks (ids or paths) or any audio
    files (analysed now, e.g. songs just uploaded); ranked by similarity to the seeds' mean
    embedding and, by default, limited to the genres predicted for the seeds."""
    catalog = Catalog.load(db)
    vectors, genres, exclude, missing = [], set(), set(), []
    classifier = None
    for seed in seeds:
        row = catalog.position(seed)
        if row is not None:
            vectors.append(catalog.vectors[row])
            genres.add(catalog.genres[row])
            exclude.add(int(catalog.ids[row]))
        elif Path(str(seed)).is_file():
            if classifier is None:
                from genrekit.predict import Classifier

                classifier = Classifier.load(model)
                catalog.require_model(classifier)
            prediction, embedding = classifier.analyse_file(Path(str(seed)), timeline=False)
            vectors.append(catalog.standardize(embedding)[0])
            genres.add(prediction.label)
        else:
            missing.append(seed)
    if missing:
        raise ConfigError(
            f"{db}: neither in the catalog nor an audio file: {', '.join(map(str, missing))}"
        )
    centre = np.mean(vectors, axis=0)
    centre /= max(np.linalg.norm(centre), 1e-12)
    candidates = catalog.nearest(centre, len(catalog.ids), exclude=exclude)
    if match_genres:
        candidates = [c for c in candidates if c.genre in genres]
    return candidates[:k]
