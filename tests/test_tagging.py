"""Tagging with the pretrained musicnn models, and the musicnn representation."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile
from conftest import music_like
from typer.testing import CliRunner

from genrekit.autotags import tag_file, tag_many
from genrekit.cli import app
from genrekit.errors import AudioError, ConfigError
from genrekit.features import feature_set
from genrekit.features import musicnn as musicnn_features

runner = CliRunner()


@pytest.fixture(scope="module")
def song(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("tag") / "song.wav"
    soundfile.write(path, music_like(10.0, 44100), 44100)
    return str(path)


@pytest.mark.data
@pytest.mark.parametrize(
    ("clip", "model", "expected"),
    [("metal/metal.00035.flac", "MSD_musicnn", "metal"),
     ("classical/classical.00041.flac", "MTT_musicnn", "classical")],
)  # fmt: skip
def test_real_clips_get_their_genre_among_the_top_tags(gtzan, clip, model, expected):
    result = tag_file(gtzan / clip, model)
    assert expected in [name for name, _ in result.top(3)]
    assert len(result.tags) == 50
    assert len(result.segments) == 10  # 30 s in 3 s patches
    assert result.segments[0].start == 0.0
    assert result.segments[-1].end == pytest.approx(result.duration, abs=3.0)


def test_track_scores_are_the_mean_of_segment_scores(song):
    result = tag_file(song, "MTT_vgg")
    for name in list(result.tags)[:5]:
        mean = np.mean([segment.tags[name] for segment in result.segments])
        assert result.tags[name] == pytest.approx(mean, abs=1e-3)
    assert list(result.tags.values()) == sorted(result.tags.values(), reverse=True)


def test_a_batch_goes_on_past_bad_files(song, broken):
    results = list(tag_many([broken["not_audio"], song, broken["silent"]]))
    assert isinstance(results[0], AudioError) and "notes.mp3" in str(results[0])
    assert not isinstance(results[1], AudioError)
    assert isinstance(results[2], AudioError) and "silent" in results[2].reason


def test_unknown_tagger_is_a_config_error(song):
    with pytest.raises(ConfigError, match="MSD_musicnn"):
        tag_file(song, "resnet")


def test_cli_prints_top_tags_and_writes_json(song, broken, tmp_path):
    out = tmp_path / "tags.json"
    result = runner.invoke(app, ["tag", song, str(broken["empty"]), "-k", "3", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("song.wav:") == 1
    records = json.loads(out.read_text())
    assert "error" in records[1] and records[1]["path"].endswith("empty.wav")
    assert len(records[0]["segments"]) == 3  # 10 s → three full 3 s patches


def test_cli_fails_when_every_file_fails(broken):
    result = runner.invoke(app, ["tag", str(broken["not_audio"])])
    assert result.exit_code == 1
    assert "not a recognised audio file" in result.output


def test_musicnn_representation_is_a_named_finite_vector():
    features = feature_set("musicnn")
    values = features.extract(music_like(6.0, 22050), 22050)
    assert values.shape == (len(features.columns),) == (1000,)
    assert len(set(features.columns)) == len(features.columns)
    assert np.isfinite(values).all()
    tag_means = values[:50]
    assert ((tag_means >= 0) & (tag_means <= 1)).all()  # sigmoid scores


def test_one_patch_has_no_spread_and_the_rate_does_not_matter():
    """A 3 s clip is one patch (std 0); at 22.05 kHz or 16 kHz it gives about the same vector."""
    signal = music_like(3.0, 16000)
    at_16k = musicnn_features.extract(signal, 16000)
    columns = musicnn_features.COLUMNS
    stds = np.array([name.endswith("_std") for name in columns])
    assert np.all(at_16k[stds] == 0)
    import soxr

    at_22k = musicnn_features.extract(soxr.resample(signal, 16000, 22050), 22050)
    assert np.corrcoef(at_16k[~stds], at_22k[~stds])[0, 1] > 0.99


def test_combined_set_appends_the_57_gtzan_features():
    features = feature_set("musicnn_gtzan57")
    assert features.columns[-57:] == feature_set("gtzan57").columns
    values = features.extract(music_like(4.0, 22050), 22050)
    np.testing.assert_allclose(
        values[-57:], feature_set("gtzan57").extract(music_like(4.0, 22050), 22050), rtol=1e-6
    )


def test_prediction_and_tagging_work_without_pytorch(song):
    """The default model and the taggers run in onnxruntime: PyTorch is only for training."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "class NoTorch:\n"  # any `import torch` now fails
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'torch':\n"
        "            raise ImportError('PyTorch is blocked in this test')\n"
        "sys.meta_path.insert(0, NoTorch())\n"
        "import genrekit\nfrom genrekit.autotags import tag_file\n"
        f"print(genrekit.load_model().predict({song!r}).label, tag_file({song!r}).top(1))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
