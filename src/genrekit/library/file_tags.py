"""Genre tags in the user's audio files: planned as a dry run, written atomically, undoable.

A file is changed only through ``write_fields``: mutagen edits a hidden copy in the same folder,
the copy is flushed to disk (fsync) and renamed over the original in one step, so a crash or
``kill -9`` at any moment leaves the file either wholly old or wholly new, never half-written.
Only tag blocks change; the audio frames are copied byte for byte (mutagen rewrites tags, never
audio). Before a file is replaced, its old values go into a journal (SQLite: the catalog when one
is given, else ``journal_path()``), so ``undo`` can put back exactly what was there.

Fields are the format's own: ID3 ``TCON`` plus ``TXXX`` frames (mp3, and the ID3 chunk of WAV and
AIFF), Vorbis comments ``GENRE`` plus ``GENREKIT_*`` (flac, ogg, opus), MP4 ``©gen`` plus
``----:org.genrekit:GENREKIT_*`` atoms (m4a). A genre that genrekit did not write (its value is
not the one recorded in ``GENREKIT_GENRE``) is a person's choice and is kept unless asked.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from genrekit.errors import ConfigError, GenrekitError
from genrekit.library.store import name_bytes, name_text, process_alive

GENRE = "genre"
"""The player-visible genre field, whatever the format calls it."""
OWN_FIELDS = ("GENREKIT_GENRE", "GENREKIT_MODEL", "GENREKIT_CONFIDENCE", "GENREKIT_STYLES")
"""genrekit's custom fields: what it wrote as genre, which model, its confidence (0–1), styles."""
MP4_FREEFORM = "----:org.genrekit:"
GENRE_NAMES = {"hiphop": "Hip-Hop", "rnb": "R&B"}
"""Labels whose player spelling is not their capitalized form."""
TEMPORARY_MARK = ".genrekit-partial"
"""Suffix of the hidden copy a write goes through (removed on success, cleaned up after a kill)."""

Values = dict[str, Any]
"""A file's raw tag values by format-specific key (a list, or None where the key is absent),
plus ``HAS_TAGS``."""
HAS_TAGS = "@has-tags"
"""Whether the file had a tag block at all: undoing on a file that had none removes the block
genrekit added, so the file gets its old bytes back."""


class TagError(GenrekitError):
    """One file's tags cannot be read or written; ``str`` is ``path: reason``."""

    def __init__(self, path: str | Path, reason: str) -> None:
        from genrekit.paths import printable

        self.path, self.reason = str(path), reason
        super().__init__(f"{printable(path)}: {reason}")


class TagSkip(TagError):
    """A file left alone on purpose (unknown, not confident enough, a person's genre)."""


@dataclass(frozen=True)
class Verdict:
    """What the model said about one file, as far as tagging needs it."""

    label: str
    confidence: float
    known: bool
    model: str
    styles: tuple[str, ...] = ()
    """Tags shown for the track, genre styles first (``punk``, then moods such as ``happy``)."""
    genre_styles: tuple[str, ...] = ()
    """The subset that are styles of a genre (written as extra genre values with ``styles``)."""


@dataclass(frozen=True)
class Change:
    """A planned change of one file's tags (``before`` → ``after`` in raw values)."""

    path: Path
    before: Values
    after: Values
    old_genre: list[str]
    new_genre: list[str]
    confidence: float


def display_genre(label: str) -> str:
    """A model label as players show genres: ``jazz`` → ``Jazz``, ``hiphop`` → ``Hip-Hop``;
    labels someone already capitalized (``EDM``, ``City Pop``) are kept."""
    return GENRE_NAMES.get(label, label.title() if label.islower() else label)


# --- the formats -----------------------------------------------------------------------------


class _Format:
    """How one family of containers names and stores the fields (subclasses per tag system)."""

    genre_keys: tuple[str, ...]
    """Every key that holds a genre; the first is written, the others cleared."""

    def own_key(self, name: str) -> str:
        raise NotImplementedError

    def get(self, tags: Any, key: str) -> list[Any] | None:
        raise NotImplementedError

    def put(self, tags: Any, key: str, values: list[Any] | None) -> None:
        raise NotImplementedError

    def save(self, audio: Any) -> None:
        audio.save()

    def raw_keys(self) -> list[str]:
        return [*self.genre_keys, *(self.own_key(name) for name in OWN_FIELDS)]


