"""Open world and other collections: what the musicnn transfer model does with music and sounds
it was never taught, and with the same genres recorded by other people.

1. Leave-one-genre-out under artist-disjoint folds: for each GTZAN genre, 5-fold stratified group
   k-fold by artist over the 208 clips; each outer training side keeps the nine other genres;
   its held-out artists' clips of those nine are "known", its held-out clips of the tenth genre
   "unknown". Rejection scores: the calibrated maximum probability (MSP), the distance to the
   k nearest training clips in the standardized feature space (kNN), and their combination
   (each score turned into its percentile among the training side's own held-out scores, the
   worse of the two). AUROC, and the share of unknown music rejected at the threshold that
   keeps 95 % of known music on the training side's inner folds (and the share of known music
   that threshold really keeps on the test side).
2. The final model (all 208 clips) on recordings from elsewhere: the taffc clips with a GTZAN
   genre (accuracy, macro-F1, ECE; never used for training or tuning), the taffc clips outside
   GTZAN's genres, the CC examples, and generated non-music (noise, hiss, babble, sweeps):
   the share each rejector keeps.

    python benchmarks/open_world.py     (after benchmarks/robustness.py has cached features)
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from _common import RESULTS, data_dir, git_revision, machine
from _signals import GENERATORS
from robustness import CACHE, GRIDS, features_for, gtzan

from genrekit.audio import Audio, load_audio, split_evenly
from genrekit.calibration import Calibrator, expected_calibration_error, log_scores
from genrekit.features import RepresentationSpec, feature_set, prepare
from genrekit.novelty import NEIGHBOURS, NoveltyScore
from genrekit.predict import resample_audio

FOLDS, INNER_FOLDS, SEED, KEEP = 5, 3, 0, 0.95
SCORES = ("msp", "knn", "combined")


def file_features(audio: Audio, normalize: str) -> np.ndarray:
    """(clips, 1000): the classifier's path for one file (30 s clips)."""
    spec = RepresentationSpec(name="musicnn", normalize=normalize)  # type: ignore[arg-type]
    audio = resample_audio(audio, spec.sample_rate)
    samples = prepare(audio, spec)
    extract = feature_set(spec.name).extract
    return np.stack(
        [
            extract(c.samples, spec.sample_rate)
            for c in split_evenly(samples, spec.sample_rate, 30.0)
        ]
    )


def external_sets(normalize: str) -> dict[str, list[tuple[str, str, np.ndarray]]]:
    """set → [(name, label, clip features)], cached."""
    cached = CACHE / f"open-world-{normalize}.npz"
    root = data_dir()
    sources: dict[str, list[tuple[str, str, object]]] = {
        "taffc": [],
        "examples": [],
        "generated": [],
    }
    for _, row in pd.read_csv(root / "taffc" / "manifest.csv").iterrows():
        sources["taffc"].append((row["file"], row["label"], root / row["file"]))
    for _, row in pd.read_csv(root / "examples" / "labels.csv").iterrows():
        sources["examples"].append(
            (row["filename"], row["label"], root / "examples" / row["filename"])
        )
    for name, generate in GENERATORS.items():
        for seed in range(4):
            sources["generated"].append((f"{name} #{seed}", name, generate))
    if cached.is_file():
        stored = np.load(cached)
    else:
        values = {}
        for group, entries in sources.items():
            for n, (name, _, source) in enumerate(entries):
                if callable(source):
                    samples = source(n % 4)
                    audio = Audio(samples, 22050, name, 22050, 1, False)
                else:
                    audio = load_audio(source, sample_rate=22050)
                values[f"{group}/{n}"] = file_features(audio, normalize)
        np.savez(cached, **values)
        stored = np.load(cached)
    return {
        group: [(name, label, stored[f"{group}/{n}"]) for n, (name, label, _) in enumerate(entries)]
        for group, entries in sources.items()
    }


