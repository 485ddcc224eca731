"""Robustness of the musicnn transfer models to everyday degradations, under artist folds.

For every GTZAN clip in ``../shared/data/gtzan`` the musicnn features are computed clean and under
each degradation of ``genrekit.degrade.CONDITIONS`` (DC offset, hard clipping, 8 kHz sample rate,
−30 dB, white and pink noise at 20 dB SNR, the telephone band, MP3 at 96 and 64 kbit/s, 44.1 kHz
stereo), with and without loudness normalization, plus the ``genrekit.degrade.training_copy``
copies that ``[augment] copies`` trains on. For each variant (preprocessing × classifier × training
copies): outer 5-fold stratified group k-fold by artist (``gtzan_artists.csv``), drawn with
``--seeds`` fold seeds (one 5-fold run moves a condition's drop by several points: 208 clips); on
each training side the classifier's parameter is chosen by 3-fold group grid search (macro-F1) on
the training artists' clean clips, and a temperature is fitted on those inner folds' held-out
probabilities; the held-out artists' clips are scored clean and under every condition: accuracy,
macro-F1 and ECE (15 bins), their means over the seeds, each condition's drop per seed and the
worst mean drop, and the shipped default's drops minus the GTZAN-only default's, paired by seed.
The shipped default also trains on a second collection (``[[data.also]]``): its row adds the 84
taffc songs in GTZAN's genres (clean, with the same training copies) to every training side,
outer and inner, and is still scored on GTZAN's held-out artists only.

    python benchmarks/robustness.py [--workers 2] [--seeds 5]

Features are cached in ``benchmarks/cache/`` (not committed); results go to
``benchmarks/results/robustness.json``.
"""

from __future__ import annotations

import argparse
import json
import time
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from _common import REPO, RESULTS, data_dir, result_header, taffc_in_taxonomy

from genrekit.audio import Audio, load_audio
from genrekit.calibration import Calibrator, expected_calibration_error, log_scores
from genrekit.degrade import CONDITIONS, training_copy
from genrekit.features import RepresentationSpec, feature_set, prepare
from genrekit.models.classical import build_pipeline
from genrekit.training.datasets import Dataset

CACHE = REPO / "benchmarks" / "cache"
COPIES = 2
GRIDS = {
    "logreg": ("C", (0.003, 0.01, 0.03, 0.1)),
    "lda": ("shrinkage", (0.4, 0.6, 0.8, 0.9, 0.95)),
}
VARIANTS = (  # title, normalization, classifier, training copies, taffc trained on too
    ("previous default: no level normalization, logistic regression", "none", "logreg", 0, False),
    ("loudness normalization, logistic regression", "loudness", "logreg", 0, False),
    ("loudness normalization, logistic regression, +2 training copies", "loudness", "logreg", 2,
     False),
    ("loudness normalization, shrinkage LDA", "loudness", "lda", 0, False),
    ("loudness normalization, shrinkage LDA, +2 training copies (GTZAN-only default)", "loudness",
     "lda", 2, False),
    ("loudness normalization, shrinkage LDA, +2 training copies, + taffc (default)", "loudness",
     "lda", 2, True),
)  # fmt: skip
FOLDS, INNER_FOLDS = 5, 3


def clip_features(job: tuple[str, str, str, int]) -> np.ndarray:
    """musicnn features of one clip after a named condition, or as training copy ``copy``."""
    from threadpoolctl import threadpool_limits

    path, condition, normalize, copy = job
    threadpool_limits(1)
    spec = RepresentationSpec(name="musicnn", normalize=normalize)  # type: ignore[arg-type]
    audio = load_audio(path, sample_rate=spec.sample_rate)
    if copy:
        seed = zlib.crc32(f"{Path(path).stem}:{copy}".encode())  # as genrekit train seeds it
        samples = training_copy(audio.samples, audio.sample_rate, copy, seed)
    else:
        samples = CONDITIONS[condition](audio.samples, audio.sample_rate)
    degraded = Audio(samples, audio.sample_rate, path, audio.source_sample_rate, 1, False)
    return feature_set(spec.name).extract(prepare(degraded, spec), spec.sample_rate)


def cache_file(name: str) -> Path:
    """The ``.npy`` file in ``CACHE`` for features or figures named ``name`` (a condition's name
    may hold spaces and slashes)."""
    return CACHE / f"{name.replace(' ', '_').replace('/', '_')}.npy"


