"""Is a recording narrow-band? A phone line or a file resampled through 8 kHz keeps nothing
above about 4 kHz; music recorded in full band always keeps some.

A model trained on full-band music hears such input poorly (the default's telephone-band
accuracy drops most of all degradations) and its rejector calls a quarter of it "unknown"
(benchmarks/band_copies.py, BENCHMARKS.md). A bundle with a narrow-band head
(``[augment] narrow_band_head``) sends the input this test calls narrow to that head.

The test compares the power density just above 4 kHz with the density just inside the
telephone band: a steep wall there is a phone line or a low sample rate, whatever the level, and
the flat floor a 16-bit file or an MP3 encoder adds above the wall lies far below the music
inside it. (The share of all power above 4 kHz would not do: a quiet phone recording's 16-bit
floor alone reaches it.)
"""

from __future__ import annotations

import numpy as np

from genrekit.audio import evenly_spread

INSIDE_HZ = (2500.0, 3300.0)
"""Just inside the telephone band (300–3400 Hz) and below the 4 kHz of a rate of 8 kHz."""
ABOVE_HZ = (4200.0, 5500.0)
"""Just above what a phone line or a resampling through 8 kHz lets through."""
NARROW_BELOW_DB = -50.0
"""Input whose power density ``ABOVE_HZ`` lies this far under its density ``INSIDE_HZ`` (dB)
is narrow (benchmarks/band_copies.py measures both sides of it)."""
NARROW_BAND_KEEP_SHARE = 0.95
"""Share of held-out narrow-band training songs the narrow-band head's rejector keeps (its
threshold 0.05): narrow-band versions of music lie closer together than full-band music, and
at the full-band rule's 0.99 the narrow-band rejector kept 35 % of phone-line noise, hiss and
babble; at 0.95 it kept none and still 91 % of phone-line and 8 kHz music, where the full-band
rejector keeps 85 % (benchmarks/band_copies.py, chosen on those clips and signals)."""
SEGMENT = 1024
"""Samples per segment of the averaged periodogram."""
PIECES, PIECE_SECONDS = 10, 3.0
"""A longer track is measured on this many evenly spread pieces this long (s): bounded work and
memory for a ten-minute file, and no joins between pieces (a join is a click, heard in every
band)."""


def band_gap_db(samples: np.ndarray, rate: int) -> float:
    """Mean power density ``ABOVE_HZ`` relative to the mean density ``INSIDE_HZ`` (dB) of mono
    ``samples`` at ``rate`` (Hz): about 0 to −30 for music, far lower behind a phone line;
    ``-inf`` when nothing at all lies above, 0 when nothing lies inside (silence, a bass line:
    nothing to call narrow)."""
    samples = np.asarray(samples, dtype=np.float64)
    if len(samples) < 2:
        return 0.0
    if rate <= 2 * ABOVE_HZ[1]:
        return -np.inf  # the rate itself leaves nothing above the band
    pieces = [samples]
    if len(samples) > PIECES * PIECE_SECONDS * rate:
        pieces = [piece.samples for piece in evenly_spread(samples, rate, PIECES, PIECE_SECONDS)]
    length = min(SEGMENT, len(samples))
    frequencies = np.fft.rfftfreq(length, 1.0 / rate)
    power = np.sum([_periodogram(piece, length) for piece in pieces], axis=0)

    def density(band: tuple[float, float]) -> float:
        return float(power[(frequencies >= band[0]) & (frequencies <= band[1])].mean())

    inside, above = density(INSIDE_HZ), density(ABOVE_HZ)
    if not inside > 0.0:
        return 0.0
    return float(10.0 * np.log10(above / inside)) if above > 0.0 else -np.inf


def _periodogram(samples: np.ndarray, length: int) -> np.ndarray:
    """Mean power spectrum of the Hann-windowed, non-overlapping ``length``-sample segments of
    ``samples`` (numpy alone: a prediction must not load scipy.signal)."""
    count = max(len(samples) // length, 1)
    frames = samples[: count * length].reshape(count, length) * np.hanning(length)
    return np.mean(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0)


def is_narrow_band(samples: np.ndarray, rate: int, below_db: float = NARROW_BELOW_DB) -> bool:
    """True when the density above 4 kHz lies more than ``below_db`` under the density inside
    the telephone band (a bundle records the value it was trained with)."""
    return band_gap_db(samples, rate) < below_db
