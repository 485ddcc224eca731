"""k-NN between MFCC Gaussians by symmetric KL divergence."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import DATA

import genrekit
from genrekit.models.gaussian import GaussianKNN


def gaussian_rows(rng, spread: float, count: int, dimension: int = 3) -> np.ndarray:
    rows = []
    for _ in range(count):
        frames = rng.normal(0.0, spread, (300, dimension))
        rows.append(np.concatenate([frames.mean(axis=0), np.cov(frames.T).ravel()]))
    return np.array(rows)


def test_divergence_matches_the_closed_form_and_is_zero_on_itself():
    rng = np.random.default_rng(0)
    x = gaussian_rows(rng, 1.0, 4)
    model = GaussianKNN(regularization=0.0).fit(x, ["a", "a", "b", "b"])
    divergence = model.divergence(x)
    np.testing.assert_allclose(np.diag(divergence), 0.0, atol=1e-9)
    np.testing.assert_allclose(divergence, divergence.T, rtol=1e-9)
    m1, s1 = x[0, :3], x[0, 3:].reshape(3, 3)
    m2, s2 = x[1, :3], x[1, 3:].reshape(3, 3)
    i1, i2 = np.linalg.inv(s1), np.linalg.inv(s2)
    expected = 0.5 * (np.trace(i1 @ s2) + np.trace(i2 @ s1) + (m1 - m2) @ (i1 + i2) @ (m1 - m2)) - 3
    assert divergence[0, 1] == pytest.approx(expected, rel=1e-9)


def test_rows_that_are_not_gaussians_are_refused():
    with pytest.raises(ValueError, match="d \\+ d² columns"):
        GaussianKNN().fit(np.zeros((4, 57)), ["a", "a", "b", "b"])


def test_tells_narrow_from_wide_timbres():
    rng = np.random.default_rng(1)
    train = np.vstack([gaussian_rows(rng, 1.0, 10), gaussian_rows(rng, 3.0, 10)])
    test = np.vstack([gaussian_rows(rng, 1.0, 5), gaussian_rows(rng, 3.0, 5)])
    model = GaussianKNN(n_neighbors=3).fit(train, np.repeat(["narrow", "wide"], 10))
    assert list(model.predict(test)) == ["narrow"] * 5 + ["wide"] * 5
    np.testing.assert_allclose(model.predict_proba(test).sum(axis=1), 1.0)


@pytest.mark.data
def test_trains_from_real_clips_and_predicts_through_a_bundle(tmp_path):
    from genrekit.training.config import load_config
    from genrekit.training.train import train

    for genre in ("classical", "metal"):
        (tmp_path / "music" / genre).mkdir(parents=True)
        for clip in sorted((DATA / "gtzan" / genre).glob("*.flac"))[:8]:
            (tmp_path / "music" / genre / clip.name).symlink_to(clip)
    (tmp_path / "kl.toml").write_text(
        '[data]\npath = "music"\n[representation]\nname = "mfcc_gaussian"\n'
        '[protocol]\nfolds = 4\n[model]\nname = "gaussian_knn"\n[model.params]\nn_neighbors = 3\n'
    )
    report, bundle, _ = train(
        load_config(tmp_path / "kl.toml"), tmp_path / "m", None, progress=False
    )
    assert report.metrics()["accuracy"] >= 0.85  # timbre alone separates these two genres
    onnx = json.loads((bundle / "manifest.json").read_text())["model"]["onnx"]
    assert not onnx["exported"]  # no ONNX converter for it: skops serves
    clip = sorted((DATA / "gtzan" / "metal").glob("*.flac"))[0]
    assert genrekit.load_model(bundle).predict(clip, timeline=False).label == "metal"

    from genrekit.errors import ConfigError
    from genrekit.training.evaluate import evaluate_bundle

    with pytest.raises(ConfigError, match="needs mfcc_gaussian: give it audio"):
        evaluate_bundle(bundle, DATA / "gtzan_features_30_sec.csv", progress=False)
