"""Classical pipelines, training from a config, reports and bundles."""

from __future__ import annotations

import copy
import json
import os
import subprocess

import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from genrekit.errors import BundleError, ConfigError
from genrekit.features import RepresentationSpec, gtzan57
from genrekit.models.bundle import TRUSTED_TYPES, load_bundle, save_bundle
from genrekit.models.classical import MODELS, UNSCALED, build_pipeline
from genrekit.novelty import DEFAULT_KEEP_SHARE
from genrekit.training.config import load_config
from genrekit.training.train import train


def blobs(n_per_class=30, n_features=57, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4, (3, n_features))
    x = np.concatenate([c + rng.normal(0, 1, (n_per_class, n_features)) for c in centres])
    y = np.repeat(["blues", "jazz", "rock"], n_per_class)
    return x, y


@pytest.mark.parametrize("name", sorted(set(MODELS) - UNSCALED))
def test_every_model_learns_separable_classes(name):
    x, y = blobs(n_per_class=60)
    pipeline = build_pipeline(name, pca=0.95 if name == "logreg" else None).fit(x[::2], y[::2])
    assert (pipeline.predict(x[1::2]) == y[1::2]).mean() > 0.9
    probabilities = pipeline.predict_proba(x[1::2])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)


def test_config_errors():
    with pytest.raises(ConfigError, match="unknown model"):
        build_pipeline("transformer-xl")
    with pytest.raises(ConfigError, match="no parameter"):
        build_pipeline("svm", {"depth": 3})
    assert build_pipeline("svm", {"C": 3.0}).named_steps["model"].estimator.C == 3.0


def write_table(path, seed=0):
    x, y = blobs(n_per_class=12, seed=seed)
    table = pd.DataFrame(x, columns=gtzan57.COLUMNS)
    table.insert(0, "filename", [f"{label}.{i:05d}.wav" for i, label in enumerate(y)])
    table.insert(1, "length", 661794)
    table["label"] = y
    table.to_csv(path, index=False)
    return path


def write_config(folder, table, extra=""):
    config = folder / "exp.toml"
    config.write_text(
        f'name = "tiny"\n[data]\npath = "{table.name}"\n[protocol]\nfolds = 3\ninner_folds = 2\n'
        f'[model]\nname = "logreg"\n[grid]\nC = [0.1, 1.0]\n{extra}'
    )
    return config


def test_train_writes_report_and_a_loadable_bundle(tmp_path):
    config = load_config(write_config(tmp_path, write_table(tmp_path / "t.csv")))
    report, bundle_dir, errors = train(
        config, tmp_path / "model", tmp_path / "report", progress=False
    )
    assert errors == []
    metrics = report.metrics()
    assert metrics["accuracy_mean"] > 0.9 and len(metrics["folds"]) == 3
    for name in ("report.md", "report.json", "confusion.csv", "confusion.png", "reliability.png"):
        assert (tmp_path / "report" / name).stat().st_size > 0
    text = (tmp_path / "report" / "report.md").read_text()
    assert "stratified k-fold by track" in text and "expected calibration error" in text
    assert "grid search inside each training side" in text  # this config has a [grid]
    assert "accuracy on its own training rows (overfitting check)" in text
    assert 0.9 <= report.extra["train_accuracy_mean"] <= 1.0
    assert 0 <= metrics["ece"] <= 1 and sum(b["count"] for b in metrics["reliability"]) == 36
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    assert manifest["labels"] == ["blues", "jazz", "rock"]
    assert manifest["training"]["protocol"]["folds"] == 3
    assert manifest["training"]["chosen_params"]["C"] in (0.1, 1.0)
    assert manifest["calibration"]["temperature"] > 0
    assert manifest["rejector"]["threshold"] == round(1 - DEFAULT_KEEP_SHARE, 4)
    bundle = load_bundle(bundle_dir)
    assert bundle.novelty is not None and (bundle_dir / "novelty.npz").is_file()
    x, _ = blobs(n_per_class=12)
    np.testing.assert_allclose(bundle.predict_proba(x).sum(axis=1), 1.0, rtol=1e-6)
    assert bundle.representation == RepresentationSpec()


