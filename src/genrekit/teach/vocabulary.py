"""Genre tags as people write them, made into labels a model can learn.

A library's genre tags are messy: ``Hip-Hop``, ``hip hop`` and ``HipHop`` are one genre; ID3v1
codes (``(17)``) name genres by number; a song may carry several values (``Rock; Pop``); some
values say nothing (``Other``, ``Unknown``, ``genre``, empty, a 10 kB string). ``Vocabulary``
turns every song's values into one label (its first value that means a genre), folds sub-genres
into the parent genre ``styles.toml`` files them under (``classic rock`` → ``rock``) unless asked
not to, applies the user's own merges (``--map``), and sets aside labels with too few songs or
artists to learn from, saying why. ``Vocabulary.describe`` says what was merged, kept and set
aside.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from genrekit.errors import ConfigError

MAX_VALUE_LENGTH = 64
"""Characters a genre value may have; longer ones are notes or junk, not a genre."""
JUNK = frozenset(
    {"", "other", "others", "unknown", "genre", "none", "misc", "miscellaneous", "various",
     "unclassifiable", "undefined", "default", "na", "null", "music", "blank", "nogenre"}
)  # fmt: skip
"""Keys of values that name no genre."""
ALIASES = {
    "rap": "hiphop",
    "hiphoprap": "hiphop",
    "raphiphop": "hiphop",
    "rnb": "r&b",
    "rb": "r&b",
    "rhythmandblues": "r&b",
    "randb": "r&b",
    "electronica": "electronic",
    "electro": "electronic",
    "edm": "electronic",
    "heavymetal": "metal",
}
"""Keys that spell a genre another way (applied before sub-genres are folded)."""
KNOWN_GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop",
                "reggae", "rock")  # fmt: skip
"""The default model's genres: a value meaning one of them takes its name (``Hip Hop`` →
``hiphop``), so the two can be compared and combined."""
SPLIT = re.compile(r"\s*(?:;|\x00|\||/|,)\s*")
"""What separates several genres written in one value."""
MIN_SONGS = 5
"""Songs a label needs to be learned (fewer are set aside)."""
MIN_ARTISTS = 2
"""Artists a label needs (one artist's songs teach that artist, not the genre)."""
LENT_MIN_SONGS = 2
"""Songs a genre needs when the default model lends its judgement of it (``lent``), of any
artists: the default already knows the genre, so a few examples steer it rather than define it.
Chosen on the taffc library simulation (benchmarks/library_teaches.py, BENCHMARKS.md): with
5 songs by 2 artists, thin genres were set aside in 6 of 10 artist halves and their songs could
only be missed (personal + prior 0.660); with 2 songs 0.785, with 3 0.775, with 1 as with 2."""


def key(value: str) -> str:
    """What spellings of one genre share: lower case, letters (of any script), digits and
    ``&`` only (``Hip-Hop``, ``hip hop`` and ``HipHop`` → ``hiphop``; ``歌謡曲`` stays)."""
    return "".join(ch for ch in value.casefold() if ch.isalnum() or ch == "&")


def _id3v1_name(value: str) -> str:
    """An ID3v1 genre code (``17`` or ``(17)``) as its name (``Rock``); other values as they
    are."""
    from mutagen._constants import GENRES  # the ID3v1 list mutagen decodes TCON codes with

    code = re.fullmatch(r"\(?(\d{1,3})\)?", value)
    if code and int(code.group(1)) < len(GENRES):
        return str(GENRES[int(code.group(1))])
    return value


def split_values(values: Iterable[str]) -> list[str]:
    """Every genre a song's raw values hold, in order (``Rock; Pop`` → ``Rock``, ``Pop``)."""
    found = []
    for value in values:
        found += [part for part in SPLIT.split(str(value)) if part.strip()]
    return found


@functools.cache
def _parents() -> dict[str, str]:
    """Sub-genre key → parent label, from ``styles.toml`` (``MSD:classic rock`` is filed under
    ``rock``); a group's own name and the default's genres are parents, never folded."""
    from genrekit.styles import hierarchy

    parents: dict[str, str] = {}
    for name, group in hierarchy()["genre"].items():
        parent = group.get("label", name)
        for tag in group.get("tags", ()):
            child = key(tag.split(":", 1)[-1])
            if child not in KNOWN_GENRES and child != key(parent):
                parents.setdefault(child, parent)
    return parents


def load_map(path: str | Path) -> dict[str, str]:
    """The user's merges from a TOML file: ``"Rap" = "hiphop"`` lines (any spelling on the left)
    under a ``[map]`` table, or at the top level."""
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ConfigError(f"{path}: cannot read the genre map ({reason})") from None
    table = raw.get("map", raw)
    if not all(isinstance(v, str) for v in table.values()):
        raise ConfigError(f'{path}: write each merge as "spelling" = "label" (strings)')
    return {key(k): v.strip() for k, v in table.items()}


@dataclass
class Vocabulary:
    """Labels from songs' raw genre values (``label_songs``), and the account of how."""

    keep_subgenres: bool = False
    merges: dict[str, str] = field(default_factory=dict)
    """The user's ``--map``: key of a spelling → label."""
    min_songs: int = MIN_SONGS
    min_artists: int = MIN_ARTISTS
    spellings: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    """Label → the raw spellings that became it, with counts."""
    dropped: Counter[str] = field(default_factory=Counter)
    """Raw values that name no genre, with counts."""
    set_aside: dict[str, str] = field(default_factory=dict)
    """Label → why it is not learned."""
    kept: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Label → (songs, artists)."""
    lent: frozenset[str] = frozenset()
    """Genres the default model lends its judgement of (``teach``'s prior): they need only
    ``LENT_MIN_SONGS`` songs, of any artists."""
    named: dict[str, str] = field(default_factory=dict)
    """Key of a genre the default does not know → its label (``Chip-Tune``, ``chiptune`` →
    the first met, lower-cased)."""

    def label_of(self, values: Sequence[str]) -> str | None:
        """The first of a song's values that names a genre, as a label (None: none does)."""
        parents = _parents()
        for value in split_values(values):
            text = _id3v1_name(value.strip())
            found = key(text)
            if len(text) > MAX_VALUE_LENGTH or found in JUNK or not found:
                self.dropped[text[:MAX_VALUE_LENGTH]] += 1
                continue
            if found in self.merges:
                label = self.merges[found]
            else:
                found = ALIASES.get(found, found)
                if found in KNOWN_GENRES:
                    label = found
                elif not self.keep_subgenres and found in parents:
                    label = parents[found]
                else:  # one label per key: the first spelling met names it
                    label = self.named.setdefault(found, text.casefold())
            self.spellings[label][text] += 1
            return label
        return None

    def label_songs(self, songs: Sequence[tuple[Sequence[str], str | None]]) -> list[str | None]:
        """One label per song (``(raw genre values, artist)``), None for songs whose values name
        no genre or whose label is set aside (too few songs or artists)."""
        labels = [self.label_of(values) for values, _ in songs]
        songs_of: Counter[str] = Counter(label for label in labels if label is not None)
        artists_of: dict[str, set[str]] = defaultdict(set)
        for label, (_, artist) in zip(labels, songs, strict=True):
            if label is not None and artist:
                artists_of[label].add(artist.casefold())
        for label, count in songs_of.items():
            artists = len(artists_of[label])
            needed = LENT_MIN_SONGS if label in self.lent else self.min_songs
            if count < needed:
                self.set_aside[label] = f"{count} song(s); at least {needed} are needed"
            elif label in self.lent:
                self.kept[label] = (count, artists)
            elif artists and artists < self.min_artists:
                self.set_aside[label] = (
                    f"one artist only ({next(iter(artists_of[label]))}): it would learn the "
                    "artist, not the genre"
                )
            else:
                self.kept[label] = (count, artists)
        return [label if label in self.kept else None for label in labels]

    def describe(self, limit: int = 12) -> list[str]:
        """Plain lines: what was merged, kept and set aside, and why."""
        lines = []
        for label in sorted(self.kept, key=lambda name: -self.kept[name][0]):
            songs, artists = self.kept[label]
            spellings = self.spellings[label]
            merged = f" (from {_listed(spellings, limit)})" if len(spellings) > 1 else ""
            by = f", {artists} artists" if artists else ""
            thin = songs < self.min_songs or (artists and artists < self.min_artists)
            lent = " (few: the default model's judgement of it helps)" if thin else ""
            lines.append(f"learned: {label}: {songs} songs{by}{merged}{lent}")
        aside = sorted(self.set_aside.items())
        lines += [f"set aside: {label}: {reason}" for label, reason in aside[:limit]]
        if len(aside) > limit:
            lines.append(f"set aside: {len(aside) - limit} more labels with too few songs")
        if self.dropped:
            lines.append(f"ignored values (no genre): {_listed(self.dropped, limit)}")
        return lines


def _listed(counts: Counter[str], limit: int) -> str:
    shown = [f"{value or '(empty)'!r} ×{n}" for value, n in counts.most_common(limit)]
    more = len(counts) - limit
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")
