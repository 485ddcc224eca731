"""Genre tags in users' files: the format's own fields, audio untouched, undo exact, kill-safe."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import mutagen
import numpy as np
import pytest
import soundfile
from conftest import DATA, tone
from typer.testing import CliRunner

from genrekit.cli import app
from genrekit.library import file_tags

VERDICT = file_tags.Verdict("jazz", 0.81, True, "musicnn-lda", ("Swing", "happy"), ("Swing",))


@pytest.fixture(scope="module")
def formats(tmp_path_factory, media) -> dict[str, Path]:
    """One file per container genrekit tags (none of them carrying tags yet)."""
    folder = tmp_path_factory.mktemp("formats")
    files = {ext: media[ext] for ext in ("mp3", "flac", "ogg", "m4a", "wav")}
    signal_48k = tone(seconds=3.0, rate=48000, channels=2)
    files["opus"] = folder / "tone.opus"
    soundfile.write(files["opus"], signal_48k, 48000, format="OGG", subtype="OPUS")
    files["aiff"] = folder / "tone.aiff"
    soundfile.write(files["aiff"], signal_48k, 48000)
    return files


def audio_packets(path: Path) -> list[bytes]:
    """The compressed (or PCM) audio frames of the file's first audio stream, byte for byte."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return [bytes(p) for p in container.demux(stream) if p.size]


