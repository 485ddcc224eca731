"""Playlists that players open: extended M3U (UTF-8, ``#EXTINF``) and XSPF, from the catalog.

Three ways to make one: every track of a genre (most confident first), a list of songs (what
``similar`` and ``recommend`` find), or a *drift* that starts at a song and each time moves to
the most similar track not yet played — never the same artist twice in a row where the tags name
artists. Titles, artists and lengths come from the files' own tags (mutagen), else the file name.
"""

from __future__ import annotations

import os
import re
import stat
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from genrekit.errors import AudioDecodeError, ConfigError
from genrekit.paths import printable

FORMATS = {".m3u": "m3u", ".m3u8": "m3u", ".xspf": "xspf"}
"""Playlist file suffixes and the format each one means."""
XSPF_NAMESPACE = "http://xspf.org/ns/0/"


@dataclass(frozen=True)
class Entry:
    """One song of a playlist."""

    path: Path
    title: str
    artist: str | None
    seconds: float | None
    """Length in s, when the file's header tells it."""


def entry(path: str | Path) -> Entry:
    """A song with its title, artist and length from its tags (the file name as title when it
    has none); a file whose tags cannot be read, or that is gone, still makes an entry."""
    try:
        version = Path(path).stat().st_mtime_ns
    except OSError:
        version = -1
    return _entry(str(path), version)


@lru_cache(maxsize=4096)
def _entry(name: str, version: int) -> Entry:
    """``entry``, remembered per file version (``version``: its mtime in ns)."""
    from genrekit.library.file_tags import read_credits

    credits = read_credits(name)
    return Entry(Path(name), credits.title or Path(name).stem, credits.artist, credits.seconds)


@dataclass(frozen=True)
class Written:
    """A playlist written, and the songs its format could not hold (named with the reason)."""

    path: Path
    left_out: list[str]


_CONTROL = re.compile("[\x00-\x1f\x7f]")
"""Control characters (line breaks among them): a tag holding them could add lines to an M3U
and makes XML invalid, so they become spaces in titles and artists."""


def _plain_text(text: str) -> str:
    return _CONTROL.sub(" ", text).strip()


def write(entries: Sequence[Entry], out: str | Path, *, absolute: bool = False) -> Written:
    """Write ``entries`` to ``out`` in the format its suffix names (.m3u, .m3u8, .xspf).

    Paths are relative to the playlist's folder unless ``absolute`` (relative playlists keep
    working when the music and the playlist move together). Titles and artists lose control
    characters; a song whose path an M3U cannot hold (a line break in a name) is left out and
    named in ``Written.left_out``."""
    out = Path(out)
    kind = FORMATS.get(out.suffix.lower())
    if kind is None:
        raise ConfigError(f"{out}: a playlist must end in {', '.join(FORMATS)}")
    if not entries:
        raise ConfigError(f"{out}: no songs to put in the playlist")
    left_out: list[str] = []
    if kind == "m3u":
        fits = [song for song in entries if not _CONTROL.search(str(song.path))]
        left_out = [
            f"{printable(song.path)}: a line break or control character in its name, which an "
            "M3U playlist cannot hold (use .xspf)"
            for song in entries
            if song not in fits
        ]
        if not fits:
            raise ConfigError(f"{out}: none of the songs' names fit in an M3U playlist")
        text = _m3u(fits, out, absolute)
    else:
        text = _xspf(entries, out, absolute)
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.partial")
    temporary.write_text(text, encoding="utf-8", errors="surrogateescape")
    os.replace(temporary, out)  # a reader never sees half a playlist
    return Written(out, left_out)


def _location(path: Path, out: Path, absolute: bool) -> str:
    path = path.resolve()
    location = str(path) if absolute else os.path.relpath(path, out.resolve().parent)
    return f"./{location}" if location.startswith("#") else location  # "#…" reads as a comment


def _m3u(entries: Sequence[Entry], out: Path, absolute: bool) -> str:
    lines = ["#EXTM3U"]
    for song in entries:
        title = _plain_text(song.title)
        name = f"{_plain_text(song.artist)} - {title}" if song.artist else title
        seconds = round(song.seconds) if song.seconds else -1
        lines += [f"#EXTINF:{seconds},{name}", _location(song.path, out, absolute)]
    return "\n".join(lines) + "\n"


def _xspf(entries: Sequence[Entry], out: Path, absolute: bool) -> str:
    from urllib.parse import quote

    ElementTree.register_namespace("", XSPF_NAMESPACE)
    root = ElementTree.Element(f"{{{XSPF_NAMESPACE}}}playlist", version="1")
    ElementTree.SubElement(root, f"{{{XSPF_NAMESPACE}}}title").text = _plain_text(
        printable(out.stem)
    )
    tracks = ElementTree.SubElement(root, f"{{{XSPF_NAMESPACE}}}trackList")
    for song in entries:
        track = ElementTree.SubElement(tracks, f"{{{XSPF_NAMESPACE}}}track")
        location = (
            "file://" + quote(os.fsencode(song.path.resolve()))
            if absolute
            else quote(os.fsencode(_location(song.path, out, absolute)))  # a relative URI
        )
        ElementTree.SubElement(track, f"{{{XSPF_NAMESPACE}}}location").text = location
        ElementTree.SubElement(track, f"{{{XSPF_NAMESPACE}}}title").text = _plain_text(
            printable(song.title)
        )
        if song.artist:
            creator = ElementTree.SubElement(track, f"{{{XSPF_NAMESPACE}}}creator")
            creator.text = _plain_text(song.artist)
        if song.seconds:
            milliseconds = str(round(song.seconds * 1000))
            ElementTree.SubElement(track, f"{{{XSPF_NAMESPACE}}}duration").text = milliseconds
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


