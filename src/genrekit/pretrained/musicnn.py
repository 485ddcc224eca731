"""Pretrained musicnn auto-tagging models (Pons & Serra, 2019), offline: input and inference.

The original models (PyPI ``musicnn==0.1.0``, ISC licence) are TensorFlow-1 graphs. Their
architectures are written in PyTorch in ``genrekit.pretrained.networks`` and their weights were
converted to safetensors by ``tools/convert_musicnn.py``, which also exports each PyTorch network
as an ONNX graph that reads those same weight bytes: inference runs in onnxruntime (no PyTorch
needed); PyTorch is needed only to fine-tune. ``tests/test_musicnn_port.py`` checks both against
outputs of the original implementation (``tests/fixtures/musicnn_reference.npz``).

Input: 16 kHz audio → mel spectrogram (FFT 512, hop 256, 96 bands) → ``log10(10000·x + 1)`` →
non-overlapping 187-frame (3 s) patches. Per patch the models give 50 tag probabilities; the
musicnn models also give a 200-unit penultimate embedding and 753-channel mean/max pools.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np

from genrekit.errors import ConfigError

SAMPLE_RATE = 16000
N_FFT = 512
HOP_LENGTH = 256
N_MELS = 96
PATCH_FRAMES = 187
"""Frames per 3 s input patch, as the models were trained."""

PATCHES_PER_RUN = 1
"""Patches the network sees per onnxruntime call. One is fastest on a CPU core here and keeps
the activations small (peak memory about 170 MB, against 1.2 GB for 32 at once):
benchmarks/musicnn_speed.py measures both."""

WEIGHTS_DIR = Path(__file__).parent / "weights"
ModelName = Literal["MSD_musicnn", "MTT_musicnn", "MSD_vgg", "MTT_vgg"]
"""The shipped networks: musicnn and VGG, trained on the Million Song Dataset or MagnaTagATune."""
MODEL_NAMES: tuple[str, ...] = get_args(ModelName)

MTT_TAGS = (
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast",
    "piano", "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male",
    "singing", "vocals", "no vocals", "harpsichord", "loud", "quiet", "flute", "woman",
    "male vocal", "no vocal", "pop", "soft", "sitar", "solo", "man", "classic", "choir", "voice",
    "new age", "dance", "male voice", "female vocal", "beats", "harp", "cello", "no voice", "weird",
    "country", "metal", "female voice", "choral",
)  # fmt: skip
MSD_TAGS = (
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
    "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists", "classic rock",
    "soul", "indie rock", "Mellow", "electronica", "80s", "folk", "90s", "chill", "instrumental",
    "punk", "oldies", "blues", "hard rock", "ambient", "acoustic", "experimental",
    "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country", "easy listening", "sexy",
    "catchy", "funk", "electro", "heavy metal", "Progressive rock", "60s", "rnb", "indie pop",
    "sad", "House", "happy",
)  # fmt: skip


def check_model(model: str) -> None:
    """Raise a ``ConfigError`` naming the shipped models if ``model`` is not one of them."""
    if model not in MODEL_NAMES:
        raise ConfigError(f"unknown musicnn model {model!r}; available: {', '.join(MODEL_NAMES)}")


def tags(model: str) -> tuple[str, ...]:
    """The 50 tag names of ``model``, in output order."""
    return MSD_TAGS if model.startswith("MSD") else MTT_TAGS


def provenance() -> dict[str, Any]:
    """Where the weights come from (wheel, version, sha256) and their licence."""
    return json.loads((WEIGHTS_DIR / "PROVENANCE.json").read_text())


def log_mel(samples: np.ndarray) -> np.ndarray:
    """(frames, 96) network input of 16 kHz mono audio, exactly as musicnn computes it.

    librosa's ``melspectrogram`` (centred, zero-padded periodic-Hann STFT, power, Slaney mel
    bank) written out in numpy, so that prediction loads neither librosa nor numba (about a
    second of start-up); ``tests/test_musicnn_port.py`` checks it equals librosa's bit for bit.
    The original rounds the mel power to float16 before the log; that rounding is kept so the
    inputs match the ones the models were trained and validated on.
    """
    power = power_spectrogram(np.asarray(samples, dtype=np.float32))
    mel = np.einsum("ft,mf->mt", power, mel_basis(), optimize=True).T
    mel = np.minimum(mel, np.finfo(np.float16).max).astype(np.float16)
    return np.log10(10000 * mel.astype(np.float32) + 1)


def power_spectrogram(samples: np.ndarray) -> np.ndarray:
    """(bins, frames) |STFT|² of float32 ``samples`` as librosa computes it: centred frames
    (``N_FFT // 2`` zeros each side), every ``HOP_LENGTH`` samples, periodic Hann window, the
    transform in float64 and stored as complex64."""
    padded = np.pad(samples, N_FFT // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP_LENGTH]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)
    spectrum = np.fft.rfft(window * frames, axis=-1).astype(np.complex64)
    return (np.abs(spectrum) ** 2).T


@cache
def mel_basis() -> np.ndarray:
    """(96, 257) float32 Slaney-scale, Slaney-normalized triangular mel filters from 0 Hz to
    the Nyquist frequency (librosa's ``filters.mel`` defaults)."""
    bins = np.fft.rfftfreq(N_FFT, 1.0 / SAMPLE_RATE)
    edges = _mel_to_hz(np.linspace(0.0, _hz_to_mel(SAMPLE_RATE / 2), N_MELS + 2))
    widths = np.diff(edges)
    ramps = np.subtract.outer(edges, bins)
    weights = np.zeros((N_MELS, len(bins)), dtype=np.float32)
    for i in range(N_MELS):
        weights[i] = np.maximum(0, np.minimum(-ramps[i] / widths[i], ramps[i + 2] / widths[i + 1]))
    weights *= (2.0 / (edges[2 : N_MELS + 2] - edges[:N_MELS]))[:, np.newaxis]
    return weights


_MEL_LINEAR_HZ = 200.0 / 3  # Slaney's scale: linear below 1 kHz (this many Hz per mel) …
_MEL_LOG_START_HZ = 1000.0
_MEL_LOG_STEP = np.log(6.4) / 27.0  # … logarithmic above


def _hz_to_mel(hz: float) -> float:
    if hz < _MEL_LOG_START_HZ:
        return hz / _MEL_LINEAR_HZ
    start = _MEL_LOG_START_HZ / _MEL_LINEAR_HZ
    return float(start + np.log(hz / _MEL_LOG_START_HZ) / _MEL_LOG_STEP)


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    start = _MEL_LOG_START_HZ / _MEL_LINEAR_HZ
    hz = _MEL_LINEAR_HZ * mels
    logarithmic = mels >= start
    hz[logarithmic] = _MEL_LOG_START_HZ * np.exp(_MEL_LOG_STEP * (mels[logarithmic] - start))
    return hz


def patches(frames: np.ndarray, hop_frames: int = PATCH_FRAMES) -> np.ndarray:
    """(patches, 187 frames, mels): a patch every ``hop_frames`` frames — by default
    non-overlapping, as in musicnn; a trailing partial patch is dropped. Input shorter than one
    patch is repeated to fill it, as in the models' training."""
    if len(frames) < PATCH_FRAMES:
        frames = np.resize(frames, (PATCH_FRAMES, frames.shape[1]))
    windows = np.lib.stride_tricks.sliding_window_view(frames, PATCH_FRAMES, axis=0)
    return np.ascontiguousarray(windows[::hop_frames].transpose(0, 2, 1))


def verified_weights(name: str) -> Path:
    """The shipped weights file ``name`` after checking it against the SHA-256 recorded in
    ``PROVENANCE.json`` (a replaced or damaged file is refused with a ``BundleError``)."""
    from genrekit.errors import BundleError
    from genrekit.integrity import file_sha256

    path = WEIGHTS_DIR / name
    expected = provenance().get("files", {}).get(name)
    if expected is None or not path.is_file() or file_sha256(path) != expected:
        raise BundleError(f"{path}: pretrained weights missing or not the shipped file; reinstall")
    return path


@cache
def _session(model: str) -> Any:
    """The model's ONNX graph (weights read from its safetensors file), once per process.

    One thread, so a clip's values are identical wherever it is analysed; batches of files are
    parallelised by processes instead.
    """
    import onnxruntime

    check_model(model)
    verified_weights(f"{model}.safetensors")  # the graph reads its weights from this file
    graph = verified_weights(f"{model}.onnx")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])


def run(model: str, batch: np.ndarray, batch_size: int = PATCHES_PER_RUN) -> dict[str, np.ndarray]:
    """Network outputs for a batch of (frames × mels) patches: ``taggram`` (tag probabilities)
    plus ``penultimate``, ``mean_pool`` and ``max_pool`` (musicnn) or ``pool5`` (VGG)."""
    session = _session(model)
    names = [output.name for output in session.get_outputs()]
    chunks = [
        session.run(None, {"patches": np.ascontiguousarray(batch[i : i + batch_size], np.float32)})
        for i in range(0, len(batch), batch_size)
    ]
    return {name: np.concatenate([c[n] for c in chunks]) for n, name in enumerate(names)}
