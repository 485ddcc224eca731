"""Your library teaches it: labels from the genre tags songs already carry, learned from the
catalog's stored embeddings, used to fill in untagged songs and to find likely mislabels."""

from __future__ import annotations

import csv
import hashlib
import shutil

import mutagen
import numpy as np
import pytest
import soundfile
from conftest import music_like, tone
from typer.testing import CliRunner

from genrekit.cli import app
from genrekit.errors import ConfigError
from genrekit.library.file_tags import read_credits
from genrekit.teach.vocabulary import Vocabulary, load_map

runner = CliRunner()


# --- the vocabulary -----------------------------------------------------------------------------


def test_spellings_codes_several_values_and_junk_become_labels():
    vocabulary = Vocabulary()
    assert {vocabulary.label_of([v]) for v in ("Hip-Hop", "hip hop", "HipHop", "Rap")} == {"hiphop"}
    assert vocabulary.label_of(["Música Popular Brasileira"]) == "música popular brasileira"
    assert vocabulary.label_of(["歌謡曲"]) == "歌謡曲"  # other scripts are genres too
    assert vocabulary.label_of(["(17)"]) == "rock"  # an ID3v1 code
    assert vocabulary.label_of(["Rock; Pop"]) == "rock"  # several values: the first
    assert vocabulary.label_of(["Other", "Jazz"]) == "jazz"  # junk skipped
    assert vocabulary.label_of(["", "genre", "Unknown", "x" * 10_000]) is None
    assert vocabulary.label_of(["classic rock"]) == "rock"  # styles.toml files it under rock
    assert Vocabulary(keep_subgenres=True).label_of(["classic rock"]) == "classic rock"
    assert "'Unknown' ×1" in vocabulary.describe()[-1]


def test_thin_labels_are_set_aside_with_the_reason_and_the_users_map_merges(tmp_path):
    mapping = tmp_path / "map.toml"
    mapping.write_text('[map]\n"Chiptune" = "electronic"\n"8-bit" = "electronic"\n')
    vocabulary = Vocabulary(merges=load_map(mapping))
    songs = (
        [(["Chiptune"], f"a{n % 3}") for n in range(4)]
        + [(["8 Bit"], "b")]
        + [(["Polka"], "same one") for _ in range(6)]
        + [(["Zydeco"], "c")]
    )
    labels = vocabulary.label_songs(songs)
    assert labels[:5] == ["electronic"] * 5 and labels[5:] == [None] * 7
    described = "\n".join(vocabulary.describe())
    assert "learned: electronic: 5 songs, 4 artists (from 'Chiptune' ×4, '8 Bit' ×1)" in described
    assert "set aside: polka: one artist only" in described
    assert "set aside: zydeco: 1 song(s); at least 5 are needed" in described
    bad = tmp_path / "bad.toml"
    bad.write_text("[map]\nx = 3\n")
    with pytest.raises(ConfigError, match="spelling"):
        load_map(bad)


def test_genres_the_default_lends_its_judgement_of_need_only_two_songs():
    vocabulary = Vocabulary(lent=frozenset({"jazz", "blues"}))
    songs = [(["Jazz"], "one"), (["Jazz"], "one"), (["Blues"], "two"), (["Polka"], "three"),
             (["Polka"], "four")]  # fmt: skip
    assert vocabulary.label_songs(songs) == ["jazz", "jazz", None, None, None]
    described = "\n".join(vocabulary.describe())
    assert "learned: jazz: 2 songs, 1 artists (few: the default model's judgement" in described
    assert "set aside: blues: 1 song(s); at least 2 are needed" in described
    assert "set aside: polka: 2 song(s); at least 5 are needed" in described  # not lent


def test_a_hundred_thousand_distinct_values_are_summarised_not_listed():
    vocabulary = Vocabulary()
    labels = vocabulary.label_songs([([f"genre {n}"], f"artist {n}") for n in range(100_000)])
    assert not any(labels)
    lines = vocabulary.describe()
    assert len(lines) < 20 and "more labels with too few songs" in lines[-1]


# --- the file's own tags, per format --------------------------------------------------------------


