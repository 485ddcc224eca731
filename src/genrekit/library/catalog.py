"""A music library's catalog: every file of a folder indexed into SQLite — its analysis
(genre, confidence, styles, embedding), its own tags (genres, artist, title), moves and claims.

Catalog: one SQLite file (WAL mode) with a versioned schema. Every track is written in its own
transaction by a single writer (the main process; workers only analyse), so an interrupted run,
even ``kill -9``, leaves only whole rows and the next run picks up where it stopped.

Analysis runs on Dask: a local cluster of ``workers`` processes by default, or an existing
cluster given by its scheduler address, partitioned by file. A task lost with a failed worker is
retried on another; results stream back to the one writer as they complete. Files are
skipped when size and mtime are unchanged, or when the content hash is unchanged; files that fail
to decode are recorded with their reason and retried only when they change (files that could not
be read at all, on every run). File names are stored as their own bytes (``name_bytes``).

Searching the catalog ("songs like this") is ``genrekit.library.similarity``.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from genrekit import records
from genrekit.errors import AudioError, ConfigError
from genrekit.integrity import file_sha256
from genrekit.library.store import name_bytes, open_catalog, process_alive
from genrekit.training.datasets import audio_files


@dataclass(frozen=True)
class IndexSummary:
    indexed: int
    skipped: int
    failed: int
    moved: int = 0
    """Tracks found at a new path (same content): their analysis moved with them."""
    busy: int = 0
    """Files another indexer of the same catalog was analysing (left to it, not done twice)."""


def model_key(classifier: Any) -> str:
    """Which model and representation made a catalog's embeddings."""
    return f"{classifier.bundle.model_id}/{classifier.spec.name}"


_classifiers: dict[str, Any] = {}


def analyse_on_worker(model: str, path: Path, full: bool = False) -> dict[str, Any]:
    """``analyse_file`` with the bundle at ``model``, loaded once per worker process."""
    if model not in _classifiers:
        from genrekit.predict import Classifier

        _classifiers[model] = Classifier.load(model)
    return analyse_file(path, _classifiers[model], full=full)


def _catalog_fields(found: dict[str, Any]) -> dict[str, Any]:
    """The catalog's columns of a prediction's record (``genrekit.records``): styles kept as
    their tag names per parent, probabilities as JSON."""
    return {
        "genre": found["label"],
        "confidence": found["confidence"],
        "typicality": found["typicality"],
        "known": int(found["known"]),
        "styles": json.dumps(
            {
                parent: [style["tag"] for style in styles]
                for parent, styles in found["styles"].items()
            }
        ),
        "probabilities": json.dumps(found["probabilities"]),
        "narrow_band": int(found["narrow_band"]),
    }


def analyse_file(path: Path, classifier: Any, *, full: bool = False) -> dict[str, Any]:
    """Everything the catalog stores about one file (or its error), computed from one decode;
    a long track is heard in evenly spread regions unless ``full`` (``Classifier.analyse``).

    Numerical libraries run single-threaded here, as in Dask workers, so a track gets bit-identical
    values wherever it is analysed (thread count changes summation order, and so the last bits).
    """
    from threadpoolctl import threadpool_limits

    record: dict[str, Any] = {"path": str(path), "sha256": ""}  # "" until the file is read
    try:
        record["sha256"] = file_sha256(path)
        record.update(_credits(path))
        with threadpool_limits(limits=1):
            audio = classifier.load_audio(path)
            prediction, embedding = classifier.analyse(audio, timeline=False, full=full)
    except OSError as error:  # unreadable, or deleted since the run started
        return {**record, "status": "failed", "error": f"cannot be read ({error.strerror})"}
    except AudioError as error:
        return {**record, "status": "failed", "error": error.reason}
    except Exception as error:  # one bad file never stops an index run
        return {**record, "status": "failed", "error": f"could not be analysed ({error})"}
    return {
        **record,
        "status": "ok",
        "error": None,
        "duration": prediction.duration,
        "format": path.suffix.lower().lstrip("."),
        "sample_rate": audio.source_sample_rate,
        "channels": audio.source_channels,
        **_catalog_fields(records.record(prediction)),
        "embedding": np.asarray(embedding, dtype=np.float32).tobytes(),
    }


def _credits(path: Path) -> dict[str, Any]:
    """The genre values, artist and title of the file's own tags, as catalog columns."""
    from genrekit.library.file_tags import read_credits

    credits = read_credits(path)
    return {"tag_genres": json.dumps(credits.genres), "artist": credits.artist,
            "title": credits.title}  # fmt: skip


