"""Choose each style tag's threshold on the shared GTZAN clips; write style_thresholds.json.

Genre-like tags (``[genre.*]`` in ``src/genrekit/data/styles.toml``): the score that at most 2 %
of the clips of *unrelated* GTZAN genres reach (a 2 % false-positive rate on music that is
clearly not that style; ``related`` lists the genres that may honestly carry it). Moods,
instruments and eras, which no genre label speaks for: the score that 10 % of all clips reach
(shown when unusually strong). For tags with a GTZAN genre of their own, precision and recall of
"tag shown" against that genre are recorded as a check. The tag scores come from the pretrained
networks (never trained on GTZAN), computed with the default model's representation.

    python tools/choose_style_thresholds.py [DATA_DIR]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from genrekit.models.bundle import load_bundle
from genrekit.paths import data_dir
from genrekit.styles import GROUPS, THRESHOLDS_FILE, hierarchy, tag_columns
from genrekit.training.datasets import load_dataset
from genrekit.training.featurize import featurize

UNRELATED_FALSE_POSITIVE_RATE = 0.02
GROUP_SHOWN_SHARE = 0.10
OWN_GENRE = {
    "MSD:rock": "rock", "MTT:rock": "rock", "MSD:metal": "metal", "MSD:heavy metal": "metal",
    "MTT:metal": "metal", "MSD:pop": "pop", "MTT:pop": "pop", "MSD:jazz": "jazz",
    "MSD:blues": "blues", "MSD:country": "country", "MTT:country": "country",
    "MSD:Hip-Hop": "hiphop", "MTT:classical": "classical",
}  # fmt: skip


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else data_dir()
    spec = load_bundle().representation
    dataset, _ = featurize(load_dataset(root / "gtzan"), spec, workers=2)
    column = {name: i for i, name in enumerate(dataset.feature_names)}
    genres = dataset.y
    chosen, checks = {}, {}
    for genre in hierarchy()["genre"].values():
        unrelated = ~np.isin(genres, genre["related"])
        for tag in genre["tags"]:
            scores = dataset.features[:, column[tag_columns()[tag]]]
            chosen[tag] = round(
                float(np.quantile(scores[unrelated], 1 - UNRELATED_FALSE_POSITIVE_RATE)), 4
            )
            if tag in OWN_GENRE:
                shown, truth = scores >= chosen[tag], genres == OWN_GENRE[tag]
                checks[tag] = {
                    "genre": OWN_GENRE[tag],
                    "precision": round(float((shown & truth).sum() / max(shown.sum(), 1)), 3),
                    "recall": round(float((shown & truth).sum() / truth.sum()), 3),
                }
    for group in GROUPS:
        for tag in hierarchy()[group]["tags"]:
            scores = dataset.features[:, column[tag_columns()[tag]]]
            chosen[tag] = round(float(np.quantile(scores, 1 - GROUP_SHOWN_SHARE)), 4)
    record = {
        "method": (
            f"genre-like tags: the score at most {UNRELATED_FALSE_POSITIVE_RATE:.0%} of GTZAN "
            "clips of unrelated genres reach; moods, instruments, eras: the score "
            f"{GROUP_SHOWN_SHARE:.0%} of all GTZAN clips reach"
        ),
        "data": f"{len(genres)} GTZAN clips ({dataset.fingerprint()[:16]}), "
        f"representation {spec.to_dict()}",
        "command": "python tools/choose_style_thresholds.py",
        "thresholds": chosen,
        "checks_against_gtzan_genres": checks,
    }
    THRESHOLDS_FILE.write_text(json.dumps(record, indent=2) + "\n")
    for tag, check in checks.items():
        print(
            f"{tag:18s} ≥ {chosen[tag]:.3f}: "
            f"precision {check['precision']:.2f} recall {check['recall']:.2f}"
        )


if __name__ == "__main__":
    main()
