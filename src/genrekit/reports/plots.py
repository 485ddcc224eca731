"""Figures written as image files (matplotlib, headless)."""

from __future__ import annotations

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def close_figure(fig) -> None:
    """Free a figure made here (pyplot keeps every open figure alive)."""
    _pyplot().close(fig)


def confusion_matrix_figure(matrix: np.ndarray, labels: list[str], title: str = "Confusion matrix"):
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
    return fig


AUDIO_VIEWS = (
    "waveform",
    "spectrum",
    "spectrogram",
    "logspec",
    "mel",
    "mfcc",
    "chroma",
    "tempogram",
)
"""The views ``audio_figure`` draws (``genrekit plot --kind``)."""


def _draw_waveform(ax, samples: np.ndarray, rate: int):
    import librosa.display

    librosa.display.waveshow(samples, sr=rate, ax=ax, color="#1f5f8b")
    ax.set(ylabel="amplitude", title="Waveform")
    return None, ""


def _draw_spectrum(ax, samples: np.ndarray, rate: int):
    from scipy.signal import welch

    frequencies, power = welch(samples, fs=rate, nperseg=4096)
    ax.semilogx(frequencies[1:], 10 * np.log10(power[1:] + 1e-20), color="#1f5f8b")
    ax.set(xlabel="frequency (Hz)", ylabel="power (dB/Hz)", title="Average spectrum (Welch)")
    ax.grid(True, which="both", alpha=0.3)
    return None, ""


def _stft_db(samples: np.ndarray) -> np.ndarray:
    import librosa

    return librosa.amplitude_to_db(np.abs(librosa.stft(samples)), ref=np.max)


def _draw_spectrogram(ax, samples: np.ndarray, rate: int):
    import librosa.display

    image = librosa.display.specshow(
        _stft_db(samples), sr=rate, x_axis="time", y_axis="linear", ax=ax
    )
    ax.set(ylabel="frequency (Hz)", title="Spectrogram")
    return image, "%+.0f dB"


def _draw_logspec(ax, samples: np.ndarray, rate: int):
    import librosa.display

    image = librosa.display.specshow(_stft_db(samples), sr=rate, x_axis="time", y_axis="log", ax=ax)
    ax.set(ylabel="frequency (Hz)", title="Log-frequency spectrogram")
    return image, "%+.0f dB"


def _draw_mel(ax, samples: np.ndarray, rate: int):
    import librosa
    import librosa.display

    mel = librosa.feature.melspectrogram(y=samples, sr=rate, n_mels=128)
    image = librosa.display.specshow(
        librosa.power_to_db(mel, ref=np.max), sr=rate, x_axis="time", y_axis="mel", ax=ax
    )
    ax.set(ylabel="frequency (Hz)", title="Mel spectrogram")
    return image, "%+.0f dB"


def _draw_mfcc(ax, samples: np.ndarray, rate: int):
    import librosa
    import librosa.display

    mfcc = librosa.feature.mfcc(y=samples, sr=rate, n_mfcc=20)
    image = librosa.display.specshow(mfcc, sr=rate, x_axis="time", ax=ax, cmap="coolwarm")
    ax.set(ylabel="coefficient", title="MFCC", yticks=[0.5, 4.5, 9.5, 14.5, 19.5])
    ax.set_yticklabels(["1", "5", "10", "15", "20"])
    return image, "%+.0f"


def _draw_chroma(ax, samples: np.ndarray, rate: int):
    import librosa
    import librosa.display

    chroma = librosa.feature.chroma_stft(y=samples, sr=rate)
    image = librosa.display.specshow(
        chroma, sr=rate, x_axis="time", y_axis="chroma", ax=ax, vmin=0, vmax=1
    )
    ax.set(ylabel="pitch class", title="Chromagram")
    return image, "%.1f"


def _draw_tempogram(ax, samples: np.ndarray, rate: int):
    import librosa
    import librosa.display

    tempogram = librosa.feature.tempogram(y=samples, sr=rate)
    image = librosa.display.specshow(
        tempogram, sr=rate, x_axis="time", y_axis="tempo", ax=ax, cmap="magma"
    )
    ax.set(ylabel="tempo (BPM)", title="Tempogram")
    return image, "%.1f"