def plan(connection: sqlite3.Connection, files: Iterable[Path]) -> tuple[list[Path], int, int]:
    """Files that need analysing, how many are unchanged (same size and mtime, or same content
    hash, in which case the new mtime is recorded), and how many were moved: a new path whose
    content hash is a catalogued track's that is no longer at its old path takes that track's
    row (analysis, id and all) instead of being analysed again."""
    rows = connection.execute(
        "SELECT id, path, size, mtime, sha256, status, tag_genres IS NULL FROM tracks"
    )
    known: dict[str, tuple[int, float, str]] = {}
    by_size: dict[int, list[tuple[int, str, str]]] = {}  # analysed tracks: (id, path, sha256)
    untagged: set[str] = set()  # indexed before the catalog kept file tags
    for track, path_text, size, mtime, sha256, status, no_tags in rows:
        if sha256 == "":
            continue  # never read (permission denied, say): tried again, as if new
        known[path_text] = (size, mtime, sha256)
        if no_tags:
            untagged.add(path_text)
        if status == "ok":
            by_size.setdefault(size, []).append((track, path_text, sha256))
    todo, skipped, moved = [], 0, 0
    for path in files:
        previous = known.get(str(path))
        try:
            stat = path.stat()
            if previous is None:
                if _moved_here(connection, path, stat, by_size):
                    moved += 1
                else:
                    todo.append(path)
                continue
            state = since_indexed(path, stat, *previous)
        except OSError:  # unreadable or gone: analysing it records why
            todo.append(path)
            continue
        if state != "changed" and str(path) in untagged:
            _record_credits(connection, path)
        if state == "unchanged":
            skipped += 1
        elif state == "same content":
            with connection:
                connection.execute(
                    "UPDATE tracks SET mtime = ? WHERE path = CAST(? AS TEXT)",
                    (stat.st_mtime, name_bytes(path)),
                )
            skipped += 1
        else:
            todo.append(path)
    return todo, skipped, moved


def _record_credits(connection: sqlite3.Connection, path: Path) -> None:
    """Read an unchanged track's file tags into the catalog (no audio decoded)."""
    credits = _credits(path)
    with connection:
        connection.execute(
            "UPDATE tracks SET tag_genres = ?, artist = ?, title = ? WHERE path = CAST(? AS TEXT)",
            (credits["tag_genres"], credits["artist"], credits["title"], name_bytes(path)),
        )


def since_indexed(path: Path, stat: os.stat_result, size: int, mtime: float, sha256: str) -> str:
    """How ``path`` (``stat`` its current stat) compares with its catalog record: "unchanged"
    (same size and time), "same content" (same size and hash, a new time) or "changed"."""
    if (stat.st_size, stat.st_mtime) == (size, mtime):
        return "unchanged"
    if stat.st_size == size and file_sha256(path) == sha256:
        return "same content"
    return "changed"


def _moved_here(
    connection: sqlite3.Connection,
    path: Path,
    stat: os.stat_result,
    by_size: dict[int, list[tuple[int, str, str]]],
) -> bool:
    """If ``path`` holds exactly a catalogued track whose old path is gone, move its row here.
    ``by_size`` (analysed tracks by file size, from the catalog ``plan`` already read) keeps
    this to the same-size tracks, with no query per new file; a moved track leaves it."""
    candidates = by_size.get(stat.st_size, [])
    gone = [entry for entry in candidates if not Path(entry[1]).exists()]
    if not gone:
        return False  # the common case: no hash computed
    digest = file_sha256(path)
    for entry in gone:
        if entry[2] == digest:
            with connection:
                connection.execute(
                    "UPDATE tracks SET path = CAST(? AS TEXT), mtime = ? WHERE id = ?",
                    (name_bytes(path), stat.st_mtime, entry[0]),
                )
            candidates.remove(entry)
            return True
    return False


