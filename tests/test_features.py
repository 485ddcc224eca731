"""The 57-column GTZAN feature set: parity with the Kaggle table, exactness of the fast paths."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import librosa
import numpy as np
import pandas as pd
import pytest
import soundfile
from conftest import DATA, music_like
from scipy.ndimage import median_filter

from genrekit.audio import normalize
from genrekit.features import RepresentationSpec, feature_set, gtzan57
from genrekit.features.spectral import (
    harmonic_mask,
    median_filter_along,
    stft,
    zero_crossing_rate,
)


def test_columns_match_the_kaggle_table_header():
    header = (DATA / "gtzan_features_30_sec.csv").read_text().splitlines()[0].split(",")
    if len(header) > 1:
        assert header[2:-1] == list(gtzan57.COLUMNS)
    assert len(gtzan57.COLUMNS) == 57


def _clip_features(path: str) -> np.ndarray:
    samples, rate = soundfile.read(path, dtype="float32")
    return gtzan57.extract(samples, rate)


@pytest.mark.data
@pytest.mark.slow
def test_parity_with_the_kaggle_table_on_every_native_rate_clip():
    table = pd.read_csv(DATA / "gtzan_features_30_sec.csv").set_index("filename")
    manifest = pd.read_csv(DATA / "gtzan" / "manifest.csv")
    manifest["clip"] = manifest["file"].str.split("/").str[-1].str.replace(".flac", ".wav")
    usable = manifest[(manifest["sample_rate"] == 22050) & manifest["clip"].isin(table.index)]
    assert len(usable) >= 150
    paths = [str(DATA / f) for f in usable["file"]]
    with ProcessPoolExecutor(2) as pool:
        ours = np.stack(list(pool.map(_clip_features, paths)))
    reference = table.loc[usable["clip"], list(gtzan57.COLUMNS)].to_numpy(float)
    difference = np.abs(ours - reference)
    agree = (difference <= 0.01 * np.abs(reference)) | (difference <= 1e-4)
    bad = [
        f"{clip} {column}: {ours[i, j]:.6g} vs {reference[i, j]:.6g}"
        for i, clip in enumerate(usable["clip"])
        for j, column in enumerate(gtzan57.COLUMNS)
        if not agree[i, j]
    ]
    assert not bad, bad[:10]


def test_fast_median_equals_scipy_median_filter():
    rng = np.random.default_rng(1)
    for shape, size in (((40, 57), 31), ((7, 5), 31), ((64, 64), 5)):
        values = rng.random(shape).astype(np.float32)
        for axis in (0, 1):
            footprint = [1, 1]
            footprint[axis] = size
            expected = median_filter(values, size=footprint, mode="reflect")
            np.testing.assert_array_equal(median_filter_along(values, size, axis), expected)
    with pytest.raises(ValueError, match="odd"):
        median_filter_along(values, 4, 0)


def test_hpss_equals_librosa():
    spectrum = stft(music_like(4.0))
    mask = harmonic_mask(np.abs(spectrum))  # what the features use: the mask and its complement
    ours = (spectrum * mask, spectrum * (1 - mask))
    theirs = librosa.decompose.hpss(spectrum)
    scale = np.abs(spectrum).max()  # equal up to float32 rounding at the spectrum's scale
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6 * scale)


def test_zero_crossing_rate_equals_librosa():
    rng = np.random.default_rng(3)
    noisy = rng.standard_normal(30_000).astype(np.float32)
    noisy[1000:3000] = 0.0  # exact zeros and tiny values count as positive
    noisy[5000:5100] = -1e-12
    for signal in (noisy, music_like(2.0), noisy[:700]):
        expected = librosa.feature.zero_crossing_rate(signal)[0]
        np.testing.assert_array_equal(zero_crossing_rate(signal), expected)


def test_features_are_finite_on_a_short_clip():
    values = gtzan57.extract(music_like(1.0), 22050)
    assert values.shape == (57,) and np.isfinite(values).all()


def test_tempo_of_a_120_bpm_beat():
    tempo = gtzan57.extract(music_like(12.0), 22050)[gtzan57.COLUMNS.index("tempo")]
    assert tempo == pytest.approx(120.0, rel=0.03)


def test_louder_copy_has_the_same_features_after_normalization():
    quiet = music_like(4.0) * 0.1
    loud = quiet * 8.0
    a = gtzan57.extract(normalize(quiet, "peak"), 22050)
    b = gtzan57.extract(normalize(loud, "peak"), 22050)
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-6)
    # ...and without normalization the loudness-dependent features do differ (as in the table).
    raw_a = gtzan57.extract(quiet, 22050)
    raw_b = gtzan57.extract(loud, 22050)
    rms = gtzan57.COLUMNS.index("rms_mean")
    assert raw_b[rms] == pytest.approx(8 * raw_a[rms], rel=1e-3)


def test_unknown_representation_is_a_clear_error():
    from genrekit.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown representation"):
        feature_set("nope")
    with pytest.raises(ConfigError, match="unknown representation settings"):
        RepresentationSpec.from_dict({"name": "gtzan57", "windows": 3})


def test_extended_set_is_finite_and_gain_invariant_after_normalization():
    from genrekit.features import extended

    clip = music_like(4.0)
    values = extended.extract(normalize(clip * 0.05, "peak"), 22050)
    assert values.shape == (len(extended.COLUMNS),) and 200 <= len(extended.COLUMNS) <= 240
    assert np.isfinite(values).all()
    louder = extended.extract(normalize(clip * 0.9, "peak"), 22050)
    # Spectral contrast averages the quietest/loudest 2 % of bins per band: a discontinuous
    # selection that float32 rounding can shift slightly, so it gets a looser tolerance.
    contrast = np.array([c.startswith("contrast") for c in extended.COLUMNS])
    np.testing.assert_allclose(values[~contrast], louder[~contrast], rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(values[contrast], louder[contrast], rtol=1e-2)
    assert len(set(extended.COLUMNS)) == len(extended.COLUMNS)


def test_feature_rows_are_cached_by_content(tmp_path, monkeypatch):
    from genrekit.features import table

    monkeypatch.setenv("GENREKIT_CACHE", str(tmp_path / "cache"))
    song = tmp_path / "a.wav"
    soundfile.write(song, music_like(3.0), 22050)
    first = table.rows_for_file(table.TableJob(song, "rock"))
    assert len(list((tmp_path / "cache").rglob("*.json"))) == 1

    def no_extraction(*args):
        raise AssertionError("features recomputed despite the cache")

    from dataclasses import replace

    monkeypatch.setattr(gtzan57, "FEATURES", replace(gtzan57.FEATURES, extract=no_extraction))
    renamed = tmp_path / "b.wav"
    renamed.write_bytes(song.read_bytes())
    second = table.rows_for_file(table.TableJob(renamed, "jazz"))
    assert second[0]["filename"] == "b.wav" and second[0]["label"] == "jazz"
    assert {k: v for k, v in second[0].items() if k not in ("filename", "label")} == {
        k: v for k, v in first[0].items() if k not in ("filename", "label")
    }
    monkeypatch.setenv("GENREKIT_CACHE", "off")
    with pytest.raises(AssertionError, match="recomputed"):
        table.rows_for_file(table.TableJob(renamed, "jazz"))


def test_extended_reuses_its_stft_for_the_mel_bands():
    """The extended set's last 80 values are the mel-band statistics, computed from the STFT
    it already has; they equal the melbands set computed on its own."""
    from conftest import music_like

    from genrekit.features import extended, melbands

    samples = music_like(6.0)
    assert np.array_equal(extended.extract(samples)[-80:], melbands.extract(samples))


def test_a_new_representation_is_one_registration(tmp_path, media):
    """A representation registered from outside the package (here: two loudness statistics)
    works where every built-in one does: specs, the features command, the error listing names."""
    from typer.testing import CliRunner

    from genrekit.cli import app
    from genrekit.errors import ConfigError
    from genrekit.features import (
        FeatureSet,
        RepresentationSpec,
        feature_set,
        register_representation,
    )

    def loudness(samples: np.ndarray, sample_rate: int) -> np.ndarray:
        frames = samples[: len(samples) // 512 * 512].reshape(-1, 512)
        rms = np.sqrt((frames**2).mean(axis=1))
        return np.array([rms.mean(), rms.std()], dtype=np.float32)

    register_representation(FeatureSet("test_loudness", ("rms_mean", "rms_std"), loudness))
    assert RepresentationSpec.from_dict({"name": "test_loudness"}).name == "test_loudness"
    assert (
        not feature_set("test_loudness").regions and feature_set("test_loudness").provenance is None
    )
    out = tmp_path / "table.csv"
    result = CliRunner().invoke(
        app, ["features", str(media["wav"]), "-o", str(out), "--representation", "test_loudness"]
    )
    assert result.exit_code == 0, result.output
    header, row = out.read_text().splitlines()[:2]
    assert header.startswith("filename,length,rms_mean,rms_std")
    assert float(row.split(",")[2]) > 0.1  # the tone's RMS (amplitude 0.3)
    with pytest.raises(ConfigError, match=r"available: gtzan57, .*test_loudness"):
        feature_set("nope")
