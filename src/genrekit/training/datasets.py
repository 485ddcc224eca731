"""Labelled collections of music: GTZAN folders, folder-per-label trees and Kaggle-format tables.

Every ``Item`` carries a ``track`` id (windows and segments of one recording share it) and an
optional ``group`` (e.g. artist). Splits in ``genrekit.training.splits`` keep tracks, or groups,
whole.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genrekit.audio import SAMPLE_RATE
from genrekit.errors import ConfigError

AUDIO_EXTENSIONS = frozenset(
    [
        ".wav",
        ".wave",
        ".au",
        ".snd",
        ".aif",
        ".aiff",
        ".aifc",
        ".flac",
        ".ogg",
        ".oga",
        ".opus",
        ".mp3",
        ".m4a",
        ".aac",
        ".mp4",
        ".wma",
        ".webm",
        ".caf",
    ]
)
_GTZAN_SUBFOLDERS = ("genres_original", "genres")
_SEGMENT_SUFFIX = re.compile(r"^(?P<track>.+)\.(?P<n>\d+)$")
_LONGEST_SEGMENT_SAMPLES = 10 * SAMPLE_RATE


@dataclass(frozen=True)
class Item:
    """One example: a whole file, or one row of a features table."""

    id: str
    label: str | None
    track: str
    path: Path | None = None
    group: str | None = None
    augmented: bool = False
    """A degraded copy made for training (``[augment] copies``): trained on, never scored."""


@dataclass
class Dataset:
    """Items plus, for tables, their precomputed feature matrix (rows aligned with items)."""

    items: list[Item]
    source: str
    features: np.ndarray | None = None
    feature_names: tuple[str, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def labels(self) -> list[str]:
        """Sorted distinct labels (unlabelled items excluded)."""
        return sorted({item.label for item in self.items if item.label})

    @property
    def y(self) -> np.ndarray:
        return np.array([item.label or "" for item in self.items])

    @property
    def tracks(self) -> np.ndarray:
        return np.array([item.track for item in self.items])

    @property
    def paths(self) -> list[Path]:
        """The audio file of every item (an audio dataset; table rows have none)."""
        missing = [item.id for item in self.items if item.path is None]
        if missing:
            raise ConfigError(f"{self.source}: no audio file for {', '.join(missing[:3])}")
        return [item.path for item in self.items if item.path is not None]

    @property
    def matrix(self) -> np.ndarray:
        """The feature matrix, which training needs (an audio dataset has one once featurized)."""
        if self.features is None:
            raise ConfigError(f"{self.source}: features were not extracted")
        return self.features

    @property
    def augmented(self) -> np.ndarray:
        """True for rows that are training-only degraded copies."""
        return np.array([item.augmented for item in self.items], dtype=bool)

    @property
    def groups(self) -> np.ndarray | None:
        """Group ids, when every item has one."""
        if all(item.group for item in self.items):
            return np.array([item.group for item in self.items])
        return None

    def class_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(item.label for item in self.items if item.label).items()))

    def subset(self, indices: np.ndarray) -> Dataset:
        return Dataset(
            [self.items[i] for i in indices],
            self.source,
            None if self.features is None else self.features[indices],
            self.feature_names,
        )

    def fingerprint(self) -> str:
        """SHA-256 over ids, labels, groups and feature values: names the exact training data."""
        digest = hashlib.sha256()
        for item in self.items:
            digest.update(f"{item.id}\t{item.label}\t{item.group}\n".encode())
        if self.features is not None:
            digest.update(np.ascontiguousarray(self.features, dtype=np.float64).tobytes())
        return digest.hexdigest()

    def describe(self) -> dict[str, object]:
        """What a bundle manifest records about its training data."""
        return {
            "source": self.source,
            "items": len(self),
            "tracks": len(set(self.tracks)),
            "class_counts": self.class_counts(),
            "fingerprint_sha256": self.fingerprint(),
        }


def clip_id(name: str) -> str:
    """``blues.00000.wav`` → ``blues.00000``; names without an audio extension stay as they are."""
    path = Path(name)
    return path.stem if path.suffix.lower() in AUDIO_EXTENSIONS else path.name


def load_dataset(
    source: str | Path, *, groups: str | Path | None = None, segments: bool | None = None
) -> Dataset:
    """A dataset from a features table (``.csv``/``.parquet``) or an audio folder.

    ``groups`` names a CSV with ``id,group`` columns (e.g. artists) for group-level splits.
    """
    source = Path(source)
    if source.is_dir():
        dataset = from_audio_folder(source)
    elif source.suffix in (".csv", ".parquet"):
        dataset = from_features_table(source, segments=segments)
    elif not source.exists():
        raise ConfigError(f"{source}: no such file or folder")
    else:
        raise ConfigError(f"{source}: expected an audio folder or a .csv/.parquet features table")
    if groups is not None:
        dataset = with_groups(dataset, groups)
    return dataset


def _segment_track(segment_id: str) -> str:
    """``blues.00000.3`` → ``blues.00000`` (the id itself when it has no segment suffix)."""
    match = _SEGMENT_SUFFIX.match(segment_id)
    return match["track"] if match else segment_id


def label_root(root: Path) -> Path:
    """The folder whose subfolders are the labels.

    Handles GTZAN's layouts: ``genres/<g>/*.au``, ``genres_original/<g>/*.wav`` (also inside the
    Kaggle ``Data/`` folder) and plain ``<g>/*.flac``.
    """
    for name in _GTZAN_SUBFOLDERS:
        if (root / name).is_dir():
            return root / name
    return root


def audio_files(folder: Path) -> list[Path]:
    """Audio files below ``folder`` (by extension), sorted."""
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS
    )


def from_audio_folder(root: str | Path) -> Dataset:
    """Items from audio files; the label is the first folder level under the label root.

    Files directly in the root are unlabelled. Ids are file stems (``blues.00000``), made unique by
    their relative path when two files share a stem.
    """
    root = Path(root)
    base = label_root(root)
    files = audio_files(base)
    if not files:
        raise ConfigError(f"{root}: no audio files found")
    stems = Counter(p.stem for p in files)
    items = []
    for path in files:
        relative = path.relative_to(base)
        label = relative.parts[0] if len(relative.parts) > 1 else None
        item_id = path.stem if stems[path.stem] == 1 else relative.with_suffix("").as_posix()
        items.append(Item(item_id, label, item_id, path))
    return Dataset(items, str(root))


def from_features_table(path: str | Path, *, segments: bool | None = None) -> Dataset:
    """Items from a Kaggle-format features table (``filename, length, <features>, label``).

    Segment tables (``blues.00000.3.wav`` rows) are recognised by their segment-length ``length``
    column and ``.<n>`` name suffix, unless ``segments`` says which it is; their rows share the
    track id ``blues.00000``. A ``group`` or ``artist`` column, when present, gives groups.
    """
    from genrekit.features import feature_set

    path = Path(path)
    import pandas as pd  # here: listing audio files must not pay for pandas

    table = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    missing = {"filename", "label"} - set(table.columns)
    columns = feature_set("gtzan57").columns
    missing |= set(columns) - set(table.columns)
    if missing:
        raise ConfigError(f"{path}: not a GTZAN-format table; missing {sorted(missing)[:5]}")
    ids = [clip_id(name) for name in table["filename"].astype(str)]
    if segments is None:
        segments = bool(
            "length" in table.columns
            and table["length"].median() <= _LONGEST_SEGMENT_SAMPLES
            and all(_SEGMENT_SUFFIX.match(i) for i in ids)
        )
    tracks = [_segment_track(i) if segments else i for i in ids]
    group_column = next((c for c in ("group", "artist") if c in table.columns), None)
    labels = table["label"].astype(str).tolist()
    groups = table[group_column].astype(str).tolist() if group_column else [None] * len(ids)
    items = [
        Item(i, label or None, track, None, group)
        for i, label, track, group in zip(ids, labels, tracks, groups)
    ]
    features = table[list(columns)].to_numpy(dtype=np.float64)
    if not np.isfinite(features).all():
        raise ConfigError(f"{path}: the table holds missing or infinite feature values")
    return Dataset(items, str(path), features, columns)


def with_groups(dataset: Dataset, groups_csv: str | Path) -> Dataset:
    """Attach groups from a CSV with ``id`` (or ``track``, ``filename``, ``file``) and ``group``
    (or ``artist``) columns."""
    import pandas as pd  # here: listing audio files must not pay for pandas

    table = pd.read_csv(groups_csv, dtype=str)
    key = next((c for c in ("id", "track", "filename", "file") if c in table.columns), None)
    value = next((c for c in ("group", "artist") if c in table.columns), None)
    if key is None or value is None:
        raise ConfigError(f"{groups_csv}: needs an id/track column and a group/artist column")
    mapping = {clip_id(k): v for k, v in zip(table[key], table[value])}
    missing = sorted({item.track for item in dataset.items} - set(mapping))
    if missing:
        raise ConfigError(f"{groups_csv}: no group for {len(missing)} tracks, e.g. {missing[:3]}")
    items = [Item(i.id, i.label, i.track, i.path, mapping[i.track]) for i in dataset.items]
    return Dataset(items, dataset.source, dataset.features, dataset.feature_names)


def joined(first: Dataset, others: list[Dataset]) -> Dataset:
    """One dataset of several labelled collections, in ``first``'s genres: the others' songs in
    genres ``first`` does not have are left out, and the source says how many. Groups (artists)
    keep their names, so an artist in two collections stays one group; a track id found in two
    collections is refused (its folds could not be told apart)."""
    if not others:
        return first
    if any(d.features is not None for d in (first, *others)):
        raise ConfigError(f"{first.source}: more collections can join audio folders only")
    genres = set(first.labels)
    items, parts, seen = list(first.items), [first.source], set(first.tracks)
    for other in others:
        kept = [item for item in other.items if item.label in genres]
        twice = sorted({item.track for item in kept} & seen)
        if twice:
            raise ConfigError(f"{other.source}: track ids also in another collection, e.g. "
                              f"{', '.join(twice[:3])}")  # fmt: skip
        seen |= {item.track for item in kept}
        items += kept
        left = len(other) - len(kept)
        parts.append(other.source + (f" ({left} outside these genres left out)" if left else ""))
    return Dataset(items, JOINED.join(parts))


JOINED = " + "
"""How ``joined`` writes several collections' sources into one."""


def collection_names(source: str) -> str:
    """The folder or table names of a dataset's source (``gtzan + taffc`` for a joined one), for
    one-line summaries."""
    return JOINED.join(Path(part.split(" (")[0]).name for part in source.split(JOINED))


def read_label_map(path: str | Path) -> dict[str, str]:
    """A mapping file: CSV with ``label,group`` rows (e.g. ``metal,electric`` for coarse groups,
    or ``jazz,jazz`` plus ``*,other`` for one-vs-rest: ``*`` maps every other label)."""
    import pandas as pd  # here: listing audio files must not pay for pandas

    table = pd.read_csv(path, dtype=str)
    if list(table.columns[:2]) != ["label", "group"]:
        raise ConfigError(f"{path}: a label map needs the columns label,group")
    return dict(zip(table["label"].str.strip(), table["group"].str.strip()))


def map_label(label: str, mapping: dict[str, str], source: str | Path = "label map") -> str:
    if label in mapping:
        return mapping[label]
    if "*" in mapping:
        return mapping["*"]
    raise ConfigError(f"{source}: no group for label {str(label)!r}")


def with_label_map(dataset: Dataset, path: str | Path) -> Dataset:
    """The dataset with every label replaced by its group from the mapping file."""
    mapping = read_label_map(path)
    items = [
        Item(i.id, map_label(i.label, mapping, path) if i.label else None, i.track, i.path, i.group)
        for i in dataset.items
    ]
    return Dataset(items, dataset.source, dataset.features, dataset.feature_names)
