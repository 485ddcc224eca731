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
