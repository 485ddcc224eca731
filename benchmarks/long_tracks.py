"""Full songs: how few regions of a long track the default model needs, by accuracy against cost.

Songs of 3–5 minutes are made by joining shared GTZAN clips, and each is classified two ways
with the same model: **whole-track analysis** (every 30 s clip, probabilities averaged: what
``--full`` does) and **sampled analysis** (``k`` evenly spread regions of ``p`` consecutive 3 s
patches, each region a clip, probabilities averaged). Cost is the number of 3 s patches the two
networks see (their share of a song's CPU time; decoding aside).

Protocol: 5-fold stratified group k-fold by artist (``gtzan_artists.csv``, seed 0). On each fold
the default model's estimator (shrinkage LDA at the shipped bundle's chosen shrinkage, standard
scaling, trained on the training artists' clips and their band-limited and clipped copies, as
``genrekit train`` does) is fitted; then 4 songs per genre are made from the held-out artists'
clips of that genre: 6–10 clips (3–5 min) in random order (seeded), a clip repeating only when the
genre has fewer held-out clips than the song needs; no song shares an artist with training.
Per-patch network outputs are computed once per clip (loudness-normalized as the model does); a
region may span two joined clips. Accuracy and macro-F1 over all 200 songs, and the share of
songs whose sampled verdict equals the whole-track one.

    python benchmarks/long_tracks.py
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _common import data_dir, git_revision, machine, save_result
from robustness import CACHE, features_for

CLIPS_PER_SONG = (6, 10)
"""Shortest and longest song, in 30 s clips."""
SONGS_PER_GENRE = 4
PATCHES_PER_CLIP = 10
REGIONS = (1, 2, 3, 4, 6)
PATCHES_PER_REGION = (3, 5, 10)


def patch_outputs(paths: list[str]) -> np.ndarray:
    """(clips, 10 patches, 500) per-patch MSD then MTT outputs (50 tags + 200 embedding units),
    of loudness-normalized clips as the default model sees them; cached."""
    cached = CACHE / "long-tracks-patch-outputs.npy"
    if cached.is_file():
        return np.load(cached)
    from threadpoolctl import threadpool_limits

    from genrekit.audio import load_audio
    from genrekit.features import RepresentationSpec, prepare
    from genrekit.features.musicnn import MODELS, _log_mel
    from genrekit.features.musicnn import patch_outputs as outputs_of
    from genrekit.pretrained import musicnn

    threadpool_limits(1)
    spec = RepresentationSpec(name="musicnn", normalize="loudness")
    result = []
    for path in paths:
        audio = load_audio(path, sample_rate=spec.sample_rate)
        patches = musicnn.patches(_log_mel(prepare(audio, spec), spec.sample_rate))
        both = np.hstack([outputs_of(patches, model) for model in MODELS])
        result.append(np.resize(both, (PATCHES_PER_CLIP, both.shape[1])))  # 30.0x s: 10 patches
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(cached, np.stack(result).astype(np.float32))
    return np.load(cached)


def pooled(patches: np.ndarray) -> np.ndarray:
    """The model's clip features from per-patch outputs: per network, mean then std."""
    halves = np.split(patches, 2, axis=1)
    return np.concatenate([f(h, axis=0) for h in halves for f in (np.mean, np.std)])


def regions(total: int, count: int, length: int) -> list[slice]:
    """``count`` windows of ``length`` patches centred at evenly spread points of ``total``."""
    length = min(length, total)
    centres = (np.arange(count) + 0.5) / count * total
    starts = np.clip(np.round(centres - length / 2).astype(int), 0, total - length)
    return [slice(s, s + length) for s in starts]


