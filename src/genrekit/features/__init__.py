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
    or, for window sets (``columns`` empty), a channels × frames array per window."""

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

    @property
    def is_vector(self) -> bool:
        return bool(self.columns)


def feature_set(name: str) -> FeatureSet:
    """Look up a feature set by name (modules are imported on first use)."""
    if name == "gtzan57":
        from genrekit.features import gtzan57

        return FeatureSet("gtzan57", gtzan57.COLUMNS, gtzan57.extract)
    if name == "melbands":
        from genrekit.features import melbands

        return FeatureSet("melbands", melbands.COLUMNS, melbands.extract)
    if name == "extended":
        from genrekit.features import extended

        return FeatureSet("extended", extended.COLUMNS, extended.extract)
    if name == "mfcc_gaussian":
        from genrekit.features import gaussian

        return FeatureSet("mfcc_gaussian", gaussian.COLUMNS, gaussian.extract)
    if name == "musicnn":
        from genrekit.features import musicnn

        return FeatureSet(
            "musicnn", musicnn.COLUMNS, musicnn.extract,
            musicnn.patch_rows, musicnn.pool, musicnn.PATCH_SECONDS,
        )  # fmt: skip
    if name == "musicnn_gtzan57":
        from genrekit.features import musicnn

        return FeatureSet(name, musicnn.COMBINED_COLUMNS, musicnn.extract_with_gtzan57)
    if name == "musicnn_mel":
        from genrekit.features import musicnn

        return FeatureSet(name, (), musicnn.mel_window)
    if name in ("logmel", "mfcc_chroma"):
        from genrekit.features import windows

        return FeatureSet(name, (), getattr(windows, name))
    raise ConfigError(
        f"unknown representation {name!r}; available: gtzan57, extended, melbands, "
        "mfcc_gaussian, musicnn, musicnn_gtzan57, logmel, mfcc_chroma, musicnn_mel"
    )


def prepare(audio: Audio, spec: RepresentationSpec) -> np.ndarray:
    """Apply the spec's preprocessing (silence trimming, then normalization) to decoded audio."""
    samples = audio.samples
    if spec.trim_silence:
        samples = trim_silence(samples)
    return normalize(samples, spec.normalize, audio.sample_rate)
