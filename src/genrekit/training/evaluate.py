"""Metrics and reports: accuracy, macro-F1, per-genre precision/recall/F1, confusion matrix.

Every report states the protocol that produced it; fold-wise mean ± std sits beside the pooled
figures so that a single lucky split cannot pass for a result.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from genrekit.aggregate import mean_by_track, verdicts
from genrekit.errors import ConfigError


@dataclass
class EvaluationReport:
    """Predictions of one evaluation run and the protocol that produced them."""

    title: str
    labels: list[str]
    y_true: np.ndarray
    y_pred: np.ndarray
    protocol: dict[str, Any]
    fold_of: np.ndarray | None = None
    """Fold index of each prediction, when the run was a k-fold CV."""
    extra: dict[str, Any] = field(default_factory=dict)
    probabilities: np.ndarray | None = None
    """Calibrated probabilities of each prediction (columns in ``labels`` order), when known:
    gives the expected calibration error and the reliability diagram."""

    @property
    def present_labels(self) -> list[str]:
        """Labels that occur in the truth or the predictions: macro averages run over these, so
        genres a model knows but the data lacks do not count as zero-F1 classes."""
        seen = set(self.y_true) | set(self.y_pred)
        return [label for label in self.labels if label in seen]

    def fold_scores(self) -> list[dict[str, float]]:
        if self.fold_of is None:
            return []
        scores = []
        for fold in np.unique(self.fold_of):
            mask = self.fold_of == fold
            scores.append(
                {
                    "accuracy": float(accuracy_score(self.y_true[mask], self.y_pred[mask])),
                    "macro_f1": float(
                        f1_score(
                            self.y_true[mask],
                            self.y_pred[mask],
                            labels=self.present_labels,
                            average="macro",
                            zero_division=0,
                        )
                    ),
                }
            )
        return scores

    def metrics(self) -> dict[str, Any]:
        precision, recall, f1, support = precision_recall_fscore_support(
            self.y_true, self.y_pred, labels=self.labels, zero_division=0
        )
        result: dict[str, Any] = {
            "accuracy": float(accuracy_score(self.y_true, self.y_pred)),
            "macro_f1": float(
                f1_score(
                    self.y_true,
                    self.y_pred,
                    labels=self.present_labels,
                    average="macro",
                    zero_division=0,
                )
            ),
            "n": len(self.y_true),
        }
        folds = self.fold_scores()
        if folds:
            for key in ("accuracy", "macro_f1"):
                values = np.array([fold[key] for fold in folds])
                result[f"{key}_mean"] = float(values.mean())
                result[f"{key}_std"] = float(values.std())
            result["folds"] = folds
        if self.probabilities is not None:
            from genrekit.calibration import ECE_BINS, expected_calibration_error, reliability

            truth = np.searchsorted(np.array(self.labels), self.y_true)
            result["ece"] = expected_calibration_error(self.probabilities, truth)
            result["ece_bins"] = ECE_BINS
            result["reliability"] = reliability(self.probabilities, truth)
        result["per_class"] = {
            label: {
                "precision": float(p),
                "recall": float(r),
                "f1": float(f),
                "support": int(s),
            }
            for label, p, r, f, s in zip(self.labels, precision, recall, f1, support)
        }
        return result

    def confusion(self) -> np.ndarray:
        return confusion_matrix(self.y_true, self.y_pred, labels=self.labels)

    def summary(self) -> str:
        """One line: the headline figures and the protocol."""
        m = self.metrics()
        if "accuracy_mean" in m:
            figures = (
                f"accuracy {m['accuracy_mean']:.3f} ± {m['accuracy_std']:.3f}, "
                f"macro-F1 {m['macro_f1_mean']:.3f} ± {m['macro_f1_std']:.3f}"
            )
        else:
            figures = f"accuracy {m['accuracy']:.3f}, macro-F1 {m['macro_f1']:.3f}"
        return f"{self.title}: {figures} ({self.protocol.get('description', '')})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "protocol": self.protocol,
            "labels": self.labels,
            "metrics": self.metrics(),
            "confusion_matrix": self.confusion().tolist(),
            **self.extra,
        }

    def to_markdown(self) -> str:
        m = self.metrics()
        lines = [f"# {self.title}", "", f"Protocol: {self.protocol.get('description', '')}", ""]
        lines += [f"- `{k}`: {v}" for k, v in self.protocol.items() if k != "description"]
        lines += ["", "| metric | pooled | mean ± std over folds |", "|---|---|---|"]
        for key, name in (("accuracy", "accuracy"), ("macro_f1", "macro-F1")):
            spread = (
                f"{m[key + '_mean']:.3f} ± {m[key + '_std']:.3f}" if key + "_mean" in m else "—"
            )
            lines.append(f"| {name} | {m[key]:.3f} | {spread} |")
        if "ece" in m:
            lines.append(
                f"| expected calibration error ({m['ece_bins']} bins) | {m['ece']:.3f} | — |"
            )
        if "train_accuracy_mean" in self.extra:  # far above the held-out figure: overfitting
            seen = self.extra["train_accuracy_mean"]
            lines.append(
                f"| accuracy on its own training rows (overfitting check) | — | {seen:.3f} |"
            )
        for key, name in (
            ("window_accuracy", "window"),
            ("majority_vote_accuracy", "majority vote"),
        ):
            if key in self.extra:
                lines.append(f"| {name} accuracy (window models) | {self.extra[key]:.3f} | — |")
        lines += [
            "",
            "| genre | precision | recall (per-genre accuracy) | F1 | support |",
            "|---|---|---|---|---|",
        ]
        for label, row in m["per_class"].items():
            lines.append(
                f"| {label} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} "
                f"| {row['support']} |"
            )
        lines += [
            "",
            "Confusion matrix (rows: true, columns: predicted):",
            "",
            "| | " + " | ".join(self.labels) + " |",
            "|---" * (len(self.labels) + 1) + "|",
        ]
        for label, row in zip(self.labels, self.confusion()):
            lines.append(f"| **{label}** | " + " | ".join(str(v) for v in row) + " |")
        return "\n".join(lines) + "\n"

    def write(self, directory: str | Path) -> Path:
        """report.md, report.json, confusion.csv and confusion.png into ``directory``;
        reliability.png when the report has calibrated probabilities, and curves.png (loss and
        accuracy per epoch) when it carries a net's history."""
        from genrekit.reports.plots import (
            close_figure,
            confusion_matrix_figure,
            curves_figure,
            reliability_figure,
        )

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "report.md").write_text(self.to_markdown())
        (directory / "report.json").write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        matrix = self.confusion()
        header = "true\\predicted," + ",".join(self.labels)
        rows = [f"{label}," + ",".join(map(str, row)) for label, row in zip(self.labels, matrix)]
        (directory / "confusion.csv").write_text("\n".join([header, *rows]) + "\n")
        figure = confusion_matrix_figure(matrix, self.labels, self.title)
        figure.savefig(directory / "confusion.png", dpi=120)
        close_figure(figure)
        metrics = self.metrics()
        if "reliability" in metrics:
            figure = reliability_figure(metrics["reliability"], metrics["ece"], self.title)
            figure.savefig(directory / "reliability.png", dpi=120)
            close_figure(figure)
        if self.extra.get("history"):
            figure = curves_figure(self.extra["history"], f"{self.title}: first fold")
            figure.savefig(directory / "curves.png", dpi=120)
            close_figure(figure)
        return directory


