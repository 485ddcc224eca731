"""Commands that build and judge models: ``features``, ``train``, ``learn``, ``suggest``,
``compare``, ``evaluate``, ``models``, ``explore`` and ``report``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from genrekit.cli.common import (
    ModelOption,
    ProtocolOption,
    WorkersOption,
    command,
    extracted,
    fail,
    labelled,
)


@command()
def features(
    inputs: Annotated[
        list[str],
        typer.Argument(help="Audio files, globs, or folders (label = subfolder name)"),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Table to write (.csv or .parquet)")],
    segment: Annotated[
        float | None, typer.Option(help="Segment length in seconds (one row per segment)")
    ] = None,
    hop: Annotated[
        float | None, typer.Option(help="Hop between segments in seconds [= --segment]")
    ] = None,
    workers: WorkersOption = 2,
    representation: Annotated[
        str,
        typer.Option(
            help="Feature set: gtzan57 (the Kaggle table's 57 columns), extended, melbands, "
            "mfcc_gaussian, musicnn, musicnn_gtzan57"
        ),
    ] = "gtzan57",
    normalize: Annotated[
        str, typer.Option(help="Level before extraction: none (as the table), peak, rms, loudness")
    ] = "none",
    trim_silence: Annotated[
        bool, typer.Option(help="Drop leading and trailing silence (60 dB under the peak)")
    ] = False,
) -> None:
    """Write a features table (default: GTZAN's 57 columns) for audio files and folders."""

    from genrekit.features import RepresentationSpec, feature_set
    from genrekit.features.table import TableJob, rows_to_table, write_table

    if out.suffix not in (".csv", ".parquet"):
        fail(f"{out}: --out must end in .csv or .parquet")
    spec = RepresentationSpec.from_dict(
        {"name": representation, "normalize": normalize, "trim_silence": trim_silence}
    )
    if not feature_set(spec.name).is_vector:
        fail(f"{representation}: a window representation has no table; use a vector set")
    jobs = [TableJob(path, label, segment, hop, spec=spec) for path, label in labelled(inputs)]
    if not jobs:
        fail("no audio files given")
    rows, failures = extracted(jobs, workers)
    write_table(rows_to_table(rows, spec.name), out)
    typer.echo(
        f"{out}: {len(rows)} rows from {len(jobs) - failures} files, {failures} failed", err=True
    )
    if failures == len(jobs):
        raise typer.Exit(1)


@command()
def train(
    config: Annotated[Path, typer.Argument(help="Experiment config (TOML)")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Bundle folder to write")] = None,
    report: Annotated[
        Path | None, typer.Option(help="Folder for the CV report [runs/<name>/report]")
    ] = None,
    data: Annotated[
        Path | None, typer.Option(help="Override the config's data (table or audio folder)")
    ] = None,
    folds: Annotated[int | None, typer.Option(help="Override the number of outer folds")] = None,
    protocol: ProtocolOption = None,
    workers: WorkersOption = 2,
) -> None:
    """Cross-validate a configured model, write its report, and save the final bundle."""
    from genrekit.training.config import load_config
    from genrekit.training.train import train as run_training

    try:
        experiment = load_config(config, {"data": data, "folds": folds, "protocol": protocol})
        report_dir = report or Path("runs") / experiment.name / "report"
        result, bundle, errors = run_training(
            experiment,
            out or Path("runs") / experiment.name / "model",
            report_dir,
            workers=workers,
        )
    except ValueError as error:  # e.g. fewer tracks per genre than the folds asked for
        fail(f"{config}: training failed: {error}")
    for problem in errors:
        typer.echo(f"error: {problem}", err=True)
    typer.echo(result.summary())
    typer.echo(f"report: {report_dir}/report.md\nmodel: {bundle}")


@command()
def learn(
    folders: Annotated[
        list[Path] | None,
        typer.Argument(
            help="A folder with one subfolder of audio per label; with --from-tags, music "
            "folders whose songs' own genre tags are the labels"
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Bundle folder to write")] = Path(
        "mymodel"
    ),
    playlist: Annotated[
        list[str] | None,
        typer.Option(help="LABEL=playlist.m3u8 (or .xspf): a label's examples (repeatable)"),
    ] = None,
    db: Annotated[
        Path | None,
        typer.Option(
            "--db",
            help="Learn from the genre tags of this catalog's songs (genrekit index): no audio "
            "decoded again; with --from-tags, the catalog the folders are indexed into",
        ),
    ] = None,
    from_tags: Annotated[
        bool, typer.Option("--from-tags", help="Learn from the genre tags the songs carry")
    ] = False,
    genre_map: Annotated[
        Path | None,
        typer.Option("--map", help='Your own merges, a TOML file of "spelling" = "label" lines'),
    ] = None,
    keep_subgenres: Annotated[
        bool,
        typer.Option(help="Keep sub-genres (classic rock) instead of folding them into a parent"),
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option(help="Also write the estimate as an HTML page (per genre, confusions)"),
    ] = None,
    workers: WorkersOption = 2,
) -> None:
    """Learn your own genres: from your library's genre tags (--db, --from-tags), or from a
    few examples per label (3 or more) in folders or playlists."""
    notes: list[str] = []
    if db is not None or from_tags:
        learned = _learn_from_tags(
            folders or [], out, db, from_tags, genre_map, keep_subgenres, workers
        )
        result, notes = learned.result, learned.describe()
    else:
        result = _learn_from_examples(folders or [], out, playlist or [], workers)
    if report is not None:
        typer.echo(f"report: {result.write_html(report, notes)}")


def _learn_from_examples(folders: list[Path], out: Path, playlist: list[str], workers: int) -> Any:
    from genrekit.teach.learn import learn as run_learn

    playlists = {}
    for entry in playlist:
        label, _, file = entry.partition("=")
        if not label or not file:
            fail(f"--playlist {entry!r}: write it as LABEL=playlist.m3u")
        playlists[label] = Path(file)
    if not folders and not playlists:
        fail("give a folder of labelled audio, --playlist LABEL=file.m3u, or --db CATALOG")
    if len(folders) > 1:
        fail("give one folder of labelled subfolders (or --from-tags for music folders)")
    result = run_learn(folders[0] if folders else None, out, playlists=playlists, workers=workers)
    _print_learned(result)
    return result


def _learn_from_tags(
    folders: list[Path],
    out: Path,
    db: Path | None,
    from_tags: bool,
    genre_map: Path | None,
    keep_subgenres: bool,
    workers: int,
) -> Any:
    from genrekit.teach import from_tags as library_tags
    from genrekit.teach.vocabulary import Vocabulary, load_map

    vocabulary = Vocabulary(keep_subgenres, load_map(genre_map) if genre_map else {})
    if from_tags:
        if not folders:
            fail("name the music folders to learn from (genrekit learn --from-tags FOLDER...)")
        learned = library_tags.learn_from_tags(
            folders, out, db=db, vocabulary=vocabulary, workers=workers
        )
    else:
        if folders:
            fail("with --db the catalog's songs are the examples; add --from-tags to index "
                 "folders into it first")  # fmt: skip
        assert db is not None
        learned = library_tags.learn_from_catalog(db, out, vocabulary=vocabulary)
    for line in learned.describe():
        typer.echo(line)
    _print_learned(learned.result)
    if learned.untagged:
        also = f" --db {db}" if db else ""
        typer.echo(f"{learned.untagged} song(s) have no usable genre tag; fill them in with: "
                   f"genrekit tag-files FOLDER --model {out}{also}")  # fmt: skip
    return learned


def _print_learned(result: Any) -> None:
    for error in result.errors:
        typer.echo(f"error: {error} (skipped)", err=True)
    typer.echo(result.summary())
    typer.echo(f"model: {result.bundle}  (use it: genrekit predict --model {result.bundle} SONG)")


@command()
def suggest(
    db: Annotated[Path, typer.Option(help="Library catalog (genrekit index)")],
    model: Annotated[Path, typer.Option("--model", "-m", help="Your model (genrekit learn)")],
    count: Annotated[int, typer.Option("-n", min=1, help="How many tracks to suggest")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """The library tracks whose labels would teach your model most (label these next)."""
    from dataclasses import asdict

    from genrekit.teach.learn import suggest as run_suggest

    found = run_suggest(db, model, count)
    if as_json:
        typer.echo(json.dumps([asdict(s) for s in found], indent=2))
        return
    for s in found:
        typer.echo(f"{s.id}\t{s.path}\t(guess: {s.guess} {s.confidence:.2f})")
    if not found:
        typer.echo("nothing to suggest: every indexed track is already an example", err=True)


@command(name="compare")
def compare_models(
    configs: Annotated[list[Path], typer.Argument(help="Experiment configs (TOML)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder")] = Path("runs/compare"),
    folds: Annotated[int | None, typer.Option(help="Override every config's folds")] = None,
    protocol: ProtocolOption = None,
    workers: WorkersOption = 2,
) -> None:
    """Cross-validate several models under the same folds; write one comparison table."""
    from genrekit.training.config import load_config
    from genrekit.training.train import compare

    try:
        overrides = {"folds": folds, "protocol": protocol}
        compare([load_config(c, overrides) for c in configs], out, workers=workers)
    except ValueError as error:
        fail(f"comparison failed: {error}")
    typer.echo((out / "comparison.md").read_text())
    typer.echo(f"{out}/comparison.html", err=True)


@command()
def evaluate(
    data: Annotated[Path, typer.Argument(help="Labelled features table or audio folder")],
    model: ModelOption = None,
    report: Annotated[Path, typer.Option(help="Folder for the report")] = Path("runs/evaluation"),
    label_map: Annotated[
        Path | None, typer.Option(help="label,group CSV: score coarse groups / one-vs-rest")
    ] = None,
    workers: WorkersOption = 2,
) -> None:
    """Score a trained model on labelled data (one prediction per track) and write a report."""
    from genrekit.training.evaluate import evaluate_bundle

    result, errors = evaluate_bundle(model, data, workers=workers, label_map=label_map)
    for error in errors:
        typer.echo(f"error: {error}", err=True)
    if len(result.y_true) == 0 and errors:
        fail(f"{data}: none of the labelled files could be analysed (reasons above)")
    if len(result.y_true) == 0:
        fail(
            f"{data}: no labelled music found — put the audio in one subfolder per genre "
            f"(e.g. {data / 'jazz' / 'song.mp3'}), or give a features table with a label column"
        )
    result.write(report)
    typer.echo(result.summary())
    typer.echo(f"report: {report}/report.md")


@command()
def models() -> None:
    """List the shipped models with their measured accuracy and protocol."""
    from genrekit.models.bundle import DEFAULT_MODEL, bundled_models, read_manifest
    from genrekit.training.datasets import collection_names

    for name, path in bundled_models().items():
        manifest = read_manifest(path)
        metrics = manifest.get("metrics", {})
        default = " (default)" if name == DEFAULT_MODEL else ""
        data = manifest.get("training", {}).get("data", {})
        typer.echo(
            f"{name}{default}: accuracy {metrics.get('accuracy_mean', float('nan')):.3f} "
            f"± {metrics.get('accuracy_std', float('nan')):.3f}, macro-F1 "
            f"{metrics.get('macro_f1_mean', float('nan')):.3f} "
            f"± {metrics.get('macro_f1_std', float('nan')):.3f} on {data.get('tracks', '?')} "
            f"tracks of {collection_names(str(data.get('source', '?')))} — "
            f"{manifest['training']['protocol']['description']}"
        )


@command()
def explore(
    data: Annotated[Path, typer.Argument(help="Audio folder or features table")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Report folder")] = Path("report"),
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Also show this bundle's results")
    ] = None,
    workers: WorkersOption = 2,
) -> None:
    """Write a self-contained HTML report about a dataset (and a model on it)."""
    from genrekit.reports.explore import explore as write_exploration

    page = write_exploration(data, out, model=model, workers=workers)
    typer.echo(str(page))


@command()
def report(
    results: Annotated[list[Path], typer.Argument(help="report.json files or their folders")],
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file")] = Path("results.html"),
) -> None:
    """Render saved results (from train, evaluate or compare) side by side as HTML."""
    from genrekit.reports.comparison import comparison_page

    page = comparison_page(results)
    typer.echo(str(page.write(out)))
