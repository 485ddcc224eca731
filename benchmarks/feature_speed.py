"""57 GTZAN-table features: genrekit's shared-STFT extractor vs the plain librosa way.

The plain way is what the GTZAN notebooks do: one librosa call per feature on the same audio
(``chroma_stft(y)``, ``rms(y)``, ..., ``effects.hpss(y)``, ``beat.beat_track(y)``, ``mfcc(y)``),
so the STFT is recomputed for each. Both run in this process on the same decoded clips, alternating
clip by clip, after one warm-up clip each (numba JIT). Parity of both against the Kaggle table is
reported as the largest relative error over all columns (with the tests' 1e-4 absolute floor).

Run: ``.venv/bin/python benchmarks/feature_speed.py [--limit N]``
"""

from __future__ import annotations

import argparse
import time

import librosa
import numpy as np
import pandas as pd
import soundfile
from _common import data_dir, git_revision, machine, save_result

from genrekit.features import gtzan57


def plain_librosa(y: np.ndarray, sr: int) -> np.ndarray:
    """The notebook way: one librosa call (and one STFT) per feature."""
    chroma = librosa.feature.chroma_stft(y=y, sr=sr)
    rms = librosa.feature.rms(y=y)
    centroid = librosa.feature.spectral_centroid(y=y, sr=sr)
    bandwidth = librosa.feature.spectral_bandwidth(y=y, sr=sr)
    rolloff = librosa.feature.spectral_rolloff(y=y, sr=sr)
    zcr = librosa.feature.zero_crossing_rate(y)
    harmonic, percussive = librosa.effects.hpss(y)
    tempo, _ = librosa.beat.beat_track(y=y, sr=sr)
    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20)
    values = []
    for frames in (chroma, rms, centroid, bandwidth, rolloff, zcr, harmonic, percussive):
        values += [frames.mean(), frames.var()]
    values.append(float(np.atleast_1d(tempo)[0]))
    for coefficient in mfcc:
        values += [coefficient.mean(), coefficient.var()]
    return np.asarray(values, dtype=np.float64)


def worst_relative_error(values: np.ndarray, reference: np.ndarray) -> float:
    difference = np.abs(values - reference)
    relative = difference / np.maximum(np.abs(reference), 1e-30)
    return float(np.where(difference <= 1e-4, 0.0, relative).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="clips to time (default: all)")
    args = parser.parse_args()

    data = data_dir()
    table = pd.read_csv(data / "gtzan_features_30_sec.csv").set_index("filename")
    manifest = pd.read_csv(data / "gtzan" / "manifest.csv")
    manifest["clip"] = manifest["file"].str.split("/").str[-1].str.replace(".flac", ".wav")
    usable = manifest[(manifest["sample_rate"] == 22050) & manifest["clip"].isin(table.index)]
    usable = usable.head(args.limit) if args.limit else usable
    clips = [soundfile.read(data / f, dtype="float32")[0] for f in usable["file"]]
    reference = table.loc[usable["clip"], list(gtzan57.COLUMNS)].to_numpy(float)

    gtzan57.extract(clips[0], 22050)  # warm-up: imports and numba compilation, both paths
    plain_librosa(clips[0], 22050)
    timings = {"genrekit": 0.0, "plain_librosa": 0.0}
    worst = {"genrekit": 0.0, "plain_librosa": 0.0}
    for clip, expected in zip(clips, reference, strict=True):
        for name, extract in (("genrekit", gtzan57.extract), ("plain_librosa", plain_librosa)):
            start = time.perf_counter()
            values = extract(clip, 22050)
            timings[name] += time.perf_counter() - start
            worst[name] = max(worst[name], worst_relative_error(values, expected))
    per_clip = {name: seconds / len(clips) for name, seconds in timings.items()}
    result = {
        "machine": machine(),
        "revision": git_revision(),
        "librosa": librosa.__version__,
        "clips": len(clips),
        "seconds_per_30s_clip": per_clip,
        "speedup": per_clip["plain_librosa"] / per_clip["genrekit"],
        "worst_relative_error_vs_table": worst,
    }
    save_result("feature_speed", result)


if __name__ == "__main__":
    main()
