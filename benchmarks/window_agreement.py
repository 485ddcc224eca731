"""Does the timeline's agreement tell right answers from wrong ones better than the confidence?

The calibrated top confidence ranks right above wrong answers at AUROC 0.77–0.81 (target 0.85,
BENCHMARKS *Choosing the default*). A clip whose timeline windows keep to one genre might be
surer than one whose windows wander, and the windows cost nothing more (``genrekit.predict``
pools the per-patch outputs the verdict already computed). Scores of a held-out clip compared,
none fitted on the outcomes:

- ``confidence``: the calibrated probability of the verdict (what people see);
- ``windows agree (n)``: share of the clip's windows of ``n`` patches (centred on each 3 s
  patch, clamped inside the clip) whose label is the verdict;
- ``windows' probability (n)``: the windows' mean calibrated probability of the verdict;
- ``confidence × windows' probability (n)``: the two multiplied (no weight to fit).

Protocol: shrinkage LDA (0.8, the default's usual choice; no training copies) on the musicnn
features of loudness-normalized clips, calibrated (``genrekit.calibration.Calibrator``) on
3-fold inner artist folds of the training side. GTZAN: 5-fold stratified group k-fold by
artist, fold seeds 0..``--seeds``-1, taffc's 84 songs in every training side; taffc: the same
folds over taffc's artists, all of GTZAN in every training side. Each score's AUROC (right vs
wrong verdicts, every seed's held-out clips pooled) and its paired difference from the
confidence's, with a 95 % bootstrap interval over clips (a clip's every seed resampled
together).

    python benchmarks/window_agreement.py [--seeds 3]
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from _common import result_header, save_result
from robustness import both_collections, cache_file
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold

from genrekit.calibration import Calibrator
from genrekit.features.musicnn import pool
from genrekit.models.classical import build_pipeline

SHRINKAGE = 0.8
CONTEXTS = (3, 5)
"""Window lengths (patches) compared; 5 is the shipped timeline's."""
FOLDS, INNER_FOLDS, BOOTSTRAP = 5, 3, 2000


def patch_rows_of(path: str) -> np.ndarray:
    """(patches, 500): the per-patch musicnn outputs of a loudness-normalized clip."""
    from threadpoolctl import threadpool_limits

    from genrekit.audio import load_audio
    from genrekit.features import RepresentationSpec, prepare
    from genrekit.features.musicnn import patch_rows

    threadpool_limits(1)
    spec = RepresentationSpec(name="musicnn", normalize="loudness")
    audio = load_audio(path, sample_rate=spec.sample_rate)
    return patch_rows(prepare(audio, spec), spec.sample_rate)


def patches_of(paths: list[str], name: str) -> list[np.ndarray]:
    """Every clip's per-patch rows, cached in ``benchmarks/cache/`` (all rows, and each clip's
    count)."""
    cached = cache_file(f"window-agreement-{name}").with_suffix(".npz")
    if not cached.is_file():
        with ProcessPoolExecutor(2) as workers:
            found = list(workers.map(patch_rows_of, paths))
        np.savez(cached, rows=np.vstack(found), counts=[len(rows) for rows in found])
    stored = np.load(cached)
    return np.split(stored["rows"], np.cumsum(stored["counts"])[:-1])