def test_a_narrow_band_head_hears_phone_line_audio_and_full_band_audio_the_main_head(tmp_path):
    import soundfile
    from conftest import make_library, music_like

    from genrekit.bandwidth import BandTest
    from genrekit.degrade import telephone
    from genrekit.models.bundle import NARROW_BAND_FOLDER
    from genrekit.predict import Classifier

    music = make_library(tmp_path / "music", per_genre=4)
    (tmp_path / "exp.toml").write_text(
        f'name = "tiny"\n[data]\npath = "{music}"\n[protocol]\nfolds = 2\ninner_folds = 2\n'
        '[model]\nname = "logreg"\n[augment]\nnarrow_band_head = true\n'
    )
    _, bundle_dir, errors = train(
        load_config(tmp_path / "exp.toml"), tmp_path / "model", None, progress=False
    )
    assert errors == [] and bundle_dir is not None
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    assert manifest["narrow_band"]["folder"] == NARROW_BAND_FOLDER
    head = json.loads((bundle_dir / NARROW_BAND_FOLDER / "manifest.json").read_text())
    assert head["training"]["data"]["items"] == 3 * manifest["training"]["data"]["items"]
    assert "rejector" in head  # its own: narrow-band music is its normal
    classifier = Classifier.load(bundle_dir)
    assert classifier.narrow_band is not None
    song = music_like(6.0, seed=9)
    soundfile.write(tmp_path / "song.wav", song, 22050)
    soundfile.write(tmp_path / "phone.wav", telephone(song, 22050), 22050)
    full = classifier.predict(tmp_path / "song.wav")
    phone = classifier.predict(tmp_path / "phone.wav")
    assert not full.narrow_band and phone.narrow_band
    assert phone.model == full.model == "tiny"  # the bundle's name, whichever head judged
    assert phone.segments and set(phone.probabilities) == set(full.probabilities)
    # The bundle routes by the band test it records: one that calls everything narrow.
    assert BandTest.from_manifest(manifest["narrow_band"]) == BandTest()
    manifest["narrow_band"]["narrow_below_db"] = 1000.0
    (bundle_dir / "manifest.json").write_text(json.dumps(manifest))
    assert Classifier.load(bundle_dir).predict(tmp_path / "song.wav").narrow_band
    # Retrained without the head, the bundle forgets it.
    (tmp_path / "exp.toml").write_text(
        (tmp_path / "exp.toml").read_text().replace("narrow_band_head = true", "copies = 0")
    )
    train(load_config(tmp_path / "exp.toml"), bundle_dir, None, progress=False)
    assert not (bundle_dir / NARROW_BAND_FOLDER).exists()
    assert Classifier.load(bundle_dir).narrow_band is None


def test_a_config_without_a_grid_does_not_claim_a_grid_search(tmp_path):
    table = write_table(tmp_path / "t.csv")
    (tmp_path / "plain.toml").write_text(
        f'[data]\npath = "{table.name}"\n[protocol]\nfolds = 3\n[model]\nname = "logreg"\n'
    )
    report, _, _ = train(load_config(tmp_path / "plain.toml"), None, None, progress=False)
    assert report.protocol["description"].endswith("fixed hyper-parameters (no grid)")


def test_scoring_is_checked_where_it_chooses_among_grid_candidates(tmp_path):
    """Scoring picks a grid candidate song-level; without a grid it is never used, so a config
    naming another scorer still trains (and calibrates on its inner folds)."""
    table = write_table(tmp_path / "t.csv")
    plain = (
        f'scoring = "neg_log_loss"\n[data]\npath = "{table.name}"\n[protocol]\nfolds = 3\n'
        'inner_folds = 2\n[model]\nname = "logreg"\n'
    )
    (tmp_path / "plain.toml").write_text(plain)
    report, _, _ = train(load_config(tmp_path / "plain.toml"), None, None, progress=False)
    assert "calibration" in report.extra
    (tmp_path / "grid.toml").write_text(plain + "[grid]\nC = [0.1, 1.0]\n")
    with pytest.raises(ConfigError, match="scoring is one of accuracy, balanced_accuracy, f1"):
        train(load_config(tmp_path / "grid.toml"), None, None, progress=False)


def test_config_validation(tmp_path):
    table = write_table(tmp_path / "t.csv")
    with pytest.raises(ConfigError, match="protocol must be"):
        load_config(write_config(tmp_path, table), {"protocol": "random"})
    (tmp_path / "bad.toml").write_text("[data]\n")
    with pytest.raises(ConfigError, match="missing setting"):
        load_config(tmp_path / "bad.toml")


