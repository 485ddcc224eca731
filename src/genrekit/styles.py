"""Styles beyond the ten genres: the musicnn models' own tags, in a two-level hierarchy.

``data/styles.toml`` groups the genre-like MSD/MTT tags under parent genres (rock → punk, hard
rock, indie rock, …; electronic → house, electro, ambient, …) and keeps moods, instruments and
eras apart. ``data/style_thresholds.json`` holds each tag's threshold and how it was chosen
(``tools/choose_style_thresholds.py``). A track shows every tag at or above its threshold:
several styles at once, each an independent score (not shares of a whole).
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path(__file__).parent / "data"
HIERARCHY_FILE = DATA / "styles.toml"
THRESHOLDS_FILE = DATA / "style_thresholds.json"
GROUPS = ("moods", "instruments", "eras")


@dataclass(frozen=True)
class Style:
    """One tag shown for a track."""

    tag: str
    """The tag's name as the model outputs it (``punk``, ``House``)."""
    parent: str
    """Its parent genre (``rock``), or its group (``moods``, ``instruments``, ``eras``)."""
    score: float
    """The model's independent 0–1 score for the tag (mean over the track's 3 s patches)."""


@cache
def hierarchy() -> dict[str, Any]:
    """The parsed ``styles.toml``."""
    return tomllib.loads(HIERARCHY_FILE.read_text())


@cache
def thresholds() -> dict[str, Any]:
    """``{"method": …, "thresholds": {"MSD:rock": 0.31, …}}``."""
    return json.loads(THRESHOLDS_FILE.read_text())


@cache
def parents() -> dict[str, str]:
    """Tag ("MSD:punk") → parent genre label or group name."""
    result = {}
    for key, genre in hierarchy()["genre"].items():
        for tag in genre["tags"]:
            result[tag] = genre.get("label", key)
    for group in GROUPS:
        for tag in hierarchy()[group]["tags"]:
            result[tag] = group
    return result


@cache
def tag_columns() -> dict[str, str]:
    """Tag ("MSD:punk") → the musicnn representation's column of its mean score."""
    from genrekit.features.musicnn import tag_column

    return {tag: tag_column(*tag.split(":", 1)) for tag in parents()}


def styles_from_features(vector: np.ndarray, columns: tuple[str, ...]) -> dict[str, list[Style]]:
    """The styles of a track from its musicnn feature vector: per parent genre or group, every
    tag at or above its threshold, highest score first; empty lists when none passes."""
    index = {name: i for i, name in enumerate(columns)}
    limits, column_of = thresholds()["thresholds"], tag_columns()
    shown: dict[str, list[Style]] = {}
    for tag, parent in parents().items():
        score = float(vector[index[column_of[tag]]])
        if score >= limits[tag]:
            style = Style(tag.split(":", 1)[1], parent, round(score, 4))
            shown.setdefault(parent, []).append(style)
    return {parent: _strongest_per_name(found) for parent, found in shown.items()}


def _strongest_per_name(found: list[Style]) -> list[Style]:
    """One entry per tag name (MSD and MTT both have "electronic", "dance", …): the higher
    score, highest first."""
    best: dict[str, Style] = {}
    for style in found:
        key = style.tag.lower()
        if key not in best or style.score > best[key].score:
            best[key] = style
    return sorted(best.values(), key=lambda s: -s.score)
