"""Classify audio files: track-level genre probabilities plus a per-segment timeline.

The track is cut into clips as long as the model's training examples (``clip_seconds``) and their
probabilities are averaged; the timeline applies the same model to every short window.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from genrekit.aggregate import ranked
from genrekit.audio import (
    DEFAULT_MAX_DURATION,
    Audio,
    Segment,
    evenly_spread,
    load_audio,
    segment,
    split_evenly,
)
from genrekit.bandwidth import BandTest
from genrekit.calibration import Calibrator
from genrekit.errors import AnalysisCancelled, AudioError
from genrekit.features import feature_set, prepare
from genrekit.models.bundle import ModelBundle, load_bundle
from genrekit.styles import Style, styles_from_features


@dataclass(frozen=True)
class SegmentPrediction:
    """The model's view of one window of the track."""

    start: float
    """Seconds from the start of the track."""
    end: float
    """Seconds from the start of the track (the next window's start, or the track's end)."""
    label: str
    """The window's most probable genre."""
    probabilities: dict[str, float]
    """Every genre's probability for the window, highest first."""


UNKNOWN = "unknown"
"""The label shown when the rejector says the track is unlike anything the model was taught."""

TIMELINE_CONTEXT_PATCHES = 5
"""A timeline window of a patch-pooling model (musicnn) is judged on the 5 patches (15 s) centred
on it: under artist folds its majority agreed with the verdict on 0.938 of clips and its windows
were right 0.775 of the time, against 0.822 and 0.702 for one patch alone
(benchmarks/timeline.py)."""

SAMPLED_REGIONS = 3
SAMPLED_REGION_SECONDS = 15.0
"""A long track analysed without its timeline (indexing, ``--no-timeline``) is heard in
``SAMPLED_REGIONS`` evenly spread regions of ``SAMPLED_REGION_SECONDS`` (five of the musicnn
networks' 3 s patches) instead of every 30 s clip; ``full=True`` (``--full``) hears it all. Chosen
by benchmarks/long_tracks.py: under artist folds, on 200 songs of 3–5 min, 3 regions of 5 patches
is the cheapest setting that scored as well as every clip (0.750 and 0.750), with 15 patches
heard instead of 82 on average (BENCHMARKS.md)."""


@dataclass(frozen=True)
class Prediction:
    """What the model says about one file."""

    path: str
    """The file, as it was given."""
    model: str
    """The name of the model that made the prediction (its bundle's name)."""
    label: str
    """The most probable genre, or ``unknown`` when the rejector does not accept the track."""
    probabilities: dict[str, float]
    """Every genre's calibrated probability, highest first (also when the label is unknown)."""
    duration: float
    """Seconds of audio analysed."""
    truncated: bool
    """True when the file was longer than the analysed duration."""
    sampled: bool = False
    """True when the track was heard in ``SAMPLED_REGIONS`` regions, not clip by clip."""
    confidence: float = 1.0
    """The calibrated probability of the most probable genre."""
    typicality: float | None = None
    """How much the track sounds like the model's training music (``genrekit.novelty``): the
    share of training tracks, each measured against other artists, that look at least as
    unusual; None for bundles without a rejector."""
    known: bool = True
    """False when ``typicality`` is under the rejection threshold: label is ``unknown``."""
    segments: list[SegmentPrediction] = field(default_factory=list)
    styles: dict[str, list[Style]] = field(default_factory=dict)
    """Styles beyond the genres (``genrekit.styles``): per parent genre, or per group (moods,
    instruments, eras), the pretrained tags at or above their thresholds; empty for models not
    built on musicnn embeddings."""
    narrow_band: bool = False
    """True when the audio kept nothing above about 4 kHz (a phone line, a file through 8 kHz:
    ``genrekit.bandwidth``) and the model's narrow-band head judged it."""

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        return list(self.probabilities.items())[:k]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def judged(self, threshold: float | None) -> Prediction:
        """This prediction with ``known`` and ``label`` decided by ``threshold`` on the
        typicality (None: never unknown); the one place that decides "unknown"."""
        best = next(iter(self.probabilities))
        known = threshold is None or self.typicality is None or self.typicality >= threshold
        return replace(self, label=best if known else UNKNOWN, known=known)