def _write(
    connection: sqlite3.Connection, record: dict[str, Any], path: Path, owner: str = ""
) -> None:
    try:
        stat = path.stat()
        size, mtime = stat.st_size, stat.st_mtime
    except OSError:  # deleted since it was analysed: recorded, and looked at again next run
        size, mtime = -1, -1.0
    columns = [
        "path",
        "size",
        "mtime",
        "sha256",
        "status",
        "error",
        "duration",
        "format",
        "sample_rate",
        "channels",
        "genre",
        "confidence",
        "typicality",
        "known",
        "styles",
        "tag_genres",
        "artist",
        "title",
        "probabilities",
        "narrow_band",
        "embedding",
        "indexed_at",
    ]
    values = {
        **{c: None for c in columns},
        **record,
        "size": size,
        "mtime": mtime,
        "indexed_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    values["path"] = name_bytes(values["path"])
    placeholders = ", ".join("CAST(? AS TEXT)" if c == "path" else "?" for c in columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns[1:])
    with connection:  # one transaction per track: a crash never leaves half a row
        connection.execute(
            f"INSERT INTO tracks ({', '.join(columns)}) VALUES ({placeholders}) "
            f"ON CONFLICT(path) DO UPDATE SET {updates}",
            [values[c] for c in columns],
        )
        connection.execute(
            "DELETE FROM claims WHERE path = CAST(? AS TEXT) AND owner = ?",
            (name_bytes(path), owner),
        )


def index_folder(
    root: str | Path,
    db: str | Path,
    *,
    model: str | Path | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool = True,
    full: bool = False,
) -> IndexSummary:
    """Index every audio file under ``root`` into the catalog ``db``; resumable and incremental.

    ``workers`` > 1 starts a local Dask cluster of that many processes; ``scheduler``
    (``tcp://HOST:PORT``) uses an existing cluster instead; otherwise files are analysed here.
    ``full`` analyses every 30 s of long tracks instead of evenly spread regions.
    """
    from tqdm import tqdm

    from genrekit.predict import Classifier

    classifier = Classifier.load(model)
    connection = open_catalog(db)
    _check_model(connection, classifier, db)
    root = Path(root)
    if not root.is_dir():
        raise ConfigError(f"{root}: not a folder")
    todo, skipped, moved = plan(connection, (p.resolve() for p in audio_files(root)))
    owner = _owner()
    mine = _claim(connection, todo, owner)
    indexed = failed = 0
    try:
        results = _analyse_all(mine, classifier, workers, scheduler, full)
        for path, record in tqdm(
            results, total=len(mine), desc="index", unit="file", disable=None if progress else True
        ):
            _write(connection, record, path, owner)
            if record["status"] == "ok":
                indexed += 1
            else:
                failed += 1
    finally:
        with connection:
            connection.execute("DELETE FROM claims WHERE owner = ?", (owner,))
        connection.close()
    return IndexSummary(indexed, skipped, failed, moved, len(todo) - len(mine))


CLAIM_EXPIRY_SECONDS = 3600.0
"""A claim older than this (s) is free again: an indexer on another machine that died."""


def _owner() -> str:
    """This indexer, as claims name it: host and process id."""
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


def _claim(connection: sqlite3.Connection, paths: list[Path], owner: str) -> list[Path]:
    """The paths this indexer will analyse: those no other live indexer of the catalog has
    claimed. Claims of dead processes on this host, and expired ones, are dropped first."""
    import socket
    import time

    now = time.time()
    connection.execute("BEGIN IMMEDIATE")  # claiming is one turn: two indexers never share a file
    try:
        connection.execute("DELETE FROM claims WHERE since < ?", (now - CLAIM_EXPIRY_SECONDS,))
        for (other,) in connection.execute("SELECT DISTINCT owner FROM claims").fetchall():
            host, _, pid = other.rpartition(":")
            if host == socket.gethostname() and pid.isdigit() and not process_alive(int(pid)):
                connection.execute("DELETE FROM claims WHERE owner = ?", (other,))
        mine = [
            path for path in paths
            if connection.execute(
                "INSERT OR IGNORE INTO claims VALUES (CAST(? AS TEXT), ?, ?)",
                (name_bytes(path), owner, now),
            ).rowcount
        ]  # fmt: skip
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return mine


def _analyse_all(
    paths: list[Path], classifier: Any, workers: int, scheduler: str | None, full: bool
) -> Iterator[tuple[Path, dict[str, Any]]]:
    """(path, record) pairs, in completion order when a Dask cluster does the work."""
    if scheduler is None and (workers <= 1 or len(paths) <= 1):
        for path in paths:
            yield path, analyse_file(path, classifier, full=full)
        return
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True,
            host="127.0.0.1", dashboard_address=None,
        )  # fmt: skip
    model = str(classifier.bundle.path)
    try:
        with Client(cluster or scheduler) as client:
            futures = {
                client.submit(
                    analyse_on_worker, model, path, full, key=f"analyse-{i}", retries=2
                ): path
                for i, path in enumerate(paths)
            }
            for future in as_completed(futures):
                yield futures[future], future.result()
    finally:
        if cluster is not None:
            cluster.close()


def _check_model(connection: sqlite3.Connection, classifier: Any, db: str | Path) -> None:
    """A catalog holds embeddings of one model's representation; record it or insist on it."""
    key = model_key(classifier)
    row = connection.execute("SELECT value FROM meta WHERE key='model'").fetchone()
    if row is None:
        with connection:
            connection.execute("INSERT INTO meta VALUES ('model', ?)", (key,))
    elif row[0] != key:
        raise ConfigError(f"{db}: catalog was indexed with {row[0]}, not {key}")
