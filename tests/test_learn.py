"""genrekit learn: the user's own labels from a few examples, on the pretrained embeddings."""

from __future__ import annotations

import pytest
from conftest import DATA
from typer.testing import CliRunner

import genrekit
from genrekit.cli import app

runner = CliRunner()


def _examples(root, per_label=5, labels=("classical", "metal")):
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
    # GTZAN's classical and metal: the default knows them (it was trained on these very clips)
    assert "leave-one-track-out (no artist tags) (with the default model's prior, weight " in (
        result.stdout
    )
    assert "): accuracy 1.000" in result.stdout
    assert "broken.mp3" in result.stderr and "Traceback" not in result.output
    held_out = sorted((DATA / "gtzan" / "metal").glob("*.flac"))[5]
    prediction = genrekit.load_model(tmp_path / "model").predict(held_out)
    assert prediction.top(1)[0][0] == "metal"  # (with 8 examples, "known" is a coarse call)


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


@pytest.mark.data
def test_suggest_picks_uncertain_unlabelled_library_tracks(tmp_path):
    from genrekit.library.catalog import index_folder

    music = _examples(tmp_path / "mine", per_label=3)
    result = runner.invoke(app, ["learn", str(music), "-o", str(tmp_path / "model"), "-j", "1"])
    assert result.exit_code == 0, result.output
    library = tmp_path / "library"
    library.mkdir()
    for label in ("classical", "metal", "jazz", "disco"):
        for clip in sorted((DATA / "gtzan" / label).glob("*.flac"))[:4]:
            (library / clip.name).symlink_to(clip)
    for example in music.rglob("*.flac"):  # the examples are in the library too
        assert (library / example.name).exists()
    db = tmp_path / "lib.sqlite"
    index_folder(library, db, progress=False)
    result = runner.invoke(
        app, ["suggest", "--db", str(db), "--model", str(tmp_path / "model"), "-n", "4", "--json"]
    )
    assert result.exit_code == 0, result.output
    import json

    suggested = json.loads(result.stdout)
    names = [s["path"].rsplit("/", 1)[-1] for s in suggested]
    examples = {p.name for p in music.rglob("*.flac")}
    assert len(names) == 4 == len(set(names)) and not set(names) & examples
    # jazz and disco were never taught: the model should be least sure about them
    assert sum(name.startswith(("jazz", "disco")) for name in names) >= 3


def test_playlist_entries_that_are_not_regular_files_are_refused_not_read(tmp_path, media):
    """A FIFO would hang the analysis and /dev/zero would fill memory: neither is read."""
    import os

    from genrekit.teach.learn import examples

    fifo = tmp_path / "pipe.mp3"
    os.mkfifo(fifo)
    playlist = tmp_path / "jazz.m3u8"
    playlist.write_text(f"{media['wav']}\n{fifo}\n/dev/zero\n")
    dataset, refused = examples(None, {"jazz": playlist})
    assert [item.path for item in dataset.items] == [media["wav"]]
    assert [error.path for error in refused] == [str(fifo), "/dev/zero"]