class _Id3(_Format):
    genre_keys = ("TCON",)

    def own_key(self, name: str) -> str:
        return f"TXXX:{name}"

    def get(self, tags: Any, key: str) -> list[Any] | None:
        values = [str(text) for frame in tags.getall(key) for text in frame.text]
        return values or None

    def put(self, tags: Any, key: str, values: list[Any] | None) -> None:
        from mutagen.id3 import TCON, TXXX

        tags.delall(key)
        if values:
            utf8 = 3
            frame = (
                TCON(encoding=utf8, text=values)
                if key == "TCON"
                else TXXX(encoding=utf8, desc=key.removeprefix("TXXX:"), text=values)
            )
            tags.add(frame)

    def save(self, audio: Any) -> None:
        # Keep an ID3v2.3 tag at 2.3 (older players read only that); otherwise ID3v2.4.
        # v23_sep=None keeps several values apart (NUL) instead of joining them with "/".
        audio.save(v2_version=3 if audio.tags.version[:2] == (2, 3) else 4, v23_sep=None)


class _Vorbis(_Format):
    genre_keys = ("GENRE",)

    def own_key(self, name: str) -> str:
        return name

    def get(self, tags: Any, key: str) -> list[Any] | None:
        return list(tags[key]) if key in tags else None

    def put(self, tags: Any, key: str, values: list[Any] | None) -> None:
        if values:
            tags[key] = [str(v) for v in values]
        elif key in tags:
            del tags[key]


class _Mp4(_Format):
    genre_keys = ("©gen", "gnre")  # gnre: the old numeric genre atom, cleared when writing ©gen

    def own_key(self, name: str) -> str:
        return MP4_FREEFORM + name

    def get(self, tags: Any, key: str) -> list[Any] | None:
        if key not in tags:
            return None
        if key.startswith("----"):
            return [bytes(v).decode("utf-8", "replace") for v in tags[key]]
        return list(tags[key])

    def put(self, tags: Any, key: str, values: list[Any] | None) -> None:
        from mutagen.mp4 import MP4FreeForm

        if not values:
            tags.pop(key, None)
        elif key.startswith("----"):
            tags[key] = [MP4FreeForm(str(v).encode("utf-8")) for v in values]
        else:
            tags[key] = list(values)


def _open(path: Path) -> tuple[Any, _Format]:
    """The mutagen file object (tags created when the file has none) and its tag system."""
    import mutagen
    from mutagen.aiff import AIFF
    from mutagen.flac import FLAC
    from mutagen.mp3 import MP3
    from mutagen.mp4 import MP4
    from mutagen.oggflac import OggFLAC
    from mutagen.oggopus import OggOpus
    from mutagen.oggvorbis import OggVorbis
    from mutagen.wave import WAVE

    try:
        audio = mutagen.File(path)
    except mutagen.MutagenError as error:
        raise TagError(path, f"its tags cannot be read ({_plain(error)})") from None
    except OSError as error:
        raise TagError(path, f"cannot be read ({error.strerror})") from None
    kind: _Format
    if isinstance(audio, MP3 | WAVE | AIFF):
        kind = _Id3()
    elif isinstance(audio, FLAC | OggVorbis | OggOpus | OggFLAC):
        kind = _Vorbis()
    elif isinstance(audio, MP4):
        kind = _Mp4()
    else:
        what = "not an audio format" if audio is None else f"{type(audio).__name__} files"
        raise TagError(path, f"genre tags cannot be written here ({what}; supported: mp3, flac, "
                             "ogg, opus, m4a, wav, aiff)")  # fmt: skip
    return audio, kind


