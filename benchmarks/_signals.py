"""Generated non-music signals for the open-world benchmark: noise, hiss, speech-like babble and
sweeps. Each is 30 s of mono float32 at 22050 Hz, seeded."""

from __future__ import annotations

import numpy as np
from scipy.signal import chirp, lfilter

RATE = 22050
SECONDS = 30.0


def white_noise(seed: int) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(int(RATE * SECONDS))).astype(
        np.float32
    )


def pink_noise(seed: int) -> np.ndarray:
    """1/f power spectrum, shaped in the frequency domain."""
    n = int(RATE * SECONDS)
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    pink = np.fft.irfft(spectrum, n)
    return (0.1 * pink / pink.std()).astype(np.float32)


def hiss(seed: int) -> np.ndarray:
    """Near silence: −60 dBFS hiss with a faint 50 Hz hum (an empty recording)."""
    t = np.arange(int(RATE * SECONDS)) / RATE
    noise = 1e-3 * np.random.default_rng(seed).standard_normal(len(t))
    return (noise + 3e-4 * np.sin(2 * np.pi * 50 * t)).astype(np.float32)


def babble(seed: int) -> np.ndarray:
    """Speech-like: a jittered 100–220 Hz glottal pulse train through two formant resonators
    whose frequencies change every syllable (about 4 per second), with pauses."""
    rng = np.random.default_rng(seed)
    n = int(RATE * SECONDS)
    out = np.zeros(n)
    pitch = rng.uniform(100, 220)
    position = 0
    while position < n:
        syllable = int(RATE * rng.uniform(0.15, 0.35))
        if rng.random() < 0.2:  # a pause
            position += syllable
            continue
        pulses = np.zeros(syllable)
        period = RATE / (pitch * rng.uniform(0.9, 1.1))
        pulses[(np.arange(0, syllable, period)).astype(int)] = 1.0
        voiced = pulses
        for formant, width in ((rng.uniform(300, 900), 80), (rng.uniform(900, 2500), 120)):
            r = np.exp(-np.pi * width / RATE)
            theta = 2 * np.pi * formant / RATE
            voiced = lfilter([1 - r], [1, -2 * r * np.cos(theta), r * r], voiced)
        envelope = np.hanning(syllable)
        end = min(n, position + syllable)
        out[position:end] += (voiced * envelope)[: end - position]
        position = end
    return (0.3 * out / (np.abs(out).max() or 1.0)).astype(np.float32)


def sweep(seed: int) -> np.ndarray:
    """A logarithmic sine sweep from 20 Hz to 10 kHz (start phase from the seed), repeated."""
    t = np.arange(int(RATE * SECONDS / 3)) / RATE
    phase = float(np.random.default_rng(seed).uniform(0, 360))
    one = chirp(t, 20, t[-1], 10000, method="logarithmic", phi=phase)
    return (0.3 * np.tile(one, 3)).astype(np.float32)


GENERATORS = {
    "white noise": white_noise,
    "pink noise": pink_noise,
    "silence with hiss": hiss,
    "speech-like babble": babble,
    "sine sweep": sweep,
}