_DRAWERS = {
    "waveform": _draw_waveform,
    "spectrum": _draw_spectrum,
    "spectrogram": _draw_spectrogram,
    "logspec": _draw_logspec,
    "mel": _draw_mel,
    "mfcc": _draw_mfcc,
    "chroma": _draw_chroma,
    "tempogram": _draw_tempogram,
}


def audio_figure(samples: np.ndarray, sample_rate: int, kinds: list[str] | tuple[str, ...]):
    """One row per view in ``kinds`` (see ``AUDIO_VIEWS``), time in seconds, colour bars in dB
    where the values are decibels."""
    unknown = [k for k in kinds if k not in _DRAWERS]
    if unknown or not kinds:
        raise ValueError(f"unknown plot kind(s) {unknown}; choose from {', '.join(AUDIO_VIEWS)}")
    plt = _pyplot()
    fig, axes = plt.subplots(len(kinds), 1, figsize=(10, 2.9 * len(kinds)), squeeze=False)
    for ax, kind in zip(axes[:, 0], kinds):
        image, colour_format = _DRAWERS[kind](ax, samples, sample_rate)
        if kind != "spectrum":
            ax.set_xlabel("time (s)")
        if image is not None:
            fig.colorbar(image, ax=ax, format=colour_format, pad=0.01)
    fig.tight_layout()
    return fig


def bars_figure(
    scores: dict[str, float],
    top_k: int = 10,
    title: str = "",
    xlabel: str = "score",
    as_percent: bool = False,
):
    """Horizontal bars of the ``top_k`` largest scores, highest on top, each labelled with its
    value (as a percentage with ``as_percent``)."""
    plt = _pyplot()
    items = sorted(scores.items(), key=lambda item: item[1], reverse=True)[:top_k][::-1]
    fig, ax = plt.subplots(figsize=(6, 0.35 * len(items) + 1.2))
    bars = ax.barh([label for label, _ in items], [v for _, v in items], color="#1f5f8b")
    text = [f"{v:.0%}" if as_percent else f"{v:.3f}" for _, v in items]
    ax.bar_label(bars, labels=text, padding=3)
    largest = max((v for _, v in items), default=1.0) or 1.0
    ax.set(xlim=(min(0.0, min((v for _, v in items), default=0.0)), largest * 1.2),
           xlabel=xlabel, title=title)  # fmt: skip
    fig.tight_layout()
    return fig


def curves_figure(history: dict[str, list[float]], title: str = "Training curves"):
    """Loss and accuracy per epoch from a history like ``{"train_loss": [...], "val_accuracy":
    [...]}``: losses on the left, accuracies on the right."""
    plt = _pyplot()
    fig, (loss_ax, accuracy_ax) = plt.subplots(1, 2, figsize=(10, 3.2))
    for name, values in history.items():
        ax = accuracy_ax if "acc" in name else loss_ax
        ax.plot(range(1, len(values) + 1), values, label=name)
    loss_ax.set(xlabel="epoch", ylabel="loss", title=f"{title}: loss")
    accuracy_ax.set(xlabel="epoch", ylabel="accuracy", title=f"{title}: accuracy")
    for ax in (loss_ax, accuracy_ax):
        if ax.lines:
            ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def reliability_figure(bins: list[dict[str, float]], ece: float, title: str = "Calibration"):
    """Reliability diagram: accuracy against mean confidence per confidence bin (bars, width
    by bin), with the diagonal of perfect calibration and the share of predictions per bin."""
    plt = _pyplot()
    fig, (diagram, counts) = plt.subplots(
        2, 1, figsize=(4.8, 5.2), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    lows = [b["low"] for b in bins]
    widths = [b["high"] - b["low"] for b in bins]
    diagram.bar(lows, [b["accuracy"] for b in bins], widths, align="edge", alpha=0.7,
                edgecolor="black", label="accuracy in the bin")  # fmt: skip
    diagram.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    diagram.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "o", color="C3",
                 label="each bin: mean confidence, accuracy")  # fmt: skip
    diagram.set(ylabel="accuracy", xlim=(0, 1), ylim=(0, 1), title=f"{title} (ECE {ece:.3f})")
    diagram.legend(fontsize="small", loc="upper left")
    total = sum(b["count"] for b in bins) or 1
    counts.bar(lows, [b["count"] / total for b in bins], widths, align="edge", color="grey")
    counts.set(xlabel="confidence of the predicted genre", ylabel="share")
    fig.tight_layout()
    return fig