def _plain(error: Exception) -> str:
    """A mutagen message without its internal class names, first line only."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else "damaged tags"
    return text.rstrip(".")


def read_fields(path: str | Path) -> Values:
    """The raw values of every key genrekit may write, as the file holds them now."""
    return _snapshot(Path(path))[0]


def _snapshot(path: Path) -> tuple[Values, _Format]:
    audio, kind = _open(path)
    if audio.tags is None:
        return {HAS_TAGS: False, **dict.fromkeys(kind.raw_keys())}, kind
    values = {key: kind.get(audio.tags, key) for key in kind.raw_keys()}
    if isinstance(kind, _Id3) and not values["TCON"] and _damaged_genre_frame(path, audio.tags):
        raise TagError(path, "its genre tag is damaged and cannot be read; left alone")
    return {HAS_TAGS: True, **values}, kind


class _DamagedFrame(Exception):
    """A frame mutagen would silently drop as junk (it then reads as absent)."""


def _damaged_genre_frame(path: Path, tags: Any) -> bool:
    """Whether the ID3 tag holds a genre frame that cannot be decoded (a wrong encoding byte,
    say): mutagen drops such frames, and the genre would read as empty — a person's genre that
    a write would replace and an undo would delete."""
    from mutagen.id3 import TCON, Frames
    from mutagen.id3._util import ID3JunkFrameError

    def strict(cls: type, header: Any, flags: int, data: bytes) -> Any:
        try:
            return TCON._fromData(header, flags, data)
        except ID3JunkFrameError:
            raise _DamagedFrame from None

    checked = type("TCON", (TCON,), {"_fromData": classmethod(strict)})
    try:
        type(tags)(path, known_frames={**Frames, "TCON": checked})
    except _DamagedFrame:
        return True
    except Exception:  # anything else was already reported (or not) by the first read
        return False
    return False


def genre_of(values: Values) -> list[str]:
    """The genre a player shows, from raw values (first genre key that has one)."""
    for key, found in values.items():
        if key == HAS_TAGS or key.startswith(("TXXX:", MP4_FREEFORM)) or "GENREKIT" in key:
            continue
        if found:
            return [str(v) for v in found]
    return []


def write_fields(
    path: str | Path,
    values: Values,
    *,
    expect: Values | None = None,
    before_replace: Callable[[Path, Path], None] | None = None,
) -> None:
    """Set the raw ``values`` (None deletes the key) in ``path`` atomically; nothing else changes.

    ``expect``: the values the caller decided on; a file whose values differ now (a person or
    another program changed it since) is left alone with a ``TagError``. ``before_replace(old,
    new)`` runs once the new version is complete on disk and before it replaces the file (the
    journal keeps its undo patch there). A ``TagError`` leaves the file as it was. The file must
    be writable (a read-only file is the owner's wish, even where the folder would allow a
    rename) and have no other hard links (replacing it would split them)."""

    def edit(temporary: Path) -> None:
        if expect is not None and _snapshot(temporary)[0] != expect:
            raise TagError(path, "its tags changed after genrekit read them; left alone")
        _edit(temporary, values)

    _rewrite(Path(path).resolve(), edit, before_replace)


def restore_bytes(path: str | Path, patch: bytes) -> None:
    """Give ``path`` back the exact bytes it had before the write ``patch`` undoes
    (``bytepatch``), through the same atomic, checked rewrite as a tag write."""
    from genrekit.library.tag_undo import PatchError, apply_patch

    def edit(temporary: Path) -> None:
        try:
            temporary.write_bytes(apply_patch(temporary, patch))
        except PatchError as error:
            raise TagError(path, f"{error}; not restored") from None

    _rewrite(Path(path).resolve(), edit, None)


def _rewrite(
    path: Path,
    edit: Callable[[Path], None],
    before_replace: Callable[[Path, Path], None] | None,
) -> None:
    """Copy ``path`` to a hidden file beside it, ``edit`` the copy, fsync it and rename it over
    ``path`` in one step, unless ``path`` changed meanwhile (``path`` is resolved: a link is
    followed, its target rewritten, the link kept)."""
    _check_writable(path)
    clear_leftovers([path.parent], names=[path.name])
    before = path.stat()
    temporary = path.with_name(f".{path.name}.{os.getpid()}{TEMPORARY_MARK}")
    try:
        shutil.copy2(path, temporary)
        edit(temporary)
        _fsync(temporary)
        if before_replace is not None:
            before_replace(path, temporary)
        now = path.stat()
        if (now.st_size, now.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
            raise TagError(path, "changed by something else while being tagged; not changed")
        os.replace(temporary, path)
        _fsync(path.parent)
    except TagError as error:
        raise TagError(path, error.reason) from None
    except OSError as error:
        raise TagError(path, f"cannot be written ({error.strerror}); not changed") from None
    except Exception as error:  # mutagen's own errors on damaged tags
        raise TagError(path, f"its tags cannot be written ({_plain(error)}); not changed") from None
    finally:
        temporary.unlink(missing_ok=True)


def clear_leftovers(
    folders: Iterable[Path], names: Iterable[str] | None = None, *, remove: bool = True
) -> list[Path]:
    """Remove the hidden copies that runs killed mid-write left in ``folders`` (those of live
    processes are another run's work in progress and stay); ``names``: only copies of these
    files. Returns what was removed (or, without ``remove``, what would be)."""
    removed = []
    wanted = None if names is None else set(names)
    for folder in folders:
        try:
            candidates = list(folder.glob(f".*{TEMPORARY_MARK}"))
        except OSError:
            continue
        for leftover in candidates:
            stem, _, pid = leftover.name.removesuffix(TEMPORARY_MARK).rpartition(".")
            if not pid.isdigit() or (wanted is not None and stem[1:] not in wanted):
                continue
            if not process_alive(int(pid)):
                if remove:
                    leftover.unlink(missing_ok=True)
                removed.append(leftover)
    return removed


def _edit(path: Path, values: Values) -> None:
    """Set ``values`` in ``path`` in place (called on the temporary copy only)."""
    audio, kind = _open(path)
    fields = {key: found for key, found in values.items() if key != HAS_TAGS}
    if values.get(HAS_TAGS) is False and not any(fields.values()):
        if audio.tags is not None:
            audio.delete()  # back to no tag block at all, as the file was
        return
    if audio.tags is None:
        audio.add_tags()
    for key, found in fields.items():
        kind.put(audio.tags, key, found)
    kind.save(audio)


def _check_writable(path: Path) -> None:
    if not path.is_file():
        raise TagError(path, "no such file")
    if not os.access(path, os.W_OK) or not path.stat().st_mode & stat.S_IWUSR:
        # The mode bits too: for root, access() says yes to a file its owner marked read-only.
        raise TagError(path, "the file is read-only; not changed")
    if not os.access(path.parent, os.W_OK):
        raise TagError(path, "its folder is read-only; not changed")
    if path.stat().st_nlink > 1:
        raise TagError(path, "the file has other hard links, which a safe rewrite would split")


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def outside_named(path: Path, named: Iterable[Path]) -> Path | None:
    """Where ``path`` really leads when a link takes it outside what the user ``named`` (the
    folders, and the files named as themselves); None when it stays inside. A link inside a
    music folder that points elsewhere would otherwise rewrite a file the user never named."""
    real = path.resolve()
    if real == Path(os.path.abspath(path)):
        return None  # no link on the way
    for name in named:
        if name.is_dir() and real.is_relative_to(name.resolve()):
            return None
        if not name.is_dir() and not name.is_symlink() and real == name.resolve():
            return None
    return real


@dataclass(frozen=True)
class Credits:
    """What a file's own tags say about it: its genre values, artist and title (and its length,
    which its header tells)."""

    genres: list[str]
    artist: str | None
    title: str | None
    seconds: float | None = None
    """Length in s, when the file's header tells it."""

    def named(self, fallback: str) -> str:
        """How a person names the song: "Title — Artist", the title alone, else ``fallback``."""
        if not self.title:
            return fallback
        return f"{self.title} — {self.artist}" if self.artist else self.title


