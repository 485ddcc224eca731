"""Should the narrow-band head also learn varied phone calls?

The shipped narrow-band head learned each training clip's fixed telephone-band and 8 kHz
versions (``benchmarks/band_copies.py``, row 5); on varied phone calls (``genrekit.degrade
.phone_call``: other band edges and slopes, μ-law, a 16-bit or MP3 file) it is right on 0.704,
7.2 points under clean music. Side by side on the same outer folds (5-fold stratified group
k-fold by artist over GTZAN's 208 clips, fold seeds 0..``--seeds``-1, taffc's 84 songs in every
training side, shrinkage LDA chosen on inner artist folds as ``benchmarks/robustness.py``):

1. **shipped**: narrow input (by the shipped bandwidth test) to the head that learned the fixed
   versions, full-band input to the main head;
2. **+ varied calls**: the same, the narrow-band head also learning each training clip's varied
   phone call (GTZAN's and taffc's).

A held-out clip's call is drawn like the training clips' calls (the same generator, other
clips, no clip on both sides), so row 2's phone-call figure is optimistic about calls unlike
the generator; the fixed telephone band and 8 kHz, which row 2 learns no more of than row 1,
are the check that learning the varied calls does not cost the fixed ones.

    python benchmarks/phone_call_head.py [--seeds 5]     (after benchmarks/band_copies.py)
"""

from __future__ import annotations

import json
import time

from _common import RESULTS, result_header
from band_copies import (
    EIGHT_KHZ,
    NARROW_VERSIONS,
    PHONE_CALL,
    SHIPPED,
    TELEPHONE,
    clips,
    paired,
    report_seed,
    routed,
    seeds_from_command_line,
    summary,
)
from robustness import (
    FOLDS,
    held_out_probabilities,
    scored,
)


def main() -> None:
    seeds = seeds_from_command_line(__doc__.splitlines()[0])
    started = time.perf_counter()
    both = clips(("clean", *NARROW_VERSIONS, PHONE_CALL))
    features, y, artists, narrow = both.features, both.y, both.artists, both.narrow
    taffc_features, taffc = both.taffc_features, both.taffc
    heads = {
        "shipped": (*SHIPPED, *NARROW_VERSIONS),
        "+ varied calls": (*SHIPPED, *NARROW_VERSIONS, PHONE_CALL),
    }
    runs: dict[str, list[dict]] = {name: [] for name in heads}
    for seed in range(seeds):
        main_head, _ = held_out_probabilities(
            features, y, artists, "lda", SHIPPED, (taffc_features, taffc.y, SHIPPED), seed
        )
        for name, rows in heads.items():
            head, _ = held_out_probabilities(
                features, y, artists, "lda", rows, (taffc_features, taffc.y, rows), seed
            )
            runs[name].append(scored(routed(narrow, head, main_head), y))
        report_seed(seed, runs, PHONE_CALL)
    results = {name: summary(found) for name, found in runs.items()}
    results["+ varied calls"]["minus shipped (paired by seed)"] = {
        condition: paired(results["shipped"], results["+ varied calls"], condition)
        for condition in ("clean", TELEPHONE, EIGHT_KHZ, PHONE_CALL)
    }
    header = result_header(
        f"python benchmarks/phone_call_head.py --seeds {seeds}",
        time.perf_counter() - started,
        f"{FOLDS}-fold stratified group k-fold by artist over GTZAN's {len(y)} clips, fold seeds "
        f"0..{seeds - 1}, as benchmarks/robustness.py; taffc's {len(taffc.paths)} songs in "
        "every training side; shrinkage LDA; narrow input routed by the shipped bandwidth test; "
        "figures are means over the seeds",
    )
    for name, result in results.items():
        print(f"{name}: worst drop {result['worst_drop']:.3f} ({result['worst_condition']})")
        print("  " + json.dumps(result.get("minus shipped (paired by seed)", {})))
    record = {**header, "results": results}
    (RESULTS / "phone_call_head.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
