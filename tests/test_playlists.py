"""Playlists players open: M3U8 and XSPF from the catalog, every entry a playable file."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from urllib.parse import unquote, urlparse

import av
import mutagen
import pytest
from typer.testing import CliRunner

from genrekit.cli import app
from genrekit.errors import ConfigError
from genrekit.library import playlists

runner = CliRunner()


def m3u_songs(path: Path) -> list[tuple[str, Path]]:
    """(#EXTINF line, resolved path) pairs, parsed here as a player would."""
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#EXTM3U"
    pairs = list(zip(lines[1::2], lines[2::2]))
    return [(info, (path.parent / song).resolve()) for info, song in pairs]


def xspf_songs(path: Path) -> list[Path]:
    root = ElementTree.parse(path).getroot()
    assert root.tag == "{http://xspf.org/ns/0/}playlist"
    locations = [e.text or "" for e in root.iter("{http://xspf.org/ns/0/}location")]
    return [
        Path(unquote(urlparse(loc).path))
        if loc.startswith("file:")
        else (path.parent / unquote(loc)).resolve()
        for loc in locations
    ]


def assert_playable(paths: list[Path]) -> None:
    """Every entry opens and decodes (PyAV's ffmpeg), and in ffprobe when it is installed."""
    for path in paths:
        assert path.is_file(), path
        with av.open(str(path)) as container:
            assert next(container.decode(audio=0)).samples > 0
        if shutil.which("ffprobe"):
            subprocess.run(["ffprobe", "-v", "error", str(path)], check=True)


def test_similar_and_recommend_write_playable_playlists(library, tmp_path):
    music, db = library
    query = music / "tones" / "tones0.wav"
    m3u, xspf = tmp_path / "like.m3u8", tmp_path / "like.xspf"
    result = runner.invoke(
        app,
        ["similar", str(query), "--db", str(db), "-k", "4", "--m3u", str(m3u), "--xspf", str(xspf)],
    )
    assert result.exit_code == 0, result.output
    songs = m3u_songs(m3u)
    assert songs[0][1] == query.resolve()  # starts at the song asked about
    assert len(songs) == 5 and all(info.startswith("#EXTINF:3,") for info, _ in songs)
    assert not Path(m3u.read_text().splitlines()[2]).is_absolute()  # relative by default
    assert xspf_songs(xspf) == [p for _, p in songs]
    assert_playable([p for _, p in songs])

    mix = tmp_path / "mix.xspf"
    result = runner.invoke(
        app,
        ["recommend", str(query), "--db", str(db), "-k", "3", "--xspf", str(mix), "--absolute"],
    )
    assert result.exit_code == 0, result.output
    assert len(xspf_songs(mix)) == 3 and "file:///" in mix.read_text()
    assert_playable(xspf_songs(mix))


def test_genre_and_drift_playlists_from_the_command_line(library, tmp_path):
    music, db = library
    genre = playlists.of_genre  # the genre the model gave the first track
    from genrekit.library.similarity import Catalog

    catalog = Catalog.load(db)
    first_genre = next(g for g in catalog.genres if g)
    out = tmp_path / f"{first_genre}.m3u8"
    result = runner.invoke(
        app, ["playlist", "--db", str(db), "--genre", first_genre.upper(), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    songs = [p for _, p in m3u_songs(out)]
    expected = {Path(p) for p, g in zip(catalog.paths, catalog.genres) if g == first_genre}
    assert set(songs) == expected and len(genre(db, first_genre)) == len(expected)

    drift = tmp_path / "drift.m3u8"
    start = music / "beats" / "beats0.wav"
    absolute = ["--absolute", "-n", "6"]
    result = runner.invoke(
        app, ["playlist", "--db", str(db), "--like", str(start), "-o", str(drift), *absolute]
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in drift.read_text().splitlines() if not line.startswith("#")]
    assert Path(lines[0]) == start.resolve() and all(Path(line).is_absolute() for line in lines)
    assert len(lines) == 6 and len(set(lines)) == 6  # no repeats
    assert_playable([Path(line) for line in lines])

    for bad, reason in [
        (["--genre", "jazz", "--like", "1"], "either --genre or --like"),
        (["--genre", "polka"], "no track of genre 'polka'"),
        (["--like", "/no/such.mp3"], "neither in the catalog nor an audio file"),
    ]:
        result = runner.invoke(app, ["playlist", "--db", str(db), "-o", str(out), *bad])
        assert result.exit_code == 2 and reason in result.output, result.output
    result = runner.invoke(
        app, ["playlist", "--db", str(db), "--genre", first_genre, "-o", str(tmp_path / "x.txt")]
    )
    assert result.exit_code == 2 and "must end in .m3u" in result.output


def test_drift_never_plays_one_artist_twice_in_a_row(library, monkeypatch):
    _, db = library
    from genrekit.library.similarity import Catalog

    paths = Catalog.load(db).paths
    # Two artists for half the catalog each, in an order that similarity alone would repeat.
    artist_of = {p: ("A" if i % 2 else "B") for i, p in enumerate(sorted(paths))}
    real_entry = playlists.entry

    def tagged(path):
        song = real_entry(path)
        return playlists.Entry(song.path, song.title, artist_of.get(str(path)), song.seconds)

    monkeypatch.setattr(playlists, "entry", tagged)
    songs = playlists.drift(db, paths[0], length=len(paths))
    artists = [song.artist for song in songs]
    assert len({s.path for s in songs}) == len(paths)
    alternating = 2 * min(artists.count("A"), artists.count("B"))  # then one artist is left
    assert all(a != b for a, b in itertools.pairwise(artists[:alternating]))


def test_titles_and_artists_come_from_tags_else_the_file_name(tmp_path, media):
    tagged = tmp_path / "tagged.flac"
    shutil.copyfile(media["flac"], tagged)
    audio = mutagen.File(tagged, easy=True)
    audio["title"], audio["artist"] = "Só Danço Samba", "Stan Getz"
    audio.save()
    plain = tmp_path / "plain song.wav"
    shutil.copyfile(media["wav"], plain)
    out = playlists.write(playlists.entries([tagged, plain]), tmp_path / "x.m3u8").path
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[1] == "#EXTINF:5,Stan Getz - Só Danço Samba" and lines[3] == "#EXTINF:5,plain song"
    assert playlists.read(out).songs == [tmp_path / "tagged.flac", tmp_path / "plain song.wav"]
    xspf = playlists.write(playlists.entries([plain]), tmp_path / "sub" / "y.xspf").path
    assert playlists.read(xspf).songs == [xspf.parent / "../plain song.wav"]
    with pytest.raises(ConfigError, match="no songs"):
        playlists.write([], tmp_path / "empty.m3u8")


def test_tags_and_names_cannot_inject_entries_and_xspf_stays_valid_xml(tmp_path, media):
    """A title holding line breaks, a file name with a line break, one starting with '#', one
    with a control character: no extra lines, no lost songs that fit, valid XML, and the reader
    gives back exactly the real files."""
    import xml.etree.ElementTree as ElementTree

    injected = tmp_path / "injected.flac"
    shutil.copyfile(media["flac"], injected)
    audio = mutagen.File(injected, easy=True)
    audio["title"] = "Nice song\n/etc/passwd\nhttp://example.invalid/x.mp3"
    audio["artist"] = "Band\x01"
    audio.save()
    hashed = tmp_path / "#hash.wav"
    shutil.copyfile(media["wav"], hashed)
    broken_name = tmp_path / "two\nlines.wav"
    shutil.copyfile(media["wav"], broken_name)
    songs = playlists.entries([injected, hashed, broken_name])

    m3u = playlists.write(songs, tmp_path / "list.m3u8")
    assert len(m3u.left_out) == 1 and "line break" in m3u.left_out[0]
    text = m3u.path.read_text(encoding="utf-8")
    assert "\n/etc/passwd" not in text and "\nhttp" not in text
    assert len(text.splitlines()) == 5  # header + two songs, two lines each
    assert playlists.read(m3u.path).songs == [injected, hashed]

    xspf = playlists.write(songs, tmp_path / "list.xspf")
    ElementTree.fromstring(xspf.path.read_text(encoding="utf-8"))  # well-formed
    assert playlists.read(xspf.path).songs == [injected, hashed, broken_name]


def test_the_reader_takes_only_regular_files(tmp_path, media):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    song = tmp_path / "song.wav"
    shutil.copyfile(media["wav"], song)
    listing = tmp_path / "mixed.m3u"
    listing.write_text(f"{song}\n{fifo}\n/dev/zero\n{tmp_path}\nhttp://host/a.mp3\ngone.wav\n")
    read = playlists.read(listing)
    assert read.songs == [song]
    reasons = [error.reason for error in read.refused]
    assert reasons == [
        "not a regular file (a device or a pipe)",
        "not a regular file (a device or a pipe)",
        "a folder",
        "not a file (a URL)",
        "no such file",
    ]
