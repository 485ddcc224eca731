"""Window-level representations for neural nets: a 2-D array (channels × frames) per window.

- ``logmel``: 128-band log-mel spectrogram (dB), hop 512 (≈ 43 frames per second).
- ``mfcc_chroma``: 20 MFCCs stacked on 12 chroma bins, the same frames: a feature sequence for
  recurrent and Transformer models (and the "CNN on MFCC segments").

Frames depend on the window length; ``stack_windows`` crops a batch to its shortest window.
"""

from __future__ import annotations

import librosa
import numpy as np

from genrekit.audio import SAMPLE_RATE
from genrekit.features import FeatureSet
from genrekit.features.spectral import mel_db, mfcc, stft

N_MELS = 128


def logmel(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(128, frames) log-mel power in dB relative to full scale."""
    power = np.abs(stft(samples)) ** 2
    mel = librosa.feature.melspectrogram(S=power, sr=sample_rate, n_mels=N_MELS)
    return librosa.power_to_db(mel, ref=1.0, top_db=None).astype(np.float32)


def mfcc_chroma(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(32, frames): 20 MFCCs then 12 chroma bins per frame."""
    power = np.abs(stft(samples)) ** 2
    coefficients = mfcc(mel_db(power, sample_rate), 20)
    chroma = librosa.feature.chroma_stft(S=power, sr=sample_rate, tuning=0.0)
    return np.concatenate([coefficients, chroma]).astype(np.float32)


def stack_windows(windows: list[np.ndarray]) -> np.ndarray:
    """One array from windows that may differ by a frame or two (cropped to the shortest)."""
    frames = min(w.shape[-1] for w in windows)
    return np.stack([w[..., :frames] for w in windows])


LOGMEL = FeatureSet("logmel", (), logmel)
MFCC_CHROMA = FeatureSet("mfcc_chroma", (), mfcc_chroma)
