"""Experiment configs: one TOML file holds every hyper-parameter of a run.

``{data}`` expands to ``$GENREKIT_DATA`` (default ``../shared/data``); relative paths are relative
to the config file; unknown sections and keys are refused with the valid names::

    name = "gtzan57-svm"
    [data]
    path = "{data}/gtzan_features_30_sec.csv"   # or an audio folder
    groups = "{data}/gtzan_artists.csv"          # the artist of every clip
    [[data.also]]                                # optional: more labelled collections
    path = "{data}/taffc"
    groups = "{data}/taffc/manifest.csv"
    [protocol]
    kind = "group"       # group | track | segment-random
    folds = 10
    inner_folds = 3
    seed = 0
    [model]
    name = "svm"         # knn | logreg | lda | random_forest | svm | gradient_boosting | mlp | nets
    pca = 0.95           # optional
    [model.params]
    C = 10
    [grid]
    C = [1, 10, 100]
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from genrekit.errors import ConfigError
from genrekit.features import RepresentationSpec
from genrekit.novelty import DEFAULT_KEEP_SHARE
from genrekit.paths import data_dir
from genrekit.training.splits import PROTOCOLS, Protocol


@dataclass
class ExperimentConfig:
    """Everything that defines one training run."""

    name: str
    data: Path
    model: str
    description: str = ""
    groups: Path | None = None
    also: list[tuple[Path, Path | None]] = field(default_factory=list)
    """Further labelled collections trained on beside ``data``: (path, groups) each; their songs
    in genres ``data`` does not have are left out (``training.datasets.joined``)."""
    label_map: Path | None = None
    """A ``label,group`` CSV: train and evaluate on coarse groups or one-vs-rest tasks."""
    representation: RepresentationSpec = field(default_factory=RepresentationSpec)
    protocol: Protocol = "track"
    folds: int = 10
    inner_folds: int = 3
    seed: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    pca: float | int | None = None
    pca_block: str | None = None
    """Prefix of a block of columns to reduce with its own PCA (e.g. ``melband``)."""
    grid: dict[str, list[Any]] = field(default_factory=dict)
    scoring: str = "f1_macro"
    jobs: int = 1
    augment_copies: int = 0
    """Degraded copies of each training file (``genrekit.degrade.training_copy``: band-limited,
    clipped, then noise, EQ, saturation), trained on and never scored."""
    narrow_band_head: bool = False
    """Also train a head for narrow-band input (a phone line, audio through 8 kHz): the same
    recipe on each training file plus its ``genrekit.degrade.NARROW_BAND_VERSIONS``, with its own
    rejector; the bundle sends what ``genrekit.bandwidth`` calls narrow to it."""
    keep_share: float = DEFAULT_KEEP_SHARE
    """Share of held-out in-taxonomy tracks the rejection threshold keeps."""

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["data"] = str(self.data)
        values["groups"] = None if self.groups is None else str(self.groups)
        values["also"] = [
            {"path": str(path), "groups": None if groups is None else str(groups)}
            for path, groups in self.also
        ]
        values["label_map"] = None if self.label_map is None else str(self.label_map)
        values["representation"] = self.representation.to_dict()
        return values


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> ExperimentConfig:
    """Read a TOML experiment config; ``overrides`` replace top-level fields (e.g. ``folds``)."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: {error}") from None
    _check_keys(path, raw)
    try:
        data, model, protocol = raw["data"], raw["model"], raw.get("protocol", {})
        config = ExperimentConfig(
            name=raw.get("name", path.stem),
            description=raw.get("description", ""),
            data=_resolve(data["path"], path.parent),
            groups=_resolve(data["groups"], path.parent) if "groups" in data else None,
            also=[_collection(path, more) for more in data.get("also", [])],
            label_map=_resolve(data["label_map"], path.parent) if "label_map" in data else None,
            representation=RepresentationSpec.from_dict(raw.get("representation", {})),
            protocol=protocol.get("kind", "track"),
            folds=int(protocol.get("folds", 10)),
            inner_folds=int(protocol.get("inner_folds", 3)),
            seed=int(protocol.get("seed", 0)),
            model=model["name"],
            params=dict(model.get("params", {})),
            pca=model.get("pca"),
            pca_block=model.get("pca_block"),
            grid={k: list(v) for k, v in raw.get("grid", {}).items()},
            scoring=raw.get("scoring", "f1_macro"),
            jobs=int(raw.get("jobs", 1)),
            augment_copies=int(raw.get("augment", {}).get("copies", 0)),
            narrow_band_head=bool(raw.get("augment", {}).get("narrow_band_head", False)),
            keep_share=float(raw.get("rejection", {}).get("keep_share", DEFAULT_KEEP_SHARE)),
        )
    except KeyError as missing:
        raise ConfigError(f"{path}: missing setting {missing}") from None
    known = {f.name for f in fields(ExperimentConfig)}
    for key, value in (overrides or {}).items():
        if key not in known:
            raise ConfigError(f"unknown setting {key!r}; settings: {', '.join(sorted(known))}")
        if value is not None:
            setattr(config, key, value)
    if config.protocol not in PROTOCOLS:
        raise ConfigError(f"{path}: protocol must be one of {', '.join(PROTOCOLS)}")
    from genrekit.models.classical import build_pipeline

    build_pipeline(config.model, config.params, pca=config.pca)  # validate names early
    if config.pca_block and not block_columns(config):
        raise ConfigError(
            f"{path}: no {config.representation.name} column starts with {config.pca_block!r}"
        )
    return config