def decoded(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        frames = [f.to_ndarray() for f in container.decode(audio=0)]
    return np.concatenate(frames, axis=-1)


def copy_of(source: Path, folder: Path, name: str | None = None) -> Path:
    target = folder / (name or source.name)
    shutil.copyfile(source, target)
    os.chmod(target, 0o644)
    return target


NATIVE_GENRE = {
    "mp3": ("TCON", lambda tags: list(tags["TCON"].text)),
    "wav": ("TCON", lambda tags: list(tags["TCON"].text)),
    "aiff": ("TCON", lambda tags: list(tags["TCON"].text)),
    "flac": ("GENRE", lambda tags: tags["GENRE"]),
    "ogg": ("GENRE", lambda tags: tags["GENRE"]),
    "opus": ("GENRE", lambda tags: tags["GENRE"]),
    "m4a": ("©gen", lambda tags: tags["©gen"]),
}


@pytest.mark.parametrize("ext", sorted(NATIVE_GENRE))
def test_genre_lands_in_the_formats_own_field_audio_untouched_and_undo_is_exact(
    formats, tmp_path, ext
):
    path = copy_of(formats[ext], tmp_path)
    original_bytes = path.read_bytes()
    packets, samples = audio_packets(path), decoded(path)
    change = file_tags.plan(path, VERDICT, file_tags.Options(styles=True))
    assert change is not None and change.new_genre == ["Jazz", "Swing"]
    file_tags.write_fields(path, change.after)

    tags = mutagen.File(path).tags
    assert NATIVE_GENRE[ext][1](tags) == ["Jazz", "Swing"]
    assert file_tags.read_fields(path) == change.after
    assert audio_packets(path) == packets  # the audio frames' bytes
    assert np.array_equal(decoded(path), samples)  # and the samples, bit for bit
    assert path.read_bytes() != original_bytes
    # Planning again finds nothing to do: genrekit recognises its own genre.
    assert file_tags.plan(path, VERDICT, file_tags.Options(styles=True)) is None

    file_tags.write_fields(path, change.before)
    assert file_tags.read_fields(path) == change.before
    assert audio_packets(path) == packets
    if ext in ("mp3", "wav", "aiff"):  # made without a tag block: the very bytes come back
        assert path.read_bytes() == original_bytes


@pytest.mark.data
def test_real_files_keep_their_audio_and_other_tags_and_a_persons_genre(tmp_path):
    vibe_ace = next((DATA / "examples").glob("Kevin_MacLeod_-_Vibe_Ace*.ogg"))
    # The Vibe Ace excerpt came with "Jazz" set by a person: kept without --overwrite.
    with pytest.raises(file_tags.TagSkip, match="'Jazz' was set by a person"):
        file_tags.plan(vibe_ace, VERDICT, file_tags.Options())
    mp3 = copy_of(sorted((DATA / "taffc" / "jazz").glob("*.mp3"))[0], tmp_path)
    ogg = copy_of(vibe_ace, tmp_path)
    for path in (mp3, ogg):
        other_tags = {k: v for k, v in (mutagen.File(path).tags or {}).items()}
        packets = audio_packets(path)
        change = file_tags.plan(path, VERDICT, file_tags.Options(overwrite=True))
        assert change is not None
        file_tags.write_fields(path, change.after)
        assert audio_packets(path) == packets
        now = mutagen.File(path).tags
        for key, value in other_tags.items():  # artist, title … are not touched
            if "GENRE" not in key.upper() and key != "TCON":
                assert now[key] == value


def test_unknown_and_unconfident_verdicts_are_not_written(formats, tmp_path):
    path = copy_of(formats["flac"], tmp_path)
    unknown = file_tags.Verdict("unknown", 0.9, False, "m")
    with pytest.raises(file_tags.TagSkip, match="unknown"):
        file_tags.plan(path, unknown, file_tags.Options())
    with pytest.raises(file_tags.TagSkip, match="under the minimum confidence 90%"):
        file_tags.plan(path, VERDICT, file_tags.Options(min_confidence=0.9))


def test_files_that_cannot_be_tagged_get_one_line_and_are_left_as_they_were(
    formats, media, broken, tmp_path
):
    read_only = copy_of(formats["mp3"], tmp_path, "read-only.mp3")
    os.chmod(read_only, 0o444)
    au = copy_of(media["au"], tmp_path)
    corrupt = tmp_path / "corrupt-tags.mp3"
    corrupt.write_bytes(b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f" + formats["mp3"].read_bytes()[:2000])
    for path, reason in [
        (read_only, "read-only"),
        (au, "cannot be written here"),
        (corrupt, "tags cannot be"),
        (tmp_path / "gone.mp3", "no such file"),
    ]:
        before = path.read_bytes() if path.exists() else None
        with pytest.raises(file_tags.TagError, match=reason) as caught:
            file_tags.write_fields(path, {"TCON": ["Jazz"], file_tags.HAS_TAGS: True})
        assert str(caught.value).startswith(str(path.resolve()))
        assert "Error" not in str(caught.value)  # no internal exception names
        assert (path.read_bytes() if path.exists() else None) == before
        assert not list(tmp_path.glob(f"*{file_tags.TEMPORARY_MARK}"))


def test_a_link_is_followed_and_kept(formats, tmp_path):
    target = copy_of(formats["flac"], tmp_path, "real.flac")
    link = tmp_path / "link.flac"
    link.symlink_to(target)
    file_tags.write_fields(link, {"GENRE": ["Jazz"], file_tags.HAS_TAGS: True})
    assert link.is_symlink() and mutagen.File(target).tags["GENRE"] == ["Jazz"]


# --- kill -9 at any moment ---------------------------------------------------------------------


def _step_values(path: Path, step: int) -> dict:
    """The values of step ``step`` of the chain each file goes through (any format)."""
    fields = file_tags.read_fields(path)
    genre_key = next(k for k in fields if k in ("TCON", "GENRE", "©gen"))
    own = next(k for k in fields if k.endswith("GENREKIT_GENRE"))
    return {file_tags.HAS_TAGS: True, genre_key: [f"G{step}"], own: [str(step)]}


def _chain_hashes(path: Path, steps: int, folder: Path) -> list[str]:
    """sha256 of the file after 0, 1, … ``steps`` writes (mutagen is deterministic)."""
    replay = copy_of(path, folder, "replay-" + path.name)
    hashes = [hashlib.sha256(replay.read_bytes()).hexdigest()]
    for step in range(1, steps + 1):
        file_tags.write_fields(replay, _step_values(replay, step))
        hashes.append(hashlib.sha256(replay.read_bytes()).hexdigest())
    return hashes


KILLED_WRITER = f"""
import sys
from pathlib import Path
sys.path.insert(0, {str(Path(__file__).parent)!r})
from genrekit.library import file_tags
from test_filetags import _step_values
files = [Path(p) for p in sys.argv[2:]]
print("ready", flush=True)
while True:
    for path in files:
        fields = file_tags.read_fields(path).items()
        own = next(v for k, v in fields if k.endswith("GENREKIT_GENRE"))
        step = int(own[0]) + 1 if own else 1
        if step > int(sys.argv[1]):
            sys.exit(0)
        file_tags.write_fields(path, _step_values(path, step))
"""


def test_kill_9_at_any_moment_leaves_each_file_wholly_old_or_wholly_new(formats, tmp_path):
    """A writer is killed with SIGKILL at random moments, again and again; after every kill each
    file must be byte-identical to one of the states of its write chain, never in between."""
    steps = 300  # writes per file: more than 25 runs killed after at most 50 ms can make
    live = tmp_path / "live"
    live.mkdir()
    files = [copy_of(formats[ext], live) for ext in ("mp3", "flac", "m4a")]
    chains = {path: _chain_hashes(path, steps, tmp_path) for path in files}
    rng = random.Random(7)
    kills = 0
    for _ in range(25):
        writer = subprocess.Popen(
            [sys.executable, "-c", KILLED_WRITER, str(steps), *map(str, files)],
            stdout=subprocess.PIPE,
        )
        assert writer.stdout is not None and writer.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.0, 0.05))  # a few ms per write: the kill lands mid-write
        if writer.poll() is None:
            writer.send_signal(signal.SIGKILL)
            kills += 1
        writer.wait()
        for path in files:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            assert digest in chains[path], f"{path.name} is neither old nor new after a kill"
    assert kills >= 10  # most runs really were killed mid-way
    # A later run cleans up the hidden copies killed runs left behind.
    for path in files:
        file_tags.write_fields(path, file_tags.read_fields(path))
    assert not list(live.glob(f".*{file_tags.TEMPORARY_MARK}"))


