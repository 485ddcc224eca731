"""The 57 features of the Kaggle GTZAN table (``features_30_sec.csv`` / ``features_3_sec.csv``).

Mean and variance over frames of chroma, RMS, spectral centroid, bandwidth and rolloff,
zero-crossing rate, the harmonic and percussive waveforms (HPSS), 20 MFCCs, plus the beat tracker's
tempo — computed as that table was: librosa defaults of its time (sr 22050, n_fft 2048, hop 512,
reflect-padded frames) over the whole clip. Column names are the table's own.

Unlike the notebooks that made the table (one librosa call, and so one STFT, per feature), this
computes one STFT and one mel spectrogram per clip and shares them between features, finds the
HPSS medians with a running median, and inverts only the harmonic part (percussive = the rest).
"""

from __future__ import annotations

import librosa
import numpy as np

from genrekit.audio import SAMPLE_RATE
from genrekit.features import FeatureSet
from genrekit.features.spectral import (
    HOP_LENGTH,
    N_FFT,
    harmonic_mask,
    mel_db,
    mfcc,
    stft,
    zero_crossing_rate,
)

N_MFCC = 20

COLUMNS: tuple[str, ...] = (
    "chroma_stft_mean",
    "chroma_stft_var",
    "rms_mean",
    "rms_var",
    "spectral_centroid_mean",
    "spectral_centroid_var",
    "spectral_bandwidth_mean",
    "spectral_bandwidth_var",
    "rolloff_mean",
    "rolloff_var",
    "zero_crossing_rate_mean",
    "zero_crossing_rate_var",
    "harmony_mean",
    "harmony_var",
    "perceptr_mean",
    "perceptr_var",
    "tempo",
    *(f"mfcc{i}_{stat}" for i in range(1, N_MFCC + 1) for stat in ("mean", "var")),
)


def extract(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The 57 table features of one clip, in ``COLUMNS`` order (float64)."""
    spectrum = stft(samples)
    magnitude = np.abs(spectrum)
    power = magnitude**2

    chroma = librosa.feature.chroma_stft(S=power, sr=sample_rate)
    rms = librosa.feature.rms(
        y=samples, frame_length=N_FFT, hop_length=HOP_LENGTH, pad_mode="reflect"
    )
    centroid = librosa.feature.spectral_centroid(S=magnitude, sr=sample_rate)
    bandwidth = librosa.feature.spectral_bandwidth(S=magnitude, sr=sample_rate, centroid=centroid)
    rolloff = librosa.feature.spectral_rolloff(S=magnitude, sr=sample_rate)
    zcr = zero_crossing_rate(samples)

    harmonic = librosa.istft(
        spectrum * harmonic_mask(magnitude), hop_length=HOP_LENGTH, length=len(samples)
    )
    # The masks sum to one and the STFT inverts exactly, so the percussive waveform is the rest.
    percussive = samples - harmonic

    mel_decibels = mel_db(power, sample_rate)
    coefficients = mfcc(mel_decibels, N_MFCC)
    # The beat tracker's onset envelope takes the median over mel bands (onset_strength's
    # own default is the mean).
    onset_envelope = librosa.onset.onset_strength(
        S=mel_decibels, sr=sample_rate, aggregate=np.median
    )
    tempo = librosa.feature.tempo(
        onset_envelope=onset_envelope, sr=sample_rate, hop_length=HOP_LENGTH
    )[0]

    values: list[float] = []
    for frames in (chroma, rms, centroid, bandwidth, rolloff, zcr, harmonic, percussive):
        values += [frames.mean(dtype=np.float64), frames.var(dtype=np.float64)]
    values.append(tempo)
    for coefficient in coefficients:
        values += [coefficient.mean(dtype=np.float64), coefficient.var(dtype=np.float64)]
    return np.asarray(values, dtype=np.float64)


FEATURES = FeatureSet("gtzan57", COLUMNS, extract)