def windows(rows: np.ndarray, context: int) -> np.ndarray:
    """One pooled row per patch: the ``context`` patches centred on it."""
    width = min(context, len(rows))
    starts = np.clip(np.arange(len(rows)) - width // 2, 0, len(rows) - width)
    return np.stack([pool(rows[start : start + width]) for start in starts])


def held_out_scores(
    train: tuple[np.ndarray, np.ndarray, np.ndarray],
    test_patches: list[np.ndarray],
    labels: np.ndarray,
    seed: int,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Verdicts of the test clips and every score of ``__doc__`` for each, from a model and
    calibrator fitted on ``train`` (features, genres, artists)."""
    x, y, artists = train

    def model():
        return build_pipeline("lda", {"shrinkage": SHRINKAGE}, seed=seed)

    inner = StratifiedGroupKFold(INNER_FOLDS, shuffle=True, random_state=seed)
    held_out = np.zeros((len(y), len(labels)))
    for fit, check in inner.split(x, y, artists):
        held_out[check] = model().fit(x[fit], y[fit]).decision_function(x[check])
    calibrator = Calibrator.fit(held_out, np.searchsorted(labels, y))
    final = model().fit(x, y)
    clips = calibrator(final.decision_function(np.stack([pool(p) for p in test_patches])))
    verdict = clips.argmax(1)
    scores = {"confidence": clips.max(1)}
    for context in CONTEXTS:
        heard = [calibrator(final.decision_function(windows(p, context))) for p in test_patches]
        agree = [np.mean(w.argmax(1) == v) for w, v in zip(heard, verdict, strict=True)]
        mean = np.array([w[:, v].mean() for w, v in zip(heard, verdict, strict=True)])
        scores[f"windows agree ({context})"] = np.array(agree)
        scores[f"windows' probability ({context})"] = mean
        scores[f"confidence × windows' probability ({context})"] = clips.max(1) * mean
    return labels[verdict], scores


def compared(right: np.ndarray, scores: dict[str, np.ndarray], clip: np.ndarray) -> dict:
    """Each score's AUROC and its difference from the confidence's, with a bootstrap interval
    over ``clip`` identities."""
    rng = np.random.default_rng(0)
    ids = np.unique(clip)
    rows_of = {c: np.flatnonzero(clip == c) for c in ids}
    draws = [np.concatenate([rows_of[c] for c in rng.choice(ids, len(ids))])
             for _ in range(BOOTSTRAP)]  # fmt: skip
    confidence = np.array([roc_auc_score(right[d], scores["confidence"][d]) for d in draws])
    result = {}
    for name, score in scores.items():
        difference = np.array([roc_auc_score(right[d], score[d]) for d in draws]) - confidence
        result[name] = {
            "auroc": round(float(roc_auc_score(right, score)), 3),
            "minus confidence": round(
                float(roc_auc_score(right, score) - roc_auc_score(right, scores["confidence"])), 3
            ),
            "95% interval": [round(float(q), 3) for q in np.percentile(difference, [2.5, 97.5])],
        }
    return result


def main() -> None:
    from threadpoolctl import threadpool_limits

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    started = time.perf_counter()
    paths, genres, artists, taffc, taffc_artists = both_collections()
    collections = {
        "gtzan": (patches_of(paths, "gtzan"), genres, artists),
        "taffc": (
            patches_of([str(p) for p in taffc.paths], "taffc"),
            taffc.y,
            np.array(taffc_artists),
        ),
    }
    threadpool_limits(1)
    features = {name: np.stack([pool(p) for p in c[0]]) for name, c in collections.items()}
    labels = np.array(sorted(set(genres)))
    record = {}
    for judged, other in (("gtzan", "taffc"), ("taffc", "gtzan")):
        patches, y, groups = collections[judged]
        _, other_y, other_groups = collections[other]
        right, clip, found = [], [], []
        for seed in range(args.seeds):
            outer = StratifiedGroupKFold(FOLDS, shuffle=True, random_state=seed)
            for train, test in outer.split(y, y, groups):
                side = (
                    np.vstack([features[judged][train], features[other]]),
                    np.concatenate([y[train], other_y]),
                    np.concatenate([groups[train], other_groups]),
                )
                verdicts, scores = held_out_scores(side, [patches[i] for i in test], labels, seed)
                right.append(verdicts == y[test])
                clip.append(test)
                found.append(scores)
        outcomes = np.concatenate(right)
        record[judged] = {
            "accuracy": round(float(outcomes.mean()), 3),
            "verdicts": len(outcomes),
            "scores": compared(
                outcomes,
                {name: np.concatenate([f[name] for f in found]) for name in found[0]},
                np.concatenate(clip),
            ),
        }
        print(judged, record[judged], flush=True)
    header = result_header(
        f"python benchmarks/window_agreement.py --seeds {args.seeds}",
        time.perf_counter() - started,
        __doc__.split("Protocol: ")[1].split("\n\n")[0].replace("\n", " "),
    )
    save_result("window_agreement", {**header, **record})


if __name__ == "__main__":
    main()
