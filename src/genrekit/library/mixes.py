"""The kinds of music in a library, without labels: K-means mixes named by their sound.

The catalog's embeddings (what ``index`` stores, the same ones "songs like this" compares) are
z-scored over the catalog and scaled to unit length, so that K-means groups by the cosine that
similarity uses; a fixed seed gives the same groups for the same catalog. ``-k auto`` tries
``AUTO_RANGE`` and keeps the count with the highest silhouette (on a fixed sample of at most
``SILHOUETTE_SAMPLE`` songs), and says so. Each group is named from what its songs have in common:
its most frequent genre and the styles and moods that are most over-represented in it compared
with the whole library; it lists the songs nearest its centre. The catalog keeps each song's
group (table ``clusters``), replaced in one transaction on every run.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from genrekit.errors import ConfigError

SEED = 0
AUTO_RANGE = range(2, 16)
"""Group counts ``-k auto`` tries (fewer when the library is small)."""
SILHOUETTE_SAMPLE = 2000
"""Songs the silhouette is measured on, at most (a fixed sample: fast at library size)."""
NEAREST = 5
"""Songs listed per group: those nearest its centre."""
STYLE_WORDS = 2
"""Styles or moods in a group's name."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS clusters (
    track INTEGER PRIMARY KEY REFERENCES tracks (id),
    cluster INTEGER NOT NULL,
    name TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Song:
    """A song as a group lists it."""

    id: int
    path: str
    title: str
    artist: str | None


@dataclass(frozen=True)
class Group:
    """One mix: its number, plain name, size, and the songs nearest its centre."""

    number: int
    name: str
    size: int
    nearest: list[Song]
    members: list[int]
    """Catalog ids of every song in it, nearest the centre first."""


@dataclass(frozen=True)
class Clustering:
    groups: list[Group]
    count_reason: str
    """Why this many groups (asked for, or the silhouette's choice)."""


def unit_rows(embeddings: np.ndarray) -> np.ndarray:
    """Embeddings z-scored over the catalog, then scaled to unit length (cosine geometry)."""
    centred = (embeddings - embeddings.mean(axis=0)) / np.where(
        embeddings.std(axis=0) > 0, embeddings.std(axis=0), 1.0
    )
    return centred / np.maximum(np.linalg.norm(centred, axis=1, keepdims=True), 1e-12)


RESTARTS = 10
"""K-means runs from different starts; the best is kept."""
SEARCH_RESTARTS = 3
"""Fewer starts while ``-k auto`` compares counts (the chosen count then gets ``RESTARTS``)."""


def kmeans(vectors: np.ndarray, k: int, restarts: int = RESTARTS) -> tuple[np.ndarray, np.ndarray]:
    """(assignment per row, centres) of K-means with the fixed seed."""
    from sklearn.cluster import KMeans

    fitted = KMeans(n_clusters=k, n_init=restarts, random_state=SEED).fit(vectors)
    return fitted.labels_, fitted.cluster_centers_


def choose_count(vectors: np.ndarray) -> tuple[int, str]:
    """The group count with the highest silhouette in ``AUTO_RANGE``, and the reason in words."""
    from sklearn.metrics import silhouette_score

    counts = [k for k in AUTO_RANGE if k < len(vectors)]
    if not counts:
        raise ConfigError(f"only {len(vectors)} songs: at least 3 are needed to find groups")
    rows = np.random.default_rng(SEED).permutation(len(vectors))[:SILHOUETTE_SAMPLE]
    scores = {}
    for k in counts:
        assignment, _ = kmeans(vectors, k, SEARCH_RESTARTS)
        if len(set(assignment[rows])) > 1:
            scores[k] = float(silhouette_score(vectors[rows], assignment[rows]))
    best = max(scores, key=scores.__getitem__)
    return best, (
        f"{best} groups: the highest silhouette ({scores[best]:.3f}) among "
        f"{counts[0]}–{counts[-1]} groups (how much closer songs are to their own group than "
        "to the next)"
    )