def read_credits(path: str | Path) -> Credits:
    """The genres, artist and title in ``path``'s own tags; empty when it has none or they
    cannot be read (a file with damaged tags may still be good audio). Genres: ID3 ``TCON``
    with ID3v1 codes as names (``(17)`` → ``Rock``) and every value (v2.3 and v2.4), Vorbis
    ``GENRE`` fields (flac, ogg, opus), MP4 ``©gen`` and the old numeric ``gnre``, and the ID3
    chunk of WAV and AIFF."""
    import mutagen
    from mutagen.id3 import ID3
    from mutagen.mp4 import MP4Tags

    try:
        audio = mutagen.File(path)
    except Exception:  # unreadable tags are no tags
        return Credits([], None, None)
    seconds = getattr(getattr(audio, "info", None), "length", None) or None
    tags = getattr(audio, "tags", None)
    if tags is None:
        return Credits([], None, None, seconds)
    if isinstance(tags, ID3):
        genres = [str(g) for frame in tags.getall("TCON") for g in frame.genres]
        artist, title = _id3_text(tags, "TPE1"), _id3_text(tags, "TIT2")
    elif isinstance(tags, MP4Tags):
        from mutagen._constants import GENRES

        codes = [int(n) for n in tags.get("gnre", []) if 0 < int(n) <= len(GENRES)]
        genres = [str(g) for g in tags.get("\xa9gen", [])] + [GENRES[n - 1] for n in codes]
        artist, title = _first_text(tags.get("\xa9ART")), _first_text(tags.get("\xa9nam"))
    else:
        genres = [str(g) for g in _vorbis(tags, "genre")]
        artist = _first_text(_vorbis(tags, "artist"))
        title = _first_text(_vorbis(tags, "title"))
    cleaned = [str(g).strip(" /") for g in genres]  # "(17)/Pop" in v2.3 reads as Rock, /Pop
    return Credits([g for g in cleaned if g], artist, title, seconds)


