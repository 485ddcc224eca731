"""genrekit — music genre classification: audio file in, genre out.

Public API (imports are lazy so that ``genrekit`` starts fast)::

    import genrekit
    model = genrekit.load_model()            # the shipped default model
    prediction = model.predict("song.mp3")   # genre probabilities + per-segment timeline
    features = genrekit.extract("song.mp3")  # the 57 GTZAN-table features of the clip
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from genrekit.version import __version__

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np

    from genrekit.predict import Classifier, Prediction


def load_model(model: str | Path | None = None) -> Classifier:
    """A ``Classifier`` for a bundle folder or shipped model name (None: the default model)."""
    from genrekit.predict import Classifier

    return Classifier.load(model)


def predict(path: str | Path, model: str | Path | None = None) -> Prediction:
    """Classify one audio file with ``model`` (default: the shipped default model)."""
    return load_model(model).predict(path)


def extract(path: str | Path, representation: str = "gtzan57") -> np.ndarray:
    """One feature vector for a whole audio file (no normalization, like the GTZAN table)."""
    from genrekit.audio import load_audio
    from genrekit.features import RepresentationSpec, feature_set, prepare

    spec = RepresentationSpec(name=representation)
    audio = load_audio(path, sample_rate=spec.sample_rate)
    return feature_set(spec.name).extract(prepare(audio, spec), audio.sample_rate)


__all__ = ["__version__", "extract", "load_model", "predict"]