def test_genres_artist_and_title_are_read_from_each_formats_own_fields(media, tmp_path):
    from mutagen.id3 import ID3, TCON, TIT2, TPE1

    mp3 = shutil.copy(media["mp3"], tmp_path / "v23.mp3")
    tags = ID3()
    tags.add(TCON(encoding=0, text=["(17)", "Pop"]))
    tags.add(TPE1(encoding=0, text=["The Band"]))
    tags.add(TIT2(encoding=0, text=["A Song"]))
    tags.save(mp3, v2_version=3)
    assert read_credits(mp3).genres == ["Rock", "Pop"]
    assert (read_credits(mp3).artist, read_credits(mp3).title) == ("The Band", "A Song")
    flac = shutil.copy(media["flac"], tmp_path / "two.flac")
    audio = mutagen.File(flac)
    audio["GENRE"], audio["ARTIST"] = ["Jazz", "Swing"], ["Someone"]
    audio.save()
    assert read_credits(flac).genres == ["Jazz", "Swing"] and read_credits(flac).artist == "Someone"
    m4a = shutil.copy(media["m4a"], tmp_path / "old.m4a")
    audio = mutagen.File(m4a)
    audio.add_tags() if audio.tags is None else None
    audio.tags["\xa9gen"], audio.tags["\xa9ART"] = ["Jazz"], ["Trio"]
    audio.save()
    assert read_credits(m4a).genres == ["Jazz"] and read_credits(m4a).artist == "Trio"
    wav = shutil.copy(media["wav"], tmp_path / "chunk.wav")
    audio = mutagen.File(wav)
    audio.add_tags()
    audio.tags.add(TCON(encoding=3, text=["Blues"]))
    audio.save()
    assert read_credits(wav).genres == ["Blues"]
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f" + b"\x00" * 100)
    assert read_credits(broken).genres == []  # damaged tags are no tags, not a failure


# --- learning from a catalog ----------------------------------------------------------------------


def _tagged_library(root):
    """Two kinds of synthetic music by three artists each, tagged with messy spellings; a few
    songs without a genre tag, one with junk."""
    kinds = {
        "beats": (["Chiptune", "chiptune", "Chip-Tune"], lambda n: music_like(4.0, seed=n)),
        "tones": (["Drone", "drone "], lambda n: tone(4.0, 22050, 180.0 + 37 * n)[:, 0]),
    }
    files = []
    for kind, (spellings, make) in kinds.items():
        for n in range(9):
            path = root / kind / f"{kind}{n}.flac"
            path.parent.mkdir(parents=True, exist_ok=True)
            soundfile.write(path, make(n), 22050)
            audio = mutagen.File(path)
            audio["ARTIST"] = f"{kind} artist {n % 3}"
            if n < 7:
                audio["GENRE"] = spellings[n % len(spellings)]
            elif n == 7:
                audio["GENRE"] = "Other"
            audio.save()
            files.append(path)
    return files


def _digests(files):
    return {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in files}


@pytest.fixture(scope="module")
def tagged(tmp_path_factory):
    from genrekit.library.catalog import index_folder

    root = tmp_path_factory.mktemp("tagged")
    files = _tagged_library(root / "music")
    db = root / "lib.sqlite"
    index_folder(root / "music", db, progress=False)
    return root, files, db


def test_learn_from_the_catalogs_tags_without_touching_a_music_file(tagged, tmp_path):
    root, files, db = tagged
    before = _digests(files)
    report = tmp_path / "learned.html"
    result = runner.invoke(
        app, ["learn", "--db", str(db), "-o", str(tmp_path / "mine"), "--report", str(report)]
    )
    assert result.exit_code == 0, result.output
    assert "learned: chiptune: 7 songs, 3 artists (from 'Chiptune' ×3, 'chiptune' ×2" in (
        result.output
    )
    assert "ignored values (no genre): 'Other' ×2" in result.output
    assert "leave-one-artist-out: accuracy 1.000" in result.output
    assert "4 song(s) have no usable genre tag" in result.output
    assert _digests(files) == before  # nothing written to any music file
    assert "Per genre" in report.read_text() and "viewport" in report.read_text()

    # The personal model fills in the untagged songs from the catalog (a dry run).
    filled = runner.invoke(
        app, ["tag-files", str(root / "music"), "--db", str(db), "--model", str(tmp_path / "mine")]
    )
    assert filled.exit_code == 0, filled.output
    assert f"{root / 'music' / 'beats' / 'beats8.flac'}: (no genre) → Chiptune" in filled.output
    assert f"{root / 'music' / 'tones' / 'tones8.flac'}: (no genre) → Drone" in filled.output
    assert _digests(files) == before


