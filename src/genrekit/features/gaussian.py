"""A track as a Gaussian over its MFCC frames: the mean vector and the full covariance matrix.

The classic representation for timbre similarity (Mandel & Ellis, 2005), compared with a
symmetric Kullback-Leibler divergence by ``genrekit.models.gaussian.GaussianKNN``.
"""

from __future__ import annotations

import numpy as np

from genrekit.audio import SAMPLE_RATE
from genrekit.features import FeatureSet
from genrekit.features.spectral import mel_db, mfcc, stft

N_MFCC = 20

COLUMNS: tuple[str, ...] = (
    *(f"mfcc{i}_mean" for i in range(1, N_MFCC + 1)),
    *(f"mfcc_cov_{i}_{j}" for i in range(1, N_MFCC + 1) for j in range(1, N_MFCC + 1)),
)


def extract(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """MFCC mean (20) followed by the row-major 20 × 20 covariance (400)."""
    power = np.abs(stft(samples)) ** 2
    coefficients = mfcc(mel_db(power, sample_rate), N_MFCC).astype(np.float64)
    return np.concatenate([coefficients.mean(axis=1), np.cov(coefficients).ravel()])


FEATURES = FeatureSet("mfcc_gaussian", COLUMNS, extract)
