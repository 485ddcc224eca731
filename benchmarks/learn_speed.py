"""Learning from a library's tags at library size: ``learn --db`` on a catalog of N songs.

The catalog is generated: N songs with embeddings of the default's width (clusters per genre,
spread per artist, so the estimate has something to find), genre tags in 20 genres with messy
spellings, 1 artist per 10 songs, and a (tiny) file on disk for each, since learning leaves out
songs that are gone. Timed: ``genrekit.teach.from_tags.learn_from_catalog`` end to end —
reading the catalog, labels, the artist-grouped estimate, calibration, the rejector and saving
the bundle — in this process, like the command.

    python benchmarks/learn_speed.py [--songs 10000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import git_revision, machine, save_result

from genrekit.library.catalog import model_key
from genrekit.library.store import name_bytes, open_catalog
from genrekit.predict import Classifier
from genrekit.teach.from_tags import learn_from_catalog

GENRES = 20
SONGS_PER_ARTIST = 10


def generated_catalog(db: Path, music: Path, songs: int, seed: int = 0) -> None:
    classifier = Classifier.load()
    width = len(classifier.features.columns)
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 1.0, (GENRES, width))
    artists = songs // SONGS_PER_ARTIST
    genre_of_artist = rng.integers(0, GENRES, artists)
    artist_offset = rng.normal(0.0, 0.7, (artists, width))
    connection = open_catalog(db)
    with connection:
        connection.execute(
            "INSERT OR REPLACE INTO meta VALUES ('model', ?)", (model_key(classifier),)
        )
        for n in range(songs):
            artist = n % artists
            genre = int(genre_of_artist[artist])
            embedding = centres[genre] + artist_offset[artist] + rng.normal(0.0, 1.0, width)
            path = music / f"{n}.flac"
            path.touch()
            spelling = [f"Genre {genre}", f"genre-{genre}", f"GENRE {genre} "][n % 3]
            connection.execute(
                "INSERT INTO tracks (path, size, mtime, sha256, status, tag_genres, artist, "
                "embedding, indexed_at) VALUES (CAST(? AS TEXT), 0, 0, '', 'ok', ?, ?, ?, '')",
                (
                    name_bytes(path),
                    json.dumps([spelling]),
                    f"artist {artist}",
                    embedding.astype(np.float32).tobytes(),
                ),
            )
    connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        music = Path(folder) / "music"
        music.mkdir()
        db = Path(folder) / "library.sqlite"
        generated_catalog(db, music, args.songs)
        started = time.perf_counter()
        learned = learn_from_catalog(db, Path(folder) / "model")
        seconds = time.perf_counter() - started
    save_result(
        "learn_speed",
        {
            "songs": args.songs,
            "labels": len(learned.result.labels),
            "seconds": round(seconds, 1),
            "estimate": {"protocol": learned.result.protocol, "accuracy": learned.result.accuracy},
            "what": "learn_from_catalog end to end on a generated catalog (see the docstring)",
            "machine": machine(),
            "revision": git_revision(),
            "command": f"python benchmarks/learn_speed.py --songs {args.songs}",
        },
    )


if __name__ == "__main__":
    main()