def small_bundle(tmp_path, estimator, with_onnx=False):
    x, y = blobs(n_per_class=5)
    estimator.fit(x, y)
    return save_bundle(
        tmp_path / "b",
        estimator,
        name="t",
        labels=["blues", "jazz", "rock"],
        representation=RepresentationSpec(),
        training={},
        metrics={},
        reference_features=x if with_onnx else None,
    )


def test_tampered_weights_are_refused(tmp_path):
    path = small_bundle(tmp_path, build_pipeline("logreg"))
    (path / "model.skops").write_bytes((path / "model.skops").read_bytes() + b"x")
    with pytest.raises(BundleError, match="checksum"):
        load_bundle(path)


def bundle_holding(tmp_path, function):
    """A bundle whose pipeline names ``function`` (set after fitting, so it is never called)."""
    pipeline = Pipeline(
        [("f", FunctionTransformer()), ("s", StandardScaler()), ("m", LogisticRegression())]
    )
    x, y = blobs(n_per_class=5)
    pipeline.fit(x, y).set_params(f__func=function)
    return save_bundle(tmp_path / "b", pipeline, name="t", labels=["blues", "jazz", "rock"],
                       representation=RepresentationSpec(), training={}, metrics={})  # fmt: skip


@pytest.mark.parametrize(
    ("function", "type_name"),
    [
        (eval, "builtins.eval"),
        (os.system, "posix.system"),
        (subprocess.Popen, "subprocess.Popen"),
        (copy.copy, "copy.copy"),
    ],
)
def test_weights_naming_code_are_refused(tmp_path, function, type_name):
    """A skops file naming a function or class genrekit never saves is refused before loading:
    a bundle is data, never code (the checksum does not help: an attacker rewrites it too)."""
    path = bundle_holding(tmp_path, function)
    assert type_name in skops.io.get_untrusted_types(file=path / "model.skops")
    with pytest.raises(BundleError, match=f"refused.*{type_name}"):
        load_bundle(path)


def test_crafted_bundle_is_refused_by_the_cli_with_one_line(tmp_path, media):
    from typer.testing import CliRunner

    from genrekit.cli import app

    path = bundle_holding(tmp_path, eval)
    result = CliRunner().invoke(app, ["predict", "--model", str(path), str(media["wav"])])
    assert result.exit_code != 0
    assert "refused" in result.output and "builtins.eval" in result.output
    assert "Traceback" not in result.output


def test_every_type_genrekit_saves_is_on_the_allow_list(tmp_path):
    """The allow-list is exact names; it must cover each classical model genrekit can train."""
    x, y = blobs(n_per_class=6)
    for name in MODELS:
        features = np.hstack([x[:, :2], np.tile(np.eye(2).ravel(), (len(x), 1))]) if (
            name == "gaussian_knn"
        ) else x  # fmt: skip
        for extra in ({}, {"pca": 2}, {"pca_block": [0, 1]}):
            if name in UNSCALED and extra:
                continue
            pipeline = build_pipeline(name, **extra).fit(features, y)
            skops.io.dump(pipeline, tmp_path / "m.skops")
            assert set(skops.io.get_untrusted_types(file=tmp_path / "m.skops")) <= TRUSTED_TYPES


def _rewrite_manifest(path, change):
    manifest = json.loads((path / "manifest.json").read_text())
    change(manifest)
    (path / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m["model"].update(weights="/etc/hostname"), "outside the bundle"),
        (lambda m: m["model"].update(weights="../b/model.skops"), "outside the bundle"),
        (lambda m: m.pop("model"), "no 'model' section"),
        (lambda m: m["model"].pop("classes"), "lacks 'classes'"),
        (lambda m: m.update(labels=["blues", "polka"]), "not among the model's classes"),
        (lambda m: m.update(labels=[]), "no 'labels'"),
        (lambda m: m["model"].update(framework="pickle"), "unknown framework"),
    ],
)
def test_malformed_manifests_get_one_clear_error(tmp_path, change, message):
    path = small_bundle(tmp_path, build_pipeline("logreg"))
    _rewrite_manifest(path, change)
    with pytest.raises(BundleError, match=message):
        load_bundle(path)


def test_pretrained_weights_are_checked_against_their_checksums(tmp_path, monkeypatch):
    import shutil

    from genrekit.pretrained import musicnn

    copy_dir = tmp_path / "weights"
    shutil.copytree(musicnn.WEIGHTS_DIR, copy_dir)
    monkeypatch.setattr(musicnn, "WEIGHTS_DIR", copy_dir)
    assert musicnn.verified_weights("MSD_musicnn.onnx") == copy_dir / "MSD_musicnn.onnx"
    weights = copy_dir / "MSD_musicnn.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + b"\x00")
    with pytest.raises(BundleError, match="not the shipped file"):
        musicnn.verified_weights("MSD_musicnn.safetensors")


