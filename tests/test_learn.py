"""genrekit learn: the user's own labels from a few examples, on the pretrained embeddings."""

from __future__ import annotations

import pytest
from conftest import DATA
from typer.testing import CliRunner

import genrekit
from genrekit.cli import app

runner = CliRunner()


def _examples(root, per_label=4, labels=("classical", "metal")):
    for label in labels:
        (root / label).mkdir(parents=True, exist_ok=True)
        clips = sorted((DATA / "gtzan" / label).glob("*.flac"))[: per_label + 1]
        for clip in clips[:per_label]:
            (root / label / clip.name).symlink_to(clip)
    return root


@pytest.mark.data
def test_learn_separates_two_clearly_different_labels_and_predicts(tmp_path, broken):
    music = _examples(tmp_path / "mine")
    (music / "metal" / "broken.mp3").write_bytes(broken["not_audio"].read_bytes())
    result = runner.invoke(app, ["learn", str(music), "-o", str(tmp_path / "model"), "-j", "1"])
    assert result.exit_code == 0, result.output
    assert "leave-one-track-out (no artist tags): accuracy 1.000" in result.stdout
    assert "broken.mp3" in result.stderr and "Traceback" not in result.output
    held_out = sorted((DATA / "gtzan" / "metal").glob("*.flac"))[4]
    prediction = genrekit.load_model(tmp_path / "model").predict(held_out)
    assert prediction.label == "metal" and prediction.known


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ({}, "no labelled audio"),
        ({"rock": 4}, "only one label"),
        ({"rock": 4, "jazz": 2}, "fewer than 3 usable tracks for jazz (2)"),
    ],
)
def test_learn_refuses_unusable_folders_in_one_line(tmp_path, layout, message):
    import soundfile
    from conftest import music_like

    root = tmp_path / "mine"
    root.mkdir()
    for label, count in layout.items():
        (root / label).mkdir()
        for n in range(count):
            soundfile.write(root / label / f"{n}.wav", music_like(2.0, seed=n), 22050)
    result = runner.invoke(app, ["learn", str(root), "-o", str(tmp_path / "model")])
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output
