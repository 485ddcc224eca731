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
   clips), hears input the bandwidth test calls narrow (``genrekit.bandwidth``);
5. **routed to row 2's head**: the same, with row 2's head (clean clips and all copies) for
   narrow input.

In rows 4 and 5 a clean clip the bandwidth test misjudges is the only way the clean figure can
change.

"Unknown" under each condition: the share of held-out clips the rejector keeps as known, with
the shipped rule (``genrekit.novelty.NoveltyScore`` fitted per outer fold on the training side's
clean songs, GTZAN and taffc, grouped by artist; threshold 1 − ``DEFAULT_KEEP_SHARE``), and for
the routed rows, for narrow input, a second rejector fitted the same way on the training side's
telephone and 8 kHz versions, as the default ships it: the higher of the two rejectors'
typicalities, against the threshold 1 − ``NARROW_BAND_KEEP_SHARE``.

The narrow-band rejector's threshold: for typicality thresholds ``NARROW_THRESHOLDS``, the
share of held-out telephone and 8 kHz clips each fold's narrow-band rejector keeps, beside the
share of generated non-music (``_signals``: noise, hiss, babble, sweeps; seeds 0–4) through the
same telephone and 8 kHz filters it keeps (every fold's rejector judges every signal).

The added versions are the very conditions the held-out clips are scored under (the same
filters, not randomized), so rows 2–4 are optimistic about a real phone line; they compare the
ways of using such rows, not the rows themselves. The robustness conditions' varied phone
call (``PHONE_CALL``: other band edges and slopes, μ-law coding, a 16-bit or MP3 file) is
the less optimistic figure: no training row comes through it. The bandwidth test is measured
on the audio (at the default's 22,050 Hz input rate): the share of clips it calls narrow under
each condition, with and without its 16-bit floor rule, on GTZAN and on taffc's clean songs.

    python benchmarks/band_copies.py [--seeds 5]     (after benchmarks/robustness.py)
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, NamedTuple

import numpy as np
from _common import RESULTS, result_header
from robustness import (
    COPIES,
    FOLDS,
    both_collections,
    cache_file,
    features_for,
    held_out_probabilities,
    scored,
    training_rows,
)

from genrekit.audio import load_audio
from genrekit.bandwidth import (
    NARROW_BAND_KEEP_SHARE,
    SIXTEEN_BIT_FLOOR_DB,
    SIXTEEN_BIT_STEP,
    BandLevels,
    BandTest,
)
from genrekit.degrade import (
    CONDITIONS,
    MP3_64_KBPS_LEVEL,
    band_limit,
    gain,
    mp3,
    telephone,
)
from genrekit.features import RepresentationSpec
from genrekit.novelty import DEFAULT_KEEP_SHARE

TELEPHONE, EIGHT_KHZ = "telephone band (300-3400 Hz)", "8 kHz sample rate (4 kHz band)"
PHONE_CALL = "phone call, varied (band, mu-law, 16-bit or MP3)"
"""Phone calls unlike the fixed filter the narrow-band head learns from
(``genrekit.degrade.phone_call``): the less optimistic narrow-band figure."""
NARROW_VERSIONS = (TELEPHONE, EIGHT_KHZ)
"""The band-limited versions rows 2, 3 and 5 add (names of ``genrekit.degrade.CONDITIONS``)."""
SHIPPED = training_rows(COPIES)
AS_FILES = {
    "telephone band, 16-bit at -30 dB": lambda x, rate: sixteen_bit(
        gain(telephone(x, rate), rate, -30.0)
    ),
    "telephone band, MP3 64 kbit/s": lambda x, rate: mp3(
        telephone(x, rate), rate, MP3_64_KBPS_LEVEL
    ),
    "8 kHz, MP3 64 kbit/s": lambda x, rate: mp3(band_limit(x, rate), rate, MP3_64_KBPS_LEVEL),
    "telephone band, 16-bit at -45 dB": lambda x, rate: sixteen_bit(
        gain(telephone(x, rate), rate, -45.0)
    ),
    "clean, 16-bit at -30 dB": lambda x, rate: sixteen_bit(gain(x, rate, -30.0)),
    "clean, 16-bit at -50 dB": lambda x, rate: sixteen_bit(gain(x, rate, -50.0)),
}
"""Narrow and full-band input as files carry it (a 16-bit floor, an MP3 encoder's noise): the
bandwidth test should call the telephone-band ones narrow and the clean ones not."""
WALL_ALONE = BandTest(floor_wall_db=-np.inf)
"""The bandwidth test without its 16-bit floor rule (the previous round's)."""


def sixteen_bit(samples: np.ndarray) -> np.ndarray:
    """``samples`` rounded to 16-bit steps, as a WAV or FLAC file stores them."""
    return (np.round(samples / SIXTEEN_BIT_STEP) * SIXTEEN_BIT_STEP).astype(np.float32)


def levels_of(job: tuple[str, str]) -> tuple[float, float, float]:
    """``genrekit.bandwidth.BandTest().levels`` of a file under a condition (inside, above,
    far; dB), at the default's input rate."""
    from threadpoolctl import threadpool_limits

    path, condition = job
    threadpool_limits(1)
    audio = load_audio(path, sample_rate=RepresentationSpec(name="musicnn").sample_rate)
    degrade = {**CONDITIONS, **AS_FILES}[condition]
    levels = BandTest().levels(degrade(audio.samples, audio.sample_rate), audio.sample_rate)
    assert levels.far is not None  # the default's rate holds the far band
    return levels.inside, levels.above, levels.far


def band_levels(
    paths: list[str], conditions: tuple[str, ...], name: str
) -> dict[str, list[BandLevels]]:
    """condition → each file's ``BandLevels``, cached in ``benchmarks/cache/``."""
    found = {}
    for condition in conditions:
        cached = cache_file(f"band-levels-{name}-{condition}")
        if not cached.is_file():
            with ProcessPoolExecutor(2) as pool:
                values = list(pool.map(levels_of, [(p, condition) for p in paths]))
            np.save(cached, np.array(values))
        found[condition] = [BandLevels(*row) for row in np.load(cached)]
    return found


def band_test_figures(levels: dict[str, list[BandLevels]]) -> dict[str, dict[str, Any]]:
    """Per condition: the band gap (min, median, max; dB), the far band over the 16-bit floor
    (min, median; dB), and the share called narrow by the shipped test and by the wall alone."""

    def spread(values: list[float], *stats: Callable[..., Any]) -> list[float]:
        return [round(float(stat(values)), 1) for stat in stats]

    return {
        condition: {
            "gap (dB): min, median, max": spread([x.gap_db for x in found], np.min, np.median,
                                                 np.max),
            "far band over the 16-bit floor (dB): min, median": spread(
                [x.far - SIXTEEN_BIT_FLOOR_DB for x in found if x.far is not None],
                np.min, np.median,
            ),
            "called narrow": round(float(np.mean([BandTest().calls_narrow(x) for x in found])), 4),
            "called narrow by the wall alone": round(
                float(np.mean([WALL_ALONE.calls_narrow(x) for x in found])), 4
            ),
        }
        for condition, found in levels.items()
    }  # fmt: skip


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


NARROW_THRESHOLDS = (0.01, 0.02, 0.05, 0.1)
"""Typicality thresholds tried for the narrow-band rejector (0.01: the shipped rule's)."""
GENERATED_SEEDS = 5
RULES = ("narrow-band rejector", "higher of both")
"""How narrow-band input's typicality is read in ``narrow_thresholds``."""


def generated_features(condition: str) -> np.ndarray:
    """(signals, features): musicnn features of every generated signal under ``condition``,
    as the default's representation sees them, cached in ``benchmarks/cache/``."""
    from _signals import GENERATORS, RATE

    from genrekit.audio import Audio
    from genrekit.features import feature_set, prepare

    cached = cache_file(f"band-generated-{condition}")
    if not cached.is_file():
        spec = RepresentationSpec(name="musicnn", normalize="loudness")
        rows = []
        for generate in GENERATORS.values():
            for seed in range(GENERATED_SEEDS):
                samples = CONDITIONS[condition](generate(seed), RATE)
                audio = Audio(samples, RATE, "generated", RATE, 1, False)
                prepared = prepare(audio, spec)
                rows.append(feature_set(spec.name).extract(prepared, spec.sample_rate))
        np.save(cached, np.stack(rows))
    return np.load(cached)


def narrow_thresholds(
    narrow_band: dict[str, np.ndarray],
    full_band: dict[str, np.ndarray],
    generated: tuple[np.ndarray, np.ndarray],
) -> dict[str, dict[str, float]]:
    """Per threshold: the share of held-out narrow-band clips (telephone and 8 kHz) and of the
    narrow-band generated signals kept by the narrow-band rejector alone, and by the higher of
    its typicality and the full-band rejector's (what the default ships). ``narrow_band`` and
    ``full_band``: the two rejectors' typicalities per condition; ``generated``: theirs of the
    generated signals."""
    alone = np.concatenate([narrow_band[name] for name in NARROW_VERSIONS])
    music = [alone, np.maximum(alone, np.concatenate([full_band[n] for n in NARROW_VERSIONS]))]
    heard = [generated[0], np.maximum(*generated)]
    return {
        f"{threshold:g}": {
            **{
                f"narrow music kept ({rule})": round(float((music[r] >= threshold).mean()), 4)
                for r, rule in enumerate(RULES)
            },
            **{
                f"narrow generated signals kept ({rule})": round(
                    float((heard[r] >= threshold).mean()), 4
                )
                for r, rule in enumerate(RULES)
            },
        }
        for threshold in NARROW_THRESHOLDS
    }


def typicalities(
    features: dict[str, np.ndarray],
    artists: np.ndarray,
    also: tuple[dict[str, np.ndarray], list[str]],
    y: np.ndarray,
    seed: int,
    reference: tuple[str, ...],
    generated: np.ndarray,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per condition, each GTZAN clip's typicality under a rejector fitted, in the outer fold
    (drawn with ``seed``) that held it out, on the training side's ``reference`` versions of
    GTZAN's and ``also``'s songs (grouped by artist); and the ``generated`` signals'
    typicalities under every fold's rejector (concatenated)."""
    from sklearn.model_selection import StratifiedGroupKFold

    from genrekit.novelty import NoveltyScore

    also_features, also_artists = also
    found = {name: np.zeros(len(y)) for name in CONDITIONS}
    signals = []
    outer = StratifiedGroupKFold(FOLDS, shuffle=True, random_state=seed)
    for train, test in outer.split(y, y, artists):
        rows = [features[name][train] for name in reference]
        rows += [also_features[name] for name in reference]
        groups = [artists[train]] * len(reference) + [np.array(also_artists)] * len(reference)
        rejector = NoveltyScore.fit(np.vstack(rows), np.concatenate(groups))
        for name in CONDITIONS:
            found[name][test] = rejector.typicality(features[name][test])
        signals.append(rejector.typicality(generated))
    return found, np.concatenate(signals)


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


class Clips(NamedTuple):
    """Both collections' clips as the band benchmarks use them."""

    y: np.ndarray
    artists: np.ndarray
    taffc: Any
    taffc_artists: list[str]
    features: dict[str, np.ndarray]
    """GTZAN's features under every condition and training copy."""
    taffc_features: dict[str, np.ndarray]
    levels: dict[str, list[BandLevels]]
    """GTZAN's band levels under every condition (and any other conditions asked for)."""
    narrow: dict[str, np.ndarray]
    """Per condition, which GTZAN clips the shipped bandwidth test calls narrow."""


def clips(taffc_conditions: tuple[str, ...], other_levels: tuple[str, ...] = ()) -> Clips:
    """Both collections, their features (taffc's under ``taffc_conditions`` and its copies) and
    GTZAN's band levels (under every condition and ``other_levels``), cached."""
    paths, y, artists, taffc, taffc_artists = both_collections()
    taffc_paths = [str(path) for path in taffc.paths]
    levels = band_levels(paths, (*CONDITIONS, *other_levels), "gtzan")
    return Clips(
        y, artists, taffc, taffc_artists,
        features_for(paths, "loudness", COPIES, 2),
        features_for(taffc_paths, "loudness", COPIES, 2, "taffc", taffc_conditions),
        levels,
        {condition: np.array([BandTest().calls_narrow(x) for x in levels[condition]])
         for condition in CONDITIONS},
    )  # fmt: skip


def seeds_from_command_line(description: str) -> int:
    """The ``--seeds`` a band benchmark was run with (one BLAS thread each: the folds run
    side by side with other work on two cores)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seeds", type=int, default=5, help="fold seeds 0..seeds-1")
    return int(parser.parse_args().seeds)


def report_seed(seed: int, runs: dict[str, list[dict]], condition: str) -> None:
    """Print each row's accuracy under ``condition`` and the telephone band for the fold seed
    just run (progress for a run of several minutes)."""
    print(f"seed {seed}: " + ", ".join(
        f"{name} {condition} {found[-1]['conditions'][condition]['accuracy']:.3f} "
        f"telephone {found[-1]['conditions'][TELEPHONE]['accuracy']:.3f}"
        for name, found in runs.items()
    ), flush=True)  # fmt: skip


def main() -> None:
    seeds = seeds_from_command_line(__doc__.splitlines()[0])
    started = time.perf_counter()
    both = clips(("clean", *NARROW_VERSIONS), tuple(AS_FILES))
    y, artists, taffc, taffc_artists = both.y, both.artists, both.taffc, both.taffc_artists
    features, taffc_features, narrow = both.features, both.taffc_features, both.narrow
    taffc_paths = [str(path) for path in taffc.paths]
    taffc_levels = band_levels(taffc_paths, ("clean",), "taffc")
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
    generated = np.vstack([generated_features(name) for name in NARROW_VERSIONS])
    thresholds = []
    for seed in range(seeds):
        full_band, full_heard = typicalities(
            features, artists, also, y, seed, ("clean",), generated
        )
        narrow_band, narrow_heard = typicalities(
            features, artists, also, y, seed, NARROW_VERSIONS, generated
        )
        thresholds.append(narrow_thresholds(narrow_band, full_band, (narrow_heard, full_heard)))
        kept_full = {name: t >= 1 - DEFAULT_KEEP_SHARE for name, t in full_band.items()}
        kept_narrow = {  # as the default ships it: the higher typicality, the stricter threshold
            name: np.maximum(full_band[name], t) >= 1 - NARROW_BAND_KEEP_SHARE
            for name, t in narrow_band.items()
        }
        for rule, found in (
            ("shipped rule", kept_full),
            ("routed rule", routed(narrow, kept_narrow, kept_full)),
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
        report_seed(seed, runs, "clean")
    results = {name: summary(found) for name, found in runs.items()}
    for name, result in results.items():
        if name != "shipped":
            result["minus shipped (paired by seed)"] = {
                condition: paired(results["shipped"], result, condition)
                for condition in ("clean", *NARROW_VERSIONS, PHONE_CALL)
            }
    header = result_header(
        f"python benchmarks/band_copies.py --seeds {seeds}",
        time.perf_counter() - started,
        f"{FOLDS}-fold stratified group k-fold by artist over GTZAN's {len(y)} clips, fold seeds "
        f"0..{seeds - 1}, as benchmarks/robustness.py; taffc's {len(taffc_paths)} songs in "
        "every training side; shrinkage LDA; figures are means over the seeds",
    )
    record = {
        **header,
        "bandwidth test": {
            **BandTest().to_manifest(),
            "16-bit floor (dB)": round(SIXTEEN_BIT_FLOOR_DB, 1),
            "GTZAN": band_test_figures(both.levels),
            "taffc": band_test_figures(taffc_levels),
        },
        "results": results,
        "share kept as known (mean of the seeds)": {
            rule: {
                name: round(float(np.mean([run[name] for run in runs])), 4) for name in CONDITIONS
            }
            for rule, runs in kept.items()
        },
        "narrow-band rejector thresholds (mean of the seeds)": {
            threshold: {
                figure: round(float(np.mean([run[threshold][figure] for run in thresholds])), 4)
                for figure in thresholds[0][threshold]
            }
            for threshold in thresholds[0]
        },
    }
    for name, result in results.items():
        print(f"{name}: worst drop {result['worst_drop']:.3f} ({result['worst_condition']})")
        print("  " + json.dumps(result.get("minus shipped (paired by seed)", {})))
    print(json.dumps(record["bandwidth test"], indent=1))
    print(json.dumps(record["share kept as known (mean of the seeds)"], indent=1))
    print(json.dumps(record["narrow-band rejector thresholds (mean of the seeds)"], indent=1))
    (RESULTS / "band_copies.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
