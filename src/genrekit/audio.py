"""Decode any reasonable audio file to mono float32 at 22050 Hz, then normalize, trim and segment.

Decoding tries libsndfile (wav, au, flac, ogg, mp3, …) first and falls back to FFmpeg through PyAV
(m4a/aac, wma, …). Audio is read in blocks, mixed to mono and resampled with soxr block by block, so
memory stays bounded by the analysed duration (``max_duration``), never by the file size.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile
import soxr

from genrekit.errors import AudioDecodeError, AudioTooShortError, SilentAudioError

SAMPLE_RATE = 22050
"""The rate every representation works at (GTZAN's own, and librosa's default)."""

DEFAULT_MAX_DURATION = 600.0
"""Seconds analysed from the start of a file; longer files are cut there, flagged ``truncated``."""

MIN_DURATION = 1.0
"""Shortest sound (after trimming) that genrekit will classify, in seconds."""

SILENCE_PEAK = 1e-4
"""Peak amplitude (−80 dBFS) at or under which a file counts as silent."""

_BLOCK_SECONDS = 30.0
_TRUNCATION_TOLERANCE = 0.9  # decoded/declared frames below this means the file is cut short

NormalizeMethod = Literal["none", "peak", "rms", "loudness"]
LastWindowPolicy = Literal["shift", "pad", "drop"]


@dataclass(frozen=True)
class Audio:
    """Decoded mono audio plus what is known of its source."""

    samples: np.ndarray
    sample_rate: int
    path: str
    source_sample_rate: int
    source_channels: int
    truncated: bool
    """True when the file is longer than ``max_duration`` and only its start was decoded."""

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


@dataclass(frozen=True)
class Segment:
    """One analysis window: its place in the track (seconds) and its samples."""

    start: float
    end: float
    samples: np.ndarray


def load_audio(
    path: str | Path,
    *,
    sample_rate: int = SAMPLE_RATE,
    max_duration: float | None = DEFAULT_MAX_DURATION,
    min_duration: float = MIN_DURATION,
) -> Audio:
    """Decode ``path`` to mono float32 at ``sample_rate``.

    Raises ``AudioDecodeError`` (missing, empty, not audio, truncated), ``SilentAudioError`` or
    ``AudioTooShortError``; each names the file and the reason.
    """
    path = Path(path)
    if path.is_symlink() and not path.exists():
        raise AudioDecodeError(path, "a broken link (or a loop of links): it leads to no file")
    if path.is_dir():
        raise AudioDecodeError(path, "a folder, not an audio file")
    if not path.is_file():
        raise AudioDecodeError(path, "no such file")
    if path.stat().st_size == 0:
        raise AudioDecodeError(path, "file is empty (0 bytes)")
    try:
        path.open("rb").close()
    except OSError as error:  # permission denied: the decoders' own words would mislead
        raise AudioDecodeError(path, f"cannot be read ({error.strerror})") from None

    try:
        with _native_notes_silenced(path):
            audio = _decode_with_soundfile(path, sample_rate, max_duration)
    except _NotRecognised:
        try:
            audio = _decode_with_ffmpeg(path, sample_rate, max_duration)
        except _NotRecognised as ffmpeg_failure:
            # libsndfile's reasons mislead here ("possibly a pipe?"); FFmpeg's are plainer.
            raise AudioDecodeError(
                path, f"not a recognised audio file ({ffmpeg_failure.detail})"
            ) from None
    if not np.isfinite(audio.samples).all():
        raise AudioDecodeError(
            path, "the audio data holds invalid samples (NaN or infinite values): a damaged file"
        )
    check_audible(audio, min_duration)
    return audio


def check_audible(audio: Audio, min_duration: float = MIN_DURATION) -> None:
    """Raise if ``audio`` is silent or shorter than ``min_duration`` seconds."""
    if len(audio.samples) == 0:
        raise AudioTooShortError(audio.path, "no audio samples could be decoded")
    peak = float(np.max(np.abs(audio.samples)))
    if peak <= SILENCE_PEAK:
        raise SilentAudioError(audio.path, f"audio is silent (peak {_dbfs(peak)})")
    if audio.duration < min_duration:
        raise AudioTooShortError(
            audio.path,
            f"too short: {audio.duration:.2f} s of audio, at least {min_duration:g} s needed",
        )


class _NotRecognised(Exception):
    """The decoder could not open the file at all (so another decoder may try)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _decode_with_soundfile(path: Path, sample_rate: int, max_duration: float | None) -> Audio:
    try:
        handle = soundfile.SoundFile(os.fsencode(path))  # bytes: any file name
    except (soundfile.LibsndfileError, RuntimeError) as error:
        raise _NotRecognised(_libsndfile_reason(error)) from None
    with handle:
        source_rate, channels, declared = handle.samplerate, handle.channels, handle.frames
        if handle.format in ("WAV", "WAVEX", "AIFF"):
            declared = max(declared, _header_frames(path, source_rate))
        elif handle.format == "MP3":
            declared = _mp3_frames(path, source_rate)
        _check_stream(path, source_rate, channels)
        cap = _frame_cap(max_duration, source_rate)
        block = int(_BLOCK_SECONDS * source_rate)

        def blocks() -> Iterator[np.ndarray]:
            remaining = cap
            while remaining is None or remaining > 0:
                n = block if remaining is None else min(block, remaining)
                try:
                    data = handle.read(n, dtype="float32", always_2d=True)
                except (soundfile.LibsndfileError, RuntimeError) as error:
                    done = handle.tell() / source_rate if handle.seekable() else 0.0
                    raise AudioDecodeError(
                        path,
                        f"corrupt or truncated audio data after {done:.1f} s "
                        f"({_libsndfile_reason(error)})",
                    ) from None
                if len(data) == 0:
                    return
                if remaining is not None:
                    remaining -= len(data)
                yield data

        samples, frames_read = _mix_and_resample(blocks(), source_rate, sample_rate)

    truncated = cap is not None and frames_read >= cap and declared > cap
    if not truncated and 0 < declared < 2**62 and frames_read < _TRUNCATION_TOLERANCE * declared:
        raise AudioDecodeError(
            path,
            f"truncated: the header announces {declared / source_rate:.1f} s "
            f"but only {frames_read / source_rate:.1f} s could be decoded",
        )
    return Audio(samples, sample_rate, str(path), source_rate, channels, truncated)


_STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def _native_notes_silenced(path: Path) -> Iterator[None]:
    """While libsndfile reads an MP3, its libmpg123 writes notes about damaged frames straight
    to the process's stderr ("Note: Illegal Audio-MPEG-Header …"): noise beside genrekit's own
    one-line error. They are sent to /dev/null for that read (other threads' stderr too, for those
    milliseconds; a lock keeps two such reads from tangling the descriptors)."""
    if path.suffix.lower() != ".mp3":
        yield
        return
    with _STDERR_LOCK:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            with open(os.devnull, "wb") as sink:
                os.dup2(sink.fileno(), 2)
                yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _header_frames(path: Path, sample_rate: int) -> int:
    """Frames a WAV or AIFF header announces (its data chunk size). libsndfile quietly shortens
    its count to what the file holds, so a file cut mid-data would pass as whole; mutagen reads
    the header as written. 0 when the header cannot be read."""
    import mutagen

    try:
        info = mutagen.File(path)
    except Exception:  # an unreadable header: nothing announced, the decoded audio stands
        return 0
    if info is None:
        return 0
    frames = round(info.info.length * sample_rate)
    frame_bytes = getattr(info.info, "channels", 1) * getattr(info.info, "bits_per_sample", 16) // 8
    streamed = frames * max(1, frame_bytes) >= _UNKNOWN_CHUNK_SIZE  # "length unknown" header
    return 0 if streamed else frames


def _mp3_frames(path: Path, sample_rate: int) -> int:
    """Frames an MP3 holds, from its audio frames alone. Without a Xing/VBRI header, libmpg123
    estimates the length from the file size, tags included: an ID3 tag with cover art made a
    whole 30 s song look like a truncated 80 s one. mutagen measures from the first audio
    frame (its Xing header when there is one). 0 when it cannot tell: nothing is announced."""
    import mutagen

    try:
        info = mutagen.File(path)
    except Exception:  # unreadable tags: the decoded audio stands
        return 0
    length = getattr(getattr(info, "info", None), "length", 0) or 0
    return round(length * sample_rate)


