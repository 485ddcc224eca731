"""Pretrained musicnn embeddings as a fixed-length vector per clip (networks run in onnxruntime).

The clip is resampled to 16 kHz and cut into 3 s patches; the MSD and MTT musicnn models (see
``genrekit.pretrained.musicnn``) give, per patch, 50 tag probabilities and the 200-unit
penultimate embedding. The vector holds their mean and standard deviation over the clip's
patches: 2 models × (50 + 200) × 2 = 1000 values. ``musicnn_gtzan57`` appends the 57 GTZAN
features, so the handcrafted description can complement the learned one.
"""

from __future__ import annotations

import re

import numpy as np
import soxr

from genrekit.features import FeatureSet, gtzan57
from genrekit.pretrained import musicnn

MODELS = tuple(name for name in musicnn.MODEL_NAMES if name.endswith("_musicnn"))
"""The networks whose outputs make the representation: MSD then MTT musicnn."""
EMBEDDING_UNITS = 200
STATISTICS = ("mean", "std")


def _slug(tag: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", tag.lower()).strip("_")


def tag_column(source: str, tag: str) -> str:
    """The column of a tag's mean score over the clip's patches; ``source`` is MSD or MTT."""
    return f"{source.lower()}_tag_{_slug(tag)}_mean"


def _columns() -> tuple[str, ...]:
    names = []
    for model in MODELS:
        prefix = model.split("_")[0].lower()
        outputs = [f"tag_{_slug(tag)}" for tag in musicnn.tags(model)]
        outputs += [f"emb{unit:03d}" for unit in range(EMBEDDING_UNITS)]
        names += [f"{prefix}_{output}_{stat}" for stat in STATISTICS for output in outputs]
    return tuple(names)


COLUMNS = _columns()
COMBINED_COLUMNS = COLUMNS + gtzan57.COLUMNS


def _log_mel(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    if sample_rate != musicnn.SAMPLE_RATE:
        samples = soxr.resample(samples, sample_rate, musicnn.SAMPLE_RATE, quality="HQ")
    return musicnn.log_mel(samples)


def patch_outputs(patches: np.ndarray, model: str) -> np.ndarray:
    """(patches, 50 tags + 200 embedding units) of one model."""
    outputs = musicnn.run(model, patches)
    return np.hstack([outputs["taggram"], outputs["penultimate"]])


def mel_window(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """(96 mels, frames): the networks' own input for one window (``musicnn_mel``, for
    fine-tuning); a 3 s window is one 187-frame patch."""
    frames = _log_mel(samples, sample_rate)
    return frames[: max(musicnn.PATCH_FRAMES, len(frames) - 1)].T.astype(np.float32)


PATCH_SECONDS = musicnn.PATCH_FRAMES * musicnn.HOP_LENGTH / musicnn.SAMPLE_RATE
"""Length of one network patch (2.992 s): the step of a track's per-patch rows."""


def patch_rows(
    samples: np.ndarray, sample_rate: int, hop_frames: int = musicnn.PATCH_FRAMES
) -> np.ndarray:
    """(patches, 500): per 3 s patch (one every ``hop_frames`` frames; by default they do not
    overlap), both models' 50 tags and 200 embedding units side by side (MSD then MTT) — what
    ``pool`` summarizes into a clip's vector."""
    patches = musicnn.patches(_log_mel(samples, sample_rate), hop_frames)  # shared by both models
    return np.hstack([patch_outputs(patches, model) for model in MODELS])


def pool(rows: np.ndarray) -> np.ndarray:
    """The 1000-value vector of any run of patch rows: per model, mean then std over patches."""
    per_model = np.split(rows, len(MODELS), axis=1)
    return np.concatenate([stat(part, axis=0) for part in per_model for stat in (np.mean, np.std)])


def extract(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """The 1000-value musicnn vector of one clip."""
    return pool(patch_rows(samples, sample_rate))


def extract_with_gtzan57(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """The musicnn vector followed by the 57 GTZAN features of the same clip."""
    return np.concatenate([extract(samples, sample_rate), gtzan57.extract(samples, sample_rate)])


FEATURES = FeatureSet(
    "musicnn", COLUMNS, extract, patch_rows, pool, PATCH_SECONDS,
    provenance=musicnn.provenance, regions=True, styles=True,
)  # fmt: skip
WITH_GTZAN57 = FeatureSet(
    "musicnn_gtzan57", COMBINED_COLUMNS, extract_with_gtzan57,
    provenance=musicnn.provenance, styles=True,
)  # fmt: skip
MEL_WINDOWS = FeatureSet("musicnn_mel", (), mel_window, provenance=musicnn.provenance)