def _id3_text(tags: Any, frame: str) -> str | None:
    return _first_text([str(text) for found in tags.getall(frame) for text in found.text])


def _vorbis(tags: Any, key: str) -> list[str]:
    try:
        return list(tags[key])
    except (KeyError, ValueError, TypeError):
        return []


def _first_text(values: Any) -> str | None:
    return str(values[0]).strip() or None if values else None


# --- planning --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """What ``plan`` writes and when it leaves a file alone."""

    overwrite: bool = False
    """Replace a genre that a person set (one genrekit did not write)."""
    min_confidence: float = 0.0
    """Write only verdicts at least this confident (0–1)."""
    styles: bool = False
    """Add the genre's styles as further genre values, and every shown tag to GENREKIT_STYLES."""


def decide(
    path: str | Path,
    verdict: Verdict,
    options: Options,
    current: list[str],
    written: list[str] | None,
) -> list[str]:
    """The genre values to write for ``verdict``, given the ``current`` genre and the one
    genrekit ``written`` there last (None if never); ``TagSkip`` when the file is left alone:
    unknown, not confident enough, or a genre a person set (kept unless ``overwrite``).
    The one rulebook for ``tag-files`` and the beets plugin."""
    if not verdict.known:
        raise TagSkip(path, "unknown — not one of the genres the model knows")
    if verdict.confidence < options.min_confidence:
        raise TagSkip(path, f"confidence {verdict.confidence:.0%} is under the minimum "
                            f"confidence {options.min_confidence:.0%}")  # fmt: skip
    if current and written != current and not options.overwrite:
        raise TagSkip(path, f"genre {'; '.join(current)!r} was set by a person "
                            "(overwrite replaces it)")  # fmt: skip
    genre = [display_genre(verdict.label)]
    if options.styles:
        genre += [s for s in verdict.genre_styles if s.lower() != verdict.label.lower()]
    return genre