_UNKNOWN_CHUNK_SIZE = 0xFFFFFFFF - 0xFF
"""Data chunk sizes from here up mean "unknown" (what a recorder writing to a pipe puts there)."""


def _decode_with_ffmpeg(path: Path, sample_rate: int, max_duration: float | None) -> Audio:
    import av  # imported lazily: only files libsndfile cannot read need FFmpeg

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, ValueError, OSError) as error:
        raise _NotRecognised(getattr(error, "strerror", None) or str(error)) from None
    with container:
        if not container.streams.audio:
            raise AudioDecodeError(path, "the file has no audio stream")
        stream = container.streams.audio[0]
        source_rate, channels = stream.rate or 0, stream.channels or 0
        _check_stream(path, source_rate, channels)
        cap = _frame_cap(max_duration, source_rate)
        # Convert only the sample format (to planar float); mixing and resampling stay ours.
        converter = av.AudioResampler(format="fltp", layout=stream.layout, rate=source_rate)

        def blocks() -> Iterator[np.ndarray]:
            remaining = cap
            try:
                for frame in container.decode(stream):
                    for converted in converter.resample(frame):
                        data = converted.to_ndarray().T
                        if remaining is not None:
                            data = data[:remaining]
                            remaining -= len(data)
                        yield data
                        if remaining is not None and remaining <= 0:
                            return
            except (av.error.FFmpegError, ValueError) as error:
                raise AudioDecodeError(path, f"corrupt audio data ({error})") from None

        samples, frames_read = _mix_and_resample(blocks(), source_rate, sample_rate)

    duration, time_base = stream.duration, stream.time_base
    declared = int(duration * time_base * source_rate) if duration and time_base else 0
    truncated = cap is not None and frames_read >= cap and declared > cap
    return Audio(samples, sample_rate, str(path), source_rate, channels, truncated)


def _check_stream(path: Path, source_rate: int, channels: int) -> None:
    """Refuse a stream whose header makes no sense (what random bytes sometimes decode to)."""
    if source_rate <= 0 or channels <= 0:
        raise AudioDecodeError(
            path,
            f"not a usable audio file (it declares {source_rate} Hz and {channels} channels)",
        )


def _mix_and_resample(
    blocks: Iterator[np.ndarray], source_rate: int, target_rate: int
) -> tuple[np.ndarray, int]:
    """Mix (frames, channels) blocks to mono and resample them as a stream."""
    resampler = (
        None
        if source_rate == target_rate
        else soxr.ResampleStream(source_rate, target_rate, 1, dtype="float32", quality="HQ")
    )
    pieces: list[np.ndarray] = []
    frames_read = 0
    for data in blocks:
        frames_read += len(data)
        mono = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
        pieces.append(mono if resampler is None else resampler.resample_chunk(mono))
    if resampler is not None:
        pieces.append(resampler.resample_chunk(np.zeros(0, np.float32), last=True))
    samples = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    return np.ascontiguousarray(samples, dtype=np.float32), frames_read


def _frame_cap(max_duration: float | None, rate: int) -> int | None:
    return None if max_duration is None else math.ceil(max_duration * rate)


def _libsndfile_reason(error: Exception) -> str:
    # libsndfile prefixes "Error opening '<path>': "; the path is already in our message.
    text = str(error)
    return text.split("': ", 1)[-1].strip() if "': " in text else text.strip()


def _dbfs(peak: float) -> str:
    return "-inf dBFS" if peak <= 0 else f"{20 * math.log10(peak):.0f} dBFS"


HIGHPASS_HZ = 20.0
"""Cut-off of the high-pass that ``loudness`` normalization applies first: removes DC offset and
sub-sonic rumble, which carry no genre but move the level and the lowest mel bands."""

LOUDNESS_TARGET_DBFS = -20.0
"""Gated RMS level that ``loudness`` normalization brings every recording to (dBFS)."""

LOUDNESS_BLOCK_SECONDS = 0.4
LOUDNESS_ABSOLUTE_GATE_DBFS = -70.0
LOUDNESS_RELATIVE_GATE_DB = -10.0
"""Gating as in ITU-R BS.1770: 400 ms blocks; blocks under −70 dBFS, then blocks more than 10 dB
under the mean of the rest, do not count, so silence and fades do not lower the measured level."""


