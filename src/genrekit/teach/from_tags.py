"""Your library teaches it: a personal model from the genre tags your songs already carry.

``genrekit index`` stores each song's embedding beside the genre, artist and title of its own
tags. ``learn_from_catalog`` turns the tags into labels (``vocabulary``: spellings merged,
sub-genres folded, junk dropped, thin labels set aside) and learns from the stored embeddings —
no audio is decoded again — with the same estimate, calibration and rejector as ``learn``:
songs held out by artist (by folder when a song names no artist). ``learn_from_tags`` indexes
folders on the way for libraries without a catalog. Nothing is written to any music file.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from genrekit.errors import ConfigError
from genrekit.teach.learn import Examples, LearnResult, held_out_protocol, teach
from genrekit.teach.prior import lent_genres
from genrekit.teach.vocabulary import LENT_MIN_SONGS, Vocabulary


@dataclass(frozen=True)
class TaggedSong:
    """One analysed song of a catalog, as learning sees it."""

    path: str
    genres: list[str]
    artist: str | None
    embedding: np.ndarray

    @property
    def group(self) -> str:
        """What the song is held out by: its artist, else its folder."""
        return f"artist:{self.artist.casefold()}" if self.artist else f"folder:{_folder(self)}"


def _folder(song: TaggedSong) -> str:
    return str(Path(song.path).parent)


def catalog_songs(db: str | Path) -> tuple[list[TaggedSong], int, Any]:
    """The catalog's analysed songs still on disk, how many are gone, and the representation
    its embeddings are in (the spec of the model that indexed it)."""
    from genrekit.library.store import open_catalog
    from genrekit.models.bundle import load_bundle

    if not Path(db).is_file():
        raise ConfigError(f"{db}: no such catalog (make one with: genrekit index FOLDER --db {db})")
    connection = open_catalog(db)
    try:
        model = connection.execute("SELECT value FROM meta WHERE key = 'model'").fetchone()
        rows = connection.execute(
            "SELECT path, tag_genres, artist, embedding FROM tracks WHERE status = 'ok' ORDER BY id"
        ).fetchall()
    finally:
        connection.close()
    if not rows or model is None:
        raise ConfigError(f"{db}: no analysed songs yet; run genrekit index on your music first")
    spec = load_bundle().representation
    if model[0].split("/")[-1] != spec.name:
        raise ConfigError(
            f"{db}: indexed with {model[0]}, whose embeddings a personal model cannot learn "
            f"from; index it again with the default model (genrekit index FOLDER --db {db})"
        )
    songs = [
        TaggedSong(path, json.loads(genres or "[]"), artist, np.frombuffer(blob, np.float32))
        for path, genres, artist, blob in rows
    ]
    present = [song for song in songs if Path(song.path).is_file()]
    return present, len(songs) - len(present), spec


@dataclass
class TagLearning:
    """What learning from a library's tags did: the result, the vocabulary's account of the
    labels, and notes on the songs left out."""

    result: LearnResult
    vocabulary: Vocabulary
    notes: list[str]
    untagged: int
    """Songs with no usable genre tag: what the model can fill in (``tag-files --model``)."""

    def describe(self) -> list[str]:
        return [*self.notes, *self.vocabulary.describe()]


def learn_from_catalog(
    db: str | Path, out: Path | None, *, vocabulary: Vocabulary | None = None
) -> TagLearning:
    """A personal model of the genres the catalog's songs are tagged with (module docstring)."""
    songs, gone, spec = catalog_songs(db)
    notes = [f"{gone} song(s) in the catalog are no longer on disk; left out"] if gone else []
    return learn_from_songs(songs, out, spec, vocabulary=vocabulary, source=str(db), notes=notes)


def learn_from_songs(
    songs: list[TaggedSong],
    out: Path | None,
    spec: Any,
    *,
    vocabulary: Vocabulary | None = None,
    source: str,
    notes: list[str] | None = None,
) -> TagLearning:
    """A personal model of the genres ``songs`` are tagged with, from their embeddings (in the
    representation ``spec``); ``source`` names where they come from in messages and the
    manifest (a catalog, a beets query)."""
    vocabulary = vocabulary or Vocabulary()
    notes = list(notes or [])
    tagged = [song for song in songs if song.genres]
    if not tagged:
        raise ConfigError(
            f"{source}: none of its {len(songs)} songs carries a genre tag; tag some songs in "
            "your player or tagger (or learn from folders: genrekit learn FOLDER)"
        )
    vocabulary.lent = lent_genres(spec)  # ``teach`` lends the default's judgement of these
    labels = vocabulary.label_songs([(song.genres, song.artist) for song in tagged])
    learned = [(song, label) for song, label in zip(tagged, labels, strict=True) if label]
    kept = sorted({label for _, label in learned})
    if len(kept) < 2:
        found = f"only {kept[0]!r}" if kept else "no genre"
        raise ConfigError(
            f"{source}: {found} has enough tagged songs to learn from ({vocabulary.min_songs} "
            f"songs by {vocabulary.min_artists} artists each{_lent_minimum(vocabulary)}); at "
            "least two genres are needed"
            + (f". Set aside: {_first_reasons(vocabulary)}" if vocabulary.set_aside else "")
        )
    groups = np.array([song.group for song, _ in learned])
    by = "artist" if all(song.artist for song, _ in learned) else "artist (else folder)"
    examples = Examples(
        np.stack([song.embedding for song, _ in learned]).astype(np.float64),
        np.array([label for _, label in learned]),
        np.array([song.path for song, _ in learned]),
        groups,
        held_out_protocol(groups, by),
    )
    result = teach(
        examples,
        spec,
        out,
        data={
            "source": source,
            "songs": len(learned),
            "labels": len(kept),
            "from": "the songs' own genre tags",
        },
        sources=sorted(song.path for song, _ in learned),
        errors=[],
    )
    return TagLearning(result, vocabulary, notes, len(songs) - len(learned))


