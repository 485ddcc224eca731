"""Mel-band statistics: mean and standard deviation of each log-mel band over the clip.

A block of strongly correlated features (neighbouring bands move together) that the GTZAN
projects reduce with PCA; ``genrekit explore`` shows their correlation before and after.
"""

from __future__ import annotations

import numpy as np

from genrekit.audio import SAMPLE_RATE
from genrekit.features import FeatureSet
from genrekit.features.spectral import HOP_LENGTH, N_FFT, mel_db, stft

N_BANDS = 40

COLUMNS: tuple[str, ...] = tuple(
    f"melband{band:02d}_{stat}" for stat in ("mean", "std") for band in range(1, N_BANDS + 1)
)


def extract(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """``N_BANDS`` band means followed by ``N_BANDS`` band standard deviations (dB)."""
    return from_power(np.abs(stft(samples, N_FFT, HOP_LENGTH)) ** 2, sample_rate)


def from_power(power: np.ndarray, sample_rate: int) -> np.ndarray:
    """``extract`` from a power spectrogram already computed (``N_FFT``, ``HOP_LENGTH``)."""
    bands = mel_db(power, sample_rate, N_BANDS)
    return np.concatenate([bands.mean(axis=1), bands.std(axis=1)]).astype(np.float64)


FEATURES = FeatureSet("melbands", COLUMNS, extract)
