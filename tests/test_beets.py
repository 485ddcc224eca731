"""The beets plugin, run by real beets (PyPI ``beets``) on a temporary library of CC excerpts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import mutagen
import pytest
from conftest import DATA

BEET = Path(sys.executable).with_name("beet")
EXAMPLES = {
    "person": "Kevin_MacLeod_-_Vibe_Ace.hq.ogg",  # carries GENRE=Jazz, set by a person
    "untagged": "442789__lena-orsa__happy-music-pistachio-ice-cream-ragtime.hq.ogg",
    "other": "admiralbob77_-_Choice_-_Drum-bass.hq.ogg",
}

pytestmark = pytest.mark.data


def beets_home(tmp_path: Path, *, auto: bool) -> tuple[dict[str, str], dict[str, Path]]:
    """A beets config folder with the plugin on, and a folder of the excerpts to import."""
    music = tmp_path / "music"
    music.mkdir()
    files = {}
    for role, name in EXAMPLES.items():
        files[role] = music / name
        shutil.copyfile(DATA / "examples" / name, files[role])
    (tmp_path / "config.yaml").write_text(
        f"directory: {tmp_path / 'library'}\n"
        f"library: {tmp_path / 'library.db'}\n"
        "plugins: genrekit\n"
        "import: {copy: no, write: yes, autotag: no, quiet: yes}\n"
        f"genrekit: {{auto: {'yes' if auto else 'no'}}}\n"
    )
    return {**os.environ, "BEETSDIR": str(tmp_path)}, files


def beet(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(BEET), *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout + done.stderr


def genres(env: dict[str, str]) -> dict[str, str]:
    listing = beet(env, "ls", "-f", "$path|$genres|$genrekit_model")
    rows = [line.split("|") for line in listing.splitlines() if "|" in line]
    return {Path(path).name: f"{genre}|{model}" for path, genre, model in rows}


def file_genre(path: Path) -> list[str] | None:
    return mutagen.File(path).tags.get("GENRE")


def test_beet_genrekit_sets_and_writes_genres_and_keeps_a_persons(tmp_path):
    env, files = beets_home(tmp_path, auto=False)
    beet(env, "import", "-A", "-q", str(files["person"].parent))
    before = {role: path.read_bytes() for role, path in files.items()}

    pretend = beet(env, "genrekit", "--pretend")
    assert "→ Jazz" in pretend  # the ragtime excerpt is jazz to the default model
    assert all(path.read_bytes() == before[role] for role, path in files.items())
    assert genres(env)[EXAMPLES["untagged"]] == "|$genrekit_model"  # nothing stored

    output = beet(env, "genrekit")
    assert "set by a person" in output
    stored = genres(env)
    assert stored[EXAMPLES["untagged"]] == "Jazz|musicnn-lda"
    assert stored[EXAMPLES["person"]] == "Jazz|$genrekit_model"  # kept, not claimed
    assert file_genre(files["untagged"]) == ["Jazz"]  # beets wrote it (import.write: yes)
    assert files["person"].read_bytes() == before["person"]

    forced = beet(env, "genrekit", "--force", "--nowrite", "title:Vibe Ace")
    assert "Vibe Ace" in forced
    assert genres(env)[EXAMPLES["person"]].endswith("|musicnn-lda")
    assert files["person"].read_bytes() == before["person"]  # -W: the database only


def test_import_hook_classifies_new_items(tmp_path):
    env, files = beets_home(tmp_path, auto=True)
    beet(env, "import", "-A", "-q", str(files["person"].parent))
    stored = genres(env)
    assert stored[EXAMPLES["untagged"]] == "Jazz|musicnn-lda"
    assert stored[EXAMPLES["person"]] == "Jazz|$genrekit_model"
    assert file_genre(files["untagged"]) == ["Jazz"]


def test_beet_genrekit_learn_teaches_a_model_from_the_items_genres(tmp_path):
    """Real beets: 12 GTZAN clips by 2+ artists per genre, tagged as people spell genres; the
    query's items teach a personal model; nothing in the library or the files changes."""
    import csv

    env, _ = beets_home(tmp_path, auto=False)
    music = tmp_path / "tagged"
    music.mkdir()
    artist_of = {r["id"]: r["artist"] for r in csv.DictReader((DATA / "gtzan_artists.csv").open())}
    for label, spellings in (("classical", ["Classical", "classical"]), ("metal", ["Metal"])):
        for n, clip in enumerate(sorted((DATA / "gtzan" / label).glob("*.flac"))[:6]):
            copy = music / clip.name
            shutil.copyfile(clip, copy)
            audio = mutagen.File(copy)
            audio["GENRE"] = spellings[n % len(spellings)]
            audio["ARTIST"] = f"artist {artist_of[clip.stem]}"
            audio["TITLE"] = clip.stem
            audio.save()
    beet(env, "import", "-A", "-q", str(music))
    before = {p: p.read_bytes() for p in music.iterdir()}
    output = beet(env, "genrekit-learn", "-o", str(tmp_path / "mine"))
    assert "learned: classical: 6 songs" in output and "(from 'Classical' ×3, 'classical' ×3)" in (
        output
    )
    assert "accuracy" in output and (tmp_path / "mine" / "manifest.json").is_file()
    assert {p: p.read_bytes() for p in music.iterdir()} == before
    stored = beet(env, "ls", "-f", "$genrekit_model|$genres").splitlines()
    assert len(stored) == 12 and all(line.startswith("$genrekit_model|") for line in stored)
