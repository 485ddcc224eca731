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