@dataclass(frozen=True)
class Listing:
    """A playlist's songs (regular files only) and the entries refused, each with its reason."""

    songs: list[Path]
    refused: list[AudioDecodeError]


def read(path: str | Path) -> Listing:
    """The songs of an M3U/M3U8 or XSPF playlist, relative paths taken from its folder. Only
    regular files are songs: a URL, a missing file, a folder, a device (``/dev/zero``) or a
    FIFO (reading one would hang) is refused with its reason."""
    from urllib.parse import unquote_to_bytes, urlparse

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig", errors="surrogateescape")
        if path.suffix.lower() == ".xspf":
            root = ElementTree.fromstring(text)
            found = []
            for element in root.iter(f"{{{XSPF_NAMESPACE}}}location"):
                url = urlparse(element.text or "")
                found.append(
                    os.fsdecode(unquote_to_bytes(url.path))
                    if url.scheme in ("", "file")
                    else element.text or ""
                )
        else:
            found = [line.strip() for line in text.splitlines()]
            found = [line for line in found if line and not line.startswith("#")]
    except (OSError, ElementTree.ParseError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ConfigError(f"{path}: cannot read the playlist ({reason})") from None
    songs, refused = [], []
    for name in found:
        if "://" in name:
            refused.append(AudioDecodeError(name, "not a file (a URL)"))
            continue
        song = Path(name) if Path(name).is_absolute() else path.parent / name
        problem = _not_a_song(song)
        if problem:
            refused.append(AudioDecodeError(song, problem))
        else:
            songs.append(song)
    return Listing(songs, refused)


def _not_a_song(path: Path) -> str | None:
    """Why ``path`` cannot be a song (None when it is a regular file)."""
    try:
        mode = path.stat().st_mode
    except OSError as error:
        return "no such file" if isinstance(error, FileNotFoundError) else error.strerror
    if not stat.S_ISREG(mode):
        return "a folder" if stat.S_ISDIR(mode) else "not a regular file (a device or a pipe)"
    return None


def entries(paths: Iterable[str | Path]) -> list[Entry]:
    return [entry(path) for path in paths]


def of_genre(db: str | Path, genre: str, *, limit: int | None = None) -> list[Entry]:
    """The catalog's tracks of ``genre`` (any case), most confident first."""
    from genrekit.library.similarity import Catalog
    from genrekit.library.store import open_catalog

    name = Catalog.load(db).genre_named(genre)
    connection = open_catalog(db)
    rows = connection.execute(
        "SELECT path FROM tracks WHERE status = 'ok' AND genre = ? "
        "ORDER BY confidence DESC, path LIMIT ?",
        (name, -1 if limit is None else limit),
    ).fetchall()
    connection.close()
    return entries(row[0] for row in rows)


def drift(
    db: str | Path, start: str | Path | int, *, length: int = 30, model: str | Path | None = None
) -> list[Entry]:
    """A playlist of ``length`` songs that starts at ``start`` (a catalog track, or any audio
    file) and moves each time to the most similar song not yet in it, skipping songs by the
    artist just played when the tags name artists."""
    from genrekit.library.similarity import Catalog

    catalog = Catalog.load(db)
    row = catalog.position(start)
    if row is None:
        if not Path(str(start)).is_file():
            raise ConfigError(f"{start}: neither in the catalog nor an audio file")
        from genrekit.predict import Classifier

        classifier = Classifier.load(model)
        catalog.require_model(classifier)
        _, embedding = classifier.analyse_file(Path(str(start)), timeline=False)
        current, played = catalog.standardize(embedding)[0], [entry(str(start))]
    else:
        current, played = catalog.vectors[row], [entry(catalog.paths[row])]
    used = np.zeros(len(catalog.paths), dtype=bool)
    if row is not None:
        used[row] = True
    while len(played) < length and not used.all():
        order = np.argsort(-(catalog.vectors @ current), kind="stable")
        choice = _next_song(order, used, catalog.paths, played[-1].artist)
        used[choice] = True
        played.append(entry(catalog.paths[choice]))
        current = catalog.vectors[choice]
    return played


def _next_song(order: np.ndarray, used: np.ndarray, paths: list[str], artist: str | None) -> int:
    """The first unused row in ``order`` not by ``artist`` (any unused one if all are)."""
    unused = [int(i) for i in order if not used[i]]
    if artist is not None:
        for i in unused:
            if entry(paths[i]).artist != artist:
                return i
    return unused[0]
