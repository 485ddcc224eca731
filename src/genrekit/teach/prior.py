"""What the default model knows, lent to a personal model as a prior.

A personal model learns a person's labels from their songs; where a label is one of the genres
the default model was trained on (``jazz``, ``metal`` …), the default's own judgement is evidence
too, so a label with five songs is not on its own. The two are pooled log-linearly:
``log p_personal(label) + weight · log p_default(label)``, calibrated as any model's scores are
(``Calibrator``), where a label the default does not know gets the default's probability of
"none of the labels it shares with the personal model", split evenly among such labels. How much
to trust the default is the user's music's to say: ``weighed`` picks the weight from ``WEIGHTS``
whose calibrated pool best predicts the user's own tagged songs, each judged by a personal model
that never heard its artist (held-out log-likelihood) — 0 where the default does not know their
music, large where it knows it better than a few examples do. The pool is calibrated for each
weight before they are compared: uncalibrated, a large weight makes the pool overconfident, and
the log-likelihood then punishes its sureness rather than its judgement (on taffc's artist
halves it chose 0.25–0.5 where 4 was more often right; BENCHMARKS.md, *Your library teaches it*).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genrekit.calibration import Calibrator

PRIOR_WEIGHT = 1.0
"""The default's weight in the pooled log-probabilities before ``weighed`` measures one."""
WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
"""The weights ``weighed`` chooses among."""
FLOOR = 1e-6
"""Smallest probability the prior gives a label: it informs, it never vetoes."""


def lent_genres(representation: Any, model: str | Path | None = None) -> frozenset[str]:
    """The genres the default model (or the bundle ``model`` names) lends its judgement of to a
    personal model in ``representation``: all of its labels, or none when it reads other
    features."""
    from genrekit.models.bundle import load_bundle

    return _lendable(load_bundle(model), representation)


def _lendable(default: Any, representation: Any) -> frozenset[str]:
    """``default``'s labels when it reads ``representation`` (it can judge those features),
    else none."""
    return frozenset(default.labels if default.representation == representation else ())


@dataclass(frozen=True)
class Prior:
    """The default model's calibrated probabilities, mapped onto a personal model's labels."""

    bundle: Any
    """The default model's ``ModelBundle`` (same representation as the personal model)."""
    calibrator: Calibrator
    labels: list[str]
    """The personal model's labels, in its column order."""
    weight: float = PRIOR_WEIGHT
    pooled: Calibrator = field(default_factory=Calibrator)
    """Calibration of the pooled log-probabilities, fitted with the weight on the same songs."""

    @classmethod
    def of_default(
        cls, labels: list[str], representation: Any, model: str | Path | None = None
    ) -> Prior | None:
        """The default model (or the bundle ``model`` names) as a prior for ``labels``: None
        when they share no genre with it or it reads other features."""
        from genrekit.models.bundle import load_bundle

        default = load_bundle(model)
        if not set(labels) & _lendable(default, representation):
            return None
        return cls(default, Calibrator.from_manifest(default.manifest.get("calibration", {})),
                   list(labels))  # fmt: skip

    @classmethod
    def from_manifest(cls, section: dict[str, Any], labels: list[str]) -> Prior:
        """The prior a personal bundle's ``prior`` section names."""
        from genrekit.models.bundle import load_bundle

        default = load_bundle(section["model"])
        calibrator = Calibrator.from_manifest(default.manifest.get("calibration", {}))
        pooled = Calibrator.from_manifest(section.get("calibration", {}))
        return cls(default, calibrator, list(labels), float(section["weight"]), pooled)

    def _model_reference(self) -> str:
        """The lent bundle as ``from_manifest`` finds it again: a shipped one by its name, any
        other by its folder (its name alone would load the shipped one)."""
        from genrekit.models.bundle import bundled_models

        folder = self.bundle.path
        if folder is None:
            return self.bundle.model_id
        shipped = bundled_models().get(self.bundle.model_id)
        is_shipped = shipped is not None and shipped.resolve() == folder.resolve()
        return self.bundle.model_id if is_shipped else str(folder.resolve())

    def to_manifest(self) -> dict[str, Any]:
        shared = [label for label in self.labels if label in self.bundle.labels]
        return {
            "model": self._model_reference(),
            "weight": self.weight,
            "calibration": self.pooled.to_manifest(),
            "shared_labels": shared,
            "how": "calibrated log p_personal(label) + weight × log p_default(label); labels the "
            "default does not know share its probability of none of the shared labels; the "
            "weight and the calibration chosen by held-out log-likelihood on the tagged songs",
        }

    def log_probabilities(self, features: np.ndarray) -> np.ndarray:
        """(rows, personal labels): the default's log-probability of each personal label."""
        default = self.calibrator(self.bundle.predict_scores(features))
        known = {label: i for i, label in enumerate(self.bundle.labels)}
        shared = [label for label in self.labels if label in known]
        unknown = len(self.labels) - len(shared)
        rest = 1.0 - default[:, [known[label] for label in shared]].sum(axis=1)
        columns = [
            default[:, known[label]] if label in known else rest / max(unknown, 1)
            for label in self.labels
        ]
        return np.log(np.clip(np.stack(columns, axis=1), FLOOR, 1.0))

    def weighed(self, held_out: np.ndarray, features: np.ndarray, truth: np.ndarray) -> Prior:
        """This prior with the weight from ``WEIGHTS`` (and the pool's calibration for it) under
        which the pooled probabilities give the user's songs their own labels most likely:
        ``held_out`` are the personal model's calibrated probabilities of those songs, each from
        a model that never heard its artist; ``truth`` their labels (column indices)."""
        from dataclasses import replace

        personal = np.log(np.clip(held_out, FLOOR, 1.0))
        default = self.log_probabilities(features)

        def calibrated(weight: float) -> tuple[float, Prior]:
            scores = personal + weight * default
            pooled = Calibrator.fit(scores, truth)
            fitted = replace(self, weight=weight, pooled=pooled)
            return pooled.negative_log_likelihood(scores, truth), fitted

        return min((calibrated(weight) for weight in WEIGHTS), key=lambda fitted: fitted[0])[1]

    def pool(self, probabilities: np.ndarray, features: np.ndarray) -> np.ndarray:
        """The personal model's ``probabilities`` pooled with the prior (rows sum to 1)."""
        personal = np.log(np.clip(probabilities, FLOOR, 1.0))
        return self.pooled(personal + self.weight * self.log_probabilities(features))
