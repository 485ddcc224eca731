"""Calibration: temperature scaling fitted on held-out log-scores, and its measure (ECE).

A model's probabilities are calibrated when, of the tracks it gives 0.8, about 80 % are right.
Temperature scaling (Guo et al., 2017) divides the model's logits by one number T fitted to
minimise the negative log-likelihood of held-out predictions; it never changes the ranking, so
accuracy is unchanged. ``Calibrator`` adds a power on the logit gaps, fitted the same way.

The logits must be the model's own scores, never the log of its probabilities: shrinkage LDA's
posteriors underflow to exactly 0 for every runner-up, so log-probabilities clipped at a floor
put every runner-up on the same floor, and a temperature then turns that one gap into one fixed
confidence for most songs ("84 %" whatever the music). ``log_scores`` gives scores that never
underflow: the decision function of a softmax model (LDA, logistic regression, the nets; its
softmax is the model's probabilities), else the log of the probabilities (models whose zeros are
real).
``Calibrator`` maps them to probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

ECE_BINS = 15
TEMPERATURE_RANGE = (0.05, 1000.0)
"""Searched on a log scale: logits of shrinkage LDA on 1,000 features differ by hundreds."""
POWER_RANGE = (0.05, 1.0)
"""The gap power: 1 is plain temperature scaling, lower compresses very large gaps."""
PROBABILITY_FLOOR = 1e-12
"""Where a model without a decision function says 0, its log-score is log of this."""
SOFTMAX_HEADS = ("LinearDiscriminantAnalysis", "LogisticRegression", "NetClassifier")
"""Final estimators whose probabilities are the softmax of their decision function (with three
or more classes): their decision function is the log-score (a net's: its logits)."""


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax, computed stably (the row maximum subtracted first)."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class Calibrator:
    """Probabilities from log-scores: ``softmax(-(gap ** power) / temperature)``, where ``gap`` is
    each class's distance below the row's best log-score (≥ 0). ``power`` = 1 is temperature
    scaling; a power below 1 also compresses the very large gaps a shrinkage LDA gives music it
    finds easy (a gap of 200 is not 10 times as sure as a gap of 20), which plain temperature
    scaling turns into a wall of "100 %". Both are fitted on held-out predictions (``fit``);
    every gap transform is increasing, so the ranking, and accuracy, never change."""

    temperature: float = 1.0
    power: float = 1.0

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        scores = np.atleast_2d(np.asarray(scores, dtype=np.float64))
        gaps = scores.max(axis=1, keepdims=True) - scores
        return softmax(-(gaps**self.power) / self.temperature)

    @classmethod
    def fit(cls, scores: np.ndarray, truth: np.ndarray) -> Calibrator:
        """The temperature (in ``TEMPERATURE_RANGE``) and power (in ``POWER_RANGE``) that
        minimise the NLL of held-out log-scores (``log_scores``); ``truth``: column indices."""
        from scipy.optimize import minimize

        def nll(parameters: np.ndarray) -> float:
            trial = cls(float(np.exp(parameters[0])), float(parameters[1]))
            return trial.negative_log_likelihood(scores, truth)

        bounds = [tuple(np.log(TEMPERATURE_RANGE)), POWER_RANGE]
        best = minimize(nll, x0=np.array([0.0, 1.0]), bounds=bounds, method="L-BFGS-B")
        return cls(round(float(np.exp(best.x[0])), 6), round(float(best.x[1]), 6))

    def negative_log_likelihood(self, scores: np.ndarray, truth: np.ndarray) -> float:
        """Mean negative log of the calibrated probability of each row's ``truth`` (column
        index): what ``fit`` minimises."""
        right = np.clip(self(scores)[np.arange(len(truth)), truth], PROBABILITY_FLOOR, 1.0)
        return float(-np.mean(np.log(right)))

    @classmethod
    def from_manifest(cls, section: dict[str, Any]) -> Calibrator:
        """The calibrator a bundle's ``calibration`` section describes (none: the model's own
        probabilities)."""
        return cls(float(section.get("temperature", 1.0)), float(section.get("power", 1.0)))

    def to_manifest(self) -> dict[str, Any]:
        return {
            "method": "temperature scaling of logit gaps raised to a power (power 1: plain "
            "temperature scaling)",
            "temperature": round(self.temperature, 4),
            "power": round(self.power, 4),
        }


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
