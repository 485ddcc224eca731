"""Everyday degradations of a recording: for training-time augmentation and robustness checks.

Each takes mono float32 samples and their rate (Hz) and returns a degraded copy at the same rate.
The robustness benchmark applies the named ``CONDITIONS`` to held-out clips; training with
``[augment] copies`` adds ``training_copy`` copies of each training clip (band limits, clipping,
then noise, EQ, saturation; random strengths), never of a tested clip.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable

import numpy as np
import soundfile
import soxr
from scipy.signal import butter, sosfilt

from genrekit.bandwidth import SIXTEEN_BIT_STEP

Degradation = Callable[[np.ndarray, int], np.ndarray]


def gain(samples: np.ndarray, rate: int, db: float) -> np.ndarray:
    return (samples * np.float32(10 ** (db / 20))).astype(np.float32)


def dc_offset(samples: np.ndarray, rate: int, offset: float = 0.1) -> np.ndarray:
    return (samples + np.float32(offset)).astype(np.float32)


def hard_clip(samples: np.ndarray, rate: int, factor: float = 8.0) -> np.ndarray:
    """Amplify by ``factor`` and clip to ±1, like loud mastering pushed too far."""
    return np.clip(samples * np.float32(factor), -1.0, 1.0).astype(np.float32)


def band_limit(samples: np.ndarray, rate: int, new_rate: int = 8000) -> np.ndarray:
    """Down to ``new_rate`` Hz and back: nothing above ``new_rate / 2`` survives."""
    low = soxr.resample(samples, rate, new_rate, quality="HQ")
    return soxr.resample(low, new_rate, rate, quality="HQ")[: len(samples)].astype(np.float32)


def noise(samples: np.ndarray, rate: int, snr_db: float = 20.0, seed: int = 0) -> np.ndarray:
    """White noise at ``snr_db`` below the signal's power."""
    hiss = np.random.default_rng(seed).standard_normal(len(samples))
    return _mixed(samples, hiss, snr_db)


def pink_noise(samples: np.ndarray, rate: int, snr_db: float = 20.0, seed: int = 0) -> np.ndarray:
    """Pink noise (power falling 3 dB per octave, like rumble and room noise) at ``snr_db``."""
    white = np.fft.rfft(np.random.default_rng(seed).standard_normal(len(samples)))
    frequencies = np.fft.rfftfreq(len(samples), 1 / rate)
    white[1:] /= np.sqrt(frequencies[1:])
    white[0] = 0.0
    return _mixed(samples, np.fft.irfft(white, n=len(samples)), snr_db)


def _mixed(samples: np.ndarray, noise_samples: np.ndarray, snr_db: float) -> np.ndarray:
    """``samples`` plus ``noise_samples`` scaled to ``snr_db`` below the signal's power."""
    power = float(np.mean(np.square(samples, dtype=np.float64)))
    noise_power = float(np.mean(np.square(noise_samples))) or 1.0
    scale = np.sqrt(power / 10 ** (snr_db / 10) / noise_power)
    return (samples + noise_samples * scale).astype(np.float32)


TELEPHONE_BAND = (300.0, 3400.0)
"""The pass band of a telephone line, Hz."""


def telephone(samples: np.ndarray, rate: int) -> np.ndarray:
    """A phone call's sound: through 8 kHz, then a 300–3400 Hz band-pass (4th-order
    Butterworth)."""
    narrow = band_limit(samples, rate, 8000)
    band = butter(4, TELEPHONE_BAND, "bandpass", fs=rate, output="sos")
    return sosfilt(band, narrow).astype(np.float32)


MP3_RATE = 44100
MP3_96_KBPS_LEVEL = 0.75
MP3_64_KBPS_LEVEL = 0.875
"""libsndfile's 0–1 compression levels that give 96 and 64 kbit/s constant bit rate at 44.1 kHz
mono (measured: 0.7 → 112, 0.75 → 96, 0.85 → 80, 0.875 → 64 kbit/s)."""