def test_not_a_bundle(tmp_path):
    with pytest.raises(BundleError, match="not a model bundle"):
        load_bundle(tmp_path)


def test_evaluate_bundle_votes_per_track_on_a_segment_table(tmp_path):
    from genrekit.training.evaluate import evaluate_bundle

    config = load_config(write_config(tmp_path, write_table(tmp_path / "t.csv")))
    _, bundle_dir, _ = train(config, tmp_path / "model", None, progress=False)
    x, y = blobs(n_per_class=12, seed=0)
    table = pd.DataFrame(x, columns=gtzan57.COLUMNS)
    # Three segment rows per track (names <id>.<n>.wav, 3 s long): scored once per track.
    table.insert(0, "filename", [f"{label}.{i // 3:05d}.{i % 3}.wav" for i, label in enumerate(y)])
    table.insert(1, "length", 66150)
    table["label"] = y
    table.to_csv(tmp_path / "segments.csv", index=False)
    report, errors = evaluate_bundle(bundle_dir, tmp_path / "segments.csv", progress=False)
    assert errors == []
    assert len(report.y_true) == 12  # 36 rows, 12 tracks
    assert report.metrics()["accuracy"] > 0.9
    assert report.protocol["name"] == "bundle-on-data"


def test_evaluate_says_how_to_label_a_flat_folder_and_names_unmapped_labels(tmp_path, media):
    from typer.testing import CliRunner

    from genrekit.cli import app
    from genrekit.training.datasets import map_label

    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "song.flac").write_bytes(media["flac"].read_bytes())
    result = CliRunner().invoke(app, ["evaluate", str(flat)])
    assert result.exit_code == 2
    assert "put the audio in one subfolder per genre" in result.output
    with pytest.raises(ConfigError, match=r"no group for label 'dance-urban'$"):
        map_label(np.str_("dance-urban"), {"rock": "guitar"}, "groups.csv")


def test_bundle_carries_a_verified_onnx_copy_used_by_default(tmp_path):
    config = load_config(write_config(tmp_path, write_table(tmp_path / "t.csv")))
    _, bundle_dir, _ = train(config, tmp_path / "model", None, progress=False)
    onnx = json.loads((bundle_dir / "manifest.json").read_text())["model"]["onnx"]
    assert onnx["exported"] and onnx["max_abs_probability_difference"] <= 1e-4
    fast, exact = load_bundle(bundle_dir), load_bundle(bundle_dir, backend="scikit-learn")
    assert (fast.backend, exact.backend) == ("onnx", "scikit-learn")
    x, _ = blobs(n_per_class=12, seed=5)  # unseen features
    np.testing.assert_allclose(fast.predict_proba(x), exact.predict_proba(x), atol=1e-4)
    (bundle_dir / "model.onnx").write_bytes(b"not a graph")
    with pytest.raises(BundleError, match="checksum"):
        load_bundle(bundle_dir)


def test_onnx_copy_is_dropped_when_it_does_not_match(tmp_path, monkeypatch):
    from genrekit.models import onnx_export

    monkeypatch.setattr(onnx_export, "TOLERANCE", -1.0)
    path = small_bundle(tmp_path, build_pipeline("logreg"), with_onnx=True)
    onnx = json.loads((path / "manifest.json").read_text())["model"]["onnx"]
    assert not onnx["exported"] and "differ" in onnx["reason"]
    assert not (path / "model.onnx").exists()
    assert load_bundle(path).backend == "scikit-learn"


def test_compare_runs_every_model_under_the_same_folds(tmp_path):
    from genrekit.training.train import compare

    table = write_table(tmp_path / "t.csv")
    logreg = load_config(write_config(tmp_path, table))
    knn = load_config(write_config(tmp_path, table))
    knn.name, knn.model, knn.grid = "tiny-knn", "knn", {"n_neighbors": [1, 3]}
    rows = compare([logreg, knn], tmp_path / "cmp", progress=False)
    assert {r["model"] for r in rows} == {"tiny", "tiny-knn"}
    assert all(r["accuracy_mean"] > 0.9 and r["model_bytes"] > 0 for r in rows)
    assert rows[0]["accuracy_mean"] >= rows[1]["accuracy_mean"]
    for name in (
        "comparison.md",
        "comparison.json",
        "comparison.html",
        "tiny/report.json",
        "tiny-knn/confusion.png",
    ):
        assert (tmp_path / "cmp" / name).is_file(), name
    knn.folds = 2
    with pytest.raises(ConfigError, match="same data, protocol, folds and seed"):
        compare([logreg, knn], tmp_path / "cmp2", progress=False)


