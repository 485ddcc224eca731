"""The genre timeline: does it agree with the verdict, and how often is a window right?

The default model is trained on 30 s clips (mean and standard deviation of the musicnn outputs
over the clip's ten 3 s patches). A timeline window of one patch has no spread at all, which the
model never saw; a window that pools the patches around it (``context``: 1, 3, 5 or 10 patches,
centred, clamped inside the track) looks like what the model learned. Compared here:

- **agreement**: share of clips whose timeline majority (most frequent window label) equals the
  clip's verdict;
- **window accuracy**: share of windows whose label is the clip's true genre.

Protocol: 5-fold stratified group k-fold by artist (``gtzan_artists.csv``, seed 0); on each fold
the default model's estimator (shrinkage LDA at the shipped bundle's chosen shrinkage, on the
training artists' clips and their band-limited and clipped copies) is fitted and the held-out
artists' 208 GTZAN clips are scored: every one of their 3 s patches is a timeline window.
Per-patch network outputs are shared with benchmarks/long_tracks.py (cached).

    python benchmarks/timeline.py
"""

from __future__ import annotations

import numpy as np
from _common import git_revision, machine, save_result
from long_tracks import Clips, pooled

CONTEXTS = (1, 3, 5, 10)


def window_features(patches: np.ndarray, context: int) -> np.ndarray:
    """One row per patch: the pooled outputs of the ``context`` patches centred on it."""
    count = len(patches)
    width = min(context, count)
    starts = np.clip(np.arange(count) - width // 2, 0, count - width)
    return np.stack([pooled(patches[s : s + width]) for s in starts])


def main() -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    clips = Clips.load()
    agree: dict[int, list[bool]] = {c: [] for c in CONTEXTS}
    right: dict[int, list[bool]] = {c: [] for c in CONTEXTS}
    verdict_right: list[bool] = []
    for model, test in clips.folds():
        verdicts = model.predict(clips.clean[test])
        verdict_right += list(verdicts == clips.genres[test])
        for context in CONTEXTS:
            for row, verdict in zip(test, verdicts):
                labels = model.predict(window_features(clips.per_patch[row], context))
                values, counts = np.unique(labels, return_counts=True)
                agree[context].append(values[np.argmax(counts)] == verdict)
                right[context] += list(labels == clips.genres[row])
    result = {
        "machine": machine(),
        "revision": git_revision(),
        "protocol": __doc__.split("Protocol: ")[1].split("\n\n")[0].replace("\n", " "),
        "clips": len(clips.genres),
        "clip_verdict_accuracy": round(float(np.mean(verdict_right)), 3),
        "by_context_patches": {
            str(c): {
                "timeline_majority_equals_verdict": round(float(np.mean(agree[c])), 3),
                "window_accuracy": round(float(np.mean(right[c])), 3),
            }
            for c in CONTEXTS
        },
    }
    save_result("timeline", result)


if __name__ == "__main__":
    main()
