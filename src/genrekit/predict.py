"""Classify audio files: track-level genre probabilities plus a per-segment timeline.

The track is cut into clips as long as the model's training examples (``clip_seconds``) and their
probabilities are averaged; the timeline applies the same model to every short window.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genrekit.audio import DEFAULT_MAX_DURATION, Audio, load_audio, segment, split_evenly
from genrekit.errors import AudioError
from genrekit.features import feature_set, prepare
from genrekit.models.bundle import ModelBundle, load_bundle


@dataclass(frozen=True)
class SegmentPrediction:
    """The model's view of one window of the track."""

    start: float
    end: float
    label: str
    probabilities: dict[str, float]


@dataclass(frozen=True)
class Prediction:
    """What the model says about one file."""

    path: str
    model: str
    label: str
    probabilities: dict[str, float]
    """Every label's probability, highest first."""
    duration: float
    """Seconds of audio analysed."""
    truncated: bool
    """True when the file was longer than the analysed duration."""
    segments: list[SegmentPrediction] = field(default_factory=list)

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        return list(self.probabilities.items())[:k]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ranked(labels: list[str], probabilities: np.ndarray) -> dict[str, float]:
    order = np.argsort(-probabilities, kind="stable")
    return {labels[i]: round(float(probabilities[i]), 6) for i in order}


class Classifier:
    """A loaded model bundle that classifies files."""

    def __init__(self, bundle: ModelBundle) -> None:
        self.bundle = bundle
        self.spec = bundle.representation
        self.features = feature_set(self.spec.name)

    @classmethod
    def load(cls, model: str | Path | None = None) -> Classifier:
        return cls(load_bundle(model))

    @property
    def labels(self) -> list[str]:
        return self.bundle.labels

    def predict(
        self,
        path: str | Path,
        *,
        timeline: bool = True,
        max_duration: float | None = DEFAULT_MAX_DURATION,
    ) -> Prediction:
        """Classify one file; raises an ``AudioError`` subclass for unusable input."""
        audio = load_audio(path, sample_rate=self.spec.sample_rate, max_duration=max_duration)
        return self.predict_audio(audio, timeline=timeline)

    def predict_audio(self, audio: Audio, *, timeline: bool = True) -> Prediction:
        """Classify decoded audio."""
        return self.analyse(audio, timeline=timeline)[0]

    def analyse(self, audio: Audio, *, timeline: bool = True) -> tuple[Prediction, np.ndarray]:
        """The prediction plus the track's embedding: the model's input features averaged over
        the track's clips (what "songs like this" compares)."""
        samples = prepare(audio, self.spec)
        rate = audio.sample_rate
        clips = split_evenly(samples, rate, self.spec.clip_seconds)
        clip_features = self._features([clip.samples for clip in clips])
        track = self.bundle.predict_proba(clip_features).mean(axis=0)
        segments = []
        if timeline:
            windows = segment(samples, rate, self.spec.window_seconds, self.spec.hop_seconds)
            for window, probabilities in zip(
                windows, self._probabilities([w.samples for w in windows])
            ):
                ranked = _ranked(self.labels, probabilities)
                segments.append(
                    SegmentPrediction(
                        round(window.start, 3), round(window.end, 3), next(iter(ranked)), ranked
                    )
                )
        ranked = _ranked(self.labels, track)
        prediction = Prediction(
            path=audio.path,
            model=self.bundle.model_id,
            label=next(iter(ranked)),
            probabilities=ranked,
            duration=round(len(samples) / rate, 3),
            truncated=audio.truncated,
            segments=segments,
        )
        return prediction, clip_features.mean(axis=0)

    def _features(self, pieces: list[np.ndarray]) -> np.ndarray:
        from genrekit.features.windows import stack_windows

        rate = self.spec.sample_rate
        return stack_windows([self.features.extract(piece, rate) for piece in pieces])

    def _probabilities(self, pieces: list[np.ndarray]) -> np.ndarray:
        return self.bundle.predict_proba(self._features(pieces))


_worker_classifier: Classifier | None = None


def _start_worker(model: str | Path | None) -> None:
    global _worker_classifier
    _worker_classifier = Classifier.load(model)


def _predict_in_worker(job: tuple[Path, bool, float | None]) -> Prediction | AudioError:
    assert _worker_classifier is not None
    return predict_or_error(_worker_classifier, *job)


def predict_or_error(
    classifier: Classifier, path: Path, timeline: bool, max_duration: float | None
) -> Prediction | AudioError:
    """A prediction, or the error that explains why there is none (never raises for bad input)."""
    try:
        return classifier.predict(path, timeline=timeline, max_duration=max_duration)
    except AudioError as error:
        return error
    except Exception as error:  # a bad file must never stop a batch
        return AudioError(path, f"could not be analysed ({type(error).__name__}: {error})")


def predict_many(
    classifier: Classifier,
    paths: Iterable[Path],
    *,
    timeline: bool = True,
    max_duration: float | None = DEFAULT_MAX_DURATION,
    workers: int = 1,
) -> Iterator[Prediction | AudioError]:
    """Predictions (or errors) for many files, in order, in ``workers`` processes if > 1."""
    jobs = [(Path(p), timeline, max_duration) for p in paths]
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield predict_or_error(classifier, *job)
        return
    model_path = classifier.bundle.path
    with ProcessPoolExecutor(workers, initializer=_start_worker, initargs=(model_path,)) as pool:
        yield from pool.map(_predict_in_worker, jobs)
