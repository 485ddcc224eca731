"""Figures written as image files (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def confusion_matrix_figure(
    matrix: np.ndarray, labels: list[str], path: str | Path, title: str = "Confusion matrix"
) -> Path:
    """Row-normalized confusion matrix (recall per true genre) annotated with counts."""
    plt = _pyplot()
    totals = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, totals, out=np.zeros(matrix.shape, float), where=totals > 0)
    size = 1.2 + 0.55 * len(labels)
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    image = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted genre")
    ax.set_ylabel("true genre")
    ax.set_title(title)
    for row in range(len(labels)):
        for col in range(len(labels)):
            if matrix[row, col]:
                colour = "white" if share[row, col] > 0.5 else "black"
                ax.text(col, row, str(matrix[row, col]), ha="center", va="center", color=colour)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of true genre")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def waveform_figure(samples: np.ndarray, sample_rate: int, title: str = "Waveform"):
    """Amplitude over time (seconds)."""
    import librosa.display

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 2.6))
    librosa.display.waveshow(samples, sr=sample_rate, ax=ax, color="#1f5f8b")
    ax.set(title=title, xlabel="time (s)", ylabel="amplitude")
    fig.tight_layout()
    return fig


def mel_figure(samples: np.ndarray, sample_rate: int, title: str = "Mel spectrogram"):
    """128-band mel power spectrogram in dB (time in seconds, frequency in Hz)."""
    import librosa
    import librosa.display

    plt = _pyplot()
    mel = librosa.feature.melspectrogram(y=samples, sr=sample_rate, n_mels=128)
    fig, ax = plt.subplots(figsize=(9, 3.4))
    image = librosa.display.specshow(
        librosa.power_to_db(mel, ref=np.max), sr=sample_rate, x_axis="time", y_axis="mel", ax=ax
    )
    ax.set(title=title, xlabel="time (s)", ylabel="frequency (Hz)")
    fig.colorbar(image, ax=ax, format="%+.0f dB")
    fig.tight_layout()
    return fig


def mfcc_figure(samples: np.ndarray, sample_rate: int, title: str = "MFCC"):
    """20 MFCCs over time."""
    import librosa
    import librosa.display

    plt = _pyplot()
    mfcc = librosa.feature.mfcc(y=samples, sr=sample_rate, n_mfcc=20)
    fig, ax = plt.subplots(figsize=(9, 3.0))
    image = librosa.display.specshow(mfcc, sr=sample_rate, x_axis="time", ax=ax, cmap="coolwarm")
    ax.set(title=title, xlabel="time (s)", ylabel="coefficient")
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    return fig


def probabilities_figure(probabilities: dict[str, float], top_k: int = 10, title: str = ""):
    """Horizontal bars of the top-k genre probabilities, highest on top."""
    plt = _pyplot()
    items = list(probabilities.items())[:top_k][::-1]
    fig, ax = plt.subplots(figsize=(5, 0.45 * len(items) + 1.0))
    bars = ax.barh([label for label, _ in items], [p for _, p in items], color="#1f5f8b")
    ax.bar_label(bars, labels=[f"{p:.0%}" for _, p in items], padding=3)
    ax.set(xlim=(0, 1.1), xlabel="probability", title=title)
    fig.tight_layout()
    return fig


def timeline_figure(segments: list, labels: list[str], title: str = "Genre over time"):
    """Stacked probabilities of every genre across the track's windows (colours follow
    ``labels`` order, so pass the model's labels for colours that mean the same on every track)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 2.8))
    if segments:
        # Each window's probabilities at its centre, held flat out to the track's two ends.
        times = [segments[0].start, *((s.start + s.end) / 2 for s in segments), segments[-1].end]
        stacks = [
            [s.probabilities[label] for s in (segments[0], *segments, segments[-1])]
            for label in labels
        ]
        ax.stackplot(times, stacks, labels=labels)
        ax.set_xlim(times[0], times[-1])
    ax.set(ylim=(0, 1), xlabel="time (s)", ylabel="probability", title=title)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small")
    fig.tight_layout()
    return fig