def plan(path: Path, verdict: Verdict, options: Options) -> Change | None:
    """The change that tagging ``path`` with ``verdict`` makes; None when it already carries it.

    Raises ``TagSkip`` for files left alone (``decide``) and ``TagError`` for files whose tags
    cannot be read."""
    before, kind = _snapshot(path)
    old_genre = genre_of(before)
    new_genre = decide(path, verdict, options, old_genre, before[kind.own_key("GENREKIT_GENRE")])
    after: Values = {HAS_TAGS: True, **dict.fromkeys(kind.raw_keys())}
    after[kind.genre_keys[0]] = new_genre
    after[kind.own_key("GENREKIT_GENRE")] = new_genre
    after[kind.own_key("GENREKIT_MODEL")] = [verdict.model]
    after[kind.own_key("GENREKIT_CONFIDENCE")] = [f"{verdict.confidence:.3f}"]
    after[kind.own_key("GENREKIT_STYLES")] = list(verdict.styles) if options.styles else None
    if after == before:
        return None
    return Change(path, before, after, old_genre, new_genre, verdict.confidence)


# --- the journal -----------------------------------------------------------------------------

_JOURNAL_SCHEMA = """
CREATE TABLE IF NOT EXISTS tag_runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    model TEXT NOT NULL,
    undone_at TEXT
);
CREATE TABLE IF NOT EXISTS tag_changes (
    run INTEGER NOT NULL REFERENCES tag_runs (id),
    path TEXT NOT NULL,
    before TEXT NOT NULL,
    after TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'written', 'failed', 'restored')),
    PRIMARY KEY (run, path)
);
"""
_PATCH_COLUMN = "ALTER TABLE tag_changes ADD COLUMN undo_patch BLOB"
"""Journals made before byte-exact undo get the column that holds each file's undo patch."""


def journal_path() -> Path:
    """Where runs without a catalog keep their journal (``$XDG_DATA_HOME/genrekit``)."""
    home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(home) / "genrekit" / "tag-journal.sqlite"


def open_journal(db: str | Path | None) -> sqlite3.Connection:
    """The journal tables in ``db`` (a catalog), or in ``journal_path()``; created if needed."""
    if db is None:
        path = journal_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=30.0)
        connection.text_factory = name_text
    else:
        from genrekit.library.store import open_catalog

        connection = open_catalog(db)
    with connection:
        connection.executescript(_JOURNAL_SCHEMA)
        columns = {row[1] for row in connection.execute("PRAGMA table_info(tag_changes)")}
        if "undo_patch" not in columns:
            connection.execute(_PATCH_COLUMN)
    return connection


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def start_run(connection: sqlite3.Connection, model: str) -> int:
    """A new run in the journal; its number is this run's own, whatever runs beside it."""
    with connection:
        run = connection.execute(
            "INSERT INTO tag_runs (started_at, model) VALUES (?, ?)", (_now(), model)
        ).lastrowid
    assert run is not None
    return run


def apply(
    connection: sqlite3.Connection, run: int, changes: list[Change]
) -> Iterator[tuple[Change, TagError | None]]:
    """Write ``changes`` as journaled run ``run`` (``start_run``), yielding each change with its
    error (None when written). Each file's old values are committed to the journal before the
    file is touched, and the patch that gives back its exact old bytes before the new version
    replaces it, so an interrupted run can always be undone. A file whose tags changed since
    they were planned is left alone. When the journal is a catalog, its record of each file
    follows the new bytes (``record_new_file``)."""
    for change in changes:
        with connection:
            connection.execute(
                "INSERT INTO tag_changes (run, path, before, after, state) "
                "VALUES (?, CAST(? AS TEXT), ?, ?, 'pending')",
                (run, name_bytes(change.path), json.dumps(change.before), json.dumps(change.after)),
            )

        def keep_patch(old: Path, new: Path, path: Path = change.path) -> None:
            from genrekit.library.tag_undo import reverse_patch

            with connection:
                connection.execute(
                    "UPDATE tag_changes SET undo_patch = ? WHERE run = ? "
                    "AND path = CAST(? AS TEXT)",
                    (reverse_patch(old, new), run, name_bytes(path)),
                )

        try:
            write_fields(change.path, change.after, expect=change.before, before_replace=keep_patch)
            record_new_file(connection, change.path)
        except TagError as error:
            _set_state(connection, run, change.path, "failed")
            yield change, error
            continue
        _set_state(connection, run, change.path, "written")
        yield change, None


