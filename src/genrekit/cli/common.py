"""What every ``genrekit`` command shares: the app, option types, one error path (a plain line
on stderr, exit status 2), and expanding files, folders and globs."""

from __future__ import annotations

import functools
import glob
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from genrekit.errors import GenrekitError

app = typer.Typer(
    help="Music genre classification: audio file in, genre out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


ModelOption = Annotated[
    str | None,
    typer.Option("--model", "-m", help="Bundle folder or shipped model name [default model]"),
]


WorkersOption = Annotated[
    int, typer.Option("--workers", "-j", min=1, help="Parallel worker processes")
]


JsonOption = Annotated[
    bool, typer.Option("--json", help="Print full distributions and timelines as JSON")
]


TimelineOption = Annotated[
    bool, typer.Option(help="Also classify every window (per-segment timeline)")
]


MaxDurationOption = Annotated[
    float, typer.Option(help="Seconds analysed from the start of each file")
]


RejectOption = Annotated[
    bool,
    typer.Option(help="Say 'unknown' for music unlike anything the model was taught (and noise)"),
]


ThresholdOption = Annotated[
    float | None,
    typer.Option(
        min=0.0, max=1.0, help="Typicality under which a song is unknown (default: the model's)"
    ),
]


StylesOption = Annotated[
    bool,
    typer.Option(
        help="Also print styles beyond the genres (punk, house, …), moods, instruments and eras"
    ),
]


FullOption = Annotated[
    bool,
    typer.Option(
        "--full",
        help="Hear every 30 s of long songs (default without a timeline: 3 evenly spread "
        "15 s regions, as accurate in the benchmark at a fifth of the cost)",
    ),
]


ProtocolOption = Annotated[
    str | None,
    typer.Option(
        help="Override the protocol: group (artist-disjoint, honest), track (optimistic: one "
        "artist's songs on both sides), segment-random (leaky)"
    ),
]


def printable_names() -> None:
    """File names that are not UTF-8 (from older systems) print with their odd bytes escaped
    (``caf\\xe9.mp3``) instead of stopping the command."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def command(*args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``app.command`` whose command reports any ``GenrekitError`` (bad input, config, bundle)
    as one plain line on stderr and exit status 2, never a traceback."""

    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def reporting(*call_args: Any, **call_kwargs: Any) -> Any:
            printable_names()
            try:
                return function(*call_args, **call_kwargs)
            except GenrekitError as error:
                fail(str(error))

        return app.command(*args, **kwargs)(reporting)

    return register


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def expand(inputs: list[str]) -> list[Path]:
    """Files as given (any extension), audio files inside folders, and quoted globs."""
    from genrekit.training.datasets import audio_files

    paths: list[Path] = []
    for text in inputs:
        found_paths = matches(text)
        if not found_paths:
            typer.echo(f"error: {text}: no file matches", err=True)
        for path in found_paths:
            found = audio_files(path) if path.is_dir() else [path]
            if not found:  # a folder (even one named like a song) with no audio inside
                typer.echo(f"error: {path}: a folder with no audio files in it", err=True)
            paths.extend(found)
    return paths


def matches(text: str) -> list[Path]:
    """What one command-line input names: itself, or a quoted glob's matches."""
    return (
        [Path(m) for m in sorted(glob.glob(text, recursive=True))]
        if glob.has_magic(text)
        else [Path(text)]
    )


def extracted(jobs: list, workers: int) -> tuple[list[dict], int]:
    """Feature rows of every job, and the number of files that failed (each named on stderr)."""
    from tqdm import tqdm

    from genrekit.errors import AudioError
    from genrekit.features.table import extract_rows

    rows, failures = [], 0
    bar = tqdm(extract_rows(jobs, workers), total=len(jobs), desc="features", unit="file",
               file=sys.stderr, disable=None)  # fmt: skip
    for _, result in bar:
        if isinstance(result, AudioError):
            failures += 1
            bar.write(f"error: {result}", file=sys.stderr)
        else:
            rows.extend(result)
    return rows, failures


def labelled(inputs: list[str]) -> list[tuple[Path, str | None]]:
    """(file, label) for folders (labelled by subfolder), and unlabelled files and globs."""
    from genrekit.training.datasets import from_audio_folder

    labelled: list[tuple[Path, str | None]] = []
    for text in inputs:
        if Path(text).is_dir():
            found = from_audio_folder(text)
            labelled += [(p, i.label) for i, p in zip(found.items, found.paths)]
        else:
            labelled += [(path, None) for path in expand([text])]
    return labelled


def default_workers(n_files: int) -> int:
    return 1 if n_files < 4 else min(2, os.cpu_count() or 1)


DbOption = Annotated[Path, typer.Option("--db", help="Library catalog (SQLite)")]


M3uOption = Annotated[
    Path | None, typer.Option("--m3u", help="Also write the songs as an M3U8 playlist")
]


XspfOption = Annotated[
    Path | None, typer.Option("--xspf", help="Also write the songs as an XSPF playlist")
]


AbsoluteOption = Annotated[
    bool, typer.Option(help="Absolute paths in playlists (default: relative to the playlist)")
]


def write_playlists(paths: list[str], m3u: Path | None, xspf: Path | None, absolute: bool) -> None:
    """Save ``paths`` as the playlists asked for."""
    from genrekit.library import playlists

    for out, suffix in ((m3u, ".m3u8"), (xspf, ".xspf")):
        if out is not None:
            out = out if out.suffix.lower() in playlists.FORMATS else out.with_suffix(suffix)
            written = playlists.write(playlists.entries(paths), out, absolute=absolute)
            for problem in written.left_out:
                typer.echo(f"skip: {problem}", err=True)
            count = len(paths) - len(written.left_out)
            typer.echo(f"playlist: {written.path} ({count} songs)", err=True)
