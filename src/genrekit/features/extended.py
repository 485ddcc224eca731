"""The extended handcrafted set (~230 features per clip), all from one STFT.

Time domain: RMS and zero-crossing rate (mean, std) and the silence ratio. Spectral statistics:
centroid, bandwidth, rolloff and flatness (mean, std, skewness), contrast per band (mean, std).
Harmonic vs percussive (HPSS): share of energy in the harmonic part, RMS of each part (mean,
std). 20 MFCCs and their deltas (mean, std). Chroma and tonnetz (mean, std). Rhythm: tempo, onset
strength (mean, std) and beat strength (onset strength on the tracked beats). Mel bands: the
``melbands`` block (40 bands, mean and std), which pipelines may reduce with PCA fitted on the
training folds (``[model] pca_block = "melband"``).
"""

from __future__ import annotations

import librosa
import numpy as np
from scipy.stats import skew

from genrekit.audio import SAMPLE_RATE
from genrekit.features import FeatureSet, melbands
from genrekit.features.spectral import (
    HOP_LENGTH,
    harmonic_mask,
    mel_db,
    mfcc,
    stft,
    zero_crossing_rate,
)

SILENCE_DB = 40.0
"""A frame is silent when its RMS is this many dB below the clip's loudest frame."""

_SPECTRAL = ("centroid", "bandwidth", "rolloff", "flatness")
_CONTRAST_BANDS = 7
_TONNETZ = ("fifth_x", "fifth_y", "minor_x", "minor_y", "major_x", "major_y")
_PITCHES = ("C", "Cs", "D", "Ds", "E", "F", "Fs", "G", "Gs", "A", "As", "B")


def _columns() -> tuple[str, ...]:
    names = ["rms_mean", "rms_std", "zcr_mean", "zcr_std", "silence_ratio"]
    names += [f"spectral_{n}_{s}" for n in _SPECTRAL for s in ("mean", "std", "skew")]
    names += [f"contrast{b}_{s}" for b in range(_CONTRAST_BANDS) for s in ("mean", "std")]
    names += ["harmonic_energy_ratio", "harmonic_rms_mean", "harmonic_rms_std",
              "percussive_rms_mean", "percussive_rms_std"]  # fmt: skip
    names += [f"mfcc{i}_{s}" for i in range(1, 21) for s in ("mean", "std")]
    names += [f"mfcc{i}_delta_{s}" for i in range(1, 21) for s in ("mean", "std")]
    names += [f"chroma_{p}_{s}" for p in _PITCHES for s in ("mean", "std")]
    names += [f"tonnetz_{t}_{s}" for t in _TONNETZ for s in ("mean", "std")]
    names += ["tempo", "onset_strength_mean", "onset_strength_std", "beat_strength"]
    return (*names, *melbands.COLUMNS)


COLUMNS: tuple[str, ...] = _columns()


def _mean_std(frames: np.ndarray) -> list[float]:
    """Interleaved mean and std of each row of ``frames``."""
    return [v for row in np.atleast_2d(frames) for v in (row.mean(), row.std())]


def extract(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The extended features of one clip, in ``COLUMNS`` order (float64)."""
    spectrum = stft(samples)
    magnitude = np.abs(spectrum)
    power = magnitude**2

    rms = librosa.feature.rms(S=magnitude)[0]
    rms_db = librosa.amplitude_to_db(rms, ref=np.max)
    values = _mean_std(rms) + _mean_std(zero_crossing_rate(samples))
    values.append(float(np.mean(rms_db < -SILENCE_DB)))

    centroid = librosa.feature.spectral_centroid(S=magnitude, sr=sample_rate)
    spectral = (
        centroid,
        librosa.feature.spectral_bandwidth(S=magnitude, sr=sample_rate, centroid=centroid),
        librosa.feature.spectral_rolloff(S=magnitude, sr=sample_rate),
        librosa.feature.spectral_flatness(S=magnitude),
    )
    for frames in spectral:
        row = frames[0]
        values += [row.mean(), row.std(), float(np.nan_to_num(skew(row)))]
    values += _mean_std(librosa.feature.spectral_contrast(S=magnitude, sr=sample_rate))

    mask = harmonic_mask(magnitude)
    harmonic, percussive = magnitude * mask, magnitude * (1 - mask)
    harmonic_energy, total_energy = float((harmonic**2).sum()), float(power.sum())
    values.append(harmonic_energy / total_energy if total_energy > 0 else 0.5)
    values += _mean_std(librosa.feature.rms(S=harmonic)[0])
    values += _mean_std(librosa.feature.rms(S=percussive)[0])

    mel_decibels = mel_db(power, sample_rate)
    coefficients = mfcc(mel_decibels, 20)
    values += _mean_std(coefficients)
    values += _mean_std(librosa.feature.delta(coefficients, mode="nearest"))
    chroma = librosa.feature.chroma_stft(S=power, sr=sample_rate)
    values += _mean_std(chroma)
    values += _mean_std(librosa.feature.tonnetz(chroma=chroma, sr=sample_rate))

    onset = librosa.onset.onset_strength(S=mel_decibels, sr=sample_rate, aggregate=np.median)
    tempo, beats = librosa.beat.beat_track(
        onset_envelope=onset, sr=sample_rate, hop_length=HOP_LENGTH
    )
    values += [float(np.atleast_1d(tempo)[0]), onset.mean(), onset.std()]
    values.append(float(onset[beats].mean()) if len(beats) else 0.0)

    values += list(melbands.from_power(power, sample_rate))  # the same STFT, not a second one
    return np.asarray(values, dtype=np.float64)


FEATURES = FeatureSet("extended", COLUMNS, extract)
