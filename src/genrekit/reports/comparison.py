"""Saved results side by side: the HTML page of ``genrekit report`` and of ``genrekit compare``.

Reads ``report.json`` files (``genrekit.training.evaluate.EvaluationReport``): a table of the
headline figures with their protocols, best first, then each confusion matrix and learning curves.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from genrekit.errors import ConfigError


def _figure(value: float | None, form: str, scale: float = 1.0) -> str:
    """A report figure for a table cell, or a dash when the report has none."""
    return "—" if value is None else form.format(value * scale)


def _comparison_row(data: dict[str, Any]) -> dict[str, Any]:
    """One saved report as a row of the comparison table (``_sort``: its accuracy)."""
    m = data["metrics"]
    spread = "accuracy_mean" in m
    return {
        "result": data["title"],
        "accuracy": f"{m['accuracy_mean']:.3f} ± {m['accuracy_std']:.3f}"
        if spread
        else f"{m['accuracy']:.3f}",
        "macro-F1": f"{m['macro_f1_mean']:.3f} ± {m['macro_f1_std']:.3f}"
        if spread
        else f"{m['macro_f1']:.3f}",
        "tracks": int(m["n"]),
        "train accuracy": _figure(data.get("train_accuracy_mean"), "{:.3f}"),
        "fit time, all folds (s)": _figure(data.get("fit_seconds_total"), "{:.1f}"),
        "predict time, all folds (s)": _figure(data.get("predict_seconds_total"), "{:.2f}"),
        "size (KB)": _figure(data.get("model_bytes"), "{:.0f}", 1 / 1024),
        "protocol": data["protocol"].get("description", ""),
        "_sort": m.get("accuracy_mean", m.get("accuracy", 0.0)),
    }


def comparison_page(results: Sequence[str | Path], title: str = "genrekit results"):
    """An HTML page comparing saved reports (``report.json`` files or folders holding one):
    a table of the headline figures with their protocols, then each confusion matrix and, for
    results that recorded a training history, its loss/accuracy curves."""
    import pandas as pd

    from genrekit.reports import html_page as H
    from genrekit.reports.plots import confusion_matrix_figure, curves_figure

    loaded = []
    for result in results:
        path = Path(result)
        path = path / "report.json" if path.is_dir() else path
        try:
            loaded.append(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError) as error:
            raise ConfigError(f"{path}: not a readable report.json ({error})") from None
    rows = [_comparison_row(data) for data in loaded]
    table = pd.DataFrame(rows).sort_values("_sort", ascending=False, kind="stable")
    protocols = set(table["protocol"])
    shared = []
    if len(protocols) == 1:  # said once above the table, not in every row
        shared = [H.paragraph(f"Protocol of every row: {protocols.pop()}")]
        table = table.drop(columns="protocol")
    page = H.HtmlReport(title, H.plural(len(loaded), "result"))
    page.add(
        "Comparison",
        *shared,
        H.table(table.drop(columns="_sort"), best_row=0),
        H.paragraph(
            "Best accuracy first, highlighted. Compare figures only between rows measured under "
            "the same protocol: artist-disjoint folds score lower than track folds, and leaky "
            "(segment-random) splits score highest of all.",
            note=True,
        ),
    )
    for data in loaded:
        parts = [
            H.figure(
                confusion_matrix_figure(
                    np.array(data["confusion_matrix"]), data["labels"], data["title"]
                ),
                "confusion matrix",
            )
        ]
        if data.get("history"):
            parts.append(H.figure(curves_figure(data["history"]), "training curves"))
        page.add(data["title"], *parts)
    return page