_CONFIG_KEYS: dict[str, set[str] | None] = {
    "name": None,
    "description": None,
    "jobs": None,
    "scoring": None,
    "data": {"path", "groups", "label_map", "also"},
    "representation": None,  # checked by RepresentationSpec.from_dict
    "protocol": {"kind", "folds", "inner_folds", "seed"},
    "model": {"name", "params", "pca", "pca_block"},
    "grid": None,  # parameter names are checked against the model
    "augment": {"copies", "narrow_band_head"},
    "rejection": {"keep_share"},
}


def _check_keys(path: Path, raw: dict[str, Any]) -> None:
    """Refuse misspelt sections and keys, naming the valid ones (a typo must not silently fall
    back to a default)."""
    for key, value in raw.items():
        if key not in _CONFIG_KEYS:
            raise ConfigError(
                f"{path}: unknown setting {key!r}; valid: {', '.join(sorted(_CONFIG_KEYS))}"
            )
        allowed = _CONFIG_KEYS[key]
        if allowed is not None and isinstance(value, dict):
            unknown = sorted(set(value) - allowed)
            if unknown:
                raise ConfigError(
                    f"{path}: unknown key(s) {', '.join(unknown)} in [{key}]; "
                    f"valid: {', '.join(sorted(allowed))}"
                )


_COLLECTION_KEYS = {"path", "groups"}


def _collection(path: Path, raw: Any) -> tuple[Path, Path | None]:
    """One ``[[data.also]]`` entry: its folder or table, and its groups CSV if any."""
    if not isinstance(raw, dict) or "path" not in raw or set(raw) - _COLLECTION_KEYS:
        raise ConfigError(
            f"{path}: each [[data.also]] needs a path and may name groups (nothing else)"
        )
    groups = _resolve(raw["groups"], path.parent) if "groups" in raw else None
    return _resolve(raw["path"], path.parent), groups


def block_columns(config: ExperimentConfig) -> list[int]:
    """Indices of the representation's columns in the config's PCA block (none if unset)."""
    if not config.pca_block:
        return []
    from genrekit.features import feature_set

    columns = feature_set(config.representation.name).columns
    return [i for i, name in enumerate(columns) if name.startswith(config.pca_block)]


def _resolve(value: str, base: Path) -> Path:
    """A path from a config in ``base``: ``{data}`` is the data folder (``data_dir``, itself
    relative to the working directory); any other relative path, ``./`` and ``../`` ones too,
    is relative to the config file, wherever the command runs."""
    if "{data}" in value:
        return Path(value.replace("{data}", str(data_dir())))
    path = Path(value)
    return path if path.is_absolute() else base / path