def evaluate_bundle(
    bundle_path: str | Path | None,
    data: str | Path,
    *,
    workers: int = 1,
    progress: bool = True,
    label_map: str | Path | None = None,
) -> tuple[EvaluationReport, list[Any]]:
    """Score a trained bundle on a labelled table or audio folder (one prediction per track).

    Table rows of one track (segments) are averaged before voting; audio files go through the same
    path as ``genrekit predict``. Tracks the bundle was trained on are reported, since scoring on
    them says nothing about new music.
    """
    from genrekit.predict import Classifier
    from genrekit.training.datasets import load_dataset

    classifier = Classifier.load(bundle_path)
    dataset = load_dataset(data)
    labelled = [i for i, item in enumerate(dataset.items) if item.label]
    dataset = dataset.subset(np.array(labelled, dtype=int))
    errors: list[Any] = []
    if dataset.features is not None:
        scored = _score_table(classifier, dataset, data)
    else:
        scored, errors = _score_audio(classifier, dataset, workers, progress)
    tracks, y_true, y_pred, probabilities = scored
    labels = classifier.labels
    if label_map is not None:  # score coarse groups: map truth and predictions alike
        y_true, y_pred, labels = _mapped(label_map, y_true, y_pred, labels)
    training_source = classifier.bundle.manifest.get("training", {}).get("data", {}).get("source")
    report = EvaluationReport(
        title=f"{classifier.bundle.model_id} on {Path(data).name}",
        labels=labels,
        y_true=y_true,
        y_pred=y_pred,
        protocol={
            "name": "bundle-on-data",
            "description": "trained bundle scored once per track on the given data (a held-out "
            "figure only if none of these tracks or their artists were in its training data)",
            "data": str(data),
            "model_trained_on": training_source,
            "label_map": None if label_map is None else str(label_map),
            "unknown_labels": sorted(set(y_true) - set(classifier.labels)),
        },
        extra={"tracks": tracks, "probabilities": probabilities},
    )
    return report, errors


