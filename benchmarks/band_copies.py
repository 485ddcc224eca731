"""Band-limited input and the two-collection default: more training copies, or a head for it.

The shipped default (clean clips plus a band-limited and a clipped copy of each, GTZAN and
taffc's songs in GTZAN's genres) loses most on the telephone band and through 8 kHz
(``benchmarks/robustness.py``). Side by side on the same outer folds as that benchmark (5-fold
stratified group k-fold by artist over GTZAN's 208 clips, fold seeds 0..``--seeds``-1; the
shrinkage by 3-fold inner group grid search and a temperature on the training artists only;
taffc's 84 songs in every training side; scored on GTZAN's held-out artists):

1. **shipped**: the default's recipe (the reference every other row is paired with, by seed);
2. **+ copies of every clip**: each training clip (GTZAN and taffc) also contributes its
   telephone-band and 8 kHz versions;
3. **+ copies of taffc's songs**: only taffc's songs contribute those versions;
4. **routed to a band head**: the shipped head hears full-band input; a second head, trained
   on the band-limited versions only (telephone band, 8 kHz and the band-limited training copy
   of every training clip; shrinkage and temperature chosen on the inner folds' telephone-band
   clips), hears input the bandwidth test calls narrow (``NARROW_BELOW_DB``);
5. **routed to row 2's head**: the same, with row 2's head (clean clips and all copies) for
   narrow input.

In rows 4 and 5 a clean clip the bandwidth test misjudges is the only way the clean figure can
change.

"Unknown" under each condition: the share of held-out clips the rejector keeps as known, with
the shipped rule (``genrekit.novelty.NoveltyScore`` fitted per outer fold on the training side's
clean songs, GTZAN and taffc, grouped by artist; threshold 1 − ``DEFAULT_KEEP_SHARE``), and for
the routed rows with a second rejector for narrow input, fitted the same way on the training
side's telephone and 8 kHz versions.

The added versions are the very conditions the held-out clips are scored under (the same
filters, not randomized), so rows 2–4 are optimistic about a real phone line; they compare the
ways of using such rows, not the rows themselves. The bandwidth test is measured on the audio
(at musicnn's 16 kHz input rate): the share of clips it calls narrow under each condition, on
GTZAN and on taffc's clean songs.

    python benchmarks/band_copies.py [--seeds 5]     (after benchmarks/robustness.py)
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from _common import RESULTS, result_header
from robustness import (
    CACHE,
    COPIES,
    FOLDS,
    both_collections,
    features_for,
    held_out_probabilities,
    scored,
    training_rows,
)

from genrekit.audio import load_audio
from genrekit.degrade import CONDITIONS
from genrekit.features import RepresentationSpec

TELEPHONE, EIGHT_KHZ = "telephone band (300-3400 Hz)", "8 kHz sample rate (4 kHz band)"
NARROW_VERSIONS = (TELEPHONE, EIGHT_KHZ)
"""The band-limited versions rows 2–4 add (names of ``genrekit.degrade.CONDITIONS``)."""
UPPER_BAND_HZ = 4200.0
"""Above the telephone band and the 4 kHz a resampling through 8 kHz leaves (Hz)."""
NARROW_BELOW_DB = -80.0
"""Input whose power above ``UPPER_BAND_HZ`` is this far below its whole power (dB) is narrow:
clean music measured at least −46 dB (GTZAN) and −43 dB (taffc), the telephone band and 8 kHz
versions at most −104 dB; −80 dB lies between, far from both."""
SHIPPED = training_rows(COPIES)


def upper_band_db(job: tuple[str, str]) -> float:
    """Power above ``UPPER_BAND_HZ`` relative to all power (dB) of a file under a condition,
    at musicnn's input rate (Welch periodogram, 1,024-sample segments)."""
    from scipy.signal import welch
    from threadpoolctl import threadpool_limits

    path, condition = job
    threadpool_limits(1)
    rate = RepresentationSpec(name="musicnn").sample_rate
    audio = load_audio(path, sample_rate=rate)
    samples = CONDITIONS[condition](audio.samples, audio.sample_rate)
    frequencies, power = welch(samples, fs=rate, nperseg=1024)
    upper = power[frequencies > UPPER_BAND_HZ].sum()
    return float(10 * np.log10(max(upper, 1e-30) / max(power.sum(), 1e-30)))