def test_pca_block_is_fitted_inside_the_pipeline(tmp_path):
    x, y = blobs(n_per_class=20, n_features=10)
    block = np.repeat(x[:, :1], 30, axis=1) + np.random.default_rng(0).normal(0, 0.01, (60, 30))
    features = np.hstack([x, block])
    pipeline = build_pipeline("logreg", pca_block=list(range(10, 40))).fit(features, y)
    reduced = pipeline.named_steps["scale"].transform(features)
    assert reduced.shape[1] < 20  # 30 nearly identical columns collapse to a few components
    assert (pipeline.predict(features) == y).mean() > 0.9


def test_label_maps_for_coarse_groups_and_one_vs_rest(tmp_path):
    from genrekit.training.datasets import from_features_table, with_label_map

    table = write_table(tmp_path / "t.csv")
    (tmp_path / "rest.csv").write_text("label,group\njazz,jazz\n*,other\n")
    mapped = with_label_map(from_features_table(table), tmp_path / "rest.csv")
    assert mapped.class_counts() == {"jazz": 12, "other": 24}
    (tmp_path / "partial.csv").write_text("label,group\njazz,jazz\n")
    with pytest.raises(ConfigError, match="no group for label 'blues'"):
        with_label_map(from_features_table(table), tmp_path / "partial.csv")
    (tmp_path / "bad.csv").write_text("genre,coarse\njazz,x\n")
    with pytest.raises(ConfigError, match="label,group"):
        with_label_map(from_features_table(table), tmp_path / "bad.csv")

    config = load_config(write_config(tmp_path, table), {"label_map": tmp_path / "rest.csv"})
    report, bundle, _ = train(config, tmp_path / "model", None, progress=False)
    assert report.labels == ["jazz", "other"]
    assert json.loads((bundle / "manifest.json").read_text())["labels"] == ["jazz", "other"]


def test_lda_bundle_drops_its_covariance_and_predicts_the_same(tmp_path):
    x, y = blobs(n_per_class=20, n_features=300)
    estimator = build_pipeline("lda").fit(x, y)
    path = save_bundle(
        tmp_path / "lda", estimator, name="lda", labels=["blues", "jazz", "rock"],
        representation=RepresentationSpec(), training={}, metrics={},
    )  # fmt: skip
    assert (path / "model.skops").stat().st_size < 300 * 300 * 8 / 2  # no 300 × 300 covariance
    assert hasattr(estimator[-1], "covariance_")  # the caller's estimator is untouched
    loaded = load_bundle(path, backend="scikit-learn")
    np.testing.assert_allclose(loaded.predict_proba(x), estimator.predict_proba(x), atol=1e-12)


def test_relative_paths_in_a_config_resolve_from_the_config_file(tmp_path, monkeypatch):
    from genrekit.training.config import load_config

    folder = tmp_path / "experiments"
    folder.mkdir()
    (folder / "run.toml").write_text(
        'name = "x"\n[data]\npath = "./table.csv"\ngroups = "../artists.csv"\n'
        '[model]\nname = "logreg"\n'
    )
    monkeypatch.chdir(tmp_path)  # anywhere but the config's folder
    config = load_config(folder / "run.toml")
    assert config.data == folder / "table.csv"
    assert config.groups == folder / "../artists.csv"


def test_the_kmeans_classifier_votes_each_clusters_majority():
    from sklearn.base import clone

    x, y = blobs(n_per_class=20)
    model = build_pipeline("kmeans", {"n_clusters": 6}).fit(x, y)
    assert (model.predict(x) == y).mean() >= 0.9
    probabilities = model.predict_proba(x)
    assert (probabilities > 0).all() and np.allclose(probabilities.sum(axis=1), 1.0)
    one = build_pipeline("kmeans", {"n_clusters": 1}).fit(x, y)  # one cluster: the prior
    assert np.allclose(
        one.predict_proba(x[:1]), np.bincount(np.searchsorted(one.classes_, y)) / len(y), atol=0.05
    )
    assert clone(model).get_params()["model__n_clusters"] == 6
