"""Rebuild every committed ``benchmarks/results/*/comparison.html`` from the saved reports beside
it (``*/report.json``) with the current page code: no model is trained again.

    .venv/bin/python tools/regenerate_comparisons.py
"""

from __future__ import annotations

from pathlib import Path

from genrekit.reports.comparison import comparison_page

RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"


def main() -> None:
    for page in sorted(RESULTS.glob("*/comparison.html")):
        reports = sorted(page.parent.glob("*/report.json"))
        if reports:
            comparison_page(reports, "genrekit compare").write(page)
            print(f"{page}: {len(reports)} results")


if __name__ == "__main__":
    main()