def features_for(
    paths: list[str],
    normalize: str,
    copies: int,
    workers: int,
    collection: str = "",
    conditions: tuple[str, ...] = ("clean",),
) -> dict[str, np.ndarray]:
    """condition (or ``copy-n``) → (clips, 1000) features, cached on disk; a second
    ``collection`` (taffc) is only trained on, so it gets its copies and the named
    ``conditions`` only (its clean clips unless told)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    conditions = conditions if collection else tuple(CONDITIONS)
    names = [*conditions, *(f"copy-{n}" for n in range(1, copies + 1))]
    prefix = f"robustness-{collection}-" if collection else "robustness-"
    result = {}
    for name in names:
        cached = cache_file(f"{prefix}{normalize}-{name}")
        if cached.is_file():
            result[name] = np.load(cached)
            continue
        copy = int(name.split("-")[1]) if name.startswith("copy-") else 0
        jobs = [(p, name, normalize, copy) for p in paths]
        start = time.perf_counter()
        with ProcessPoolExecutor(workers) as pool:
            result[name] = np.stack(list(pool.map(clip_features, jobs, chunksize=4)))
        np.save(cached, result[name])
        print(f"  {normalize} / {name}: {time.perf_counter() - start:.0f} s", flush=True)
    return result


def training_rows(copies: int) -> tuple[str, ...]:
    """The features each training clip contributes: clean, then ``copies`` training copies."""
    return ("clean", *(f"copy-{n}" for n in range(1, copies + 1)))


def held_out_probabilities(
    features: dict[str, np.ndarray],
    y: np.ndarray,
    artists: np.ndarray,
    model: str,
    rows: tuple[str, ...],
    also: tuple[dict[str, np.ndarray], np.ndarray, tuple[str, ...]] | None = None,
    seed: int = 0,
    chosen_on: str = "clean",
) -> tuple[dict[str, np.ndarray], list[dict]]:
    """Calibrated probabilities of every GTZAN clip under every condition, from the outer
    artist fold (drawn with ``seed``) that held it out, and the parameter and calibration
    chosen per fold. Each training clip contributes its ``rows`` (names of ``features``);
    ``also`` (features, genres, rows) of a second collection joins every training side. The
    parameter is chosen, and the temperature fitted, on the inner folds' held-out
    ``chosen_on`` features."""
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedGroupKFold

    labels = np.array(sorted(set(y)))
    parameter, grid = GRIDS[model]

    def fitted(value: float, clips: np.ndarray):
        blocks = [features[name][clips] for name in rows]
        genres = [y[clips]] * len(rows)
        if also is not None:
            blocks += [also[0][name] for name in also[2]]
            genres += [also[1]] * len(also[2])
        pipeline = build_pipeline(model, {parameter: value}, seed=seed)
        return pipeline.fit(np.vstack(blocks), np.concatenate(genres))

    outer = StratifiedGroupKFold(FOLDS, shuffle=True, random_state=seed)
    probabilities = {name: np.zeros((len(y), len(labels))) for name in CONDITIONS}
    chosen = []
    for train, test in outer.split(y, y, artists):
        inner = StratifiedGroupKFold(INNER_FOLDS, shuffle=True, random_state=seed)
        splits = list(inner.split(train, y[train], artists[train]))
        best = (-1.0, None, None)
        for value in grid:
            held_out = np.zeros((len(train), len(labels)))
            for fit, check in splits:
                held_out[check] = log_scores(
                    fitted(value, train[fit]), features[chosen_on][train[check]]
                )
            score = f1_score(y[train], labels[held_out.argmax(1)], average="macro")
            if score > best[0]:
                best = (score, value, held_out)
        _, value, held_out = best
        calibrator = Calibrator.fit(held_out, np.searchsorted(labels, y[train]))
        chosen.append({parameter: value, **calibrator.to_manifest()})
        final = fitted(value, train)
        for name in CONDITIONS:
            probabilities[name][test] = calibrator(log_scores(final, features[name][test]))
    return probabilities, chosen


def scored(probabilities: dict[str, np.ndarray], y: np.ndarray) -> dict:
    """Accuracy, macro-F1 and ECE per condition, and the worst condition's drop from clean."""
    from sklearn.metrics import accuracy_score, f1_score

    labels = np.array(sorted(set(y)))
    rows = {}
    for name in CONDITIONS:
        predicted = labels[probabilities[name].argmax(1)]
        rows[name] = {
            "accuracy": round(float(accuracy_score(y, predicted)), 4),
            "macro_f1": round(float(f1_score(y, predicted, average="macro")), 4),
            "ece": round(
                expected_calibration_error(probabilities[name], np.searchsorted(labels, y)), 4
            ),
        }
    clean = rows["clean"]["accuracy"]
    worst = min(rows, key=lambda n: rows[n]["accuracy"])
    return {
        "conditions": rows,
        "worst_condition": worst,
        "worst_drop": round(clean - rows[worst]["accuracy"], 4),
    }


