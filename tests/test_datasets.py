"""Datasets from folders and tables, and splits that never leak a track or group."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from genrekit.errors import ConfigError
from genrekit.features import gtzan57
from genrekit.training.datasets import (
    from_audio_folder,
    from_features_table,
    load_dataset,
    with_groups,
)
from genrekit.training.splits import Split, SplitLeakError, assert_disjoint, holdout, kfold


def touch_tree(root, relative_paths):
    for relative in relative_paths:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")


@pytest.mark.parametrize(
    ("layout", "files"),
    [
        ("genres", ["genres/blues/blues.00000.au", "genres/jazz/jazz.00001.au"]),
        (
            "original",
            ["genres_original/blues/blues.00000.wav", "genres_original/jazz/jazz.00001.wav"],
        ),
        (
            "kaggle",
            [
                "Data/genres_original/blues/blues.00000.wav",
                "Data/genres_original/jazz/jazz.00001.wav",
                "Data/images_original/blues/blues00000.png",
            ],
        ),
        ("plain", ["blues/blues.00000.flac", "jazz/jazz.00001.flac", "jazz/readme.txt"]),
    ],
)
def test_gtzan_layouts(tmp_path, layout, files):
    touch_tree(tmp_path, files)
    root = tmp_path / "Data" if layout == "kaggle" else tmp_path
    dataset = from_audio_folder(root)
    assert [(i.id, i.label) for i in dataset.items] == [
        ("blues.00000", "blues"),
        ("jazz.00001", "jazz"),
    ]


def test_folder_per_label_with_nested_albums_and_duplicate_stems(tmp_path):
    touch_tree(tmp_path, ["rock/a/01.mp3", "rock/b/01.mp3", "folk/x.ogg", "loose.wav"])
    dataset = from_audio_folder(tmp_path)
    ids = {i.id: i.label for i in dataset.items}
    assert ids == {"rock/a/01": "rock", "rock/b/01": "rock", "x": "folk", "loose": None}
    assert dataset.labels == ["folk", "rock"]


def test_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="no audio files"):
        from_audio_folder(tmp_path)


@pytest.mark.data
def test_kaggle_table(features_table):
    dataset = load_dataset(features_table)
    assert len(dataset) == 633 and len(dataset.labels) == 10
    assert dataset.features.shape == (633, 57)
    assert dataset.items[0].track == dataset.items[0].id == "blues.00000"
    assert len(dataset.fingerprint()) == 64


def segment_table(path, tracks=6, per_track=10):
    rng = np.random.default_rng(0)
    rows = []
    for t in range(tracks):
        label = ["blues", "jazz"][t % 2]
        for n in range(per_track):
            rows.append(
                {
                    "filename": f"{label}.{t:05d}.{n}.wav",
                    "length": 66149,
                    **dict(zip(gtzan57.COLUMNS, rng.random(57))),
                    "label": label,
                }
            )
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_segment_table_rows_share_their_track(tmp_path):
    dataset = from_features_table(segment_table(tmp_path / "t.csv"))
    assert dataset.items[0].track == "blues.00000"
    assert len(set(dataset.tracks)) == 6
    assert len(set(from_features_table(tmp_path / "t.csv", segments=False).tracks)) == 60


def test_table_without_feature_columns_is_rejected(tmp_path):
    (tmp_path / "t.csv").write_text("filename,label\na.wav,rock\n")
    with pytest.raises(ConfigError, match="not a GTZAN-format table"):
        from_features_table(tmp_path / "t.csv")


def test_groups_from_csv(tmp_path):
    dataset = from_features_table(segment_table(tmp_path / "t.csv"))
    pd.DataFrame(
        {
            "id": [f"{['blues', 'jazz'][t % 2]}.{t:05d}" for t in range(6)],
            "artist": ["a", "a", "b", "b", "c", "c"],
        }
    ).to_csv(tmp_path / "g.csv", index=False)
    grouped = with_groups(dataset, tmp_path / "g.csv")
    assert set(grouped.groups) == {"a", "b", "c"}


def random_segments(seed):
    rng = np.random.default_rng(seed)
    tracks = np.repeat([f"t{i}" for i in range(40)], rng.integers(1, 12, 40))
    labels = np.array([f"g{int(t[1:]) % 4}" for t in tracks])
    groups = np.array([f"artist{int(t[1:]) // 3}" for t in tracks])
    return labels, tracks, groups


@pytest.mark.parametrize("seed", range(5))
def test_no_track_or_group_on_both_sides(seed):
    labels, tracks, groups = random_segments(seed)
    for split in kfold(labels, tracks, n_splits=5, seed=seed):
        assert not set(tracks[split.train]) & set(tracks[split.test])
    for split in kfold(labels, tracks, n_splits=4, protocol="group", groups=groups, seed=seed):
        assert not set(groups[split.train]) & set(groups[split.test])
    one = holdout(labels, tracks, test_fraction=0.25, seed=seed)
    assert not set(tracks[one.train]) & set(tracks[one.test])
    every = np.concatenate([s.test for s in kfold(labels, tracks, n_splits=5, seed=seed)])
    assert sorted(every) == list(range(len(labels)))


def test_segment_random_protocol_does_leak():
    labels, tracks, _ = random_segments(0)
    leaks = [
        set(tracks[s.train]) & set(tracks[s.test])
        for s in kfold(labels, tracks, n_splits=5, protocol="segment-random")
    ]
    assert any(leaks)


def test_leak_detector_and_missing_groups():
    keys = np.array(["a", "b", "a"])
    with pytest.raises(SplitLeakError, match="leak"):
        assert_disjoint(Split(np.array([0, 1]), np.array([2])), keys)
    with pytest.raises(ConfigError, match="needs a group"):
        kfold(np.array(["x", "y"] * 5), np.arange(10).astype(str), protocol="group")


def test_too_little_data_for_the_folds_is_said_in_plain_words():
    labels = np.array(["jazz", "jazz", "rock", "rock"])
    tracks = np.array(["a", "b", "c", "d"])
    with pytest.raises(
        ConfigError, match=r"every label has fewer than 3 examples \(jazz 2, rock 2\)"
    ):
        kfold(labels, tracks, n_splits=3)


def test_a_second_collection_trains_in_the_first_ones_genres(tmp_path):
    """``[[data.also]]``: another labelled collection joins the first, its songs outside the
    first's genres left out and said; its artists come from its own manifest (``file,artist``),
    and an artist in both collections is one group, so artist folds keep them on one side."""
    from genrekit.training.config import load_config
    from genrekit.training.train import _load

    touch_tree(tmp_path / "first", ["blues/b1.wav", "blues/b2.wav", "jazz/j1.wav"])
    touch_tree(tmp_path / "second", ["blues/s1.mp3", "jazz/s2.mp3", "other/s3.mp3"])
    pd.DataFrame({"id": ["b1", "b2", "j1"], "artist": ["Ann", "Bo", "Cy"]}).to_csv(
        tmp_path / "first.csv", index=False
    )
    pd.DataFrame(
        {"file": ["blues/s1.mp3", "jazz/s2.mp3", "other/s3.mp3"], "artist": ["Ann", "Di", "Ed"]}
    ).to_csv(tmp_path / "second" / "manifest.csv", index=False)
    config_text = (
        '[data]\npath = "first"\ngroups = "first.csv"\n'
        '[[data.also]]\npath = "second"\ngroups = "second/manifest.csv"\n'
        '[model]\nname = "lda"\n'
    )
    (tmp_path / "run.toml").write_text(config_text)
    dataset = _load(load_config(tmp_path / "run.toml"))
    assert dataset.labels == ["blues", "jazz"]  # the second's "other" is left out
    assert sorted(dataset.tracks) == ["b1", "b2", "j1", "s1", "s2"]
    assert "1 outside these genres left out" in dataset.source
    by_track = dict(zip(dataset.tracks, dataset.groups))
    assert by_track["s1"] == by_track["b1"] == "Ann"  # one artist, one group across collections

    touch_tree(tmp_path / "second", ["jazz/j1.mp3"])  # a track id the first collection has
    pd.DataFrame(
        {
            "file": ["blues/s1.mp3", "jazz/s2.mp3", "other/s3.mp3", "jazz/j1.mp3"],
            "artist": ["Ann", "Di", "Ed", "Fay"],
        }
    ).to_csv(tmp_path / "second" / "manifest.csv", index=False)
    with pytest.raises(ConfigError, match=r"track ids also in another collection, e\.g\. j1"):
        _load(load_config(tmp_path / "run.toml"))
    (tmp_path / "bad.toml").write_text(config_text.replace('groups = "second', 'artists = "second'))
    with pytest.raises(ConfigError, match=r"each \[\[data.also\]\] needs a path"):
        load_config(tmp_path / "bad.toml")
