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


def harmonic_percussive(
    spectrum: np.ndarray, kernel_size: int = HPSS_KERNEL
) -> tuple[np.ndarray, np.ndarray]:
    """Split a complex STFT into harmonic and percussive STFTs (Fitzgerald's median-filter HPSS),
    exactly as ``librosa.decompose.hpss`` with its defaults (power 2 soft masks, margin 1)."""
    magnitude, phase = librosa.magphase(spectrum)
    harmonic = median_filter_along(magnitude, kernel_size, axis=-1)
    percussive = median_filter_along(magnitude, kernel_size, axis=-2)
    mask_harmonic = librosa.util.softmask(harmonic, percussive, power=2.0, split_zeros=True)
    mask_percussive = librosa.util.softmask(percussive, harmonic, power=2.0, split_zeros=True)
    return (magnitude * mask_harmonic) * phase, (magnitude * mask_percussive) * phase