# --- the command: dry run, apply, undo -------------------------------------------------------


def test_tag_files_dry_run_apply_undo_from_the_command_line(formats, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    music = tmp_path / "music"
    music.mkdir()
    files = [copy_of(formats[ext], music) for ext in ("mp3", "flac")]
    person = copy_of(formats["ogg"], music)
    file_tags.write_fields(person, {"GENRE": ["Polka"], file_tags.HAS_TAGS: True})
    read_only = copy_of(formats["m4a"], music)
    os.chmod(read_only, 0o444)
    originals = {p: p.read_bytes() for p in [*files, person, read_only]}
    original_fields = {p: file_tags.read_fields(p) for p in files}
    monkeypatch.setattr(
        "genrekit.cli.files._verdicts",
        lambda connection, paths, db, model: ((p, VERDICT) for p in paths),
    )
    runner = CliRunner()

    dry = runner.invoke(app, ["tag-files", str(music)])
    assert dry.exit_code == 0, dry.output
    assert f"{files[0]}: (no genre) → Jazz (81%)" in dry.output
    assert "'Polka' was set by a person" in dry.output
    assert "dry run: 3 file(s) would change" in dry.output
    assert all(p.read_bytes() == b for p, b in originals.items())  # nothing written

    applied = runner.invoke(app, ["tag-files", str(music), "--apply"])
    assert "read-only" in applied.output and "Traceback" not in applied.output
    assert "run 1: 2 file(s) tagged, 1 error(s)" in applied.output
    assert all(mutagen.File(p).tags is not None for p in files)
    assert (
        person.read_bytes() == originals[person] and read_only.read_bytes() == originals[read_only]
    )

    history = runner.invoke(app, ["tag-files", "--history"])
    assert "run 1:" in history.output and "active" in history.output
    preview = runner.invoke(app, ["tag-files", "--undo"])
    assert "would restore 2 file(s)" in preview.output
    assert all(mutagen.File(p).tags is not None for p in files)  # a dry run, again
    undone = runner.invoke(app, ["tag-files", "--undo", "--apply"])
    assert "run 1 undone: 2 file(s) restored" in undone.output, undone.output
    assert all(file_tags.read_fields(p) == original_fields[p] for p in files)
    assert files[0].read_bytes() == originals[files[0]]  # the mp3 had no tag block: same bytes
    again = runner.invoke(app, ["tag-files", "--undo", "--run", "1", "--apply"])
    assert again.exit_code == 2 and "already undone" in again.output


@pytest.mark.data
def test_tags_come_from_the_catalog_which_follows_the_tagged_files(tmp_path):
    """index → tag-files --db: genres from the catalog; a file changed since analysis is refused
    with one line; after tagging, indexing again finds nothing to redo (audio unchanged)."""
    from genrekit.library.catalog import index_folder

    music = tmp_path / "music"
    music.mkdir()
    clips = [copy_of(p, music) for p in sorted((DATA / "taffc" / "jazz").glob("*.mp3"))[:3]]
    db = tmp_path / "lib.sqlite"
    index_folder(music, db, progress=False)
    with clips[2].open("ab") as changed:
        changed.write(b"\0" * 10)
    # Another song of the same size put in place with the old time: other audio, no genre.
    swapped = copy_of(sorted((DATA / "taffc" / "jazz").glob("*.mp3"))[5], tmp_path, "other.mp3")
    old_stat = clips[1].stat()
    data = bytearray(swapped.read_bytes()[: old_stat.st_size].ljust(old_stat.st_size, b"\0"))
    clips[1].write_bytes(bytes(data))
    os.utime(clips[1], ns=(old_stat.st_atime_ns, old_stat.st_mtime_ns))
    runner = CliRunner()
    result = runner.invoke(
        app, ["tag-files", str(music), "--db", str(db), "--apply", "--min-confidence", "0"]
    )
    assert f"error: {clips[2]}: changed since it was analysed" in result.output
    assert f"error: {clips[1]}: changed since it was analysed" in result.output
    assert mutagen.File(clips[1]).tags is None or "TCON" not in mutagen.File(clips[1]).tags
    tagged = [p for p in clips[:1] if mutagen.File(p).tags is not None]
    assert tagged, result.output  # the jazz clips are known music: at least one is written
    # Only the grown file: indexing trusts size and time (fast); writing into a file does not.
    assert index_folder(music, db, progress=False).indexed == 1
    undone = runner.invoke(app, ["tag-files", "--undo", "--apply", "--db", str(db)])
    assert f"{len(tagged)} file(s) restored" in undone.output
    assert index_folder(music, db, progress=False).indexed == 0  # the catalog followed the undo


# --- what a person owns stays theirs (issue: nothing a user owns is harmed) -------------------


def _with_title(source: Path, folder: Path, ext: str) -> Path:
    """A copy that already carries tags as other software writes them: a title, and for mp3 an
    ID3v2.3 tag in Latin-1 (mutagen would write UTF-8 v2.4) or a v2.4 one — undo must give these
    bytes back."""
    from mutagen.id3 import ID3, TIT2

    version = 4 if ext == "mp3-v24" else 3
    ext = ext.removesuffix("-v24")
    path = copy_of(source, folder, f"titled.{ext}")
    audio = mutagen.File(path)
    if audio.tags is None:
        audio.add_tags()
    if ext in ("mp3", "wav", "aiff"):
        audio.tags.add(TIT2(encoding=0, text="Caf\xe9 song"))
        if ext == "mp3":
            audio.save(v2_version=version)
            assert ID3(path).version[:2] == (2, version)
        else:
            audio.save()
    elif ext == "m4a":
        audio.tags["\xa9nam"] = ["Caf\xe9 song"]
        audio.save()
    else:
        audio.tags["TITLE"] = ["Caf\xe9 song"]
        audio.save()
    return path


@pytest.mark.parametrize("ext", [*sorted(NATIVE_GENRE), "mp3-v24"])
def test_undo_gives_back_every_byte_of_a_file_that_already_had_tags(formats, tmp_path, ext):
    path = _with_title(formats[ext.removesuffix("-v24")], tmp_path, ext)
    original = path.read_bytes()
    connection = file_tags.open_journal(tmp_path / "journal.sqlite")
    run = file_tags.start_run(connection, "m")
    change = file_tags.plan(path, VERDICT, file_tags.Options(styles=True))
    assert change is not None
    assert [error for _, error in file_tags.apply(connection, run, [change])] == [None]
    assert path.read_bytes() != original
    _, restores = file_tags.plan_undo(connection, run)
    assert [error for _, error in file_tags.undo(connection, run, restores)] == [None]
    assert path.read_bytes() == original


def test_a_genre_set_while_the_run_analysed_is_kept_and_undo_does_not_erase_it(formats, tmp_path):
    path = copy_of(formats["flac"], tmp_path)
    connection = file_tags.open_journal(tmp_path / "journal.sqlite")
    change = file_tags.plan(path, VERDICT, file_tags.Options())
    assert change is not None
    file_tags.write_fields(path, {"GENRE": ["Polka"], file_tags.HAS_TAGS: True})  # a person, now
    run = file_tags.start_run(connection, "m")
    [(_, error)] = list(file_tags.apply(connection, run, [change]))
    assert error is not None and "changed after genrekit read them" in str(error)
    assert mutagen.File(path).tags["GENRE"] == ["Polka"]
    _, restores = file_tags.plan_undo(connection, run)
    list(file_tags.undo(connection, run, restores))
    assert mutagen.File(path).tags["GENRE"] == ["Polka"]


def test_a_damaged_genre_frame_is_left_alone_not_read_as_no_genre(formats, tmp_path):
    path = copy_of(formats["mp3"], tmp_path)
    file_tags.write_fields(path, {"TCON": ["Polka"], file_tags.HAS_TAGS: True})
    data = bytearray(path.read_bytes())
    frame = data.index(b"TCON")
    data[frame + 10] = 0x05  # an encoding byte no ID3 version defines
    path.write_bytes(bytes(data))
    assert not mutagen.File(path).tags.getall("TCON")  # mutagen alone would see no genre
    with pytest.raises(file_tags.TagError, match="genre tag is damaged"):
        file_tags.plan(path, VERDICT, file_tags.Options())
    assert path.read_bytes() == bytes(data)


def test_links_leading_outside_the_named_folders_are_skipped_unless_followed(
    formats, tmp_path, monkeypatch
):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    music, elsewhere = tmp_path / "music", tmp_path / "elsewhere"
    music.mkdir()
    elsewhere.mkdir()
    inside = copy_of(formats["flac"], music, "inside.flac")
    (music / "inside-link.flac").symlink_to(inside)
    outside = copy_of(formats["flac"], elsewhere, "precious.flac")
    (music / "link.flac").symlink_to(outside)
    original = outside.read_bytes()
    monkeypatch.setattr(
        "genrekit.cli.files._verdicts",
        lambda connection, paths, db, model: ((p, VERDICT) for p in paths),
    )
    runner = CliRunner()
    applied = runner.invoke(app, ["tag-files", str(music), "--apply"])
    assert f"skip: {music / 'link.flac'}: a link to {outside.resolve()}" in applied.output
    assert outside.read_bytes() == original
    assert mutagen.File(inside).tags["GENRE"] == ["Jazz"]  # a link that stays inside is fine
    dry = runner.invoke(app, ["tag-files", str(music), "--follow-symlinks"])
    assert f"{outside.resolve()}: (no genre) → Jazz" in dry.output, dry.output
    runner.invoke(app, ["tag-files", str(music), "--follow-symlinks", "--apply"])
    assert mutagen.File(outside).tags["GENRE"] == ["Jazz"]


def test_each_run_reports_its_own_number_when_another_starts_beside_it(
    formats, tmp_path, monkeypatch
):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    path = copy_of(formats["flac"], tmp_path)
    monkeypatch.setattr(
        "genrekit.cli.files._verdicts",
        lambda connection, paths, db, model: ((p, VERDICT) for p in paths),
    )
    real_apply = file_tags.apply

    def with_a_second_run(connection, run, changes):
        file_tags.start_run(file_tags.open_journal(None), "another run")
        yield from real_apply(connection, run, changes)

    monkeypatch.setattr(file_tags, "apply", with_a_second_run)
    result = CliRunner().invoke(app, ["tag-files", str(path), "--apply"])
    assert "run 1: 1 file(s) tagged" in result.output, result.output


KILLED_RUN = f"""
import sys
from pathlib import Path
sys.path.insert(0, {str(Path(__file__).parent)!r})
from genrekit.library import file_tags
from test_filetags import VERDICT
connection = file_tags.open_journal(Path(sys.argv[1]))
changes = [file_tags.plan(Path(p), VERDICT, file_tags.Options()) for p in sys.argv[2:]]
run = file_tags.start_run(connection, "m")
print(run, flush=True)
for _ in file_tags.apply(connection, run, changes):
    pass
"""


def test_a_run_killed_at_any_moment_is_undone_to_the_very_bytes_and_its_leftovers_cleared(
    tmp_path, monkeypatch
):
    """Big files (the copy takes a while): a kill -9 lands mid-copy, and the hidden copy it
    leaves is removed by the undo, which says so; every file gets its exact old bytes back."""
    music = tmp_path / "music"
    music.mkdir()
    rng = np.random.default_rng(3)
    noise = (0.1 * rng.standard_normal((44100 * 60, 2))).astype(np.float32)
    first = music / "song-0.flac"
    soundfile.write(first, noise, 44100)
    files = [first] + [copy_of(first, music, f"song-{i}.flac") for i in range(1, 6)]
    original = first.read_bytes()
    journal = tmp_path / "journal.sqlite"
    rng_kill = random.Random(11)
    leftovers_seen = 0
    runner = CliRunner()
    for _ in range(8):
        writer = subprocess.Popen(
            [sys.executable, "-c", KILLED_RUN, str(journal), *map(str, files)],
            stdout=subprocess.PIPE,
        )
        assert writer.stdout is not None and writer.stdout.readline().strip().isdigit()
        time.sleep(rng_kill.uniform(0.0, 0.2))
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        leftovers = list(music.glob(f".*{file_tags.TEMPORARY_MARK}"))
        leftovers_seen += bool(leftovers)
        undone = runner.invoke(app, ["tag-files", "--undo", "--apply", "--db", str(journal)])
        assert undone.exit_code == 0, undone.output
        for leftover in leftovers:
            assert f"removed {leftover}" in undone.output
        assert not list(music.glob(f".*{file_tags.TEMPORARY_MARK}"))
        assert all(path.read_bytes() == original for path in files)
    assert leftovers_seen >= 1