class Classifier:
    """A loaded model bundle that classifies files.

    It owns its input format (as audiocraft's models own their sample rate): ``load_audio``
    decodes at the bundle's rate, and audio at any other rate is converted on the way in.
    Probabilities are calibrated with the bundle's temperature; the bundle's novelty rejector
    gives each track a typicality, and ``threshold`` (the bundle's unless overridden; ``reject``
    False: never) decides ``known``.
    """

    def __init__(
        self, bundle: ModelBundle, *, reject: bool = True, threshold: float | None = None
    ) -> None:
        self.bundle = bundle
        self.spec = bundle.representation
        self.features = feature_set(self.spec.name)
        self.calibrator = Calibrator.from_manifest(bundle.manifest.get("calibration", {}))
        self.prior = _prior(bundle)
        self.novelty = bundle.novelty
        self.threshold = self.threshold_for(reject, threshold)
        self.narrow_band = None
        self.band_test = None
        """The test that sends a recording to the narrow-band head, as the bundle records it."""
        if bundle.narrow_band is not None:
            self.narrow_band = Classifier(bundle.narrow_band, reject=reject, threshold=threshold)
            self.band_test = BandTest.from_manifest(bundle.manifest["narrow_band"])

    @classmethod
    def load(
        cls, model: str | Path | None = None, *, reject: bool = True, threshold: float | None = None
    ) -> Classifier:
        return cls(load_bundle(model), reject=reject, threshold=threshold)

    @property
    def labels(self) -> list[str]:
        return self.bundle.labels

    def threshold_for(
        self, reject: bool = True, threshold: float | None = None, *, narrow_band: bool = False
    ) -> float | None:
        """The typicality threshold a caller asks for: ``threshold``, else the bundle's own (its
        narrow-band head's for a ``narrow_band`` prediction); None (never unknown) when
        rejecting is off or the bundle has no rejector."""
        if narrow_band and self.narrow_band is not None:
            return self.narrow_band.threshold_for(reject, threshold)
        stored = self.bundle.manifest.get("rejector", {}).get("threshold")
        chosen = threshold if threshold is not None else stored
        usable = reject and chosen is not None and self.novelty is not None
        return float(chosen) if usable else None

    def judge(
        self, prediction: Prediction, reject: bool = True, threshold: float | None = None
    ) -> Prediction:
        """``prediction`` judged again with the rejection a caller asks for (``threshold_for``),
        by the threshold of the head that heard it (a service shares one classifier among
        callers that ask differently)."""
        chosen = self.threshold_for(reject, threshold, narrow_band=prediction.narrow_band)
        return prediction.judged(chosen)

    @property
    def sample_rate(self) -> int:
        """The rate (Hz) the model's features are computed at."""
        return self.spec.sample_rate

    def load_audio(
        self, path: str | Path, max_duration: float | None = DEFAULT_MAX_DURATION
    ) -> Audio:
        """Decode ``path`` at the model's sample rate (mono)."""
        return load_audio(path, sample_rate=self.sample_rate, max_duration=max_duration)

    def predict(
        self,
        path: str | Path,
        *,
        timeline: bool = True,
        max_duration: float | None = DEFAULT_MAX_DURATION,
        full: bool = False,
        should_stop: Callable[[], bool] | None = None,
    ) -> Prediction:
        """Classify one file; raises an ``AudioError`` for unusable input (any failure of the
        analysis is reported as the file's error, naming it)."""
        return self.analyse_file(
            path, timeline=timeline, max_duration=max_duration, full=full, should_stop=should_stop
        )[0]

    def analyse_file(
        self,
        path: str | Path,
        *,
        timeline: bool = True,
        max_duration: float | None = DEFAULT_MAX_DURATION,
        full: bool = False,
        should_stop: Callable[[], bool] | None = None,
    ) -> tuple[Prediction, np.ndarray]:
        """``analyse`` of a file; every failure becomes an ``AudioError`` naming the file."""
        try:
            audio = self.load_audio(path, max_duration)
            return self.analyse(audio, timeline=timeline, full=full, should_stop=should_stop)
        except (AudioError, AnalysisCancelled):
            raise
        except OSError as error:
            raise AudioError(path, f"cannot be read ({error.strerror or error})") from None
        except Exception as error:  # a bad file must never stop a batch
            raise AudioError(path, f"could not be analysed ({error})") from None

    def predict_audio(self, audio: Audio, *, timeline: bool = True) -> Prediction:
        """Classify decoded audio (at any sample rate)."""
        return self.analyse(audio, timeline=timeline)[0]

    def analyse(
        self,
        audio: Audio,
        *,
        timeline: bool = True,
        full: bool = False,
        should_stop: Callable[[], bool] | None = None,
    ) -> tuple[Prediction, np.ndarray]:
        """The prediction plus the track's embedding: the model's input features averaged over
        the track's clips (what "songs like this" compares). Without the timeline, a long track
        is heard in evenly spread regions unless ``full`` (``SAMPLED_REGIONS``). ``should_stop``
        is asked before each clip; when it answers True the analysis ends with
        ``AnalysisCancelled`` (an API client that left stops costing work within a clip)."""
        audio = resample_audio(audio, self.sample_rate)
        rate = self.sample_rate
        if self.band_test is not None and self.band_test.is_narrow(audio.samples, rate):
            return self._narrow_band_analysis(audio, timeline, full, should_stop)
        duration = len(audio.samples) / rate
        sampled = self._sampled(audio.samples, allowed=not timeline and not full)
        if sampled:
            clips = self._prepared_regions(audio)
        else:
            samples = prepare(audio, self.spec)
            clips = split_evenly(samples, rate, self.spec.clip_seconds)
        features = self.features
        pieces = (clip.samples for clip in _until_stopped(clips, should_stop))  # lazily: one by one
        patch_rows, pool = features.patch_rows, features.pool
        if patch_rows is not None and pool is not None:
            rows = [patch_rows(piece, rate) for piece in pieces]
            clip_features = np.stack([pool(r) for r in rows])
        else:
            rows, clip_features = [], self._features(pieces)
        track = self.probabilities(clip_features).mean(axis=0)  # the clips' mean (aggregate.py)
        segments = []
        if timeline and rows:
            segments = self._pooled_timeline(clips, rows)
        elif timeline:
            windows = segment(samples, rate, self.spec.window_seconds, self.spec.hop_seconds)
            segments = self._segments(windows, self._features([w.samples for w in windows]))
        scores = ranked(self.labels, track)
        best, confidence = next(iter(scores.items()))
        embedding = clip_features.mean(axis=0)
        prediction = Prediction(
            path=audio.path,
            model=self.bundle.model_id,
            label=best,
            probabilities=scores,
            duration=round(duration, 3),
            truncated=audio.truncated,
            sampled=sampled,
            confidence=confidence,
            typicality=self._typicality(embedding),
            segments=segments,
            styles=self._styles(embedding),
        )
        return prediction.judged(self.threshold), embedding

    def judge_embedding(
        self, embedding: np.ndarray, path: str, duration: float, *, narrow_band: bool = False
    ) -> Prediction:
        """The verdict on a track from its stored embedding (its clips' mean features, what a
        catalog keeps), without decoding it again: exactly ``analyse``'s for a track of one
        clip; for longer ones, the probabilities of the mean clip rather than the mean of the
        clips' probabilities. No timeline. A track the bandwidth test called narrow when it was
        analysed (``narrow_band``) is judged by the narrow-band head, as ``analyse`` judges it."""
        embedding = np.asarray(embedding, dtype=np.float64)
        if narrow_band and self.narrow_band is not None:
            heard = self.narrow_band.judge_embedding(embedding, path, duration)
            return self._as_narrow_band(heard, embedding)
        scores = ranked(self.labels, self.probabilities(embedding[None, :])[0])
        best, confidence = next(iter(scores.items()))
        prediction = Prediction(
            path=path, model=self.bundle.model_id, label=best, probabilities=scores,
            duration=duration, truncated=False, confidence=confidence,
            typicality=self._typicality(embedding), styles=self._styles(embedding),
        )  # fmt: skip
        return prediction.judged(self.threshold)

    def _narrow_band_analysis(
        self,
        audio: Audio,
        timeline: bool,
        full: bool,
        should_stop: Callable[[], bool] | None,
    ) -> tuple[Prediction, np.ndarray]:
        """``analyse`` by the narrow-band head."""
        assert self.narrow_band is not None
        found, embedding = self.narrow_band.analyse(
            audio, timeline=timeline, full=full, should_stop=should_stop
        )
        return self._as_narrow_band(found, embedding), embedding

    def _as_narrow_band(self, found: Prediction, embedding: np.ndarray) -> Prediction:
        """The narrow-band head's prediction as this model's: its typicality the higher of the
        two rejectors' (a narrow-band song may still sound like the full-band music, and 8 kHz
        versions are farther apart than phone-line ones), judged by the head's stricter
        threshold: benchmarks/band_copies.py."""
        assert self.narrow_band is not None
        heard = [t for t in (found.typicality, self._typicality(embedding)) if t is not None]
        found = replace(
            found,
            model=self.bundle.model_id,
            narrow_band=True,
            typicality=max(heard) if heard else None,
        )
        return found.judged(self.narrow_band.threshold)

    def _sampled(self, samples: np.ndarray, *, allowed: bool) -> bool:
        """Whether a track is heard in regions: allowed, long enough (twice the regions' length,
        else regions save little) and described by per-patch musicnn statistics (which any
        whole number of patches gives; the other representations were measured on whole clips)."""
        spread = SAMPLED_REGIONS * SAMPLED_REGION_SECONDS * self.sample_rate
        regions_fit = self.features.regions and not self.spec.trim_silence
        return allowed and regions_fit and len(samples) > 2 * spread

    def _segments(self, windows: list[Segment], features: np.ndarray) -> list[SegmentPrediction]:
        """One timeline entry per window, from the window's features."""
        segments = []
        for window, probabilities in zip(windows, self.probabilities(features)):
            scores = ranked(self.labels, probabilities)
            start, end = round(float(window.start), 3), round(float(window.end), 3)
            segments.append(SegmentPrediction(start, end, next(iter(scores)), scores))
        return segments

    def _pooled_timeline(
        self, clips: list[Segment], rows: list[np.ndarray]
    ) -> list[SegmentPrediction]:
        """The timeline of a patch-pooling representation, from the patches already computed for
        the clips: one entry per patch, judged on the ``TIMELINE_CONTEXT_PATCHES`` patches
        centred on it (clamped inside the track), pooled as a clip is, so a window looks like
        what the model learned from; no network runs again."""
        assert self.features.pool is not None and self.features.patch_seconds is not None
        step = self.features.patch_seconds
        starts = [c.start + i * step for c, r in zip(clips, rows) for i in range(len(r))]
        track_rows = np.concatenate(rows)
        width = min(TIMELINE_CONTEXT_PATCHES, len(track_rows))
        first = np.clip(np.arange(len(track_rows)) - width // 2, 0, len(track_rows) - width)
        pooled = np.stack([self.features.pool(track_rows[f : f + width]) for f in first])
        ends = [*starts[1:], clips[-1].end]  # each window lasts until the next: no gaps
        windows = [Segment(s, e, np.empty(0)) for s, e in zip(starts, ends)]
        return self._segments(windows, pooled)

    def _prepared_regions(self, audio: Audio) -> list[Segment]:
        """The evenly spread regions of a long track, preprocessed together (one loudness gain,
        measured on what is heard) without filtering the rest of the track."""
        rate = self.sample_rate
        regions = evenly_spread(audio.samples, rate, SAMPLED_REGIONS, SAMPLED_REGION_SECONDS)
        joined = replace(audio, samples=np.concatenate([r.samples for r in regions]))
        prepared = np.split(prepare(joined, self.spec), SAMPLED_REGIONS)
        return [replace(r, samples=p) for r, p in zip(regions, prepared)]

    def _typicality(self, embedding: np.ndarray) -> float | None:
        """The track's typicality (from its clips' mean features), or None without a rejector."""
        if self.novelty is None or embedding.ndim != 1:
            return None
        return round(float(self.novelty.typicality(embedding)[0]), 4)

    def _styles(self, embedding: np.ndarray) -> dict[str, list[Style]]:
        """Styles from the musicnn tag scores inside the features (no extra network pass), for
        representations that carry them."""
        if not self.features.styles:
            return {}
        return styles_from_features(embedding, self.features.columns)

    def _features(self, pieces: Iterable[np.ndarray]) -> np.ndarray:
        from genrekit.features.windows import stack_windows

        return stack_windows([self.features.extract(piece, self.sample_rate) for piece in pieces])

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities of feature rows: the bundle's calibrator on its
        log-scores (logits where it has them, which never underflow)."""
        probabilities = self.calibrator(self.bundle.predict_scores(features))
        if self.prior is not None:
            probabilities = self.prior.pool(probabilities, np.atleast_2d(features))
        return probabilities


def _until_stopped(
    clips: list[Segment], should_stop: Callable[[], bool] | None
) -> Iterator[Segment]:
    """The clips, one by one, checking ``should_stop`` before each."""
    for clip in clips:
        if should_stop is not None and should_stop():
            raise AnalysisCancelled
        yield clip


def _prior(bundle: ModelBundle) -> Any:
    """The default model lent to a personal bundle as a prior (``genrekit.teach.prior``), if any."""
    section = bundle.manifest.get("prior")
    if not section:
        return None
    from genrekit.teach.prior import Prior

    return Prior.from_manifest(section, bundle.labels)


def resample_audio(audio: Audio, sample_rate: int) -> Audio:
    """``audio`` at ``sample_rate`` (unchanged when it already is)."""
    if audio.sample_rate == sample_rate:
        return audio
    import soxr

    samples = soxr.resample(audio.samples, audio.sample_rate, sample_rate, quality="HQ")
    return replace(audio, samples=samples.astype(np.float32), sample_rate=sample_rate)


_worker_classifier: Classifier | None = None


def _start_worker(model: str | Path | None, threshold: float | None) -> None:
    global _worker_classifier
    _worker_classifier = Classifier.load(model, reject=threshold is not None, threshold=threshold)


def _predict_in_worker(job: tuple[Path, bool, float | None, bool]) -> Prediction | AudioError:
    assert _worker_classifier is not None
    return predict_or_error(_worker_classifier, *job)


def predict_or_error(
    classifier: Classifier,
    path: Path,
    timeline: bool,
    max_duration: float | None,
    full: bool = False,
    should_stop: Callable[[], bool] | None = None,
) -> Prediction | AudioError:
    """A prediction, or the error that explains why there is none (never raises for bad input;
    ``AnalysisCancelled`` when ``should_stop`` said so)."""
    try:
        return classifier.predict(
            path, timeline=timeline, max_duration=max_duration, full=full, should_stop=should_stop
        )
    except AudioError as error:
        return error


def predict_many(
    classifier: Classifier,
    paths: Iterable[Path],
    *,
    timeline: bool = True,
    max_duration: float | None = DEFAULT_MAX_DURATION,
    workers: int = 1,
    full: bool = False,
) -> Iterator[Prediction | AudioError]:
    """Predictions (or errors) for many files, in order, in ``workers`` processes if > 1."""
    jobs = [(Path(p), timeline, max_duration, full) for p in paths]
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield predict_or_error(classifier, *job)
        return
    model_path = classifier.bundle.path
    start = (model_path, classifier.threshold)
    with ProcessPoolExecutor(workers, initializer=_start_worker, initargs=start) as pool:
        yield from pool.map(_predict_in_worker, jobs)