def _set_state(connection: sqlite3.Connection, run: int | None, path: Path, state: str) -> None:
    with connection:
        connection.execute(
            "UPDATE tag_changes SET state = ? WHERE run = ? AND path = CAST(? AS TEXT)",
            (state, run, name_bytes(path)),
        )


def last_run(connection: sqlite3.Connection, *, undone: bool = False) -> int | None:
    """The newest run (not yet undone, unless ``undone``), or None."""
    condition = "" if undone else "WHERE undone_at IS NULL"
    row = connection.execute(f"SELECT max(id) FROM tag_runs {condition}").fetchone()
    return row[0]


@dataclass(frozen=True)
class Restore:
    """One file of an undo: its values now and the values it gets back."""

    path: Path
    now: Values
    before: Values
    new_genre: list[str]
    old_genre: list[str]
    patch: bytes | None = None
    """The patch that gives back the file's exact old bytes (None: values only)."""


def plan_undo(connection: sqlite3.Connection, run: int | None) -> tuple[int, list[Restore]]:
    """The files run ``run`` (default: the newest not undone) changed, with what they get back.

    A file whose fields are no longer what the run wrote (edited since, or never written because
    the run was killed first) raises no error here: ``TagError`` per file comes from ``undo``."""
    run = run if run is not None else last_run(connection)
    if run is None:
        raise ConfigError("no tagging run to undo")
    found = connection.execute("SELECT undone_at FROM tag_runs WHERE id = ?", (run,)).fetchone()
    if found is None:
        raise ConfigError(f"no tagging run {run} in the journal")
    if found[0] is not None:
        raise ConfigError(f"run {run} was already undone at {found[0]}")
    rows = connection.execute(
        "SELECT path, before, after, undo_patch FROM tag_changes WHERE run = ? AND state IN "
        "('pending', 'written') ORDER BY rowid",
        (run,),
    ).fetchall()
    restores = []
    for path, before_text, after_text, patch in rows:
        before, after = json.loads(before_text), json.loads(after_text)
        restores.append(
            Restore(Path(path), after, before, genre_of(after), genre_of(before), patch)
        )
    return run, restores


def undo(
    connection: sqlite3.Connection, run: int, restores: list[Restore]
) -> Iterator[tuple[Restore, TagError | None]]:
    """Put back what ``run`` replaced, file by file: the exact old bytes when the file is still
    exactly as the run left it, else the old values when its fields are; a file whose fields
    were edited since keeps its edits (undo never removes a value it did not write)."""
    for restore in restores:
        try:
            _restore(restore)
            record_new_file(connection, restore.path)
        except TagError as error:
            yield restore, error
            continue
        _set_state(connection, run, restore.path, "restored")
        yield restore, None
    with connection:
        connection.execute("UPDATE tag_runs SET undone_at = ? WHERE id = ?", (_now(), run))


def _restore(restore: Restore) -> None:
    from genrekit.integrity import file_sha256
    from genrekit.library.tag_undo import new_sha256

    path = restore.path.resolve()
    try:
        exact = restore.patch is not None and file_sha256(path) == new_sha256(restore.patch)
    except OSError as error:
        raise TagError(path, f"cannot be read ({error.strerror})") from None
    if exact:
        assert restore.patch is not None
        restore_bytes(path, restore.patch)
        return
    current = read_fields(path)
    if current == restore.before:
        return  # the run never got to this file (killed first): nothing to put back
    if current != restore.now:
        raise TagError(path, "its tags changed since genrekit wrote them; not restored")
    write_fields(path, restore.before, expect=restore.now)


def runs(connection: sqlite3.Connection) -> list[tuple[int, str, str, str | None, int]]:
    """Every run: id, started, model, undone at (or None), files written."""
    return connection.execute(
        "SELECT r.id, r.started_at, r.model, r.undone_at, "
        "(SELECT count(*) FROM tag_changes c WHERE c.run = r.id AND c.state != 'failed') "
        "FROM tag_runs r ORDER BY r.id"
    ).fetchall()


# --- where verdicts come from ----------------------------------------------------------------


