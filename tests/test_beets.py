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
