"""Calibration: temperature scaling fitted on held-out log-scores, and its measure (ECE).

A model's probabilities are calibrated when, of the tracks it gives 0.8, about 80 % are right.
Temperature scaling (Guo et al., 2017) divides the model's logits by one number T fitted to
minimise the negative log-likelihood of held-out predictions; it never changes the ranking, so
accuracy is unchanged. ``calibrate`` applies it.

The logits must be the model's own scores, never the log of its probabilities: shrinkage LDA's
posteriors underflow to exactly 0 for every runner-up, so log-probabilities clipped at a floor
put every runner-up on the same floor, and a temperature then turns that one gap into one fixed
confidence for most songs ("84 %" whatever the music). ``log_scores`` gives scores that never
underflow: the decision function of a softmax model (LDA, logistic regression; its softmax is
the model's probabilities), else the log of the probabilities (models whose zeros are real).
"""

from __future__ import annotations

from typing import Any

import numpy as np

ECE_BINS = 15
TEMPERATURE_RANGE = (0.05, 1000.0)
"""Searched on a log scale: logits of shrinkage LDA on 1,000 features differ by hundreds."""
PROBABILITY_FLOOR = 1e-12
"""Where a model without a decision function says 0, its log-score is log of this."""
SOFTMAX_HEADS = ("LinearDiscriminantAnalysis", "LogisticRegression")
"""Final estimators whose probabilities are the softmax of their decision function (with three
or more classes): their decision function is the log-score."""


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax, computed stably (the row maximum subtracted first)."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def calibrate(scores: np.ndarray, temperature: float) -> np.ndarray:
    """Temperature scaling, row by row: softmax(scores / T) of log-scores (``log_scores``);
    T > 1 softens over-confident probabilities, T = 1 gives the model's own."""
    return softmax(np.asarray(scores, dtype=np.float64) / temperature)


def log_scores(estimator: Any, features: np.ndarray) -> np.ndarray:
    """Log-scores of ``features`` rows (columns in ``estimator.classes_`` order) whose softmax is
    the estimator's probabilities and which never underflow (see the module docstring)."""
    final = estimator[-1] if hasattr(estimator, "steps") else estimator
    if type(final).__name__ in SOFTMAX_HEADS and len(getattr(final, "classes_", ())) > 2:
        return np.asarray(estimator.decision_function(features), dtype=np.float64)
    probabilities = estimator.predict_proba(features)
    return np.log(np.clip(probabilities, PROBABILITY_FLOOR, 1.0))


def affine_scores(estimator: Any, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(weights, bias)`` with ``features @ weights + bias == log_scores(estimator, features)``
    when the estimator's log-scores are affine in its input (a scaler, PCA, then a softmax
    head), checked on ``reference`` rows; None otherwise. Lets a bundle compute its logits with
    one matrix product, without scikit-learn."""
    final = estimator[-1] if hasattr(estimator, "steps") else estimator
    if type(final).__name__ not in SOFTMAX_HEADS or len(getattr(final, "classes_", ())) <= 2:
        return None
    width = reference.shape[1]
    bias = log_scores(estimator, np.zeros((1, width)))[0]
    weights = log_scores(estimator, np.eye(width)) - bias
    expected = log_scores(estimator, reference)
    if not np.allclose(reference @ weights + bias, expected, rtol=1e-6, atol=1e-6):
        return None
    return weights, bias


def fit_temperature(scores: np.ndarray, truth: np.ndarray) -> float:
    """The T in ``TEMPERATURE_RANGE`` minimising the NLL of held-out log-scores (``log_scores``);
    ``truth`` holds column indices."""
    from scipy.optimize import minimize_scalar

    rows = np.arange(len(truth))

    def nll(log_t: float) -> float:
        calibrated = calibrate(scores, float(np.exp(log_t)))
        return float(-np.mean(np.log(np.clip(calibrated[rows, truth], PROBABILITY_FLOOR, 1.0))))

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
