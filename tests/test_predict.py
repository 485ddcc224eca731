"""Prediction through the shipped default model and the ``genrekit`` command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile
from conftest import DATA, music_like
from typer.testing import CliRunner

import genrekit
from genrekit.cli import app
from genrekit.models.bundle import DEFAULT_MODEL, bundled_models

runner = CliRunner()


@pytest.fixture(scope="module")
def classifier():
    return genrekit.load_model()


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    """A 20 s synthetic song at 44.1 kHz stereo (decoded, resampled and mixed on the way in)."""
    path = tmp_path_factory.mktemp("song") / "song.ogg"
    mono = music_like(20.0, rate=44100)
    soundfile.write(path, np.stack([mono, 0.8 * mono], axis=1), 44100)
    return path


def test_default_model_ships_with_its_manifest():
    """The default: transfer from the shipped musicnn weights, trained on two collections."""
    assert DEFAULT_MODEL in bundled_models()
    manifest = json.loads((bundled_models()[DEFAULT_MODEL] / "manifest.json").read_text())
    assert manifest["training"]["protocol"]["name"] == "group"  # artist-disjoint folds
    assert manifest["training"]["data"]["tracks"] == 208 + 84  # GTZAN + taffc in its genres
    assert manifest["representation"]["normalize"] == "loudness"
    assert manifest["calibration"]["temperature"] >= 1 and 0 < manifest["rejector"]["threshold"] < 1
    assert 0 <= manifest["metrics"]["ece"] < 0.2
    assert manifest["representation"]["name"] == "musicnn"
    assert manifest["pretrained"]["wheel"] == "musicnn-0.1.0-py3-none-any.whl"
    assert 0.5 < manifest["metrics"]["accuracy_mean"] <= 1.0


def test_the_table_trained_model_still_ships():
    manifest = json.loads((bundled_models()["gtzan57-logreg"] / "manifest.json").read_text())
    assert manifest["training"]["data"]["items"] == 633


def test_prediction_has_distribution_and_timeline(classifier, song):
    prediction = classifier.predict(song)
    assert set(prediction.probabilities) == set(classifier.labels)
    assert sum(prediction.probabilities.values()) == pytest.approx(1.0, abs=1e-4)
    values = list(prediction.probabilities.values())
    assert values == sorted(values, reverse=True)
    best = prediction.top(1)[0][0]
    assert prediction.label == (best if prediction.known else "unknown")
    assert prediction.duration == pytest.approx(20.0, abs=0.05)
    from genrekit.features.musicnn import PATCH_SECONDS

    starts = [s.start for s in prediction.segments]
    assert starts[:3] == [0.0, round(PATCH_SECONDS, 3), round(2 * PATCH_SECONDS, 3)]
    assert prediction.segments[-1].end == pytest.approx(prediction.duration, abs=1e-3)
    for window, following in zip(prediction.segments, prediction.segments[1:]):
        assert window.end == following.start  # one window per 3 s patch, no gaps
        assert window.end - window.start == pytest.approx(PATCH_SECONDS, abs=1e-3)
    for window in prediction.segments:
        assert sum(window.probabilities.values()) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.data
def test_the_timeline_agrees_with_the_verdict(classifier):
    """Windows are judged on the 15 s around them, as the model learned from clips: the jazz
    clip whose 3 s windows once said mostly rock now reads jazz along its timeline."""
    for clip, genre in [("jazz/jazz.00010.flac", "jazz"), ("classical/classical.00041.flac",
                                                            "classical")]:  # fmt: skip
        prediction = classifier.predict(DATA / "gtzan" / clip)
        labels = [s.label for s in prediction.segments]
        assert prediction.label == genre
        assert labels.count(genre) > len(labels) / 2


@pytest.mark.data
def test_track_features_match_the_table_so_predictions_match_the_training_rows():
    """The whole-clip path of predict reproduces the table row the model was trained on."""
    classifier = genrekit.load_model("gtzan57-logreg")
    table = pd.read_csv(DATA / "gtzan_features_30_sec.csv").set_index("filename")
    row = table.loc["blues.00000.wav", list(classifier.features.columns)].to_numpy(float)
    from_table = classifier.probabilities(row[None, :])[0]  # the same calibration
    prediction = classifier.predict(DATA / "gtzan" / "blues" / "blues.00000.flac", timeline=False)
    ours = np.array([prediction.probabilities[label] for label in classifier.labels])
    np.testing.assert_allclose(ours, from_table, atol=0.02)


SHARED_CLIPS = (
    "blues/blues.00000.flac",
    "metal/metal.00069.flac",
    "classical/classical.00041.flac",
)


@pytest.mark.data
@pytest.mark.parametrize("clip", SHARED_CLIPS)
def test_quiet_dc_shifted_and_clipped_copies_keep_their_genre(classifier, clip):
    from dataclasses import replace

    from genrekit.degrade import CONDITIONS

    audio = classifier.load_audio(DATA / "gtzan" / clip)
    clean = classifier.predict_audio(audio, timeline=False)
    assert clean.label == clip.split("/")[0]
    for name in ("dc offset +0.1", "hard clip (x8 gain)", "-30 dB gain"):
        degraded = replace(audio, samples=CONDITIONS[name](audio.samples, audio.sample_rate))
        assert classifier.predict_audio(degraded, timeline=False).label == clean.label, name


@pytest.mark.data
def test_rejector_says_unknown_for_noise_and_keeps_a_real_clip(classifier, tmp_path):
    noise = np.random.default_rng(0).standard_normal(30 * 22050).astype(np.float32) * 0.1
    soundfile.write(tmp_path / "noise.wav", noise, 22050)
    heard = classifier.predict(tmp_path / "noise.wav", timeline=False)
    assert not heard.known and heard.label == "unknown"
    assert heard.typicality < classifier.threshold and len(heard.probabilities) == 10
    real = classifier.predict(DATA / "gtzan" / "blues" / "blues.00000.flac", timeline=False)
    assert real.known and real.label == "blues"
    result = runner.invoke(app, ["predict", str(tmp_path / "noise.wav"), "--no-reject"])
    assert result.exit_code == 0 and not result.stdout.split(": ", 1)[1].startswith("unknown")


def test_noise_and_hum_over_a_phone_line_are_still_unknown(classifier, tmp_path):
    """Narrow-band input goes to the default's narrow-band head and its own rejector, which
    must still turn away what is not music."""
    from genrekit.degrade import band_limit, telephone

    rate = 22050
    rng = np.random.default_rng(0)
    noise = (0.1 * rng.standard_normal(30 * rate)).astype(np.float32)
    t = np.arange(30 * rate) / rate
    hum = (0.3 * np.sin(2 * np.pi * 120 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    for name, signal in (("noise", noise), ("hum", hum)):
        for narrowing in (telephone, band_limit):
            soundfile.write(tmp_path / f"{name}.wav", narrowing(signal, rate), rate)
            heard = classifier.predict(tmp_path / f"{name}.wav", timeline=False)
            assert heard.label == "unknown", (name, narrowing.__name__)
            # A hum has nothing inside the phone band either: nothing to call narrow there.
            assert heard.narrow_band == (name == "noise"), (name, narrowing.__name__)


@pytest.mark.data
def test_a_phone_line_copy_of_a_song_is_heard_by_the_narrow_band_head(classifier, tmp_path):
    from dataclasses import replace

    from genrekit.degrade import telephone

    audio = classifier.load_audio(DATA / "gtzan" / "blues" / "blues.00000.flac")
    phone = replace(audio, samples=telephone(audio.samples, audio.sample_rate))
    heard = classifier.predict_audio(phone, timeline=True)
    assert heard.narrow_band and heard.known and heard.label == "blues"
    assert heard.segments and not classifier.predict_audio(audio, timeline=False).narrow_band
    # A quiet phone recording saved as a 16-bit WAV: its floor fills the band above the wall.
    quiet = tmp_path / "quiet call.wav"
    soundfile.write(quiet, phone.samples * 10 ** (-30 / 20), phone.sample_rate, "PCM_16")
    assert classifier.predict(quiet, timeline=False).narrow_band
    line = runner.invoke(app, ["predict", str(DATA / "gtzan" / "blues" / "blues.00000.flac")])
    assert "narrow band" not in line.stdout


@pytest.mark.data
def test_a_catalogued_phone_call_is_judged_again_by_the_narrow_band_head(classifier, tmp_path):
    """tag-files --db --model judges stored embeddings without audio: the catalog remembers
    which tracks the narrow-band head heard, and the narrow-band head judges those again."""
    import shutil
    import sqlite3

    from genrekit.degrade import telephone
    from genrekit.library.catalog import index_folder
    from genrekit.library.file_tags import catalog_verdicts, verdict_of

    music = tmp_path / "music"
    music.mkdir()
    clean = music / "clean.flac"
    shutil.copy(DATA / "gtzan" / "blues" / "blues.00000.flac", clean)
    audio = classifier.load_audio(clean)
    call = music / "call.wav"
    quiet = telephone(audio.samples, audio.sample_rate) * 10 ** (-30 / 20)
    soundfile.write(call, quiet, audio.sample_rate, "PCM_16")
    db = tmp_path / "lib.sqlite"
    index_folder(music, db, progress=False)
    with sqlite3.connect(db) as connection:
        narrow = dict(connection.execute("SELECT path, narrow_band FROM tracks").fetchall())
        embedding = np.frombuffer(
            connection.execute(
                "SELECT embedding FROM tracks WHERE path = ?", (str(call.resolve()),)
            ).fetchone()[0],
            np.float32,
        )
    assert narrow == {str(clean.resolve()): 0, str(call.resolve()): 1}
    duration = len(audio.samples) / audio.sample_rate
    judge = classifier.judge_embedding
    by_head = {
        head: verdict_of(judge(embedding, str(call), duration, narrow_band=head))
        for head in (False, True)
    }
    assert by_head[True] != by_head[False]  # the two heads do not agree to the last digit
    connection = sqlite3.connect(db)
    verdicts = dict(catalog_verdicts(connection, [call, clean], classifier))
    connection.close()
    assert verdicts[call.resolve()] == by_head[True]
    assert verdicts[clean.resolve()] == verdict_of(classifier.predict(clean, timeline=False))


@pytest.mark.data
def test_classical_examples_are_recognised(classifier):
    orchestra = "Hungarian_Dance_number_5_-_Allegro_in_F_sharp_minor_(string_orchestra).hq.ogg"
    prediction = classifier.predict(DATA / "examples" / orchestra, timeline=False)
    assert prediction.label == "classical"


def test_cli_batch_goes_on_past_bad_files(song, broken, tmp_path):
    out = tmp_path / "results.csv"
    files = [str(song), *(str(p) for p in broken.values())]
    result = runner.invoke(app, ["predict", *files, "--out", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert result.stdout.count(str(song)) == 1
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == len(broken)
    for path in broken.values():
        assert sum(str(path) in line for line in error_lines) == 1
    assert "Traceback" not in result.output
    table = pd.read_csv(out)
    assert len(table) == len(files) and table["error"].notna().sum() == len(broken)
    good = table[table["path"] == str(song)].iloc[0]
    genres = [column for column in table.columns if column.startswith("p_")]
    assert len(genres) == 10 and abs(good[genres].sum() - 1) < 1e-4  # rounded to 6 places
    best = max(genres, key=lambda column: good[column])[2:]
    assert good["label"] == (best if good["known"] else "unknown") and good["typicality"] >= 0


def test_one_record_per_file_in_every_output(song, broken, tmp_path):
    """--json and --out .json carry the same records (an error as its path and reason); a wrong
    suffix is one plain line before any work."""
    files = [str(song), str(broken["not_audio"])]
    printed = runner.invoke(app, ["predict", *files, "--json", "--out", str(tmp_path / "r.json"),
                                  "--workers", "1", "--no-timeline"])  # fmt: skip
    records = json.loads(printed.stdout)
    assert records == json.loads((tmp_path / "r.json").read_text())
    assert records[1] == {"path": str(broken["not_audio"]), "error": records[1]["error"]}
    best = next(iter(records[0]["probabilities"]))
    assert records[0]["label"] == (best if records[0]["known"] else "unknown")
    wrong = runner.invoke(app, ["predict", str(song), "--out", str(tmp_path / "r.txt")])
    assert wrong.exit_code == 2 and "must end in .csv or .json" in wrong.stderr
    assert "Traceback" not in wrong.output and not (tmp_path / "r.txt").exists()


def test_cli_exits_non_zero_only_when_every_file_failed(broken):
    result = runner.invoke(app, ["predict", str(broken["empty"]), str(broken["not_audio"])])
    assert result.exit_code == 1
    assert "0 classified, 2 failed" in result.stderr


def test_cli_json_and_folder_input(song, tmp_path):
    folder = tmp_path / "music"
    folder.mkdir()
    (folder / "a.ogg").write_bytes(song.read_bytes())
    (folder / "notes.txt").write_text("not picked up from a folder")
    result = runner.invoke(app, ["predict", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert [r["path"] for r in records] == [str(folder / "a.ogg")]
    assert records[0]["segments"] and set(records[0]["probabilities"]) == set(
        genrekit.load_model().labels
    )


def test_cli_glob_and_json_out(song, tmp_path):
    out = tmp_path / "r.json"
    pattern = str(song.parent / "*.ogg")
    result = runner.invoke(app, ["predict", pattern, "--no-timeline", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())[0]["segments"] == []


def test_cli_unknown_model_is_one_line(song):
    result = runner.invoke(app, ["predict", str(song), "--model", "nope"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: nope: not a model bundle")


def test_cli_features_table(tmp_path, broken):
    for label, seed in (("blues", 0), ("jazz", 1)):
        (tmp_path / "music" / label).mkdir(parents=True)
        soundfile.write(
            tmp_path / "music" / label / f"{label}.00000.wav", music_like(7.0, seed=seed), 22050
        )
    (tmp_path / "music" / "jazz" / "broken.mp3").write_bytes(broken["not_audio"].read_bytes())
    (tmp_path / "music" / "jazz" / "nan.wav").write_bytes(broken["nan"].read_bytes())
    out = tmp_path / "t.csv"
    result = runner.invoke(
        app,
        [
            "features",
            str(tmp_path / "music"),
            "--out",
            str(out),
            "--segment",
            "3",
            "--workers",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "broken.mp3" in result.stderr
    assert "nan.wav: the audio data holds invalid samples" in result.stderr
    assert "Traceback" not in result.output
    table = pd.read_csv(out)
    assert list(table["filename"]) == [
        "blues.00000.0.wav",
        "blues.00000.1.wav",
        "jazz.00000.0.wav",
        "jazz.00000.1.wav",
    ]
    assert list(table["label"]) == ["blues", "blues", "jazz", "jazz"]
    assert (table["length"] == 66150).all()
    whole = tmp_path / "w.parquet"
    result = runner.invoke(app, ["features", str(tmp_path / "music"), "-o", str(whole), "-j", "2"])
    assert result.exit_code == 0, result.output
    assert list(pd.read_parquet(whole)["filename"]) == ["blues.00000.wav", "jazz.00000.wav"]
    from genrekit.training.datasets import load_dataset

    assert load_dataset(whole).features.shape == (2, 57)
    single = tmp_path / "one.csv"  # a file or a glob works too (unlabelled rows)
    song = str(tmp_path / "music" / "blues" / "blues.00000.wav")
    result = runner.invoke(app, ["features", song, str(tmp_path / "music" / "*" / "jazz*.wav"),
                                 "-o", str(single), "-j", "1"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert list(pd.read_csv(single)["filename"]) == ["blues.00000.wav", "jazz.00000.wav"]
    extended = tmp_path / "extended.csv"  # another feature set, with preprocessing
    result = runner.invoke(app, ["features", song, "-o", str(extended), "--representation",
                                 "extended", "--normalize", "peak", "--trim-silence"])  # fmt: skip
    assert result.exit_code == 0, result.output
    from genrekit.features import feature_set

    assert list(pd.read_csv(extended).columns[2:-1]) == list(feature_set("extended").columns)
    for bad, reason in [
        (["--normalize", "loud"], "unknown normalization 'loud'"),
        (["--representation", "logmel"], "a window representation has no table"),
    ]:
        result = runner.invoke(app, ["features", song, "-o", str(extended), *bad])  # fmt: skip
        assert result.exit_code == 2 and reason in result.output


def test_train_from_an_audio_folder_skips_bad_files_and_predicts(tmp_path, broken):
    from conftest import tone

    from genrekit.training.config import load_config
    from genrekit.training.train import train

    for n in range(4):
        (tmp_path / "music" / "beats").mkdir(parents=True, exist_ok=True)
        (tmp_path / "music" / "tones").mkdir(parents=True, exist_ok=True)
        soundfile.write(tmp_path / "music" / "beats" / f"b{n}.wav", music_like(4.0, seed=n), 22050)
        soundfile.write(
            tmp_path / "music" / "tones" / f"t{n}.flac", tone(4.0, 22050, 300.0 + 50 * n), 22050
        )
    (tmp_path / "music" / "tones" / "bad.mp3").write_bytes(broken["not_audio"].read_bytes())
    (tmp_path / "exp.toml").write_text(
        '[data]\npath = "music"\n[protocol]\nfolds = 2\n[model]\nname = "logreg"\n'
    )
    config = load_config(tmp_path / "exp.toml")
    report, bundle, errors = train(config, tmp_path / "model", None, progress=False)
    assert [e.path for e in errors] == [str(tmp_path / "music" / "tones" / "bad.mp3")]
    assert len(report.y_true) == 8 and report.metrics()["accuracy"] == 1.0
    prediction = genrekit.load_model(bundle).predict(tmp_path / "music" / "beats" / "b0.wav")
    assert prediction.label == "beats"


@pytest.mark.data
def test_styles_name_the_music_beyond_its_genre(classifier):
    metal = classifier.predict(DATA / "gtzan" / "metal" / "metal.00069.flac", timeline=False)
    jazz = classifier.predict(DATA / "gtzan" / "jazz" / "jazz.00010.flac", timeline=False)
    assert {"heavy metal", "metal"} <= {s.tag for s in metal.styles["metal"]}
    assert "jazz" in {s.tag for s in jazz.styles["jazz"]} and "metal" not in jazz.styles
    for found in [*metal.styles.values(), *jazz.styles.values()]:
        names = [s.tag.lower() for s in found]
        scores = [s.score for s in found]
        assert len(names) == len(set(names)) and scores == sorted(scores, reverse=True)
    result = runner.invoke(
        app, ["predict", str(DATA / "gtzan" / "jazz" / "jazz.00010.flac"), "--styles"]
    )
    assert "  jazz: jazz 0." in result.stdout


def test_cli_names_link_loops_and_folders_named_like_songs(song, tmp_path):
    (tmp_path / "a.wav").symlink_to(tmp_path / "b.wav")
    (tmp_path / "b.wav").symlink_to(tmp_path / "a.wav")
    (tmp_path / "album.wav").mkdir()
    result = runner.invoke(
        app,
        [
            "predict",
            str(tmp_path / "a.wav"),
            str(tmp_path / "album.wav"),
            str(song),
            "--no-timeline",
        ],
    )
    assert result.exit_code == 0
    assert "a.wav: a broken link (or a loop of links)" in result.stderr
    assert "album.wav: a folder with no audio files in it" in result.stderr
    assert "Traceback" not in result.output


def test_models_lists_macro_f1_and_the_data_behind_each_figure():
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0
    line = next(line for line in result.stdout.splitlines() if line.startswith(DEFAULT_MODEL))
    assert "macro-F1" in line and "on 292 tracks of gtzan + taffc" in line and "by group" in line


def test_prediction_imports_no_librosa_numba_scipy_signal_pandas_or_sklearn(song):
    """A cold `genrekit predict` stays fast by loading only what prediction needs (librosa's
    package stub is free: its lazy loader imports a submodule only when one is used)."""
    script = (
        "import sys\n"
        "from genrekit.cli import app\n"
        f"sys.argv = ['genrekit', 'predict', {str(song)!r}]\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "heavy = ['librosa.core.spectrum', 'numba', 'scipy.signal', 'pandas', 'sklearn', 'torch']\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.data
def test_a_long_song_is_heard_in_spread_regions_and_agrees_with_every_clip(classifier, tmp_path):
    """Without a timeline, a 4-minute song is heard in a few evenly spread regions (a fraction
    of the network work) and gets the verdict that analysing all of it gives; --full hears it
    all."""
    from genrekit.audio import load_audio
    from genrekit.predict import SAMPLED_REGION_SECONDS, SAMPLED_REGIONS

    clips = sorted((DATA / "gtzan" / "classical").glob("*.flac"))[:8]
    joined = np.concatenate([load_audio(c).samples for c in clips])
    path = tmp_path / "long.flac"
    soundfile.write(path, joined, 22050)
    sampled = classifier.predict(path, timeline=False)
    whole = classifier.predict(path, timeline=False, full=True)
    assert sampled.sampled and not whole.sampled
    assert sampled.label == whole.label == "classical"
    assert sampled.duration == whole.duration == pytest.approx(len(joined) / 22050, abs=0.01)
    assert not classifier.predict(clips[0], timeline=False).sampled  # a 30 s clip: all of it
    assert whole.duration / 2 > SAMPLED_REGIONS * SAMPLED_REGION_SECONDS
    result = CliRunner().invoke(app, ["predict", str(path), "--no-timeline"])
    assert f"heard in {SAMPLED_REGIONS} regions; --full for all" in result.output


def test_evenly_spread_regions_stay_inside_and_cover_start_middle_and_end():
    from genrekit.audio import evenly_spread

    samples = np.arange(1000, dtype=np.float32)
    regions = evenly_spread(samples, 10, 4, 5.0)  # 4 regions of 50 samples in 100 s
    assert [r.start for r in regions] == [10.0, 35.0, 60.0, 85.0]
    assert all(len(r.samples) == 50 and r.end == r.start + 5.0 for r in regions)
    edge = evenly_spread(samples[:120], 10, 4, 5.0)
    assert edge[0].start == 0.0 and edge[-1].end == 12.0  # clamped at both ends


def test_an_analysis_told_to_stop_stops_between_clips(classifier, tmp_path):
    from genrekit.predict import AnalysisCancelled, predict_or_error

    path = tmp_path / "minute.wav"
    soundfile.write(path, music_like(60.0), 22050)  # two 30 s clips
    asked = []

    def stop_after_first() -> bool:
        asked.append(True)
        return len(asked) > 1

    with pytest.raises(AnalysisCancelled):
        predict_or_error(classifier, path, True, None, should_stop=stop_after_first)
    assert len(asked) == 2  # asked before each clip; the second answer stopped it
    assert not isinstance(predict_or_error(classifier, path, True, None), Exception)


def test_a_fake_mp3_gets_one_line_without_the_decoders_own_notes(tmp_path):
    """libmpg123 (inside libsndfile) writes notes about damaged frames to stderr itself; the
    user sees genrekit's one line per file and nothing else."""
    fake = tmp_path / "fake.mp3"
    fake.write_bytes(b"ID3" + np.random.default_rng(0).bytes(5000))
    genrekit_cli = Path(sys.executable).with_name("genrekit")
    done = subprocess.run([str(genrekit_cli), "predict", str(fake)], capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: {fake}: not a recognised audio file (Invalid data found when processing input)"
    ]
