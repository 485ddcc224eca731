"""ONNX copies of scikit-learn pipelines: fast, pickle-free inference without scikit-learn.

Loading a skops file imports all of scikit-learn (skops discovers its trusted types that way),
which dominates a one-shot ``genrekit predict``. A verified ONNX graph runs in onnxruntime, which
imports in a fraction of that time. A copy is kept only when it reproduces the scikit-learn
probabilities on the training features; otherwise the bundle says why and uses skops alone.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

TOLERANCE = 1e-4
"""Largest absolute difference in any class probability accepted between ONNX and scikit-learn."""

_OPSET = 18


def export_verified(estimator: Any, features: np.ndarray, path: Path) -> dict[str, Any]:
    """Write ``path`` if the ONNX graph matches ``estimator`` on ``features``; report either way."""
    try:
        from skl2onnx import to_onnx

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            graph = to_onnx(
                estimator,
                features[:1].astype(np.float32),
                options={id(estimator): {"zipmap": False}},
                target_opset=_OPSET,
            )
        data = graph.SerializeToString()
        difference = float(np.abs(_run(data, features) - estimator.predict_proba(features)).max())
    except Exception as error:  # any converter gap means: no ONNX copy, skops still serves
        return {"exported": False, "reason": f"conversion failed ({type(error).__name__})"}
    if not difference <= TOLERANCE:
        return {
            "exported": False,
            "reason": f"probabilities differ by {difference:.2g} (> {TOLERANCE:g}) in float32",
        }
    path.write_bytes(data)
    return {"exported": True, "max_abs_probability_difference": difference}


class OnnxPredictor:
    """Class probabilities from an ONNX graph (columns in the estimator's ``classes_`` order)."""

    def __init__(self, path: Path) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        self._input = self._session.get_inputs()[0].name

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        _, probabilities = self._session.run(None, {self._input: features.astype(np.float32)})
        return probabilities.astype(np.float64)


def _run(data: bytes, features: np.ndarray) -> np.ndarray:
    import onnxruntime

    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return session.run(None, {name: features.astype(np.float32)})[1]
