"""Self-contained HTML pages: figures embedded as PNG data, tables, and hoverable SVG maps.

One file that opens in any browser with nothing beside it (no scripts, no network).
"""

from __future__ import annotations

import base64
import html
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; padding: 0 1rem; max-width: 1100px;
       color: #222; line-height: 1.45; }
h1 { margin-bottom: .2rem; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .3rem; }
.table { overflow-x: auto; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .9rem; }
th, td { padding: .25rem .6rem; border-bottom: 1px solid #eee; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.best td { font-weight: 600; background: #eef6ee; }
img, svg { max-width: 100%; height: auto; } .note { color: #555; font-size: .9rem; }
nav a { margin-right: .8rem; display: inline-block; }
@media (max-width: 600px) { body { margin: 1rem auto; } table { font-size: .8rem; } }
"""

FIGURE_DPI = 100
"""Pixels per inch of embedded figures: a figure 5.5 in wide is 550 px, which a 390 px phone
shows at about 0.65 of its size."""

PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class HtmlReport:
    """Sections of HTML snippets rendered into one page with a table of contents."""

    def __init__(self, title: str, subtitle: str = "") -> None:
        self.title = title
        self.subtitle = subtitle
        self.sections: list[tuple[str, list[str]]] = []

    def add(self, heading: str, *parts: str) -> None:
        self.sections.append((heading, list(parts)))

    def render(self) -> str:
        nav = " ".join(f'<a href="#{slug(h)}">{html.escape(h)}</a>' for h, _ in self.sections)
        body = "\n".join(
            f'<section id="{slug(heading)}">\n<h2>{html.escape(heading)}</h2>\n'
            + "\n".join(parts)
            + "\n</section>"
            for heading, parts in self.sections
        )
        return (
            f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(self.title)}</title><style>{_STYLE}</style></head>\n<body>\n"
            f"<h1>{html.escape(self.title)}</h1>\n"
            f'<p class="note">{html.escape(self.subtitle)}</p>\n<nav>{nav}</nav>\n{body}\n'
            "</body></html>\n"
        )

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.render(), encoding="utf-8")
        return path


def paragraph(text: str, note: bool = False) -> str:
    return f"<p{' class=note' if note else ''}>{html.escape(text)}</p>"


def table(frame: pd.DataFrame, float_format: str = "{:.3f}", best_row: int | None = None) -> str:
    """A table that scrolls sideways on a narrow screen. A named index becomes the first column
    (no second header row); float columns holding only whole numbers (counts such as support)
    print as integers; ``best_row`` (a position) is highlighted."""
    if frame.index.name is not None:
        frame = frame.reset_index()
    frame = frame.copy()
    for column in frame.columns:
        values = frame[column]
        if values.dtype.kind == "f" and values.notna().all() and (values % 1 == 0).all():
            frame[column] = values.astype(int)
    text = frame.to_html(border=0, float_format=float_format.format, escape=True, index=False)
    if best_row is not None:
        head, body = text.split("<tbody>", 1)
        first, *rows = body.split("<tr>")
        marked = [
            ('<tr class="best">' if i == best_row else "<tr>") + r for i, r in enumerate(rows)
        ]
        text = head + "<tbody>" + first + "".join(marked)
    return f'<div class="table">{text}</div>'


def plural(count: int, noun: str) -> str:
    """``1 result``, ``3 results``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def figure(fig, alt: str) -> str:
    """A matplotlib figure as an embedded PNG (the figure is closed)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=FIGURE_DPI, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


SVG_TEXT_PX = 16
"""Text size in the SVG maps (px of the drawing): about 10 px when a phone shows a 560 px map
358 px wide."""
LEGEND_COLUMNS = 3
"""Labels per row of a map's legend, which sits under the map so the drawing is no wider than
the map itself."""


def scatter_svg(
    points: np.ndarray, labels: list[str], names: list[str], title: str, size: int = 560
) -> str:
    """A 2-D scatter as inline SVG, one colour per label, the legend underneath; each point
    carries its name as a tooltip."""
    categories = sorted(set(labels))
    colour = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(categories)}
    low, high = points.min(axis=0), points.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    margin = 20
    scaled = margin + (points - low) / span * (size - 2 * margin)
    circles = "\n".join(
        f'<circle cx="{x:.1f}" cy="{size - y:.1f}" r="5" fill="{colour[label]}" '
        f'fill-opacity="0.8"><title>{html.escape(name)} ({html.escape(label)})</title></circle>'
        for (x, y), label, name in zip(scaled, labels, names)
    )
    row_height, column_width = SVG_TEXT_PX + 10, size // LEGEND_COLUMNS
    rows = -(-len(categories) // LEGEND_COLUMNS)
    legend = "\n".join(
        f'<circle cx="{column_width * (i % LEGEND_COLUMNS) + 8}" '
        f'cy="{size + row_height * (i // LEGEND_COLUMNS + 1) - SVG_TEXT_PX / 3:.0f}" r="6" '
        f'fill="{colour[c]}"/><text x="{column_width * (i % LEGEND_COLUMNS) + 20}" '
        f'y="{size + row_height * (i // LEGEND_COLUMNS + 1)}" font-size="{SVG_TEXT_PX}">'
        f"{html.escape(c)}</text>"
        for i, c in enumerate(categories)
    )
    height = size + row_height * rows + 8
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{height}" '
        f'viewBox="0 0 {size} {height}" role="img" aria-label="{html.escape(title)}">'
        f'<rect width="{size}" height="{size}" fill="#fafafa" stroke="#ccc"/>'
        f'<text x="8" y="{SVG_TEXT_PX + 4}" font-size="{SVG_TEXT_PX}">{html.escape(title)}</text>\n'
        f"{circles}\n{legend}</svg>"
    )