def songs_of(test: np.ndarray, genres: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Songs of held-out clip indices: per genre, ``SONGS_PER_GENRE`` songs of 6–10 of its clips
    in random order (cycled only when the genre has fewer held-out clips than that)."""
    songs = []
    for genre in np.unique(genres[test]):
        rows = test[genres[test] == genre]
        for _ in range(SONGS_PER_GENRE):
            length = int(rng.integers(CLIPS_PER_SONG[0], CLIPS_PER_SONG[1] + 1))
            songs.append(np.resize(rng.permutation(rows), length))
    return songs


@dataclass
class Clips:
    """The 208 GTZAN clips as the default model sees them, with their genres and artists."""

    genres: np.ndarray
    artists: np.ndarray
    per_patch: np.ndarray
    """(clips, 10, 500) per-patch outputs (``patch_outputs``)."""
    clean: np.ndarray
    """(clips, 1000) clip features."""
    copies: dict[str, np.ndarray]
    """The band-limited and clipped training copies' features (``copy-1``, ``copy-2``)."""

    @classmethod
    def load(cls) -> Clips:
        root = data_dir()
        paths = sorted(str(p) for p in (root / "gtzan").glob("*/*.flac"))
        artist_of = pd.read_csv(root / "gtzan_artists.csv", dtype=str).set_index("id")["artist"]
        ids = [Path(p).stem for p in paths]
        per_patch = patch_outputs(paths)
        return cls(
            np.array([i.split(".")[0] for i in ids]),
            np.array([artist_of[i] for i in ids]),
            per_patch,
            np.stack([pooled(clip) for clip in per_patch]),
            features_for(paths, "loudness", 2, 2),
        )

    def folds(self) -> Iterator[tuple[Any, np.ndarray]]:
        """Per artist fold (5, stratified, seed 0): the default model's estimator fitted on the
        training artists' clips and copies, and the held-out clip indices."""
        from sklearn.model_selection import StratifiedGroupKFold

        from genrekit.models.bundle import bundled_models, read_manifest
        from genrekit.models.classical import build_pipeline

        params = read_manifest(bundled_models()["musicnn-lda"])["training"]["chosen_params"]
        folds = StratifiedGroupKFold(5, shuffle=True, random_state=0)
        for train, test in folds.split(self.clean, self.genres, self.artists):
            x = np.vstack([self.clean[train], self.copies["copy-1"][train],
                           self.copies["copy-2"][train]])  # fmt: skip
            yield build_pipeline("lda", params).fit(x, np.tile(self.genres[train], 3)), test


def main() -> None:
    from sklearn.metrics import f1_score
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    start = time.perf_counter()
    clips = Clips.load()
    genres, per_patch = clips.genres, clips.per_patch
    configs = {"whole track (every 30 s clip)": None}
    for k in REGIONS:
        for p in PATCHES_PER_REGION:
            configs[f"{k} region(s) × {p} patch(es)"] = (k, p)
    predicted: dict[str, list[str]] = {name: [] for name in configs}
    truth, minutes, patches_seen = [], [], {name: [] for name in configs}
    rng = np.random.default_rng(0)
    for model, test in clips.folds():
        for song in songs_of(test, genres, rng):
            stream = per_patch[song].reshape(-1, per_patch.shape[2])
            truth.append(genres[song[0]])
            minutes.append(len(song) * 0.5)
            for name, config in configs.items():
                if config is None:
                    cuts = [slice(i, i + PATCHES_PER_CLIP) for i in range(0, len(stream), 10)]
                else:
                    cuts = regions(len(stream), *config)
                features = np.stack([pooled(stream[cut]) for cut in cuts])
                probabilities = model.predict_proba(features).mean(axis=0)
                predicted[name].append(str(model.classes_[np.argmax(probabilities)]))
                patches_seen[name].append(sum(c.stop - c.start for c in cuts))
    truth_array = np.array(truth)
    whole = np.array(predicted["whole track (every 30 s clip)"])
    rows = {
        name: {
            "accuracy": round(float((np.array(found) == truth_array).mean()), 3),
            "macro_f1": round(float(f1_score(truth_array, found, average="macro")), 3),
            "same_verdict_as_whole_track": round(float((np.array(found) == whole).mean()), 3),
            "mean_patches_per_song": round(float(np.mean(patches_seen[name])), 1),
        }
        for name, found in predicted.items()
    }
    result = {
        "machine": machine(),
        "revision": git_revision(),
        "protocol": __doc__.split("Protocol: ")[1].split("\n\n")[0].replace("\n", " "),
        "songs": len(truth),
        "song_minutes": {
            "min": min(minutes),
            "median": float(np.median(minutes)),
            "max": max(minutes),
        },
        "results": rows,
        "seconds": round(time.perf_counter() - start, 1),
    }
    save_result("long_tracks", result)


if __name__ == "__main__":
    main()
