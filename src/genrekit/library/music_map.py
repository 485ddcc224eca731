"""A 2-D map of a library: every indexed track placed so that similar songs sit together.

The map is t-SNE of the catalog's standardized embeddings (PCA start, fixed seed, perplexity
capped for small libraries), computed once and stored in the catalog (table ``track_map``) with
a checksum of the tracks it was made from, so it is recomputed only when the catalog changes.
Above ``TSNE_LIMIT`` tracks a PCA projection is used instead (t-SNE's cost grows too fast there
for a page to wait on it). The table it returns carries what the web app's Library page shows:
name (title/artist from tags, else the file name), genre, confidence, styles, position.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

TSNE_LIMIT = 20_000
"""Libraries up to this many tracks are mapped with t-SNE, larger ones with PCA."""
PERPLEXITY = 30.0
"""t-SNE's neighbourhood size, lowered to (tracks - 1) / 3 for small libraries."""

_MAP_SCHEMA = """
CREATE TABLE IF NOT EXISTS track_map (id INTEGER PRIMARY KEY, x REAL NOT NULL, y REAL NOT NULL);
"""


def coordinates(vectors: np.ndarray) -> tuple[np.ndarray, str]:
    """2-D positions of ``vectors`` (one row per track) and the method's name."""
    from sklearn.decomposition import PCA

    n = len(vectors)
    if n < 3:
        return np.column_stack([np.arange(n, dtype=float), np.zeros(n)]), "line"
    if n > TSNE_LIMIT:
        return PCA(n_components=2, random_state=0).fit_transform(vectors), "PCA"
    from sklearn.manifold import TSNE

    tsne = TSNE(
        n_components=2,
        perplexity=min(PERPLEXITY, (n - 1) / 3),
        init="pca",
        random_state=0,
        metric="cosine",
    )
    return tsne.fit_transform(vectors), "t-SNE"


def _checksum(ids: np.ndarray, vectors: np.ndarray) -> str:
    digest = hashlib.sha256(np.asarray(ids, dtype=np.int64).tobytes())
    digest.update(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
    return digest.hexdigest()


def library_map(db: str | Path) -> Any:
    """One row per indexed track: id, path, name, artist, genre, confidence, styles (a list), x,
    y, and its group (``genrekit clusters``; None before any) — the map computed now if the
    catalog has none for its current tracks (a pandas frame)."""
    import pandas as pd

    from genrekit.library.playlists import entry
    from genrekit.library.similarity import Catalog
    from genrekit.library.store import open_catalog

    catalog = Catalog.load(db)
    checksum = _checksum(catalog.ids, catalog.vectors)
    connection = open_catalog(db)
    try:
        with connection:
            connection.executescript(_MAP_SCHEMA)
        stored = connection.execute("SELECT value FROM meta WHERE key = 'map'").fetchone()
        if stored is None or json.loads(stored[0])["checksum"] != checksum:
            xy, method = coordinates(catalog.vectors)
            with connection:  # positions and their checksum land together
                connection.execute("DELETE FROM track_map")
                connection.executemany(
                    "INSERT INTO track_map VALUES (?, ?, ?)",
                    [(int(i), float(x), float(y)) for i, (x, y) in zip(catalog.ids, xy)],
                )
                connection.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('map', ?)",
                    (json.dumps({"checksum": checksum, "method": method}),),
                )
        grouped = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'clusters'"
        ).fetchone()
        group = "c.name" if grouped else "NULL"
        join = "LEFT JOIN clusters c ON c.track = t.id" if grouped else ""
        rows = connection.execute(
            f"SELECT t.id, t.path, t.genre, t.confidence, t.styles, m.x, m.y, {group} "
            f"FROM tracks t JOIN track_map m ON m.id = t.id {join} ORDER BY t.id"
        ).fetchall()
    finally:
        connection.close()
    table = pd.DataFrame(
        rows, columns=["id", "path", "genre", "confidence", "styles", "x", "y", "group"]
    )
    songs = [entry(path) for path in table["path"]]
    table["name"] = [song.title for song in songs]
    table["artist"] = [song.artist or "" for song in songs]
    table["styles"] = [
        sorted({tag for tags in json.loads(s or "{}").values() for tag in tags})
        for s in table["styles"]
    ]
    unknown = table["genre"] == "unknown"
    table["confidence"] = table["confidence"].astype(float).mask(unknown)  # no "% sure" for it
    table.loc[unknown, "styles"] = pd.Series([[]] * int(unknown.sum()), index=table.index[unknown])
    return table


def match_percent(score: float) -> int:
    """A cosine similarity as the "% match" people read: 0 for unrelated (≤ 0), 100 for the
    same embedding."""
    return round(100 * max(0.0, min(1.0, score)))