class Model:
    """The default's recipe on a training side: standardize → classifier, its parameter by inner
    group folds (macro-F1), temperature and rejection thresholds from those folds' held-out
    predictions; training copies (degraded) added to every fit, never scored."""

    def __init__(
        self, x: np.ndarray, y: np.ndarray, groups: np.ndarray, augmented: list[np.ndarray],
        model: str,
    ) -> None:  # fmt: skip
        from sklearn.metrics import f1_score
        from sklearn.model_selection import StratifiedGroupKFold

        self.labels = np.array(sorted(set(y)))
        self.model = model
        inner = list(
            StratifiedGroupKFold(INNER_FOLDS, shuffle=True, random_state=SEED).split(x, y, groups)
        )
        parameter, grid = GRIDS[model]
        best = (-1.0, None, None)
        for value in grid:
            held_out = np.zeros((len(y), len(self.labels)))
            for fit, test in inner:
                fitted = self._fit(x, y, augmented, fit, {parameter: value})
                held_out[test] = log_scores(fitted, x[test])
            score = f1_score(y, self.labels[held_out.argmax(1)], average="macro")
            if score > best[0]:
                best = (score, value, held_out)
        _, value, held_out = best
        self.params = {parameter: value}
        truth = np.searchsorted(self.labels, y)
        self.calibrator = Calibrator.fit(held_out, truth)
        self.pipeline = self._fit(x, y, augmented, np.arange(len(y)), self.params)
        self.novelty = NoveltyScore.fit(x, groups)  # exactly what genrekit train ships
        # held-out score distributions of the training side (for thresholds and percentiles)
        self.reference = {
            "msp": self.calibrator(held_out).max(1),
            "knn": self.novelty.held_out,
        }

    def _fit(self, x, y, augmented, rows, params):
        from genrekit.models.classical import build_pipeline

        blocks = [x[rows], *(a[rows] for a in augmented)]
        labels = np.tile(y[rows], len(blocks))
        return build_pipeline(self.model, params, seed=SEED).fit(np.vstack(blocks), labels)

    def probabilities(self, clips: list[np.ndarray]) -> np.ndarray:
        """Track probabilities (mean log-scores over each file's clips), calibrated."""
        raw = np.stack([log_scores(self.pipeline, c).mean(0) for c in clips])
        return self.calibrator(raw)

    def knownness(self, clips: list[np.ndarray]) -> dict[str, np.ndarray]:
        """Per score: higher = more like the training music."""
        msp = self.probabilities(clips).max(1)
        knn = -self.novelty.distance(np.stack([c.mean(0) for c in clips]))
        msp_pct = np.searchsorted(np.sort(self.reference["msp"]), msp) / len(self.reference["msp"])
        ref_knn = np.sort(-self.reference["knn"])
        knn_pct = np.searchsorted(ref_knn, knn) / len(ref_knn)
        return {"msp": msp, "knn": knn, "combined": np.minimum(msp_pct, knn_pct)}

    def thresholds(self) -> dict[str, float]:
        """Per score: the value keeping ``KEEP`` of the training side's held-out clips."""
        q = 1 - KEEP
        return {
            "msp": float(np.quantile(self.reference["msp"], q)),
            "knn": float(np.quantile(-self.reference["knn"], q)),
            "combined": q,  # the percentile scale of both scores
        }