Scored = tuple[list[str], np.ndarray, np.ndarray, list[list[float]]]
"""Per track: ids, true labels, predicted labels, probabilities in the model's label order."""


def _score_table(classifier: Any, dataset: Any, data: str | Path) -> Scored:
    """A features table scored by the bundle, rows of one track averaged."""
    if classifier.spec.name != "gtzan57":
        raise ConfigError(
            f"{data}: a features table holds gtzan57 features, but "
            f"{classifier.bundle.model_id} needs {classifier.spec.name}: give it audio"
        )
    probabilities = classifier.bundle.predict_proba(dataset.features)
    per_track, first_rows = mean_by_track(probabilities, dataset.tracks)
    tracks = [str(track) for track in dataset.tracks[first_rows]]
    return tracks, dataset.y[first_rows], verdicts(classifier.labels, per_track), per_track.tolist()


def _score_audio(
    classifier: Any, dataset: Any, workers: int, progress: bool
) -> tuple[Scored, list[Any]]:
    """Audio files predicted as ``genrekit predict`` does (every clip of a long track, not the
    regions indexing hears), and the files that could not be."""
    from tqdm import tqdm

    from genrekit.errors import AudioError
    from genrekit.predict import predict_many

    results = predict_many(classifier, dataset.paths, timeline=False, workers=workers, full=True)
    tracks, y_true, y_pred, probabilities, errors = [], [], [], [], []
    for item, result in tqdm(zip(dataset.items, results), total=len(dataset), desc="evaluate",
                             disable=None if progress else True):  # fmt: skip
        if isinstance(result, AudioError):
            errors.append(result)
            continue
        tracks.append(item.track)
        y_true.append(item.label)
        y_pred.append(result.label)
        probabilities.append([result.probabilities[k] for k in classifier.labels])
    return (tracks, np.array(y_true), np.array(y_pred), probabilities), errors


def _mapped(
    label_map: str | Path, y_true: np.ndarray, y_pred: np.ndarray, labels: list[str]
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Truth, predictions and labels replaced by their groups from the label map."""
    from genrekit.training.datasets import map_label, read_label_map

    mapping = read_label_map(label_map)

    def group(label: str) -> str:
        return str(map_label(label, mapping, label_map))

    grouped = sorted({group(label) for label in labels})
    return np.array([group(t) for t in y_true]), np.array([group(p) for p in y_pred]), grouped
