"""Commands that reach the user's files and players: ``tag-files`` (genre tags into the files,
dry run by default, undoable) and ``playlist``."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from genrekit.cli.common import AbsoluteOption, ModelOption, command, expand, fail, matches

if TYPE_CHECKING:
    from genrekit.library.file_tags import Change, Options


def _arrow(old: list[str], new: list[str]) -> str:
    return f"{'; '.join(old) or '(no genre)'} → {'; '.join(new) or '(no genre)'}"


@command(name="tag-files")
def tag_files(
    files: Annotated[
        list[str] | None, typer.Argument(help="Audio files, folders or globs to tag")
    ] = None,
    db: Annotated[
        Path | None,
        typer.Option(
            "--db", help="Take genres from this catalog (genrekit index) and journal there"
        ),
    ] = None,
    model: ModelOption = None,
    write: Annotated[
        bool, typer.Option("--apply", help="Write the tags (without it: a dry run)")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option(help="Replace genres a person set (default: keep them)")
    ] = False,
    min_confidence: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Write only verdicts at least this confident")
    ] = 0.0,
    styles: Annotated[
        bool, typer.Option(help="Also write the genre's styles and the moods/eras found")
    ] = False,
    undo_run: Annotated[
        bool, typer.Option("--undo", help="Put back the tags a run replaced (with --apply)")
    ] = False,
    run: Annotated[int | None, typer.Option(help="Which run --undo restores [the newest]")] = None,
    history: Annotated[bool, typer.Option(help="List the tagging runs and stop")] = False,
    disagreements: Annotated[
        Path | None,
        typer.Option(
            help="Also list songs whose own genre tag the sound confidently contradicts "
            "(.csv, or .html with a player per song)"
        ),
    ] = None,
    follow_symlinks: Annotated[
        bool,
        typer.Option(
            "--follow-symlinks",
            help="Also write files reached through links that lead outside the folders named",
        ),
    ] = False,
) -> None:
    """Write each file's genre into its tags (ID3 TCON, Vorbis GENRE, MP4 ©gen) plus
    GENREKIT_* fields. A dry run unless --apply; every run can be undone with --undo."""
    from genrekit.library import file_tags

    connection = file_tags.open_journal(db)
    try:
        if history:
            _print_history(connection)
        elif undo_run:
            _undo(connection, run, write)
        else:
            if not files:
                fail("name the files or folders to tag (or --undo, --history)")
            options = file_tags.Options(overwrite, min_confidence, styles)
            named = [path for text in files or [] for path in matches(text)]
            paths = _within_named(expand(files or []), named, follow_symlinks)
            _clear_leftovers({path.resolve().parent for path in paths}, write)
            _tag(connection, paths, db, model, options, write, disagreements)
    finally:
        connection.close()


def _within_named(paths: list[Path], named: list[Path], follow_symlinks: bool) -> list[Path]:
    """The files that may be written: those reached through a link leading outside the folders
    named are skipped with one line, unless ``follow_symlinks`` (then named by their real
    path)."""
    from genrekit.library import file_tags

    kept = []
    for path in paths:
        real = file_tags.outside_named(path, named)
        if real is None:
            kept.append(path)
        elif follow_symlinks:
            kept.append(real)
        else:
            typer.echo(f"skip: {path}: a link to {real}, outside the folders named "
                       "(--follow-symlinks tags it)")  # fmt: skip
    return kept


def _clear_leftovers(folders: set[Path], write: bool) -> None:
    """Remove (or, in a dry run, name) the hidden copies runs killed mid-write left behind."""
    from genrekit.library import file_tags

    for leftover in file_tags.clear_leftovers(sorted(folders), remove=write):
        done = "removed" if write else "would remove (with --apply)"
        typer.echo(f"{done} {leftover}: left behind by a tagging run that was interrupted")


def _verdicts(
    connection: sqlite3.Connection, paths: list[Path], db: Path | None, model: str | None
) -> Iterator[tuple[Path, object]]:
    """(path, Verdict or error) from the catalog, or from analysing each file now."""
    from genrekit.library import file_tags
    from genrekit.predict import Classifier

    if db is not None:
        personal = Classifier.load(model) if model is not None else None
        yield from file_tags.catalog_verdicts(connection, paths, personal)
        return
    from genrekit.errors import AudioError

    classifier = Classifier.load(model)
    for path in paths:
        try:
            prediction, _ = classifier.analyse_file(path, timeline=False)
        except AudioError as error:
            yield path, error
            continue
        yield path, file_tags.verdict_of(prediction)


def _tag(
    connection: sqlite3.Connection,
    paths: list[Path],
    db: Path | None,
    model: str | None,
    options: Options,
    write: bool,
    disagreements: Path | None = None,
) -> None:
    from genrekit.library import file_tags
    from genrekit.teach.from_tags import DISAGREEMENT_CONFIDENCE, disagreement, write_disagreements

    changes: list[Change] = []
    contradicted = []
    models: set[str] = set()
    errors = skipped = 0
    for path, verdict in _verdicts(connection, paths, db, model):
        try:
            if isinstance(verdict, Exception):
                raise verdict
            assert isinstance(verdict, file_tags.Verdict)
            models.add(verdict.model)
            if disagreements is not None:
                sure = max(DISAGREEMENT_CONFIDENCE, options.min_confidence)
                found = disagreement(
                    path, verdict.label, verdict.confidence, verdict.known, at_least=sure
                )
                contradicted += [found] if found else []
            change = file_tags.plan(path, verdict, options)
        except file_tags.TagSkip as skip:
            typer.echo(f"skip: {skip}")
            skipped += 1
            continue
        except Exception as error:  # TagError, AudioError: one line, the batch goes on
            typer.echo(f"error: {error}", err=True)
            errors += 1
            continue
        if change is None:
            typer.echo(f"{path}: already tagged")
            continue
        changes.append(change)
        if not write:
            typer.echo(f"{path}: {_arrow(change.old_genre, change.new_genre)} "
                       f"({change.confidence:.0%})")  # fmt: skip
    if disagreements is not None:
        written = write_disagreements(contradicted, disagreements)
        typer.echo(f"{written}: {len(contradicted)} song(s) whose genre tag the sound contradicts")
    if not write:
        typer.echo(f"dry run: {len(changes)} file(s) would change, {skipped} skipped, "
                   f"{errors} error(s); add --apply to write")  # fmt: skip
    else:
        errors += _write(connection, changes, ", ".join(sorted(models)), db)
    if errors and errors == len(paths):
        raise typer.Exit(1)


def _write(
    connection: sqlite3.Connection, changes: list[Change], model: str, db: Path | None
) -> int:
    from genrekit.library import file_tags

    written = errors = 0
    run = file_tags.start_run(connection, model)
    for change, error in file_tags.apply(connection, run, changes):
        if error is None:
            typer.echo(f"{change.path}: {_arrow(change.old_genre, change.new_genre)} "
                       f"({change.confidence:.0%})")  # fmt: skip
            written += 1
        else:
            typer.echo(f"error: {error}", err=True)
            errors += 1
    typer.echo(f"run {run}: {written} file(s) tagged, {errors} error(s); "
               f"undo with: genrekit tag-files --undo --run {run} --apply"
               + (f" --db {db}" if db else ""))  # fmt: skip
    return errors


def _undo(connection: sqlite3.Connection, run: int | None, write: bool) -> None:
    from genrekit.library import file_tags

    run, restores = file_tags.plan_undo(connection, run)
    _clear_leftovers({restore.path.resolve().parent for restore in restores}, write)
    if not write:
        for restore in restores:
            typer.echo(f"{restore.path}: {_arrow(restore.new_genre, restore.old_genre)}")
        typer.echo(f"dry run: undoing run {run} would restore {len(restores)} file(s); "
                   "add --apply to restore")  # fmt: skip
        return
    restored = errors = 0
    for restore, error in file_tags.undo(connection, run, restores):
        if error is None:
            typer.echo(f"{restore.path}: {_arrow(restore.new_genre, restore.old_genre)}")
            restored += 1
        else:
            typer.echo(f"error: {error}", err=True)
            errors += 1
    typer.echo(f"run {run} undone: {restored} file(s) restored, {errors} error(s)")


def _print_history(connection: sqlite3.Connection) -> None:
    from genrekit.library import file_tags

    found = file_tags.runs(connection)
    if not found:
        typer.echo("no tagging runs yet")
    for run, started, model, undone, count in found:
        state = f"undone {undone}" if undone else "active"
        typer.echo(f"run {run}: {started}, {count} file(s), model {model or '?'}, {state}")


@command()
def playlist(
    out: Annotated[Path, typer.Option("--out", "-o", help="Playlist file: .m3u8, .m3u or .xspf")],
    db: Annotated[Path, typer.Option("--db", help="Library catalog (SQLite)")] = Path(
        "library.sqlite"
    ),
    genre: Annotated[
        str | None, typer.Option(help="Every song of this genre, most confident first")
    ] = None,
    like: Annotated[
        str | None,
        typer.Option(help="Start at this song (file or catalog id) and drift by similarity"),
    ] = None,
    length: Annotated[int | None, typer.Option("-n", min=1, help="How many songs")] = None,
    absolute: AbsoluteOption = False,
    model: ModelOption = None,
) -> None:
    """Make a playlist a player opens: a genre's songs, or a drift from a song you like."""
    from genrekit.library import playlists

    if (genre is None) == (like is None):
        fail("give either --genre or --like")
    if genre is not None:
        songs = playlists.of_genre(db, genre, limit=length)
    else:
        songs = playlists.drift(db, str(like), length=length or 30, model=model)
    written = playlists.write(songs, out, absolute=absolute)
    for problem in written.left_out:
        typer.echo(f"skip: {problem}", err=True)
    typer.echo(f"{written.path}: {len(songs) - len(written.left_out)} songs")