def cluster_catalog(db: str | Path, k: int | None) -> Clustering:
    """Group the catalog's analysed songs into ``k`` mixes (None: ``choose_count``), name them,
    and store each song's group in the catalog."""
    from genrekit.library.file_tags import display_genre
    from genrekit.library.store import open_catalog

    if k is not None and k < 2:
        raise ConfigError(f"-k {k}: at least 2 groups (or -k auto)")
    if not Path(db).is_file():
        raise ConfigError(f"{db}: no such catalog (make one with: genrekit index FOLDER --db {db})")
    connection = open_catalog(db)
    try:
        if connection.execute("SELECT value FROM meta WHERE key = 'model'").fetchone() is None:
            raise ConfigError(f"{db}: no analysed songs yet; run genrekit index on your music")
        rows = connection.execute(
            "SELECT id, path, title, artist, genre, styles, embedding FROM tracks "
            "WHERE status = 'ok' ORDER BY id"
        ).fetchall()
        if len(rows) < 3:
            raise ConfigError(f"{db}: {len(rows)} analysed songs; at least 3 are needed")
        if k is not None and k > len(rows):
            raise ConfigError(f"-k {k}: more groups than the catalog's {len(rows)} songs")
        vectors = unit_rows(np.stack([np.frombuffer(r[6], np.float32) for r in rows]))
        if k is None:
            k, reason = choose_count(vectors)
        else:
            reason = f"{k} groups, as asked"
        assignment, centres = kmeans(vectors, k)
        songs = [Song(r[0], r[1], r[2] or Path(r[1]).stem, r[3]) for r in rows]
        genres = [display_genre(r[4]) if r[4] else "unknown" for r in rows]
        styles = [_style_words(r[5]) for r in rows]
        groups = _named_groups(vectors, assignment, centres, songs, genres, styles)
        _store(connection, groups)
    finally:
        connection.close()
    return Clustering(groups, reason)


def _style_words(styles_json: str | None) -> set[str]:
    return {tag for tags in json.loads(styles_json or "{}").values() for tag in tags}


def _named_groups(
    vectors: np.ndarray,
    assignment: np.ndarray,
    centres: np.ndarray,
    songs: list[Song],
    genres: list[str],
    styles: list[set[str]],
) -> list[Group]:
    everywhere = Counter(tag for found in styles for tag in found)
    groups = []
    for number in range(len(centres)):
        members = np.flatnonzero(assignment == number)
        order = members[np.argsort(-(vectors[members] @ centres[number]), kind="stable")]
        genre, _ = Counter(genres[i] for i in members).most_common(1)[0]
        inside = Counter(tag for i in members for tag in styles[i])
        lift = {
            tag: (n / len(members)) / (everywhere[tag] / len(songs))
            for tag, n in inside.items()
            if n >= max(2, 0.2 * len(members)) and tag.casefold() != genre.casefold()
        }
        words = sorted(lift, key=lambda tag: (-lift[tag], tag))[:STYLE_WORDS]
        name = f"{', '.join(words)} {genre}".strip() if words else genre
        groups.append(
            Group(
                number,
                name,
                len(members),
                [songs[i] for i in order[:NEAREST]],
                [songs[i].id for i in order],
            )
        )
    groups.sort(key=lambda g: -g.size)
    return _unique_names(groups)


def _unique_names(groups: list[Group]) -> list[Group]:
    """Two groups of one name get numbered (``jazz 1``, ``jazz 2``), biggest first."""
    from dataclasses import replace

    seen = Counter(group.name for group in groups)
    counted: Counter[str] = Counter()
    named = []
    for group in groups:
        if seen[group.name] > 1:
            counted[group.name] += 1
            group = replace(group, name=f"{group.name} {counted[group.name]}")
        named.append(group)
    return named


def _store(connection: Any, groups: list[Group]) -> None:
    """Every song's group, replacing the previous run's in one transaction."""
    with connection:
        connection.executescript(_SCHEMA)
    with connection:
        connection.execute("DELETE FROM clusters")
        connection.executemany(
            "INSERT INTO clusters VALUES (?, ?, ?)",
            [(track, group.number, group.name) for group in groups for track in group.members],
        )


def write_mixes(clustering: Clustering, db: str | Path, folder: Path, **options: Any) -> list[Path]:
    """One playlist per group in ``folder`` (``NN name.m3u8``), songs nearest the centre first."""
    import re

    from genrekit.library.playlists import entries, write
    from genrekit.library.store import open_catalog

    connection = open_catalog(db)
    try:
        path_of = dict(connection.execute("SELECT id, path FROM tracks").fetchall())
    finally:
        connection.close()
    written = []
    for position, group in enumerate(clustering.groups, start=1):
        safe = re.sub(r"[^\w,& -]+", "", group.name).strip() or "mix"
        out = folder / f"{position:02d} {safe}.m3u8"
        written.append(write(entries(path_of[i] for i in group.members), out, **options).path)
    return written
