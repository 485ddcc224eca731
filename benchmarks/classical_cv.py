"""Cross-validate every classical model config on the GTZAN features table, side by side.

Protocol: 10-fold stratified k-fold by track (the table has one row per track), hyper-parameters
by 3-fold grid search inside each outer training side. Writes a Markdown table and JSON to
benchmarks/results/. Run: ``.venv/bin/python benchmarks/classical_cv.py [configs/gtzan57/*.toml]``
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from _common import REPO, RESULTS, git_revision, machine

from genrekit.datasets import load_dataset
from genrekit.train import cross_validate, load_config


def main(config_paths: list[str]) -> None:
    paths = [Path(p) for p in config_paths] or sorted((REPO / "configs" / "gtzan57").glob("*.toml"))
    rows = []
    for path in paths:
        config = load_config(path)
        dataset = load_dataset(config.data)
        start = time.perf_counter()
        report = cross_validate(config, dataset)
        seconds = time.perf_counter() - start
        metrics = report.metrics()
        rows.append(
            {
                "config": str(path.relative_to(REPO)),
                "model": config.model,
                "accuracy_mean": metrics["accuracy_mean"],
                "accuracy_std": metrics["accuracy_std"],
                "macro_f1_mean": metrics["macro_f1_mean"],
                "macro_f1_std": metrics["macro_f1_std"],
                "cv_seconds": round(seconds, 1),
                "chosen_params_per_fold": report.extra["chosen_params_per_fold"],
                "protocol": report.protocol,
            }
        )
        print(f"{config.model:18s} {report.summary()} [{seconds:.0f} s]", flush=True)
    rows.sort(key=lambda r: -r["accuracy_mean"])
    lines = [
        f"Machine: {machine()}; genrekit revision {git_revision()}.",
        f"Protocol: {rows[0]['protocol']['description']}.",
        "",
        "| model | accuracy (mean ± std) | macro-F1 (mean ± std) | CV wall time (s) |",
        "|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['accuracy_mean']:.3f} ± {r['accuracy_std']:.3f} "
            f"| {r['macro_f1_mean']:.3f} ± {r['macro_f1_std']:.3f} | {r['cv_seconds']:.0f} |"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "classical_cv.md").write_text("\n".join(lines) + "\n")
    (RESULTS / "classical_cv.json").write_text(json.dumps(rows, indent=2, default=str) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