def verdict_of(prediction: Any) -> Verdict:
    """A ``genrekit.predict.Prediction`` as a tagging verdict."""
    found = [(parent, s.tag) for parent, styles in prediction.styles.items() for s in styles]
    return _verdict(
        prediction.label, prediction.confidence, prediction.known, prediction.model, found
    )


def _verdict(
    label: str, confidence: float, known: bool, model: str, found: list[tuple[str, str]]
) -> Verdict:
    """Styles of a parent genre that may honestly go with ``label`` (styles.toml's ``related``)
    become genre styles; other tags (moods, eras, unrelated genres' styles) are kept apart."""
    from genrekit.styles import hierarchy

    related = {
        genre.get("label", key)
        for key, genre in hierarchy()["genre"].items()
        if label in genre.get("related", ())
    }
    names = [(parent, display_genre(tag)) for parent, tag in found]
    genre_styles = tuple(dict.fromkeys(t for p, t in names if p in related))
    others = tuple(dict.fromkeys(t for p, t in names if p not in related))
    return Verdict(label, confidence, known, model, genre_styles + others, genre_styles)


def catalog_verdicts(
    connection: sqlite3.Connection, paths: list[Path], classifier: Any = None
) -> Iterator[tuple[Path, Verdict | TagError]]:
    """Each file's verdict from the catalog, or why there is none: not indexed, failed to
    analyse, or changed since it was analysed. The content hash decides, not size and time: a
    same-size file put in place with the old time is other audio, and another song's genre
    must not be written onto it. With a ``classifier`` (a personal model on the same
    embeddings), the verdict is its judgement of the stored embedding (no audio decoded), by
    its narrow-band head where it has one and the track was heard as narrow-band when indexed;
    without, the catalog's own."""
    from genrekit.integrity import file_sha256

    model = connection.execute("SELECT value FROM meta WHERE key = 'model'").fetchone()
    model_id = model[0].split("/")[0] if model else "unknown model"
    if classifier is not None and model and model[0].split("/")[-1] != classifier.spec.name:
        raise ConfigError(
            f"the catalog was indexed with {model[0]}, whose embeddings "
            f"{classifier.bundle.model_id} cannot read; tag without --db, or index again"
        )
    for path in paths:
        path = path.resolve()
        row = connection.execute(
            "SELECT status, size, sha256, genre, confidence, known, styles, error, embedding, "
            "duration, narrow_band FROM tracks WHERE path = CAST(? AS TEXT)",
            (name_bytes(path),),
        ).fetchone()
        if row is None:
            yield path, TagError(path, "not in the catalog (run genrekit index on it first)")
            continue
        status, size, sha256, genre, confidence, known, styles, error, blob, duration, narrow = row
        if status != "ok":
            yield path, TagError(path, f"was not analysed: {error}")
            continue
        try:
            changed = path.stat().st_size != size or file_sha256(path) != sha256
        except OSError as failure:
            yield path, TagError(path, f"cannot be read ({failure.strerror})")
            continue
        if changed:
            yield path, TagError(path, "changed since it was analysed (run genrekit index again)")
            continue
        if classifier is not None:
            embedding = np.frombuffer(blob, np.float32)
            judged = classifier.judge_embedding(
                embedding, str(path), duration, narrow_band=bool(narrow)
            )
            yield path, verdict_of(judged)
            continue
        found = [(p, tag) for p, tags in json.loads(styles or "{}").items() for tag in tags]
        known_track = known is None or bool(known)
        yield path, _verdict(genre, confidence or 0.0, known_track, model_id, found)


def record_new_file(connection: sqlite3.Connection, path: Path) -> None:
    """After a tag write, a catalog's size, time and hash of ``path`` follow the file (its
    audio, and so its analysis, is unchanged), so the next index run does not redo it; nothing
    when the journal is not a catalog."""
    from genrekit.integrity import file_sha256

    catalog = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tracks'"
    ).fetchone()
    if catalog is None:
        return
    info = path.stat()
    with connection:
        connection.execute(
            "UPDATE tracks SET size = ?, mtime = ?, sha256 = ? WHERE path = CAST(? AS TEXT)",
            (info.st_size, info.st_mtime, file_sha256(path), name_bytes(path)),
        )
