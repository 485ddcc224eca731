"""Is a recording narrow-band? A phone line or a file resampled through 8 kHz keeps nothing
above about 4 kHz; music recorded in full band always keeps some.

A model trained on full-band music hears such input poorly (the default's telephone-band
accuracy drops most of all degradations) and its rejector calls a quarter of it "unknown"
(benchmarks/band_copies.py, BENCHMARKS.md). A bundle with a narrow-band head
(``[augment] narrow_band_head``) sends the input this test calls narrow to that head.

The test compares the power density just above 4 kHz with the density just inside the
telephone band: a steep wall there is a phone line or a low sample rate, whatever the level.
(The share of all power above 4 kHz would not do: a quiet phone recording's 16-bit floor alone
reaches it.) An MP3 encoder's noise above the wall lies far below the music inside it, but a
quiet phone recording stored in 16 bits can keep the wall's foot only 20–50 dB down, where
music can lie too; such a file is recognised by what lies above its wall: the flat floor of
16-bit rounding and nothing else, up to 10 kHz — which no full-band music, however quiet,
showed (benchmarks/band_copies.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from genrekit.audio import evenly_spread

INSIDE_HZ = (2500.0, 3300.0)
"""Just inside the telephone band (300–3400 Hz) and below the 4 kHz of a rate of 8 kHz."""
ABOVE_HZ = (4200.0, 5500.0)
"""Just above what a phone line or a resampling through 8 kHz lets through."""
FAR_HZ = (7000.0, 10000.0)
"""Far above the wall, below the 11,025 Hz that a 22,050 Hz model hears: where a band-limited
file holds nothing but its storage's floor."""
NARROW_BELOW_DB = -50.0
"""Input whose power density ``ABOVE_HZ`` lies this far under its density ``INSIDE_HZ`` (dB)
is narrow (benchmarks/band_copies.py measures both sides of it)."""
FLOOR_WALL_DB = -20.0
"""Input whose density ``ABOVE_HZ`` lies this far under its density ``INSIDE_HZ`` (dB) is also
narrow when all it holds above the wall is a 16-bit floor (``SIXTEEN_BIT_FLOOR_DB``): a quiet
phone recording stored in 16 bits (benchmarks/band_copies.py)."""
FLAT_WITHIN_DB = 1.5
"""A floor is flat: the densities ``ABOVE_HZ`` and ``FAR_HZ`` lie within this of each other
(dB); music's density falls with frequency (by a median 7.5 dB from the one to the other)."""
FLOOR_WITHIN_DB = 6.0
"""How far (dB) a file's 16-bit floor may lie from ``SIXTEEN_BIT_FLOOR_DB``: resampling a 44.1
or 48 kHz file to the model's rate lowers it by about 3 dB, dither raises it by about 5."""
SEGMENT = 1024
"""Samples per segment of the averaged periodogram."""
SIXTEEN_BIT_STEP = 1.0 / 32768
"""One step of a 16-bit file, on samples scaled to ±1."""
SIXTEEN_BIT_FLOOR_DB = float(
    10.0 * np.log10(SIXTEEN_BIT_STEP**2 / 12.0 * np.sum(np.hanning(SEGMENT) ** 2))
)
"""Power density (dB, as ``_periodogram`` measures it) of rounding to 16 bits: white noise of
variance step² / 12."""
NARROW_BAND_KEEP_SHARE = 0.95
"""Share of held-out narrow-band training songs the narrow-band head's rejector keeps (its
threshold 0.05): narrow-band versions of music lie closer together than full-band music, and
at the full-band rule's 0.99 the narrow-band rejector kept 35 % of phone-line noise, hiss and
babble; at 0.95 it kept none and still 91 % of phone-line and 8 kHz music, where the full-band
rejector keeps 85 % (benchmarks/band_copies.py, chosen on those clips and signals)."""
PIECES, PIECE_SECONDS = 10, 3.0
"""A longer track is measured on this many evenly spread pieces this long (s): bounded work and
memory for a ten-minute file, and no joins between pieces (a join is a click, heard in every
band)."""


@dataclass(frozen=True)
class BandLevels:
    """Mean power densities (dB) of a recording in the test's three bands; ``far`` is None when
    the sample rate cannot hold ``FAR_HZ`` or the recording is too short to resolve it,
    ``-inf`` marks a band that holds nothing."""

    inside: float
    above: float
    far: float | None

    @property
    def gap_db(self) -> float:
        """Density above the wall relative to inside it (dB): about 0 to −30 for music, far
        lower behind a phone line; 0 when nothing lies inside (silence, a bass line: nothing to
        call narrow)."""
        if self.inside == -np.inf:
            return 0.0
        return self.above - self.inside


