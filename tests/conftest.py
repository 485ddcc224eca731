"""Shared fixtures: synthetic signals written in several formats, broken files, the real data."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("GENREKIT_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(autouse=True, scope="session")
def isolated_feature_cache(tmp_path_factory: pytest.TempPathFactory):
    """Tests cache features in their own folder, never in the user's."""
    previous = os.environ.get("GENREKIT_CACHE")
    os.environ["GENREKIT_CACHE"] = str(tmp_path_factory.mktemp("feature-cache"))
    yield
    if previous is None:
        del os.environ["GENREKIT_CACHE"]
    else:
        os.environ["GENREKIT_CACHE"] = previous


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``data`` need ../shared/data; CI sets GENREKIT_REQUIRE_DATA=1: no skips."""
    if DATA.is_dir():
        return
    if os.environ.get("GENREKIT_REQUIRE_DATA") == "1":
        raise pytest.UsageError(f"GENREKIT_REQUIRE_DATA=1 but {DATA} does not exist")
    skip = pytest.mark.skip(reason=f"real data not found at {DATA}")
    for item in items:
        if "data" in item.keywords:
            item.add_marker(skip)


def tone(
    seconds: float = 5.0,
    rate: int = 44100,
    frequency: float = 440.0,
    amplitude: float = 0.3,
    channels: int = 1,
) -> np.ndarray:
    """A sine tone (frames, channels) as float32; extra channels are scaled copies."""
    t = np.arange(int(seconds * rate)) / rate
    mono = amplitude * np.sin(2 * np.pi * frequency * t)
    return np.stack([mono * (1.0 - 0.25 * c) for c in range(channels)], axis=1).astype(np.float32)


def music_like(seconds: float = 6.0, rate: int = 22050, seed: int = 0) -> np.ndarray:
    """Harmonic notes on a 120 BPM kick-and-noise beat: exercises every feature (mono float32)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    notes = sum(0.15 * np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6))
    beat = np.zeros_like(t)
    for onset in np.arange(0, seconds, 0.5):
        start = int(onset * rate)
        length = min(int(0.08 * rate), len(t) - start)
        envelope = np.exp(-np.arange(length) / (0.015 * rate))
        beat[start : start + length] += envelope * (
            0.5 * np.sin(2 * np.pi * 60 * np.arange(length) / rate)
            + 0.2 * rng.standard_normal(length)
        )
    return (notes + beat).astype(np.float32)


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same 5 s stereo 44.1 kHz tone in every format genrekit decodes."""
    folder = tmp_path_factory.mktemp("media")
    signal = tone(channels=2)
    files = {}
    for ext in ("wav", "flac", "ogg", "mp3", "au"):
        files[ext] = folder / f"tone.{ext}"
        soundfile.write(files[ext], signal, 44100)
    files["m4a"] = folder / "tone.m4a"
    _write_aac(files["m4a"], signal, 44100)
    return files


def _write_aac(path: Path, signal: np.ndarray, rate: int) -> None:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=rate, layout="stereo")
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(signal.T), format="fltp", layout="stereo"
        )
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


@pytest.fixture(scope="session")
def broken(tmp_path_factory: pytest.TempPathFactory, media: dict[str, Path]) -> dict[str, Path]:
    """One file for each way input goes wrong."""
    folder = tmp_path_factory.mktemp("broken")
    files = {
        "not_audio": folder / "notes.mp3",
        "empty": folder / "empty.wav",
        "truncated_flac": folder / "cut.flac",
        "truncated_mp3": folder / "cut.mp3",
        "short": folder / "blip.wav",
        "silent": folder / "silence.flac",
        "nan": folder / "nan.wav",
        "inf": folder / "inf.wav",
    }
    files["not_audio"].write_text("These are my notes, not a song.\n" * 50)
    files["empty"].write_bytes(b"")
    for key, source in (("truncated_flac", "flac"), ("truncated_mp3", "mp3")):
        data = media[source].read_bytes()
        files[key].write_bytes(data[: len(data) // 2])
    soundfile.write(files["short"], tone(0.2, 22050)[:, 0], 22050)
    soundfile.write(files["silent"], np.zeros(22050 * 5, np.float32), 22050)
    for key, bad in (("nan", np.nan), ("inf", np.inf)):
        samples = tone(3.0, 22050)[:, 0]
        samples[1000:1100] = bad
        soundfile.write(files[key], samples, 22050, subtype="FLOAT")
    return files


@pytest.fixture(scope="session")
def gtzan() -> Path:
    return DATA / "gtzan"


@pytest.fixture(scope="session")
def features_table() -> Path:
    return DATA / "gtzan_features_30_sec.csv"


def make_library(root, per_genre=3, seconds=3.0):
    for n in range(per_genre):
        for genre, samples in (
            ("beats", music_like(seconds, seed=n)),
            ("tones", tone(seconds, 22050, 200.0 + 40 * n)[:, 0]),
        ):
            (root / genre).mkdir(parents=True, exist_ok=True)
            soundfile.write(root / genre / f"{genre}{n}.wav", samples, 22050)
    return root


@pytest.fixture(scope="session")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A catalog of 10 synthetic songs (two kinds), indexed once on a 2-worker Dask cluster."""
    from genrekit.library.catalog import index_folder

    root = tmp_path_factory.mktemp("lib")
    music = make_library(root / "music", per_genre=5)
    db = root / "lib.sqlite"
    index_folder(music, db, workers=2, progress=False)
    return music, db
