"""The music library: incremental, resumable indexing and similarity search."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile
from conftest import make_library, music_like, tone
from typer.testing import CliRunner

from genrekit.cli import app
from genrekit.errors import ConfigError
from genrekit.library.catalog import index_folder
from genrekit.library.similarity import recommend, similar
from genrekit.library.store import open_catalog

runner = CliRunner()


def rows(db):
    connection = open_catalog(db)  # names read back as Python's own (any bytes)
    found = connection.execute("SELECT path, status, genre FROM tracks ORDER BY path").fetchall()
    connection.close()
    return found


def test_incremental_indexing(tmp_path, broken):
    music = make_library(tmp_path / "music")
    shutil.copy(broken["not_audio"], music / "beats" / "broken.mp3")
    db = tmp_path / "lib.sqlite"
    first = index_folder(music, db, progress=False)
    assert (first.indexed, first.skipped, first.failed) == (6, 0, 1)
    failed = [r for r in rows(db) if r[1] == "failed"]
    assert [r[0].endswith("broken.mp3") for r in failed] == [True]
    again = index_folder(music, db, progress=False)
    assert (again.indexed, again.skipped, again.failed) == (0, 7, 0)  # failures not retried
    touched = music / "tones" / "tones0.wav"
    os.utime(touched, (time.time() + 10, time.time() + 10))  # new mtime, same content
    changed = music / "tones" / "tones1.wav"
    soundfile.write(changed, tone(3.0, 22050, 500.0)[:, 0], 22050)
    (music / "beats" / "broken.mp3").unlink()
    soundfile.write(music / "beats" / "broken.mp3", music_like(3.0, seed=9), 22050, format="MP3")
    third = index_folder(music, db, progress=False)
    assert (third.indexed, third.skipped, third.failed) == (2, 5, 0)
    assert len(rows(db)) == 7 and all(status == "ok" for _, status, _ in rows(db))
    # Moving a song (same content, new path) carries its analysis along: no new analysis,
    # no duplicate row, the same track id.
    with sqlite3.connect(db) as connection:
        before = connection.execute(
            "SELECT id, genre FROM tracks WHERE path LIKE '%tones2.wav'"
        ).fetchone()
    (music / "moved").mkdir()
    (music / "tones" / "tones2.wav").rename(music / "moved" / "renamed.wav")
    fourth = index_folder(music, db, progress=False)
    assert (fourth.indexed, fourth.moved, fourth.failed) == (0, 1, 0)
    with sqlite3.connect(db) as connection:
        after = connection.execute(
            "SELECT id, genre FROM tracks WHERE path LIKE '%renamed.wav'"
        ).fetchone()
    assert after == before and len(rows(db)) == 7


def test_unreadable_and_damaged_files_never_stop_an_index_run(tmp_path, broken, monkeypatch):
    import genrekit.library.catalog

    music = make_library(tmp_path / "music", per_genre=1)
    shutil.copy(broken["nan"], music / "beats" / "nan.wav")
    locked = music / "tones" / "locked.wav"
    shutil.copy(music / "tones" / "tones0.wav", locked)
    real_hash = genrekit.library.catalog.file_sha256

    def unreadable(path):
        if path.name == "locked.wav":
            raise PermissionError(13, "Permission denied")
        return real_hash(path)

    monkeypatch.setattr(genrekit.library.catalog, "file_sha256", unreadable)
    db = tmp_path / "lib.sqlite"
    for _ in range(2):  # the rerun must not stop at the same file either
        summary = index_folder(music, db, progress=False)
    by_name = {os.path.basename(path): (status, genre) for path, status, genre in rows(db)}
    assert by_name["nan.wav"][0] == "failed" and by_name["locked.wav"][0] == "failed"
    assert by_name["beats0.wav"][0] == by_name["tones0.wav"][0] == "ok"
    with sqlite3.connect(db) as connection:
        reason = connection.execute(
            "SELECT error FROM tracks WHERE path LIKE '%locked.wav'"
        ).fetchone()[0]
    assert reason == "cannot be read (Permission denied)"
    assert summary.failed == 1  # the damaged file is not retried while unchanged; the locked is
    monkeypatch.setattr(genrekit.library.catalog, "file_sha256", real_hash)  # permission given back
    fixed = index_folder(music, db, progress=False)
    assert (fixed.indexed, fixed.failed) == (1, 0)
    assert {os.path.basename(p): s for p, s, _ in rows(db)}["locked.wav"] == "ok"


def test_file_names_that_are_not_utf8_are_indexed_featurized_and_shown_escaped(tmp_path):
    music = tmp_path / "music"
    music.mkdir()
    odd = os.fsdecode(bytes(music) + b"/caf\xe9.wav")
    soundfile.write(os.fsencode(odd), music_like(seconds=6.0), 22050)
    runner = CliRunner()
    table = runner.invoke(app, ["features", str(music), "-o", str(tmp_path / "t.csv")])
    assert table.exit_code == 0, table.output
    assert "caf\\xe9" in (tmp_path / "t.csv").read_text()
    db = tmp_path / "lib.sqlite"
    for expected in (1, 0):  # stored losslessly: the second run finds it unchanged
        result = runner.invoke(app, ["index", str(music), "--db", str(db)])
        assert result.exit_code == 0 and f"{expected} indexed" in result.output, result.output
    [(path, status, _)] = rows(db)
    assert path == odd and status == "ok" and os.path.exists(path)


def test_paths_through_dot_dot_or_links_are_one_track(tmp_path):
    music = make_library(tmp_path / "music", per_genre=1)
    (tmp_path / "link").symlink_to(music)
    db = tmp_path / "lib.sqlite"
    index_folder(music, db, progress=False)
    again = index_folder(tmp_path / "link" / ".." / "music", db, progress=False)
    via_link = index_folder(tmp_path / "link", db, progress=False)
    assert again.indexed == via_link.indexed == 0 and len(rows(db)) == 2


def _indexed_so_far(db):
    """Tracks in a catalog another process is writing (0 until its schema is committed)."""
    try:
        return len(rows(db))
    except sqlite3.OperationalError:
        return 0


def test_two_indexers_creating_one_catalog_at_once_both_succeed(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from genrekit.library.store import open_catalog

    def create_and_close(db):
        open_catalog(db).close()

    for attempt in range(20):
        db = tmp_path / f"fresh{attempt}.sqlite"
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(create_and_close, [db] * 4))  # raises if any of them failed
        with sqlite3.connect(db) as connection:
            assert connection.execute("SELECT COUNT(*) FROM meta").fetchone() == (1,)


INDEXER = """
import json, sys
from genrekit.library.catalog import index_folder
summary = index_folder(sys.argv[1], sys.argv[2], progress=False)
print(json.dumps([summary.indexed, summary.busy]))
"""


def test_two_indexers_on_one_catalog_share_the_work(tmp_path):
    """Two processes indexing the same folder into the same catalog at once: each file is
    analysed by one of them (claims in the catalog), none twice, and the catalog is whole."""
    music = make_library(tmp_path / "music", per_genre=4)
    db = tmp_path / "shared.sqlite"
    index_folder(music / "beats", db, progress=False)  # the catalog exists, with its model
    runs = [
        subprocess.Popen([sys.executable, "-c", INDEXER, str(music), str(db)],
                         stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]  # fmt: skip
    results = [json.loads(run.communicate(timeout=300)[0].strip().splitlines()[-1]) for run in runs]
    assert all(run.returncode == 0 for run in runs)
    indexed, busy = (sum(column) for column in zip(*results))
    assert indexed == 4  # the four tones, each once
    assert indexed + busy >= 4
    assert len(rows(db)) == 8
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT COUNT(*) FROM claims").fetchone() == (0,)


def test_killed_run_resumes_without_duplicates(tmp_path):
    music = make_library(tmp_path / "music", per_genre=8, seconds=6.0)
    db = tmp_path / "lib.sqlite"
    command = [
        sys.executable,
        "-m",
        "genrekit.cli",
        "index",
        str(music),
        "--db",
        str(db),
        "-j",
        "1",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if db.exists() and _indexed_so_far(db) >= 3:
            break
        time.sleep(0.2)
    assert process.poll() is None, "indexing finished before it could be interrupted"
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before = len(rows(db))
    assert 3 <= done_before < 16
    summary = index_folder(music, db, progress=False)
    assert summary.skipped == done_before and summary.indexed == 16 - done_before
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        paths = [r[0] for r in connection.execute("SELECT path FROM tracks")]
    assert len(paths) == len(set(paths)) == 16


def test_similar_finds_the_twin_of_an_outside_file_and_its_own_kind(library, tmp_path):
    music, db = library
    outside = tmp_path / "query.wav"
    shutil.copy(music / "tones" / "tones2.wav", outside)
    neighbours = similar(db, outside, k=4)
    assert neighbours[0].path == str(music / "tones" / "tones2.wav")
    assert neighbours[0].score == pytest.approx(1.0, abs=1e-5)
    assert all("/tones/" in n.path for n in neighbours)
    inside = similar(db, str(music / "beats" / "beats0.wav"), k=4)
    assert str(music / "beats" / "beats0.wav") not in [n.path for n in inside]
    assert sum("/beats/" in n.path for n in inside) >= 3
    genre = inside[0].genre
    assert all(n.genre == genre for n in similar(db, inside[0].id, k=3, genre=genre))


def test_recommend_from_a_playlist(library):
    music, db = library
    seeds = [str(music / "beats" / "beats0.wav"), str(music / "beats" / "beats1.wav")]
    suggestions = recommend(db, seeds, k=3)
    assert len(suggestions) <= 3 and not {n.path for n in suggestions} & set(seeds)
    seed_genres = {g for p, _, g in rows(db) if p in seeds}
    assert {n.genre for n in suggestions} <= seed_genres
    with pytest.raises(ConfigError, match="neither in the catalog nor an audio file"):
        recommend(db, ["/nowhere.wav"])


def test_recommend_starts_from_a_new_song(library, tmp_path):
    """The seed projects' flow: upload a song that is not in the library, get suggestions."""
    music, db = library
    new_song = tmp_path / "new.wav"
    shutil.copy(music / "beats" / "beats0.wav", new_song)
    suggestions = recommend(db, [str(new_song)], k=2, match_genres=False)
    assert suggestions[0].path == str((music / "beats" / "beats0.wav").resolve())