def mp3(samples: np.ndarray, rate: int, level: float = MP3_96_KBPS_LEVEL) -> np.ndarray:
    """Encode at 44.1 kHz to constant-bit-rate MP3 at libsndfile's compression ``level`` (LAME;
    96 kbit/s by default) and decode again."""
    buffer = io.BytesIO()
    high = soxr.resample(samples, rate, MP3_RATE, quality="HQ")
    with soundfile.SoundFile(
        buffer, "w", MP3_RATE, 1, format="MP3", subtype="MPEG_LAYER_III",
        compression_level=level, bitrate_mode="CONSTANT",
    ) as handle:  # fmt: skip
        handle.write(np.clip(high, -1.0, 1.0))
    buffer.seek(0)
    decoded, _ = soundfile.read(buffer, dtype="float32")
    back = soxr.resample(decoded, MP3_RATE, rate, quality="HQ")[: len(samples)]
    return np.pad(back, (0, len(samples) - len(back))).astype(np.float32)


PHONE_RATE = 8000
"""A phone line's sample rate (Hz)."""
PHONE_LOW_HZ, PHONE_HIGH_HZ = (200.0, 400.0), (3000.0, 3600.0)
"""Ranges (Hz) a phone call's band edges are drawn from (``phone_call``): lines and handsets
differ around the nominal 300–3400 Hz."""
PHONE_ORDERS = (2, 6)
"""Range of the phone call's Butterworth band-pass order (a gentle or a steep wall)."""
PHONE_LEVEL_DB = (-30.0, -6.0)
"""Range (dB) of the level a phone call is coded and stored at."""


def phone_call(samples: np.ndarray, rate: int) -> np.ndarray:
    """A phone call as it reaches a file, varied the way calls vary (``telephone`` is one
    fixed line): through 8 kHz, a band-pass with edges and order drawn from ``PHONE_LOW_HZ``,
    ``PHONE_HIGH_HZ`` and ``PHONE_ORDERS``, G.711 μ-law coding (what a phone network carries)
    at a level drawn from ``PHONE_LEVEL_DB``, then stored as 16-bit samples or as a 64 kbit/s
    MP3 (as a call recorder or a voice-memo app saves it). The draws are seeded by the
    samples themselves, so a clip always gets the same call."""
    rng = np.random.default_rng(zlib.crc32(np.ascontiguousarray(samples).tobytes()))
    low, high = float(rng.uniform(*PHONE_LOW_HZ)), float(rng.uniform(*PHONE_HIGH_HZ))
    order = int(rng.integers(PHONE_ORDERS[0], PHONE_ORDERS[1] + 1))
    line = soxr.resample(samples, rate, PHONE_RATE, quality="HQ")
    line = sosfilt(butter(order, (low, high), "bandpass", fs=PHONE_RATE, output="sos"), line)
    line = gain(line.astype(np.float32), PHONE_RATE, float(rng.uniform(*PHONE_LEVEL_DB)))
    buffer = io.BytesIO()
    soundfile.write(buffer, np.clip(line, -1.0, 1.0), PHONE_RATE, format="WAV", subtype="ULAW")
    buffer.seek(0)
    coded, _ = soundfile.read(buffer, dtype="float32")
    back = soxr.resample(coded, PHONE_RATE, rate, quality="HQ")[: len(samples)]
    back = np.pad(back, (0, len(samples) - len(back))).astype(np.float32)
    if rng.integers(2):
        return mp3(back, rate, MP3_64_KBPS_LEVEL)
    return (np.round(back / SIXTEEN_BIT_STEP) * SIXTEEN_BIT_STEP).astype(np.float32)


def stereo_44k(samples: np.ndarray, rate: int) -> np.ndarray:
    """A 44.1 kHz stereo copy (channels slightly different), decoded the way genrekit decodes:
    mixed to mono and resampled back."""
    high = soxr.resample(samples, rate, 44100, quality="HQ")
    stereo = np.stack([high, 0.9 * high + 0.01 * np.roll(high, 7)], axis=1)
    back = soxr.resample(stereo.mean(axis=1).astype(np.float32), 44100, rate, quality="HQ")
    return back[: len(samples)].astype(np.float32)


