"""Commands over a library catalog: ``index``, ``similar``, ``recommend`` and ``clusters``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from genrekit.cli.common import (
    AbsoluteOption,
    DbOption,
    FullOption,
    M3uOption,
    ModelOption,
    WorkersOption,
    XspfOption,
    command,
    fail,
    write_playlists,
)


@command()
def index(
    folder: Annotated[Path, typer.Argument(help="Music folder to index")],
    db: DbOption = Path("library.sqlite"),
    model: ModelOption = None,
    workers: WorkersOption = 2,
    full: FullOption = False,
) -> None:
    """Index a music folder: genre, embedding and metadata of every track (resumable)."""
    from genrekit.library.catalog import index_folder

    summary = index_folder(folder, db, model=model, workers=workers, full=full)
    typer.echo(
        f"{db}: {summary.indexed} indexed, {summary.skipped} unchanged, {summary.moved} moved, "
        f"{summary.failed} failed"
        + (f", {summary.busy} left to another indexer" if summary.busy else "")
    )


def _print_neighbours(neighbours: list, as_json: bool) -> None:
    from dataclasses import asdict

    if as_json:
        typer.echo(json.dumps([asdict(n) for n in neighbours], indent=2))
        return
    for n in neighbours:
        typer.echo(f"{n.score:6.3f}  {n.genre or '?':10s}  {n.path}  (#{n.id})")


@command()
def similar(
    query: Annotated[str, typer.Argument(help="Audio file, or a catalog track id or path")],
    db: DbOption = Path("library.sqlite"),
    k: Annotated[int, typer.Option("-k", min=1, help="How many")] = 10,
    genre: Annotated[str | None, typer.Option(help="Only tracks predicted as this")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
    ann: Annotated[
        bool | None,
        typer.Option("--ann/--exact", help="Force approximate or exact search [by size]"),
    ] = None,
    m3u: M3uOption = None,
    xspf: XspfOption = None,
    absolute: AbsoluteOption = False,
) -> None:
    """Songs most like QUERY, by cosine similarity of their embeddings."""
    from genrekit.library.similarity import similar as find_similar

    neighbours = find_similar(db, query, k=k, genre=genre, ann=ann)
    _print_neighbours(neighbours, as_json)
    start = [query] if Path(query).is_file() else []
    write_playlists([*start, *(n.path for n in neighbours)], m3u, xspf, absolute)


@command()
def recommend(
    seeds: Annotated[
        list[str],
        typer.Argument(help="Songs you like: catalog track ids or paths, or any audio files"),
    ],
    db: DbOption = Path("library.sqlite"),
    k: Annotated[int, typer.Option("-k", min=1, help="How many")] = 10,
    any_genre: Annotated[
        bool, typer.Option(help="Do not limit suggestions to the seeds' genres")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
    m3u: M3uOption = None,
    xspf: XspfOption = None,
    absolute: AbsoluteOption = False,
) -> None:
    """Suggestions from a playlist: tracks like the seeds, in the seeds' genres."""
    from genrekit.library.similarity import recommend as suggest

    neighbours = suggest(db, seeds, k=k, match_genres=not any_genre)
    _print_neighbours(neighbours, as_json)
    write_playlists([n.path for n in neighbours], m3u, xspf, absolute)


@command()
def clusters(
    db: DbOption = Path("library.sqlite"),
    k: Annotated[
        str, typer.Option("-k", help="How many groups, or 'auto' (the best silhouette, 2–15)")
    ] = "auto",
    m3u_dir: Annotated[
        Path | None, typer.Option("--m3u-dir", help="Also write one M3U8 playlist per group here")
    ] = None,
    absolute: AbsoluteOption = False,
) -> None:
    """The kinds of music in your library, without labels: K-means mixes named by their sound."""
    from genrekit.library.mixes import cluster_catalog, write_mixes

    if k != "auto" and not k.isdigit():
        fail(f"-k {k}: give a number of groups, or auto")
    found = cluster_catalog(db, None if k == "auto" else int(k))
    typer.echo(found.count_reason)
    for group in found.groups:
        typer.echo(f"\n{group.name} ({group.size} songs)")
        for song in group.nearest:
            typer.echo(f"  {song.title}" + (f" — {song.artist}" if song.artist else ""))
    if m3u_dir is not None:
        for written in write_mixes(found, db, m3u_dir, absolute=absolute):
            typer.echo(f"playlist: {written}", err=True)