def test_cli_similar_json_and_errors(library, broken):
    music, db = library
    result = runner.invoke(
        app, ["similar", str(music / "tones" / "tones0.wav"), "--db", str(db), "-k", "2", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 2
    result = runner.invoke(app, ["similar", str(broken["silent"]), "--db", str(db)])
    assert result.exit_code == 2 and "silent" in result.stderr
    result = runner.invoke(app, ["similar", "999", "--db", str(db)])
    assert result.exit_code == 2 and "no track with id 999" in result.stderr
    result = runner.invoke(app, ["similar", "1", "--db", str(db), "--genre", "Polka"])
    assert result.exit_code == 2 and "no track of genre 'Polka'" in result.stderr


def test_catalog_versions_and_models_are_checked(tmp_path, library):
    db = tmp_path / "future.sqlite"
    connection = open_catalog(db)
    with connection:
        connection.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    connection.close()
    with pytest.raises(ConfigError, match="newer"):
        open_catalog(db)
    music, indexed = library
    connection = open_catalog(indexed)
    (model,) = connection.execute("SELECT value FROM meta WHERE key = 'model'").fetchone()
    with connection:
        connection.execute("UPDATE meta SET value = 'other/model' WHERE key = 'model'")
    connection.close()
    try:
        with pytest.raises(ConfigError, match="indexed with other/model"):
            index_folder(music, indexed, progress=False)
    finally:
        connection = open_catalog(indexed)
        with connection:
            connection.execute("UPDATE meta SET value = ? WHERE key = 'model'", (model,))
        connection.close()
    assert np.isfinite([n.score for n in similar(indexed, 1, k=2)]).all()


def test_api_similar_songs(library, broken):
    from fastapi.testclient import TestClient

    from genrekit.api import create_app

    music, db = library
    client = TestClient(create_app(library=db))
    query = (music / "beats" / "beats3.wav").read_bytes()
    response = client.post("/v1/similar", params={"k": 3}, files={"file": ("q.wav", query)})
    assert response.status_code == 200
    neighbours = response.json()["neighbours"]
    assert neighbours[0]["path"] == str(music / "beats" / "beats3.wav")
    assert neighbours[0]["score"] == pytest.approx(1.0, abs=1e-5) and len(neighbours) == 3
    silent = client.post("/v1/similar", files={"file": ("s.flac", broken["silent"].read_bytes())})
    assert silent.status_code == 422 and silent.json()["error"]["type"] == "silent"
    for kind in ("nan", "not_audio"):
        bad = client.post("/v1/similar", files={"file": ("x.wav", broken[kind].read_bytes())})
        assert 400 <= bad.status_code < 500, (kind, bad.text)
        assert "error" in bad.json()
    no_library = TestClient(create_app()).post("/v1/similar", files={"file": ("q.wav", query)})
    assert no_library.status_code == 404


def test_web_app_lists_similar_songs(library, monkeypatch):
    from conftest import REPO
    from streamlit.testing.v1 import AppTest

    music, db = library
    monkeypatch.setenv("GENREKIT_LIBRARY", str(db))
    at = AppTest.from_file(str(REPO / "src" / "genrekit" / "webapp.py"), default_timeout=120)
    at.run()
    clip = (music / "tones" / "tones4.wav").read_bytes()
    at.file_uploader(key="uploads").set_value(("mine.wav", clip, "audio/wav")).run()
    assert not at.exception
    assert "Similar songs in your library" in [s.value for s in at.subheader]
    songs = [m.value for m in at.markdown if "% match" in m.value]
    assert songs[0].startswith("**tones4** · ") and songs[0].endswith("100% match")  # its twin
    assert all(str(music) not in song for song in songs)  # names, not paths


def test_library_map_is_stored_and_redrawn_only_when_the_catalog_changes(library, tmp_path):
    from genrekit.library.music_map import library_map

    _music, db = library
    copy = tmp_path / "lib.sqlite"
    shutil.copyfile(db, copy)
    first = library_map(copy)
    assert len(first) == 10 and {"name", "genre", "confidence", "x", "y"} <= set(first.columns)
    assert first["name"].str.startswith(("tones", "beats")).all()
    with sqlite3.connect(copy) as connection:
        connection.execute("UPDATE track_map SET x = 1234.5")  # a mark: was it reused?
    assert (library_map(copy)["x"] == 1234.5).all()
    with sqlite3.connect(copy) as connection:  # one track fewer: the catalog changed
        connection.execute("DELETE FROM tracks WHERE id = (SELECT max(id) FROM tracks)")
    again = library_map(copy)
    assert len(again) == 9 and not (again["x"] == 1234.5).any()
    # Similar songs sit together: each synthetic song's nearest dot is of its own kind.
    xy = first[["x", "y"]].to_numpy()
    kinds = first["name"].str[:5].to_numpy()
    distances = np.linalg.norm(xy[:, None] - xy[None], axis=2) + np.eye(len(xy)) * 1e9
    assert (kinds[distances.argmin(axis=1)] == kinds).mean() >= 0.8


def test_library_page_filters_plays_and_lists_like_songs(library, monkeypatch):
    from conftest import REPO
    from streamlit.testing.v1 import AppTest

    _music, db = library
    monkeypatch.setenv("GENREKIT_LIBRARY", str(db))
    at = AppTest.from_file(str(REPO / "src" / "genrekit" / "webapp.py"), default_timeout=180)
    at.run()
    at.radio(key="page").set_value("Library").run()
    assert not at.exception

    def count_line():
        return next(m.value for m in at.markdown if " songs. Each dot is a song" in m.value)

    assert count_line().startswith("10 of 10 songs")
    genres = at.multiselect(key="map_genres").options
    at.multiselect(key="map_genres").set_value([]).run()
    assert count_line().startswith("0 of 10 songs")
    at.multiselect(key="map_genres").set_value(genres).run()
    pick = at.selectbox(key="map_pick")
    tones4 = next(o for o in pick.options if o.startswith("tones4"))
    pick.set_value(pick.options[pick.options.index(tones4)]).run()
    assert not at.exception
    assert "tones4" in [s.value for s in at.subheader]
    assert "Songs like it" in [s.value for s in at.subheader]
    assert any("% match" in m.value for m in at.markdown)


def catalog_rows(db):
    with sqlite3.connect(db) as connection:
        return connection.execute(
            "SELECT path, status, genre, probabilities, embedding, duration FROM tracks "
            "ORDER BY path"
        ).fetchall()


def test_dask_cluster_results_match_the_single_process_run(library, tmp_path):
    from dask.distributed import LocalCluster

    music, single = library  # indexed with workers=2 (a local cluster); redo in-process too
    in_process = tmp_path / "one.sqlite"
    index_folder(music, in_process, workers=1, progress=False)
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        remote = tmp_path / "remote.sqlite"
        summary = index_folder(music, remote, scheduler=cluster.scheduler_address, progress=False)
    assert summary.indexed == 10
    assert catalog_rows(remote) == catalog_rows(in_process) == catalog_rows(single)


def test_approximate_index_agrees_with_exact_and_is_reused(library):
    from genrekit.library.similarity import Catalog

    music, db = library
    exact = Catalog.load(db, ann=False)
    approximate = Catalog.load(db, ann=True)
    index_file = db.with_name(db.name + ".hnsw")
    built = index_file.stat().st_mtime_ns
    for row in range(len(exact.ids)):
        query, me = exact.vectors[row], {int(exact.ids[row])}
        assert [n.id for n in approximate.nearest(query, 5, exclude=me)] == [
            n.id for n in exact.nearest(query, 5, exclude=me)
        ]
    genre = exact.genres[0]
    assert all(n.genre == genre for n in approximate.nearest(exact.vectors[0], 3, genre=genre))
    Catalog.load(db, ann=True)
    assert index_file.stat().st_mtime_ns == built  # same catalog: the saved index is reused
    with sqlite3.connect(db) as connection:
        connection.execute("DELETE FROM tracks WHERE id = (SELECT max(id) FROM tracks)")
    try:
        Catalog.load(db, ann=True)
        assert index_file.stat().st_mtime_ns != built  # catalog changed: index rebuilt
    finally:
        index_folder(music, db, progress=False)  # restore the deleted track for other tests


def test_catalog_records_confidence_typicality_and_styles_and_upgrades_old_ones(tmp_path, library):
    import genrekit.library.store as lib

    _, db = library
    with sqlite3.connect(db) as connection:
        stored = connection.execute(
            "SELECT genre, confidence, typicality, known, styles FROM tracks WHERE status = 'ok'"
        ).fetchall()
    for genre, confidence, typicality, known, styles in stored:
        assert 0 < confidence <= 1 and 0 <= typicality <= 1 and known in (0, 1)
        assert (genre == "unknown") == (known == 0) and isinstance(json.loads(styles), dict)
    old = tmp_path / "v1.sqlite"
    v1_schema = lib._SCHEMA
    for column in lib._ADDED:
        v1_schema = v1_schema.replace(f"    {column} ", f"    -- {column} ")
    with sqlite3.connect(old) as connection:
        connection.executescript(v1_schema)
        connection.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    upgraded = lib.open_catalog(old)
    columns = {row[1] for row in upgraded.execute("PRAGMA table_info(tracks)")}
    version = upgraded.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
    upgraded.close()
    assert set(lib._ADDED) <= columns and version == str(lib.SCHEMA_VERSION)


def test_clusters_find_the_kinds_of_music_name_them_and_replace_the_last_run(library, tmp_path):
    _, db = library
    runner = CliRunner()
    result = runner.invoke(app, ["clusters", "--db", str(db), "-k", "2", "--m3u-dir",
                                 str(tmp_path / "mixes")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2 groups, as asked" in result.output
    connection = open_catalog(db)
    rows = connection.execute(
        "SELECT t.path, c.cluster, c.name FROM clusters c JOIN tracks t ON t.id = c.track"
    ).fetchall()
    connection.close()
    by_kind = {}
    for path, cluster, _ in rows:
        by_kind.setdefault(os.path.basename(os.path.dirname(path)), set()).add(cluster)
    assert by_kind["beats"] != by_kind["tones"] and all(len(c) == 1 for c in by_kind.values())
    assert len(rows) == 10 and len({name for _, _, name in rows}) == 2
    playlists_written = sorted((tmp_path / "mixes").glob("*.m3u8"))
    assert len(playlists_written) == 2
    from genrekit.library.playlists import read

    assert sum(len(read(p).songs) for p in playlists_written) == 10
    again = runner.invoke(app, ["clusters", "--db", str(db), "-k", "2"])
    listed = [line for line in result.output.splitlines() if not line.startswith("playlist")]
    assert again.output.splitlines() == listed  # the same catalog, the same groups
    connection = open_catalog(db)
    assert connection.execute("SELECT count(*) FROM clusters").fetchone()[0] == 10  # replaced
    connection.close()
    auto = runner.invoke(app, ["clusters", "--db", str(db)])
    assert auto.exit_code == 0 and "highest silhouette" in auto.output


def test_clusters_refuse_what_cannot_be_grouped(library, tmp_path):
    _, db = library
    runner = CliRunner()
    for arguments, reason in [
        (["-k", "1"], "at least 2 groups"),
        (["-k", "50"], "more groups than the catalog's 10 songs"),
        (["-k", "many"], "give a number of groups"),
    ]:
        result = runner.invoke(app, ["clusters", "--db", str(db), *arguments])
        assert result.exit_code == 2 and reason in result.output, result.output
    missing = runner.invoke(app, ["clusters", "--db", str(tmp_path / "none.sqlite")])
    assert missing.exit_code == 2 and "no such catalog" in missing.output
    empty = tmp_path / "empty.sqlite"
    open_catalog(empty).close()
    result = runner.invoke(app, ["clusters", "--db", str(empty)])
    assert result.exit_code == 2 and "no analysed songs yet" in result.output
