"""Shared spectral building blocks: one STFT per clip, fast exact HPSS.

librosa's own ``hpss`` spends almost all its time in ``scipy.ndimage.median_filter``; a
running median (bottleneck's double-heap ``move_median``) gives identical medians ten times faster.
"""

from __future__ import annotations

import bottleneck
import librosa
import numpy as np

N_FFT = 2048
HOP_LENGTH = 512
HPSS_KERNEL = 31


def stft(samples: np.ndarray, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH) -> np.ndarray:
    """Complex STFT with reflect padding, the librosa default (< 0.10) that GTZAN's table used."""
    return librosa.stft(samples, n_fft=n_fft, hop_length=hop_length, pad_mode="reflect")


def mel_db(power: np.ndarray, sample_rate: int, n_mels: int = 128) -> np.ndarray:
    """(bands, frames) log-mel spectrogram in dB (librosa's defaults: peak reference 1.0, 80 dB
    floor below the maximum) of a power spectrogram."""
    return librosa.power_to_db(
        librosa.feature.melspectrogram(S=power, sr=sample_rate, n_mels=n_mels)
    )


def mfcc(mel_decibels: np.ndarray, n_mfcc: int) -> np.ndarray:
    """(coefficients, frames) MFCCs of a ``mel_db`` spectrogram."""
    return librosa.feature.mfcc(S=mel_decibels, n_mfcc=n_mfcc)


def zero_crossing_rate(
    samples: np.ndarray, frame_length: int = N_FFT, hop_length: int = HOP_LENGTH
) -> np.ndarray:
    """Per-frame zero-crossing rate, equal to ``librosa.feature.zero_crossing_rate`` (centred,
    edge-padded frames; values within ±1e-10 count as positive) without framing the signal:
    sign changes are counted once and summed per frame from their running total."""
    padded = np.pad(samples, frame_length // 2, mode="edge")
    negative = padded < -1e-10
    changes = np.concatenate(([0], np.cumsum(negative[1:] != negative[:-1])))
    starts = np.arange(1 + (len(padded) - frame_length) // hop_length) * hop_length
    return (changes[starts + frame_length - 1] - changes[starts]) / frame_length


def median_filter_along(values: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Running median over ``axis`` with mirrored edges; equals ``scipy.ndimage.median_filter``
    with an odd ``size`` along ``axis`` (1 elsewhere) and ``mode="reflect"``."""
    if size % 2 == 0:
        raise ValueError("median window size must be odd (even windows have no middle element)")
    half = size // 2
    pad = [(0, 0)] * values.ndim
    pad[axis] = (half, size - 1 - half)
    padded = np.pad(values, pad, mode="symmetric")  # numpy "symmetric" is scipy "reflect"
    medians = bottleneck.move_median(padded, size, axis=axis)
    keep = [slice(None)] * values.ndim
    keep[axis] = slice(size - 1, None)
    return medians[tuple(keep)]


def harmonic_mask(magnitude: np.ndarray, kernel_size: int = HPSS_KERNEL) -> np.ndarray:
    """Fitzgerald's median-filter HPSS soft mask of the harmonic part, as
    ``librosa.decompose.hpss`` computes it by default (power 2, margin 1; 0.5 where both medians
    are zero).

    The percussive mask is ``1 - mask``: with power-2 soft masks the two always sum to one.
    """
    harmonic = median_filter_along(magnitude, kernel_size, axis=-1) ** 2
    percussive = median_filter_along(magnitude, kernel_size, axis=-2) ** 2
    total = harmonic + percussive
    silent = total < np.finfo(magnitude.dtype).tiny
    return np.where(silent, 0.5, harmonic / np.where(silent, 1.0, total)).astype(magnitude.dtype)
