"""Calibration: temperature scaling fitted on held-out probabilities, and its measure (ECE).

A model's probabilities are calibrated when, of the tracks it gives 0.8, about 80 % are right.
Temperature scaling (Guo et al., 2017) divides the log-probabilities by one number T fitted to
minimise the negative log-likelihood of held-out predictions; it never changes the ranking, so
accuracy is unchanged. ``calibrate`` applies it.
"""

from __future__ import annotations

import numpy as np

ECE_BINS = 15
TEMPERATURE_RANGE = (0.05, 20.0)


def calibrate(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Temperature scaling, row by row: softmax(log p / T); T > 1 softens over-confident
    probabilities, T = 1 returns them unchanged."""
    if temperature == 1.0:
        return probabilities
    logits = np.log(np.clip(probabilities, 1e-12, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def fit_temperature(probabilities: np.ndarray, truth: np.ndarray) -> float:
    """The T in ``TEMPERATURE_RANGE`` minimising held-out NLL; ``truth`` holds column indices."""
    from scipy.optimize import minimize_scalar

    rows = np.arange(len(truth))

    def nll(log_t: float) -> float:
        calibrated = calibrate(probabilities, float(np.exp(log_t)))
        return float(-np.mean(np.log(np.clip(calibrated[rows, truth], 1e-12, 1.0))))

    bounds = tuple(np.log(TEMPERATURE_RANGE))
    return float(np.exp(minimize_scalar(nll, bounds=bounds, method="bounded").x))


def expected_calibration_error(
    probabilities: np.ndarray, truth: np.ndarray, bins: int = ECE_BINS
) -> float:
    """ECE: the confidence-vs-accuracy gap of the ``reliability`` bins, weighted by how many
    predictions fall in each (``truth``: column indices)."""
    table = reliability(probabilities, truth, bins)
    return float(
        sum(b["count"] * abs(b["accuracy"] - b["confidence"]) for b in table) / max(len(truth), 1)
    )


def reliability(
    probabilities: np.ndarray, truth: np.ndarray, bins: int = ECE_BINS
) -> list[dict[str, float]]:
    """Per confidence bin: mean confidence, accuracy and count (for a reliability diagram)."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == truth
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    return [
        {
            "low": float(edges[b]),
            "high": float(edges[b + 1]),
            "confidence": float(confidence[which == b].mean()),
            "accuracy": float(correct[which == b].mean()),
            "count": int((which == b).sum()),
        }
        for b in range(bins)
        if (which == b).any()
    ]