def _lent_minimum(vocabulary: Vocabulary) -> str:
    """How few songs the default's genres need, when it lends its judgement of them."""
    return f"; {LENT_MIN_SONGS} for the default model's genres" if vocabulary.lent else ""


def _first_reasons(vocabulary: Vocabulary, limit: int = 3) -> str:
    shown = list(vocabulary.set_aside.items())[:limit]
    more = len(vocabulary.set_aside) - limit
    return "; ".join(f"{label}: {why}" for label, why in shown) + (
        f"; and {more} more" if more > 0 else ""
    )


def learn_from_tags(
    folders: list[Path],
    out: Path | None,
    *,
    db: Path | None = None,
    vocabulary: Vocabulary | None = None,
    workers: int = 1,
    progress: bool = True,
) -> TagLearning:
    """``learn_from_catalog`` for folders: each is indexed into ``db`` first (a temporary
    catalog when None; an existing one is only brought up to date)."""
    from genrekit.library.catalog import index_folder

    with tempfile.TemporaryDirectory(prefix="genrekit-") as scratch:
        catalog = db or Path(scratch) / "library.sqlite"
        for folder in folders:
            index_folder(folder, catalog, workers=workers, progress=progress)
        return learn_from_catalog(catalog, out, vocabulary=vocabulary)


DISAGREEMENT_CONFIDENCE = 0.8
"""How sure the model must be before a song's own tag is called into question."""


@dataclass(frozen=True)
class Disagreement:
    """A song whose genre tag the sound confidently contradicts (likely mislabelled)."""

    path: str
    artist: str | None
    title: str | None
    tagged: str
    """The song's own genre, as a label (``vocabulary``)."""
    heard: str
    confidence: float


def disagreement(
    path: Path, heard: str, confidence: float, known: bool, *, at_least: float
) -> Disagreement | None:
    """The disagreement between ``path``'s own genre tag and a verdict, if the verdict is a known
    genre, at least ``at_least`` sure, and another genre than the tag's; else None."""
    from genrekit.library.file_tags import read_credits

    if not known or confidence < at_least:
        return None
    credits = read_credits(path)
    tagged = Vocabulary().label_of(credits.genres)
    if tagged is None or tagged == heard:
        return None
    return Disagreement(str(path), credits.artist, credits.title, tagged, heard, confidence)


def write_disagreements(found: list[Disagreement], out: Path) -> Path:
    """``.csv`` (one row per song) or ``.html`` (a table with a player per song), most confident
    first."""
    import html

    import pandas as pd

    from genrekit.paths import printable
    from genrekit.reports.html_page import HtmlReport, paragraph

    found = sorted(found, key=lambda d: -d.confidence)
    if out.suffix.lower() == ".csv":
        frame = pd.DataFrame([vars(d) for d in found], columns=list(Disagreement.__annotations__))
        frame["path"] = [printable(p) for p in frame["path"]]
        out.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(out, index=False)
        return out
    if out.suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"{out}: write the disagreements to a .csv or .html file")
    rows = "".join(
        f"<tr><td>{html.escape(d.title or Path(d.path).stem)}</td>"
        f"<td>{html.escape(d.artist or '')}</td><td>{html.escape(d.tagged)}</td>"
        f"<td>{html.escape(d.heard)}</td><td>{d.confidence:.0%}</td>"
        f'<td><audio controls preload="none" src="{html.escape(Path(d.path).as_uri())}">'
        "</audio></td></tr>"
        for d in found
    )
    page = HtmlReport(
        "Songs whose genre tag the sound contradicts",
        f"{len(found)} song(s) the model confidently hears as another genre than their tag",
    )
    page.add(
        "Songs to check",
        paragraph("Listen, then fix the tag in your player, or keep it: the model can be wrong."),
        '<div class="table"><table><thead><tr><th>title</th><th>artist</th><th>tagged</th>'
        f"<th>sounds like</th><th>sure</th><th>listen</th></tr></thead><tbody>{rows}"
        "</tbody></table></div>",
    )
    return page.write(out)
