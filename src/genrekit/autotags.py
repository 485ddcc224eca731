"""Music auto-tagging with the pretrained musicnn models: 50 tags per track and per 3 s segment.

The MSD models tag genres, eras and moods (Million Song Dataset / Last.fm tags), the MTT models
instruments, voice and moods (MagnaTagATune). A track's score for a tag is the mean of its
segments' scores, as in musicnn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genrekit.aggregate import ranked
from genrekit.audio import DEFAULT_MAX_DURATION, load_audio
from genrekit.errors import AnalysisCancelled, AudioError, ConfigError
from genrekit.pretrained import musicnn

DEFAULT_TAGGER = "MSD_musicnn"
TAG_DIGITS = 4
"""Decimals of a tag score: independent sigmoid outputs, read as 0–1 scores."""


@dataclass(frozen=True)
class TagSegment:
    start: float
    end: float
    tags: dict[str, float]
    """Every tag's score in this segment, highest first."""


@dataclass(frozen=True)
class TagResult:
    path: str
    model: str
    tags: dict[str, float]
    """Every tag's track-level score, highest first."""
    duration: float
    truncated: bool
    segments: list[TagSegment] = field(default_factory=list)

    def top(self, k: int = 5) -> list[tuple[str, float]]:
        return list(self.tags.items())[:k]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def tag_file(
    path: str | Path,
    model: str = DEFAULT_TAGGER,
    *,
    max_duration: float | None = DEFAULT_MAX_DURATION,
    should_stop: Callable[[], bool] | None = None,
) -> TagResult:
    """Tag one file; raises an ``AudioError`` subclass for unusable input, and
    ``AnalysisCancelled`` when ``should_stop()`` turns True (checked before each run of the
    network: an API client that left stops costing work within a few seconds of audio)."""
    musicnn.check_model(model)  # before decoding: a wrong name is not the file's fault
    audio = load_audio(path, sample_rate=musicnn.SAMPLE_RATE, max_duration=max_duration)
    batch = musicnn.patches(musicnn.log_mel(audio.samples))
    parts = []
    for start in range(0, len(batch), musicnn.PATCHES_PER_RUN):
        if should_stop is not None and should_stop():
            raise AnalysisCancelled
        parts.append(musicnn.run(model, batch[start : start + musicnn.PATCHES_PER_RUN]))
    taggram = np.concatenate([part["taggram"] for part in parts])
    names = musicnn.tags(model)
    patch_seconds = musicnn.PATCH_FRAMES * musicnn.HOP_LENGTH / musicnn.SAMPLE_RATE
    segments = [
        TagSegment(
            round(i * patch_seconds, 3),
            round(min((i + 1) * patch_seconds, audio.duration), 3),
            ranked(names, scores, TAG_DIGITS),
        )
        for i, scores in enumerate(taggram)
    ]
    return TagResult(
        path=audio.path,
        model=model,
        tags=ranked(names, taggram.mean(axis=0), TAG_DIGITS),
        duration=round(audio.duration, 3),
        truncated=audio.truncated,
        segments=segments,
    )


def tag_or_error(
    path: str | Path,
    model: str = DEFAULT_TAGGER,
    max_duration: float | None = DEFAULT_MAX_DURATION,
    should_stop: Callable[[], bool] | None = None,
) -> TagResult | AudioError:
    """Tags, or the error that explains why there are none (never raises for bad input; an
    unknown model is a ``ConfigError``, a stop asked for is ``AnalysisCancelled``)."""
    try:
        return tag_file(path, model, max_duration=max_duration, should_stop=should_stop)
    except AudioError as error:
        return error
    except (ConfigError, AnalysisCancelled):
        raise
    except Exception as error:  # a bad file must never stop a batch
        return AudioError(path, f"could not be analysed ({error})")


def tag_many(
    paths: Iterable[Path],
    model: str = DEFAULT_TAGGER,
    *,
    max_duration: float | None = DEFAULT_MAX_DURATION,
) -> Iterator[TagResult | AudioError]:
    """``tag_or_error`` for each file, in order."""
    for path in paths:
        yield tag_or_error(path, model, max_duration)