def upper_bands(paths: list[str], conditions: tuple[str, ...], name: str) -> dict[str, np.ndarray]:
    """condition → each file's ``upper_band_db``, cached in ``benchmarks/cache/``."""
    found = {}
    for condition in conditions:
        cached = CACHE / f"band-{name}-{condition.replace(' ', '_').replace('/', '_')}.npy"
        if not cached.is_file():
            with ProcessPoolExecutor(2) as pool:
                values = list(pool.map(upper_band_db, [(p, condition) for p in paths]))
            np.save(cached, np.array(values))
        found[condition] = np.load(cached)
    return found


def routed(
    narrow: dict[str, np.ndarray], heard: dict[str, np.ndarray], full: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Per condition, each clip's entry (probabilities, or a verdict) from ``heard`` where it is
    narrow, else from ``full``."""
    return {
        name: np.where(narrow[name].reshape(-1, *[1] * (heard[name].ndim - 1)), heard[name],
                       full[name])
        for name in CONDITIONS
    }  # fmt: skip


def kept_as_known(
    features: dict[str, np.ndarray],
    artists: np.ndarray,
    also: tuple[dict[str, np.ndarray], list[str]],
    y: np.ndarray,
    seed: int,
    reference: tuple[str, ...],
) -> dict[str, np.ndarray]:
    """Per condition, whether each GTZAN clip is kept as known by a rejector fitted, in the
    outer fold (drawn with ``seed``) that held it out, on the training side's ``reference``
    versions of GTZAN's and ``also``'s songs (grouped by artist)."""
    from sklearn.model_selection import StratifiedGroupKFold

    from genrekit.novelty import DEFAULT_KEEP_SHARE, NoveltyScore

    also_features, also_artists = also
    kept = {name: np.zeros(len(y), dtype=bool) for name in CONDITIONS}
    outer = StratifiedGroupKFold(FOLDS, shuffle=True, random_state=seed)
    for train, test in outer.split(y, y, artists):
        rows = [features[name][train] for name in reference]
        rows += [also_features[name] for name in reference]
        groups = [artists[train]] * len(reference) + [np.array(also_artists)] * len(reference)
        rejector = NoveltyScore.fit(np.vstack(rows), np.concatenate(groups))
        for name in CONDITIONS:
            typicality = rejector.typicality(features[name][test])
            kept[name][test] = typicality >= 1.0 - DEFAULT_KEEP_SHARE
    return kept


def paired(first: dict, second: dict, condition: str) -> dict:
    """``second`` − ``first`` accuracy under ``condition``, paired by seed."""
    difference = [
        b["conditions"][condition]["accuracy"] - a["conditions"][condition]["accuracy"]
        for a, b in zip(first["per_seed"], second["per_seed"], strict=True)
    ]
    return {
        "mean": round(float(np.mean(difference)), 4),
        "min": round(float(np.min(difference)), 4),
        "max": round(float(np.max(difference)), 4),
    }


def summary(runs: list[dict]) -> dict:
    """Mean accuracy per condition over the seeds, and the worst mean drop from clean."""
    accuracy = {
        name: round(float(np.mean([run["conditions"][name]["accuracy"] for run in runs])), 4)
        for name in CONDITIONS
    }
    drops = {name: accuracy["clean"] - value for name, value in accuracy.items()}
    worst = max(drops, key=lambda name: drops[name])
    return {
        "accuracy": accuracy,
        "worst_condition": worst,
        "worst_drop": round(drops[worst], 4),
        "per_seed": runs,
    }


def main() -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="fold seeds 0..seeds-1")
    args = parser.parse_args()
    started = time.perf_counter()
    paths, y, artists, taffc, taffc_artists = both_collections()
    taffc_paths = [str(path) for path in taffc.paths]
    features = features_for(paths, "loudness", COPIES, 2)
    taffc_features = features_for(
        taffc_paths, "loudness", COPIES, 2, "taffc", ("clean", *NARROW_VERSIONS)
    )
    narrow = {
        condition: values < NARROW_BELOW_DB
        for condition, values in upper_bands(paths, tuple(CONDITIONS), "gtzan").items()
    }
    taffc_clean = upper_bands(taffc_paths, ("clean",), "taffc")["clean"]
    with_copies = (*SHIPPED, *NARROW_VERSIONS)
    band_rows = ("copy-1", *NARROW_VERSIONS)
    runs: dict[str, list[dict]] = {name: [] for name in (
        "shipped", "+ copies of every clip", "+ copies of taffc's songs",
        "routed to a band head", "routed to row 2's head",
    )}  # fmt: skip

    def probabilities(
        seed: int, rows: tuple[str, ...], also_rows: tuple[str, ...], chosen_on: str = "clean"
    ) -> dict[str, np.ndarray]:
        also = (taffc_features, taffc.y, also_rows)
        found, _ = held_out_probabilities(features, y, artists, "lda", rows, also, seed, chosen_on)
        return found

    kept: dict[str, list[dict[str, float]]] = {"shipped rule": [], "routed rule": []}
    also = (taffc_features, taffc_artists)
    for seed in range(args.seeds):
        full_band = kept_as_known(features, artists, also, y, seed, ("clean",))
        narrow_band = kept_as_known(features, artists, also, y, seed, NARROW_VERSIONS)
        for rule, found in (
            ("shipped rule", full_band),
            ("routed rule", routed(narrow, narrow_band, full_band)),
        ):
            kept[rule].append({name: float(found[name].mean()) for name in CONDITIONS})
        shipped = probabilities(seed, SHIPPED, SHIPPED)
        band = probabilities(seed, band_rows, band_rows, TELEPHONE)
        every_clip = probabilities(seed, with_copies, with_copies)
        taffc_only = probabilities(seed, SHIPPED, with_copies)
        runs["shipped"].append(scored(shipped, y))
        runs["+ copies of every clip"].append(scored(every_clip, y))
        runs["+ copies of taffc's songs"].append(scored(taffc_only, y))
        runs["routed to a band head"].append(scored(routed(narrow, band, shipped), y))
        runs["routed to row 2's head"].append(scored(routed(narrow, every_clip, shipped), y))
        print(f"seed {seed}: " + ", ".join(
            f"{name} clean {r[-1]['conditions']['clean']['accuracy']:.3f} "
            f"telephone {r[-1]['conditions'][TELEPHONE]['accuracy']:.3f}"
            for name, r in runs.items()
        ), flush=True)  # fmt: skip
    results = {name: summary(found) for name, found in runs.items()}
    for name, result in results.items():
        if name != "shipped":
            result["minus shipped (paired by seed)"] = {
                condition: paired(results["shipped"], result, condition)
                for condition in ("clean", *NARROW_VERSIONS)
            }
    header = result_header(
        f"python benchmarks/band_copies.py --seeds {args.seeds}",
        time.perf_counter() - started,
        f"{FOLDS}-fold stratified group k-fold by artist over GTZAN's {len(y)} clips, fold seeds "
        f"0..{args.seeds - 1}, as benchmarks/robustness.py; taffc's {len(taffc_paths)} songs in "
        "every training side; shrinkage LDA; figures are means over the seeds",
    )
    record = {
        **header,
        "bandwidth test": {
            "upper band (Hz)": UPPER_BAND_HZ,
            "narrow below (dB)": NARROW_BELOW_DB,
            "share called narrow, GTZAN": {
                name: round(float(flags.mean()), 4) for name, flags in narrow.items()
            },
            "share called narrow, taffc clean songs": round(
                float((taffc_clean < NARROW_BELOW_DB).mean()), 4
            ),
        },
        "results": results,
        "share kept as known (mean of the seeds)": {
            rule: {
                name: round(float(np.mean([run[name] for run in runs])), 4) for name in CONDITIONS
            }
            for rule, runs in kept.items()
        },
    }
    for name, result in results.items():
        print(f"{name}: worst drop {result['worst_drop']:.3f} ({result['worst_condition']})")
        print("  " + json.dumps(result.get("minus shipped (paired by seed)", {})))
    print(json.dumps(record["bandwidth test"], indent=1))
    print(json.dumps(record["share kept as known (mean of the seeds)"], indent=1))
    (RESULTS / "band_copies.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