def shelf_eq(samples: np.ndarray, rate: int, low_db: float, high_db: float) -> np.ndarray:
    """Tilt the spectrum: ``low_db`` below 250 Hz and ``high_db`` above 4 kHz (first-order)."""
    low = sosfilt(butter(1, 250, "lowpass", fs=rate, output="sos"), samples)
    high = sosfilt(butter(1, 4000, "highpass", fs=rate, output="sos"), samples)
    out = samples + (10 ** (low_db / 20) - 1) * low + (10 ** (high_db / 20) - 1) * high
    return out.astype(np.float32)


def compress(samples: np.ndarray, rate: int, amount: float = 0.5) -> np.ndarray:
    """Mastering-like loudness: soft saturation (tanh) driven harder as ``amount`` grows (0–1)."""
    drive = 1.0 + 9.0 * amount
    peak = float(np.max(np.abs(samples))) or 1.0
    return (np.tanh(drive * samples / peak) * peak).astype(np.float32)


CONDITIONS: dict[str, Degradation] = {
    "clean": lambda x, rate: x,
    "dc offset +0.1": dc_offset,
    "hard clip (x8 gain)": hard_clip,
    "8 kHz sample rate (4 kHz band)": band_limit,
    "-30 dB gain": lambda x, rate: gain(x, rate, -30.0),
    "20 dB SNR white noise": noise,
    "20 dB SNR pink noise": pink_noise,
    "telephone band (300-3400 Hz)": telephone,
    "phone call, varied (band, mu-law, 16-bit or MP3)": phone_call,
    "MP3 96 kbit/s": mp3,
    "MP3 64 kbit/s": lambda x, rate: mp3(x, rate, MP3_64_KBPS_LEVEL),
    "44.1 kHz stereo": stereo_44k,
}
"""The robustness benchmark's fixed conditions (benchmarks/robustness.py)."""
NARROW_BAND_VERSIONS: dict[str, Degradation] = {"telephone": telephone, "8 kHz": band_limit}
"""The versions of each training clip a narrow-band head also learns from
(``[augment] narrow_band_head``, ``genrekit.bandwidth``)."""


TRAINING_COPIES_VERSION = 2
"""Bump when ``training_copy`` changes, so cached features of older copies are not reused
(2: the telephone band joined the band-limited copy)."""
NARROW_RATES = (8000, 11025)
"""Sample rates (Hz) a band-limited training copy is resampled through."""


def training_copy(samples: np.ndarray, rate: int, copy: int, seed: int) -> np.ndarray:
    """Degraded copy number ``copy`` (1, 2, …) of a training clip, with seeded random strength.

    Copy 1 is band-limited (resampled through 8 or 11.025 kHz, or the telephone band), copy 2
    hard-clipped (driven 2–8× its peak); further copies cycle through white noise (15–35 dB
    SNR), an EQ tilt (±8 dB shelves) and soft saturation. One degradation per copy: measured
    on artist folds (benchmarks/robustness.py, BENCHMARKS.md), two mixed degradations per copy
    cost clean accuracy, while these two targeted copies remove the band-limit, telephone and
    clipping drops.
    Gain and DC offset need no copies: ``loudness`` normalization removes them.
    """
    rng = np.random.default_rng(seed)
    family = (copy - 1) % 5
    if family == 0:
        narrow = int(rng.integers(3))  # through 8 kHz, through 11.025 kHz, or a phone line
        return (
            telephone(samples, rate)
            if narrow == 2
            else band_limit(samples, rate, NARROW_RATES[narrow])
        )
    if family == 1:
        drive = float(rng.uniform(2, 8)) / max(float(np.abs(samples).max()), 1e-6)
        return hard_clip(samples, rate, drive)
    if family == 2:
        return noise(samples, rate, float(rng.uniform(15, 35)), seed=int(rng.integers(1 << 30)))
    if family == 3:
        return shelf_eq(samples, rate, float(rng.uniform(-8, 8)), float(rng.uniform(-8, 8)))
    return compress(samples, rate, float(rng.uniform(0.2, 1.0)))