@dataclass(frozen=True)
class BandTest:
    """The bandwidth test with its bands (Hz) and limits (dB); a bundle with a narrow-band head
    records the one it was built with (``to_manifest``) and routes by it."""

    inside_hz: tuple[float, float] = INSIDE_HZ
    above_hz: tuple[float, float] = ABOVE_HZ
    far_hz: tuple[float, float] = FAR_HZ
    narrow_below_db: float = NARROW_BELOW_DB
    floor_wall_db: float = FLOOR_WALL_DB
    flat_within_db: float = FLAT_WITHIN_DB
    floor_within_db: float = FLOOR_WITHIN_DB

    def levels(self, samples: np.ndarray, rate: int) -> BandLevels:
        """The densities of mono ``samples`` at ``rate`` (Hz) in the three bands."""
        samples = np.asarray(samples, dtype=np.float64)
        if len(samples) < 2:
            return BandLevels(-np.inf, -np.inf, None)
        pieces = [samples]
        if len(samples) > PIECES * PIECE_SECONDS * rate:
            spread = evenly_spread(samples, rate, PIECES, PIECE_SECONDS)
            pieces = [piece.samples for piece in spread]
        length = min(SEGMENT, len(samples))
        frequencies = np.fft.rfftfreq(length, 1.0 / rate)
        power = np.sum([_periodogram(piece, length) for piece in pieces], axis=0) / len(pieces)

        def density_db(band: tuple[float, float]) -> float | None:
            if rate <= 2 * band[1]:
                return None  # the rate itself leaves nothing there
            inside_band = power[(frequencies >= band[0]) & (frequencies <= band[1])]
            if inside_band.size == 0:
                return None  # too short a recording to resolve the band
            mean = float(inside_band.mean())
            return float(10.0 * np.log10(mean)) if mean > 0.0 else -np.inf

        inside, above = density_db(self.inside_hz), density_db(self.above_hz)
        return BandLevels(
            -np.inf if inside is None else inside,
            -np.inf if above is None else above,
            density_db(self.far_hz),
        )

    def is_narrow(self, samples: np.ndarray, rate: int) -> bool:
        """True when the density above 4 kHz lies more than ``narrow_below_db`` under the
        density inside the telephone band, or more than ``floor_wall_db`` under it with
        nothing but a 16-bit floor above."""
        return self.calls_narrow(self.levels(samples, rate))

    def calls_narrow(self, levels: BandLevels) -> bool:
        """``is_narrow`` on a recording's measured ``levels``."""
        gap = levels.gap_db
        return gap < self.narrow_below_db or (
            gap < self.floor_wall_db and self.sixteen_bit_floor_above(levels)
        )

    def sixteen_bit_floor_above(self, levels: BandLevels) -> bool:
        """Whether all that lies above the wall is a 16-bit file's floor: flat from
        ``above_hz`` to ``far_hz`` and at the level of 16-bit rounding."""
        return (
            levels.far is not None
            and abs(levels.above - levels.far) < self.flat_within_db
            and abs(levels.far - SIXTEEN_BIT_FLOOR_DB) < self.floor_within_db
        )

    def to_manifest(self) -> dict[str, Any]:
        """The test as a bundle's manifest records it."""
        return {key: list(value) if isinstance(value, tuple) else value
                for key, value in asdict(self).items()}  # fmt: skip

    @classmethod
    def from_manifest(cls, section: dict[str, Any]) -> BandTest:
        """The test a manifest's ``narrow_band`` section records; what an older bundle did not
        record (the 16-bit floor rule) is today's."""
        today = cls()

        def recorded(key: str) -> Any:
            value = section.get(key, getattr(today, key))
            return tuple(value) if isinstance(value, list) else value

        return cls(**{key: recorded(key) for key in asdict(today)})


def _periodogram(samples: np.ndarray, length: int) -> np.ndarray:
    """Mean power spectrum of the Hann-windowed, non-overlapping ``length``-sample segments of
    ``samples`` (numpy alone: a prediction must not load scipy.signal)."""
    count = max(len(samples) // length, 1)
    frames = samples[: count * length].reshape(count, length) * np.hanning(length)
    return np.mean(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0)