def auroc(known: np.ndarray, unknown: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(
        roc_auc_score(np.r_[np.ones(len(known)), np.zeros(len(unknown))], np.r_[known, unknown])
    )


def leave_one_genre_out(x, y, artists, augmented, model_name: str) -> dict:
    from sklearn.model_selection import StratifiedGroupKFold

    results = {}
    for genre in sorted(set(y)):
        known_scores = {s: [] for s in SCORES}
        unknown_scores = {s: [] for s in SCORES}
        kept = {s: [] for s in SCORES}
        rejected = {s: [] for s in SCORES}
        outer = StratifiedGroupKFold(FOLDS, shuffle=True, random_state=SEED)
        for train, test in outer.split(x, y, artists):
            train = train[y[train] != genre]
            model = Model(
                x[train], y[train], artists[train], [a[train] for a in augmented], model_name
            )
            thresholds = model.thresholds()
            known_rows, unknown_rows = test[y[test] != genre], test[y[test] == genre]
            if len(unknown_rows) == 0:
                continue
            k = model.knownness([x[[r]] for r in known_rows])
            u = model.knownness([x[[r]] for r in unknown_rows])
            for s in SCORES:
                known_scores[s].append(k[s])
                unknown_scores[s].append(u[s])
                kept[s].append((k[s] >= thresholds[s]).mean())
                rejected[s].append((u[s] < thresholds[s]).mean())
        results[genre] = {
            s: {
                "auroc": round(
                    auroc(np.concatenate(known_scores[s]), np.concatenate(unknown_scores[s])), 4
                ),
                "unknown_rejected": round(float(np.mean(rejected[s])), 4),
                "known_kept": round(float(np.mean(kept[s])), 4),
            }
            for s in SCORES
        }
        print(
            f"  without {genre}: "
            + ", ".join(
                f"{s} AUROC {results[genre][s]['auroc']:.3f} "
                f"rejected {results[genre][s]['unknown_rejected']:.2f}"
                for s in SCORES
            ),
            flush=True,
        )
    results["mean"] = {
        s: {
            key: round(float(np.mean([results[g][s][key] for g in set(y)])), 4)
            for key in ("auroc", "unknown_rejected", "known_kept")
        }
        for s in SCORES
    }
    return results


def elsewhere(model: Model, sets: dict) -> dict:
    from sklearn.metrics import f1_score

    thresholds = model.thresholds()
    taffc_known = [e for e in sets["taffc"] if e[1] in model.labels]
    clips = [e[2] for e in taffc_known]
    truth = np.array([e[1] for e in taffc_known])
    probabilities = model.probabilities(clips)
    predicted = model.labels[probabilities.argmax(1)]
    present = sorted(set(truth))
    report = {
        "taffc in GTZAN genres": {
            "files": len(truth),
            "accuracy": round(float((predicted == truth).mean()), 4),
            "macro_f1 (genres present)": round(
                float(f1_score(truth, predicted, labels=present, average="macro")), 4
            ),
            "ece": round(
                expected_calibration_error(probabilities, np.searchsorted(model.labels, truth)), 4
            ),
            "per_genre_accuracy": {
                g: round(float((predicted[truth == g] == g).mean()), 3) for g in present
            },
            "predicted_counts": {
                str(k): int(v) for k, v in zip(*np.unique(predicted, return_counts=True))
            },
        }
    }
    groups = {
        "taffc in GTZAN genres": taffc_known,
        "taffc outside GTZAN genres (Electronic, New Age, Folk, Spoken)": [
            e for e in sets["taffc"] if e[1] == "other"
        ],
        "CC examples": sets["examples"],
        **{
            f"generated: {name}": [e for e in sets["generated"] if e[1] == name]
            for name in GENERATORS
        },
    }
    kept = {}
    for name, entries in groups.items():
        scores = model.knownness([e[2] for e in entries])
        kept[name] = {s: round(float((scores[s] >= thresholds[s]).mean()), 3) for s in SCORES}
        kept[name]["files"] = len(entries)
    report["share kept as known (final model's thresholds)"] = kept
    examples = sets["examples"]
    ex_pred = model.labels[model.probabilities([e[2] for e in examples]).argmax(1)]
    report["CC examples"] = {
        e[0]: {"label": e[1], "predicted": str(p)} for e, p in zip(examples, ex_pred)
    }
    return report


def main() -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # small dense fits: one BLAS thread is ~20x faster than two here
    paths, y, artists = gtzan(data_dir())
    record = {
        "command": "python benchmarks/open_world.py",
        "machine": machine(),
        "revision": git_revision(),
        "protocol": (
            f"{FOLDS}-fold stratified group k-fold by artist; the classifier's parameter, the "
            f"temperature and the thresholds ({KEEP:.0%} of known kept) from {INNER_FOLDS}-fold "
            f"inner group folds of each training side; kNN: genrekit.novelty (mean distance to the "
            f"{NEIGHBOURS} nearest training clips, standardized features), as shipped"
        ),
        "variants": {},
    }
    for title, normalize, model_name, copies in VARIANTS:
        print(title, flush=True)
        features = features_for(paths, normalize, copies, 2)
        x = features["clean"]
        augmented = [features[f"copy-{n}"] for n in range(1, copies + 1)]
        sets = external_sets(normalize)
        model = Model(x, y, artists, augmented, model_name)
        record["variants"][title] = {
            "chosen": model.params,
            "elsewhere": elsewhere(model, sets),
            "leave_one_genre_out": leave_one_genre_out(x, y, artists, augmented, model_name),
        }
        print(json.dumps(record["variants"][title]["elsewhere"], indent=1)[:2500], flush=True)
    (RESULTS / "open_world.json").write_text(json.dumps(record, indent=2) + "\n")


VARIANTS = (
    ("previous default: no level normalization, logistic regression", "none", "logreg", 0),
    ("default: loudness normalization, shrinkage LDA, +2 training copies", "loudness", "lda", 2),
)


if __name__ == "__main__":
    main()