def evaluate(
    features: dict[str, np.ndarray],
    y: np.ndarray,
    artists: np.ndarray,
    model: str,
    copies: int,
    also: tuple[dict[str, np.ndarray], np.ndarray] | None = None,
    seed: int = 0,
) -> dict:
    """Outer artist folds over GTZAN drawn with ``seed``, training on clean clips and
    ``copies`` training copies; ``also`` (features, genres) of a second collection, with the
    same copies, is added to every training side."""
    rows = training_rows(copies)
    second = None if also is None else (*also, rows)
    probabilities, chosen = held_out_probabilities(features, y, artists, model, rows, second, seed)
    return {**scored(probabilities, y), "chosen_per_fold": chosen}


def gtzan(root: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Clip paths, genres and artists of the shared GTZAN clips."""
    import pandas as pd

    paths = sorted(str(p) for p in (root / "gtzan").glob("*/*.flac"))
    artist_of = pd.read_csv(root / "gtzan_artists.csv", dtype=str).set_index("id")["artist"]
    ids = [Path(p).stem for p in paths]
    return paths, np.array([i.split(".")[0] for i in ids]), np.array([artist_of[i] for i in ids])


def both_collections() -> tuple[list[str], np.ndarray, np.ndarray, Dataset, list[str]]:
    """GTZAN's clip paths, genres and artists, and taffc's songs in GTZAN's genres with their
    artists."""
    return (*gtzan(data_dir()), *taffc_in_taxonomy())


def repeated(runs: list[dict]) -> dict:
    """One variant over several fold seeds: each condition's mean accuracy, macro-F1 and ECE,
    its drop from clean per seed, and the worst condition by mean drop."""
    rows = {}
    for name in CONDITIONS:
        drops = [run["conditions"]["clean"]["accuracy"] - run["conditions"][name]["accuracy"]
                 for run in runs]  # fmt: skip
        rows[name] = {
            **{
                figure: round(float(np.mean([run["conditions"][name][figure] for run in runs])), 4)
                for figure in ("accuracy", "macro_f1", "ece")
            },
            "drop_per_seed": [round(drop, 4) for drop in drops],
            "drop_mean": round(float(np.mean(drops)), 4),
        }
    worst = max(rows, key=lambda n: rows[n]["drop_mean"])
    return {
        "conditions": rows,
        "worst_condition": worst,
        "worst_drop": rows[worst]["drop_mean"],
        "per_seed": runs,
    }


def paired_drops(first: dict, second: dict) -> dict:
    """Per condition, ``second``'s drop minus ``first``'s over the same fold seeds (mean, min,
    max): positive where ``second`` loses more to the degradation."""
    paired = {}
    for name in CONDITIONS:
        if name == "clean":
            continue
        difference = np.subtract(
            second["conditions"][name]["drop_per_seed"], first["conditions"][name]["drop_per_seed"]
        )
        paired[name] = {
            "mean": round(float(np.mean(difference)), 4),
            "min": round(float(np.min(difference)), 4),
            "max": round(float(np.max(difference)), 4),
        }
    return paired


def main() -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # small dense fits: one BLAS thread is ~20x faster than two here
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=5, help="fold seeds 0..seeds-1")
    args = parser.parse_args()
    started = time.perf_counter()
    paths, y, artists, taffc, _ = both_collections()
    taffc_paths = [str(path) for path in taffc.paths]
    results = {}
    for title, normalize, model, copies, with_taffc in VARIANTS:
        features = features_for(paths, normalize, COPIES, args.workers)
        also = None
        if with_taffc:
            found = features_for(taffc_paths, normalize, COPIES, args.workers, "taffc")
            also = (found, taffc.y)
        runs = [
            evaluate(features, y, artists, model, copies, also, seed) for seed in range(args.seeds)
        ]
        results[title] = result = repeated(runs)
        print(f"\n{title}: worst drop {result['worst_drop']:.3f} ({result['worst_condition']})")
        for condition, row in result["conditions"].items():
            print(
                f"  {condition:32s} acc {row['accuracy']:.3f}  F1 {row['macro_f1']:.3f}  "
                f"ECE {row['ece']:.3f}  drops {row['drop_per_seed']}"
            )
    gtzan_only, shipped = (results[variant[0]] for variant in VARIANTS[-2:])
    header = result_header(
        f"python benchmarks/robustness.py --seeds {args.seeds}",
        time.perf_counter() - started,
        f"{FOLDS}-fold stratified group k-fold by artist ({len(set(artists))} artists, "
        f"{len(y)} clips), fold seeds 0..{args.seeds - 1}; the classifier's parameter by "
        f"{INNER_FOLDS}-fold group grid search (macro-F1) and a temperature on the training "
        "artists only; degradations applied to the held-out clips only; figures are means over "
        "the seeds, drops paired per seed",
    )
    record = {
        **header,
        "grids": {k: {"parameter": p, "values": list(v)} for k, (p, v) in GRIDS.items()},
        "results": results,
        "shipped minus GTZAN-only default, drop per condition (paired by seed)": paired_drops(
            gtzan_only, shipped
        ),
    }
    (RESULTS / "robustness.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
