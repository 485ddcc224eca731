"""Representations: what a model sees of a clip, and the spec a bundle stores to reproduce it.

A ``RepresentationSpec`` names the feature set and every preprocessing choice, so that inference
extracts exactly what the model was trained on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any, get_args

import numpy as np

from genrekit.audio import SAMPLE_RATE, Audio, NormalizeMethod, normalize, trim_silence
from genrekit.errors import ConfigError


@dataclass(frozen=True)
class RepresentationSpec:
    """How to turn decoded audio into model input."""

    name: str = "gtzan57"
    sample_rate: int = SAMPLE_RATE
    normalize: NormalizeMethod = "none"
    trim_silence: bool = False
    clip_seconds: float | None = 30.0
    """Length of one training example; a longer track is classified clip by clip and averaged."""
    window_seconds: float = 3.0
    """Window of the per-segment timeline."""
    hop_seconds: float = 1.5

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RepresentationSpec:
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError(f"unknown representation settings: {', '.join(sorted(unknown))}")
        spec = cls(**values)
        feature_set(spec.name)  # fail early on an unknown name
        methods = get_args(NormalizeMethod)
        if spec.normalize not in methods:
            raise ConfigError(
                f"unknown normalization {spec.normalize!r}; use {', '.join(map(repr, methods))}"
            )
        return spec


@dataclass(frozen=True)
class FeatureSet:
    """A named representation: a fixed-length vector per clip (``columns`` name its entries),
    or, for window sets (``columns`` empty), a channels × frames array per window. It declares
    what the rest of genrekit would otherwise guess from its name."""

    name: str
    columns: tuple[str, ...]
    extract: Callable[[np.ndarray, int], np.ndarray]
    patch_rows: Callable[[np.ndarray, int], np.ndarray] | None = None
    """For vectors that summarize fixed-length patches (musicnn): the per-patch rows of a clip,
    so a track's patches are computed once and pooled into clips and timeline windows."""
    pool: Callable[[np.ndarray], np.ndarray] | None = None
    """The clip vector of a run of ``patch_rows`` (``extract`` = pool of patch_rows)."""
    patch_seconds: float | None = None
    """Length of one patch (s)."""
    provenance: Callable[[], dict[str, Any]] | None = None
    """For representations built on pretrained weights: where the weights come from (a bundle's
    manifest records it)."""
    regions: bool = False
    """Whether a long track may be heard in evenly spread regions (measured for this set: any
    whole number of patches describes a track as well as all of it)."""
    styles: bool = False
    """Whether the vector carries musicnn's tag scores, from which styles and moods are read."""

    @property
    def is_vector(self) -> bool:
        return bool(self.columns)


REPRESENTATIONS: dict[str, str] = {
    "gtzan57": "genrekit.features.gtzan57:FEATURES",
    "extended": "genrekit.features.extended:FEATURES",
    "melbands": "genrekit.features.melbands:FEATURES",
    "mfcc_gaussian": "genrekit.features.gaussian:FEATURES",
    "musicnn": "genrekit.features.musicnn:FEATURES",
    "musicnn_gtzan57": "genrekit.features.musicnn:WITH_GTZAN57",
    "musicnn_mel": "genrekit.features.musicnn:MEL_WINDOWS",
    "logmel": "genrekit.features.windows:LOGMEL",
    "mfcc_chroma": "genrekit.features.windows:MFCC_CHROMA",
}
"""Every representation by name → ``module:ATTRIBUTE`` of its ``FeatureSet`` (the module is
imported on first use, so ``import genrekit`` stays fast). A new one is one line here, or
``register_representation`` from outside the package."""

_REGISTERED: dict[str, FeatureSet] = {}


def register_representation(features: FeatureSet) -> None:
    """Make ``features`` available under its name (a plugin's or a test's representation)."""
    _REGISTERED[features.name] = features


def feature_set(name: str) -> FeatureSet:
    """Look up a representation by name; the error lists the valid names."""
    import importlib

    if name in _REGISTERED:
        return _REGISTERED[name]
    if name not in REPRESENTATIONS:
        available = ", ".join([*REPRESENTATIONS, *_REGISTERED])
        raise ConfigError(f"unknown representation {name!r}; available: {available}")
    module, _, attribute = REPRESENTATIONS[name].partition(":")
    found: FeatureSet = getattr(importlib.import_module(module), attribute)
    return found


def prepare(audio: Audio, spec: RepresentationSpec) -> np.ndarray:
    """Apply the spec's preprocessing (silence trimming, then normalization) to decoded audio."""
    samples = audio.samples
    if spec.trim_silence:
        samples = trim_silence(samples)
    return normalize(samples, spec.normalize, audio.sample_rate)