def test_a_song_whose_tag_the_sound_contradicts_is_listed(tagged, tmp_path):
    root, _, db = tagged
    runner.invoke(app, ["learn", "--db", str(db), "-o", str(tmp_path / "mine")])
    lying = tmp_path / "music" / "beats9.flac"
    lying.parent.mkdir()
    shutil.copy(root / "music" / "beats" / "beats8.flac", lying)
    audio = mutagen.File(lying)
    audio["GENRE"], audio["TITLE"] = "Drone", "Not a drone"
    audio.save()
    out = tmp_path / "check.csv"
    result = runner.invoke(
        app, ["tag-files", str(lying.parent), "--model", str(tmp_path / "mine"),
              "--disagreements", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [row] = list(csv.DictReader(out.open()))
    assert (row["title"], row["tagged"], row["heard"]) == ("Not a drone", "drone", "chiptune")
    assert float(row["confidence"]) >= 0.8


def test_a_catalog_without_usable_tags_says_what_is_missing(tmp_path):
    from genrekit.library.catalog import index_folder

    music = tmp_path / "music"
    for n in range(3):
        path = music / f"song{n}.flac"
        path.parent.mkdir(exist_ok=True)
        soundfile.write(path, music_like(4.0, seed=n), 22050)
    db = tmp_path / "lib.sqlite"
    index_folder(music, db, progress=False)
    result = runner.invoke(app, ["learn", "--db", str(db), "-o", str(tmp_path / "m")])
    assert result.exit_code == 2 and "none of its 3 songs carries a genre tag" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "m").exists()
    for n in range(3):
        audio = mutagen.File(music / f"song{n}.flac")
        audio["GENRE"], audio["ARTIST"] = "Polka", f"a{n}"
        audio.save()
    index_folder(music, db, progress=False)
    one = runner.invoke(app, ["learn", "--db", str(db), "-o", str(tmp_path / "m")])
    assert one.exit_code == 2 and "at least two genres are needed" in one.output
    assert "polka: 3 song(s)" in one.output
    # Genres the default knows are learned from two songs each: its judgement helps.
    for n, genre in enumerate(("Jazz", "Jazz", "Blues")):
        audio = mutagen.File(music / f"song{n}.flac")
        audio["GENRE"] = genre
        audio.save()
    soundfile.write(music / "song3.flac", music_like(4.0, seed=3), 22050)
    audio = mutagen.File(music / "song3.flac")
    audio["GENRE"], audio["ARTIST"] = "Blues", "a3"
    audio.save()
    index_folder(music, db, progress=False)
    two = runner.invoke(app, ["learn", "--db", str(db), "-o", str(tmp_path / "m")])
    assert two.exit_code == 0, two.output
    assert "learned: jazz: 2 songs, 2 artists (few: the default model's judgement" in two.output
    assert "with the default model's prior" in two.output
    missing = runner.invoke(app, ["learn", "--db", str(tmp_path / "nope.sqlite")])
    assert missing.exit_code == 2 and "no such catalog" in missing.output


MUSICNN_FEATURES = 1000
"""Columns of the default's musicnn representation."""


def test_the_prior_pools_and_never_vetoes():
    from genrekit.features import RepresentationSpec
    from genrekit.models.bundle import load_bundle
    from genrekit.teach.prior import Prior

    default = load_bundle()
    assert Prior.of_default(["chiptune", "drone"], default.representation) is None
    assert Prior.of_default(["jazz", "polka"], RepresentationSpec()) is None  # other features
    prior = Prior.of_default(["jazz", "polka"], default.representation)
    assert prior is not None
    features = np.zeros((2, MUSICNN_FEATURES))
    pooled = prior.pool(np.array([[0.9, 0.1], [0.5, 0.5]]), features)
    np.testing.assert_allclose(pooled.sum(1), 1.0)
    assert (pooled > 0).all()


class SureDefault:
    """A stand-in default model whose log-scores are given: the right genre by a wide margin on
    most songs, a wrong one just as surely on the rest (as a default is on music unlike its
    training data)."""

    labels = ("jazz", "metal")

    def __init__(self, scores: np.ndarray) -> None:
        self.scores = scores

    def predict_scores(self, features: np.ndarray) -> np.ndarray:
        return self.scores[features[:, 0].astype(int)]


def test_the_prior_weight_is_chosen_on_a_calibrated_pool():
    """A default right on 90 % of a person's songs, each time by a wide margin (10 to 30 nats),
    against a personal model right on 60 %: trusting it is right, and the pool says how sure it
    is. Judged uncalibrated, its sure mistakes drown its judgement and the weight 0 wins."""
    from genrekit.calibration import Calibrator, expected_calibration_error
    from genrekit.teach.prior import Prior

    rng = np.random.default_rng(0)
    songs = 200
    truth = rng.integers(0, 2, songs)
    default_right = rng.random(songs) < 0.9
    said = np.where(default_right, truth, 1 - truth)
    default_scores = np.zeros((songs, 2))
    default_scores[np.arange(songs), said] = rng.uniform(10.0, 30.0, songs)
    personal_right = rng.random(songs) < 0.6
    personal = np.full((songs, 2), 0.4)
    personal[np.arange(songs), np.where(personal_right, truth, 1 - truth)] = 0.6
    features = np.arange(songs, dtype=float)[:, None]
    prior = Prior(SureDefault(default_scores), Calibrator(), ["jazz", "metal"])
    weighed = prior.weighed(personal, features, truth)
    assert weighed.weight > 0
    pooled = weighed.pool(personal, features)
    assert (pooled.argmax(1) == said).mean() > 0.95  # the default's judgement leads
    assert expected_calibration_error(pooled, truth) < 0.05  # and its sureness is measured


def test_a_prior_from_another_bundle_is_recorded_by_its_folder_and_reloads_it(tmp_path):
    import shutil
    from dataclasses import replace

    from genrekit.calibration import Calibrator
    from genrekit.models.bundle import load_bundle, resolve_model_path
    from genrekit.teach.prior import Prior

    default = load_bundle()
    shipped = Prior.of_default(["jazz", "polka"], default.representation)
    assert shipped is not None and shipped.to_manifest()["model"] == default.model_id
    own = tmp_path / "my-default"  # same name inside, another folder: must not read as shipped
    shutil.copytree(resolve_model_path(None), own)
    prior = Prior.of_default(["jazz", "polka"], default.representation, own)
    assert prior is not None
    prior = replace(prior, weight=4.0, pooled=Calibrator(temperature=3.5, power=0.5))
    section = prior.to_manifest()
    assert section["model"] == str(own.resolve())
    again = Prior.from_manifest(section, ["jazz", "polka"])
    assert again.bundle.path is not None and again.bundle.path.resolve() == own.resolve()
    assert (again.weight, again.pooled) == (prior.weight, prior.pooled)
    features = np.random.default_rng(0).standard_normal((3, MUSICNN_FEATURES))
    np.testing.assert_allclose(again.log_probabilities(features), prior.log_probabilities(features))


def test_vanished_songs_and_stray_byte_genres_are_left_out_in_plain_words(tmp_path):
    from genrekit.library.catalog import index_folder

    root = tmp_path / "lib"
    files = _tagged_library(root / "music")
    bad = files[0]  # a genre of stray bytes (a BOM read as Latin-1): one thin label, set aside
    audio = mutagen.File(bad)
    audio["GENRE"] = "\udcff\udcfe".encode("utf-8", "surrogateescape").decode("latin-1")
    audio.save()
    db = root / "lib.sqlite"
    index_folder(root / "music", db, progress=False)
    files[1].unlink()  # gone since it was indexed
    result = runner.invoke(app, ["learn", "--db", str(db), "-o", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    assert "1 song(s) in the catalog are no longer on disk; left out" in result.output
    assert "set aside: ÿþ: 1 song(s)" in result.output and "Traceback" not in result.output
