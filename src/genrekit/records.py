"""One prediction, one record; one writer per output format (whisper's ``get_writer``).

``record`` turns a file's outcome — a ``Prediction`` or the ``AudioError`` that explains why
there is none — into the plain dictionary every interface starts from: ``genrekit predict
--json`` prints it, ``--out`` writes it through ``get_writer``, the REST API validates it into
its response schema. A field added to ``Prediction`` reaches all of them from here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genrekit.errors import AudioError, ConfigError

if TYPE_CHECKING:
    from genrekit.predict import Prediction

Writer = Callable[[list[dict[str, Any]], Path, list[str]], None]
"""(records, output file, the model's genres in order) → the file written."""

CSV_FIELDS = ("path", "label", "confidence", "typicality", "known", "error", "duration",
              "truncated", "narrow_band")  # fmt: skip
"""The columns of a CSV row before one ``p_<genre>`` column per genre."""


def record(outcome: Prediction | AudioError) -> dict[str, Any]:
    """The plain record of one file: every field of the prediction, or its path and error."""
    if isinstance(outcome, AudioError):
        return {"path": str(outcome.path), "error": outcome.reason}
    return outcome.to_dict()


def write_json(records: list[dict[str, Any]], out: Path, labels: list[str]) -> None:
    """Every record whole (timeline and styles included), as a JSON list."""
    out.write_text(json.dumps(records, indent=2) + "\n")


def write_csv(records: list[dict[str, Any]], out: Path, labels: list[str]) -> None:
    """One row per file: ``CSV_FIELDS`` then each genre's probability (``p_<genre>``)."""
    import pandas as pd

    rows = []
    for found in records:
        row: dict[str, Any] = {name: found.get(name) for name in CSV_FIELDS}
        row["label"] = row["label"] or ""
        row["error"] = row["error"] or ""
        probabilities = found.get("probabilities", {})
        row.update({f"p_{label}": probabilities.get(label) for label in labels})
        rows.append(row)
    pd.DataFrame(rows, columns=[*CSV_FIELDS, *(f"p_{label}" for label in labels)]).to_csv(
        out, index=False
    )


WRITERS: dict[str, Writer] = {".csv": write_csv, ".json": write_json}
"""Output file suffix → its writer."""


def get_writer(out: Path) -> Callable[[list[dict[str, Any]], list[str]], None]:
    """A writer of records and the model's genres into ``out``, by its suffix; a
    ``ConfigError`` naming the suffixes there are, before any work is done."""
    try:
        writer = WRITERS[out.suffix.lower()]
    except KeyError:
        raise ConfigError(f"{out}: an output file must end in {' or '.join(WRITERS)}") from None

    def write(records: list[dict[str, Any]], labels: list[str]) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        writer(records, out, labels)

    return write