def normalize(
    samples: np.ndarray, method: NormalizeMethod = "peak", sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    """Scale to peak 1.0 (``peak``), RMS 0.1 / −20 dBFS (``rms``), or high-pass at
    ``HIGHPASS_HZ`` then gated RMS at ``LOUDNESS_TARGET_DBFS`` (``loudness``); ``none`` returns
    the input.

    All make features independent of the recording's gain, which GTZAN's table features are not.
    ``loudness`` also ignores DC offset, rumble, silence and fades, and a clipped peak does not
    set the level: what a quiet, DC-shifted or loudly mastered copy of a song needs to keep its
    genre (musicnn's log-mel input depends on absolute level).
    """
    if method == "none":
        return samples
    if method == "loudness":
        samples = remove_dc(samples, sample_rate)
        level = gated_rms(samples, sample_rate)
        target = 10 ** (LOUDNESS_TARGET_DBFS / 20)
    elif method == "peak":
        level = float(np.max(np.abs(samples)))
        target = 1.0
    elif method == "rms":
        level = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
        target = 0.1
    else:
        raise ValueError(
            f"unknown normalization {method!r}; use 'none', 'peak', 'rms' or 'loudness'"
        )
    if level == 0.0:
        return samples
    return (samples * np.float32(target / level)).astype(np.float32, copy=False)


def remove_dc(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Subtract the mean, then a 2nd-order Butterworth high-pass at ``HIGHPASS_HZ``.

    The filter is ``scipy.signal.sosfilt`` of ``butter(2, HIGHPASS_HZ, "highpass")`` computed as
    a convolution with its impulse response (``_highpass_response``), in blocks by FFT: the same
    values to float precision without importing scipy.signal (half a second of start-up)."""
    centred = samples - np.float32(np.mean(samples, dtype=np.float64))
    response = _highpass_response(sample_rate)
    block = _HIGHPASS_BLOCK
    size = 1 << (block + len(response) - 1).bit_length()
    spectrum = np.fft.rfft(response, size)
    out = np.zeros(len(centred) + size, dtype=np.float64)
    for start in range(0, len(centred), block):  # overlap-add: memory bounded by the block
        piece = np.fft.irfft(np.fft.rfft(centred[start : start + block], size) * spectrum, size)
        out[start : start + size] += piece
    return out[: len(centred)].astype(np.float32)


_HIGHPASS_BLOCK = 1 << 16
"""Samples filtered per FFT block in ``remove_dc``."""


@cache
def _highpass_response(sample_rate: int) -> np.ndarray:
    """Impulse response of the high-pass ``remove_dc`` applies, until it has decayed under 1e-12
    of its start. Coefficients by the bilinear transform with pre-warping (as
    ``scipy.signal.butter`` designs them); the recursion is run on a unit impulse."""
    k = math.tan(math.pi * HIGHPASS_HZ / sample_rate)
    norm = 1.0 / (1.0 + math.sqrt(2.0) * k + k * k)
    b0, b1, b2 = norm, -2.0 * norm, norm
    a1, a2 = 2.0 * (k * k - 1.0) * norm, (1.0 - math.sqrt(2.0) * k + k * k) * norm
    length = math.ceil(math.log(1e-12) / math.log(math.sqrt(a2))) + 3  # pole radius √a2
    response = np.zeros(length)
    x1 = x2 = y1 = y2 = 0.0
    for n in range(length):
        x0 = 1.0 if n == 0 else 0.0
        y0 = b0 * x0 + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
        response[n] = y0
        x1, x2, y1, y2 = x0, x1, y0, y1
    return response


def gated_rms(samples: np.ndarray, sample_rate: int) -> float:
    """RMS amplitude over the blocks that pass BS.1770-style gating (0.0 for silence)."""
    block = max(1, round(LOUDNESS_BLOCK_SECONDS * sample_rate))
    count = max(1, len(samples) // block)
    padded = np.resize(samples[: count * block], (count, block)) if len(samples) else samples
    power = np.mean(np.square(padded, dtype=np.float64).reshape(count, -1), axis=1)
    audible = power[power > 10 ** (LOUDNESS_ABSOLUTE_GATE_DBFS / 10)]
    if len(audible) == 0:
        return 0.0
    loud = audible[audible > audible.mean() * 10 ** (LOUDNESS_RELATIVE_GATE_DB / 10)]
    return float(np.sqrt(np.mean(loud if len(loud) else audible)))


def trim_silence(samples: np.ndarray, top_db: float = 60.0) -> np.ndarray:
    """Drop leading and trailing audio quieter than ``top_db`` below the peak."""
    import librosa

    trimmed, _ = librosa.effects.trim(samples, top_db=top_db)
    return trimmed


def window_bounds(
    n_samples: int,
    window: int,
    hop: int,
    last: LastWindowPolicy = "shift",
) -> list[tuple[int, int]]:
    """Start/end sample indices of fixed-length windows over ``n_samples``.

    Full windows start every ``hop`` samples. The tail that no full window covers is handled by
    ``last``: ``shift`` adds a window ending exactly at the end of the signal (all windows hold
    real audio; a signal shorter than one window becomes a single shorter window), ``pad`` adds a
    window that ``segment`` zero-pads, and ``drop`` ignores the tail.
    """
    if window <= 0 or hop <= 0:
        raise ValueError("window and hop must be positive")
    if last not in ("shift", "pad", "drop"):
        raise ValueError(f"unknown last-window policy {last!r}; use 'shift', 'pad' or 'drop'")
    bounds = [(start, start + window) for start in range(0, n_samples - window + 1, hop)]
    covered = bounds[-1][1] if bounds else 0
    if covered < n_samples:
        if last == "shift":
            bounds.append((max(0, n_samples - window), n_samples))
        elif last == "pad":
            start = bounds[-1][0] + hop if bounds else 0
            bounds.append((start, start + window))
    return bounds


def segment(
    samples: np.ndarray,
    sample_rate: int = SAMPLE_RATE,
    window_seconds: float = 3.0,
    hop_seconds: float | None = None,
    last: LastWindowPolicy = "shift",
) -> list[Segment]:
    """Cut ``samples`` into windows (default 3 s with 50 % overlap); see ``window_bounds``."""
    window = round(window_seconds * sample_rate)
    hop = round((hop_seconds if hop_seconds is not None else window_seconds / 2) * sample_rate)
    segments = []
    for start, end in window_bounds(len(samples), window, hop, last):
        piece = samples[start:end]
        if len(piece) < end - start and last == "pad":
            piece = np.pad(piece, (0, end - start - len(piece)))
        real_end = min(end, len(samples))
        segments.append(Segment(start / sample_rate, real_end / sample_rate, piece))
    return segments


def split_evenly(
    samples: np.ndarray, sample_rate: int, target_seconds: float | None
) -> list[Segment]:
    """Cut into ``round(duration / target_seconds)`` (at least 1) equal contiguous parts.

    Used to classify a track with a model trained on clips of ``target_seconds``: a 30.01 s GTZAN
    clip stays whole (as in the table), a 3-minute song becomes six 30 s clips.
    """
    if target_seconds is None or len(samples) == 0:
        return [Segment(0.0, len(samples) / sample_rate, samples)]
    parts = max(1, round(len(samples) / (target_seconds * sample_rate)))
    edges = np.linspace(0, len(samples), parts + 1).astype(int)
    return [
        Segment(start / sample_rate, end / sample_rate, samples[start:end])
        for start, end in itertools.pairwise(edges)
    ]


def evenly_spread(
    samples: np.ndarray, sample_rate: int, count: int, seconds: float
) -> list[Segment]:
    """``count`` windows of ``seconds`` centred at evenly spread points of the track (at
    (i + ½) / ``count`` of its length): a bounded sample of a long track that still hears its
    intro, middle and end. Windows are clamped inside the track."""
    length = min(round(seconds * sample_rate), len(samples))
    centres = (np.arange(count) + 0.5) / count * len(samples)
    starts = np.clip(np.round(centres - length / 2).astype(int), 0, len(samples) - length)
    return [
        Segment(
            start / sample_rate, (start + length) / sample_rate, samples[start : start + length]
        )
        for start in starts
    ]
