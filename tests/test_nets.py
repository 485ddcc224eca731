"""Neural models: each architecture learns, trains through configs, saves and predicts."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile
from conftest import music_like, tone

import genrekit
from genrekit.calibration import softmax
from genrekit.errors import ConfigError
from genrekit.models.classical import build_pipeline
from genrekit.models.nets import ARCHITECTURES, NetClassifier


def toy(windows: bool, n: int = 30, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.repeat(["a", "b", "c"], n)
    shift = np.repeat([0.0, 2.0, 4.0], n)
    if windows:
        x = rng.normal(0, 1, (3 * n, 12, 24)).astype(np.float32)
        x[:, :3, :] += shift[:, None, None]
    else:
        x = rng.normal(0, 1, (3 * n, 10)).astype(np.float32)
        x[:, 0] += shift
    return x, y


@pytest.mark.parametrize("architecture", sorted(set(ARCHITECTURES) - {"musicnn"}))
def test_every_architecture_learns_and_records_curves(architecture):
    x, y = toy(windows=architecture != "torch_mlp")
    params = {"width": 16, "layers": 1} if architecture == "transformer" else {}
    net = NetClassifier(architecture, params, epochs=12, batch_size=16, masks=1, mixup=0.2)
    net.fit(x, y)
    assert (net.predict(x) == y).mean() > 0.85
    probabilities = net.predict_proba(x[:5])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert set(net.history_) == {"train_loss", "val_loss", "train_accuracy", "val_accuracy"}
    assert 1 <= len(net.history_["val_loss"]) <= 12


def test_validation_split_never_takes_a_training_track(monkeypatch):
    """Several windows per track: the early-stopping split holds whole tracks out."""
    from genrekit.training import splits as splitting

    x, y = toy(windows=False)
    tracks = np.repeat([f"t{i}" for i in range(30)], 3)
    splits = []
    real = splitting.holdout
    monkeypatch.setattr(
        splitting, "holdout", lambda *a, **k: splits.append(real(*a, **k)) or splits[-1]
    )
    NetClassifier("torch_mlp", epochs=1).fit(x, y, tracks=tracks)
    [split] = splits
    assert len(split.test) > 0
    assert not set(tracks[split.train]) & set(tracks[split.test])  # no track on both sides


def test_nets_keep_scikit_learns_estimator_contract():
    """Hyper-parameters in ``__init__``, fitted state set by ``fit``: ``clone``,
    ``GridSearchCV`` and ``NotFittedError`` work as for any scikit-learn classifier."""
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError
    from sklearn.model_selection import GridSearchCV

    x, y = toy(windows=False)
    net = NetClassifier("torch_mlp", {"hidden": (16,)}, epochs=12, batch_size=16)
    with pytest.raises(NotFittedError):
        net.predict(x)
    net.fit(x, y)
    copy = clone(net)
    assert copy.get_params() == net.get_params() and not hasattr(copy, "model_")
    search = GridSearchCV(copy, {"learning_rate": [1e-3, 1e-2]}, cv=2).fit(x, y)
    assert search.best_params_["learning_rate"] in (1e-3, 1e-2)
    assert (search.predict(x) == y).mean() > 0.6  # refitted on all rows, well above chance (1/3)
    logits = net.decision_function(x[:4])  # the log-scores calibration uses
    np.testing.assert_allclose(net.predict_proba(x[:4]), softmax(logits), rtol=1e-6)


def test_net_settings_are_split_between_trainer_and_architecture():
    net = build_pipeline("torch_mlp", {"epochs": 3, "hidden": [32], "dropout": 0.1})
    assert net.epochs == 3 and net.params == {"hidden": (32,), "dropout": 0.1}
    with pytest.raises(ConfigError, match="network 'cnn'"):
        build_pipeline("cnn", {"depth": 9})


def _beats_and_tones(folder, count: int = 4) -> None:
    for n in range(count):
        for genre, samples in (("beats", music_like(6.0, seed=n)),
                               ("tones", tone(6.0, 22050, 250.0 + 60 * n)[:, 0])):  # fmt: skip
            (folder / genre).mkdir(parents=True, exist_ok=True)
            soundfile.write(folder / genre / f"{genre}{n}.wav", samples, 22050)


def test_fine_tuning_musicnn_trains_only_the_chosen_layers_and_round_trips(tmp_path):
    """musicnn fine-tuning: new head, frozen front-end, raw network input, bundle round trip."""
    import torch

    from genrekit.pretrained.networks import load
    from genrekit.training.config import load_config
    from genrekit.training.train import train

    _beats_and_tones(tmp_path / "music")
    (tmp_path / "ft.toml").write_text(
        'name = "tiny-finetune"\n[data]\npath = "music"\n'
        '[representation]\nname = "musicnn_mel"\nclip_seconds = 3.0\n'
        "window_seconds = 3.0\nhop_seconds = 3.0\n[protocol]\nfolds = 2\n"
        '[model]\nname = "musicnn"\n[model.params]\nepochs = 2\nbatch_size = 4\n'
        'trainable = "backend"\nvalidation_fraction = 0.25\n'
    )
    _, bundle, _ = train(load_config(tmp_path / "ft.toml"), tmp_path / "model",
                         tmp_path / "report", progress=False)  # fmt: skip
    classifier = genrekit.load_model(bundle)
    net = classifier.bundle.predictor
    pretrained = load("MSD_musicnn")
    tuned = net.model_.network
    assert torch.equal(tuned.timbral[0].weight, pretrained.timbral[0].weight)
    assert torch.equal(tuned.midend[2].weight, pretrained.midend[2].weight)
    assert not torch.equal(tuned.penultimate.weight, pretrained.penultimate.weight)
    assert tuned.output.out_features == 2
    assert np.all(net.mean_ == 0) and np.all(net.std_ == 1)  # the network scales its own input
    prediction = classifier.predict(tmp_path / "music" / "tones" / "tones0.wav")
    assert set(prediction.probabilities) == {"beats", "tones"}
    assert len(prediction.segments) == 2


@pytest.mark.parametrize(
    ("representation", "architecture"), [("logmel", "cnn"), ("mfcc_chroma", "gru")]
)
def test_train_save_load_and_predict_a_net_from_audio(tmp_path, representation, architecture):
    from genrekit.training.config import load_config
    from genrekit.training.train import train

    _beats_and_tones(tmp_path / "music")
    (tmp_path / "net.toml").write_text(
        f'name = "tiny-{architecture}"\n[data]\npath = "music"\n'
        f'[representation]\nname = "{representation}"\nclip_seconds = 2.0\n'
        'window_seconds = 2.0\nhop_seconds = 1.0\nnormalize = "peak"\n'
        "[protocol]\nfolds = 2\n"
        f'[model]\nname = "{architecture}"\n[model.params]\nepochs = 15\nbatch_size = 8\n'
    )
    config = load_config(tmp_path / "net.toml")
    report, bundle, _ = train(config, tmp_path / "model", tmp_path / "report", progress=False)
    assert len(report.y_true) == 8  # one song-level prediction per track
    assert report.extra["rows_per_track"] == 5.0  # 2 s windows every 1 s over 6 s: overlapping
    assert report.extra["majority_vote_accuracy"] >= 0.75  # beats and tones are easy to tell
    saved = json.loads((tmp_path / "report" / "report.json").read_text())
    assert saved["history"]["val_loss"]  # learning curves of the first fold
    assert (tmp_path / "report" / "curves.png").stat().st_size > 0
    assert saved["config"]["model"] == architecture  # every setting of the run, for reproduction
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["model"]["framework"] == "torch"
    assert (bundle / "model.safetensors").is_file() and not (bundle / "model.skops").exists()
    classifier = genrekit.load_model(bundle)
    prediction = classifier.predict(tmp_path / "music" / "beats" / "beats0.wav")
    assert prediction.label == "beats"
    assert len(prediction.segments) == 5 and sum(prediction.probabilities.values()) == (
        pytest.approx(1.0, abs=1e-4)
    )


def test_net_and_scikit_learn_model_names_never_collide():
    from genrekit.models.classical import MODELS, NETS

    assert set(NETS) == set(ARCHITECTURES)
    assert not set(MODELS) & set(ARCHITECTURES)


def test_compare_includes_nets(tmp_path):
    from test_models import write_config, write_table

    from genrekit.training.config import load_config
    from genrekit.training.train import compare

    table = write_table(tmp_path / "t.csv")
    logreg = load_config(write_config(tmp_path, table))
    net = load_config(write_config(tmp_path, table))
    net.name, net.model, net.grid = "tiny-net", "torch_mlp", {}
    net.params = {"epochs": 5, "batch_size": 8}
    rows = compare([logreg, net], tmp_path / "cmp", progress=False)
    sizes = {r["model"]: r["model_bytes"] for r in rows}
    assert sizes["tiny-net"] > 0 and sizes["tiny"] > 0
    assert "history" in json.loads((tmp_path / "cmp" / "tiny-net" / "report.json").read_text())


def test_random_crop_and_gain_change_training_windows_only():
    x, y = toy(windows=True)
    net = NetClassifier("cnn", epochs=12, batch_size=16, crop=0.25, gain=0.5).fit(x, y)
    import torch

    batch = net._tensor(x[:4])
    augmented = net._augment(batch, torch.Generator().manual_seed(1))
    assert augmented.shape == (4, 12, 18)  # 24 frames, a quarter cropped away
    assert not torch.allclose(augmented, batch[:, :, : augmented.shape[2]])
    assert (net.predict(x) == y).mean() > 0.85  # still learns; prediction sees whole windows


def test_grid_search_for_nets_picks_by_inner_track_folds(tmp_path):
    from genrekit.training.config import ExperimentConfig
    from genrekit.training.datasets import Dataset, Item
    from genrekit.training.fitting import fit_rows

    x, y = toy(windows=False, n=24)
    tracks = [f"t{i // 3}" for i in range(len(y))]  # three rows per track
    dataset = Dataset([Item(f"r{i}", y[i], tracks[i]) for i in range(len(y))], str(tmp_path), x,
                      tuple(f"f{i}" for i in range(10)))  # fmt: skip
    config = ExperimentConfig("grid", tmp_path, "torch_mlp", params={"epochs": 4},
                              grid={"hidden": [[4], [32]]}, inner_folds=2)  # fmt: skip
    fitted = fit_rows(config, dataset, np.arange(len(y)))
    assert fitted.chosen["hidden"] in ([4], [32])
    assert fitted.estimator.params["hidden"] == tuple(fitted.chosen["hidden"])
    assert "early stopping" in fitted.calibration.fitted_on  # never refitted to calibrate


def test_window_representations_are_cached(tmp_path, monkeypatch):
    from genrekit.features import RepresentationSpec, table

    path = tmp_path / "song.wav"
    soundfile.write(path, music_like(6.0), 22050)
    job = table.TableJob(path, "x", clip_seconds=3.0, spec=RepresentationSpec("logmel"))
    first = table.windows_for_file(job)

    def fail(job):
        raise AssertionError("extracted again")

    monkeypatch.setattr(table, "extract_pieces", fail)
    second = table.windows_for_file(job)
    assert len(first) == len(second) == 2
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_overlapping_training_windows_follow_hop_seconds(tmp_path):
    """5 s windows every 2 s (as two of the seed projects train) give overlapping windows; with
    the hop equal to the window, a file is cut into equal clips as before."""
    from conftest import music_like

    from genrekit.features import RepresentationSpec
    from genrekit.training.datasets import from_audio_folder
    from genrekit.training.featurize import featurize

    (tmp_path / "music" / "a").mkdir(parents=True)
    soundfile.write(tmp_path / "music" / "a" / "song.wav", music_like(15.0), 22050)
    dataset = from_audio_folder(tmp_path / "music")
    overlapping = RepresentationSpec(name="logmel", clip_seconds=5.0, hop_seconds=2.0)
    windows, _ = featurize(dataset, overlapping, progress=False)
    assert len(windows) == 6  # starts 0, 2, 4, 6, 8, 10 s: each 5 s of the 15 s song
    apart = RepresentationSpec(name="logmel", clip_seconds=5.0, hop_seconds=5.0)
    clips, _ = featurize(dataset, apart, progress=False)
    assert len(clips) == 3


def test_the_device_is_a_hyper_parameter_and_cpu_is_the_default_path():
    """``auto`` trains where PyTorch sees a GPU, else on the CPU (CI); a wrong or missing
    device is a plain error; the fitted network is kept on the CPU (bundles save it there)."""
    import torch

    x, y = toy(windows=False)
    net = NetClassifier("torch_mlp", epochs=1, device="auto").fit(x, y)
    assert next(net.model_.parameters()).device.type == "cpu"
    assert net.predict(x).shape == y.shape
    with pytest.raises(ConfigError, match="use auto, cpu or cuda"):
        NetClassifier("torch_mlp", epochs=1, device="tpu").fit(x, y)
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="sees no GPU"):
            NetClassifier("torch_mlp", epochs=1, device="cuda").fit(x, y)
    assert build_pipeline("torch_mlp", {"device": "cpu"}).device == "cpu"
