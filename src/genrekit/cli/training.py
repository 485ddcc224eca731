"""Commands that build and judge models: ``features``, ``train``, ``learn``, ``suggest``,
``compare``, ``evaluate``, ``models``, ``explore`` and ``report``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

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
    from genrekit.config import load_config
    from genrekit.train import train as run_training

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
    folder: Annotated[
        Path | None, typer.Argument(help="Folder with one subfolder of audio per label")
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Bundle folder to write")] = Path(
        "mymodel"
    ),
    playlist: Annotated[
        list[str] | None,
        typer.Option(help="LABEL=playlist.m3u8 (or .xspf): a label's examples (repeatable)"),
    ] = None,
    workers: WorkersOption = 2,
) -> None:
    """Learn your own genres from a few examples each (3 or more per label)."""
    from genrekit.learn import learn as run_learn

    playlists = {}
    for entry in playlist or []:
        label, _, file = entry.partition("=")
        if not label or not file:
            fail(f"--playlist {entry!r}: write it as LABEL=playlist.m3u")
        playlists[label] = Path(file)
    if folder is None and not playlists:
        fail("give a folder of labelled audio or --playlist LABEL=file.m3u")
    result = run_learn(folder, out, playlists=playlists, workers=workers)
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

    from genrekit.learn import suggest as run_suggest

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
    from genrekit.config import load_config
    from genrekit.train import compare

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
    from genrekit.evaluate import evaluate_bundle

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
            f"tracks of {Path(str(data.get('source', '?'))).name} — "
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
    from genrekit.explore import explore as write_exploration

    page = write_exploration(data, out, model=model, workers=workers)
    typer.echo(str(page))


@command()
def report(
    results: Annotated[list[Path], typer.Argument(help="report.json files or their folders")],
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file")] = Path("results.html"),
) -> None:
    """Render saved results (from train, evaluate or compare) side by side as HTML."""
    from genrekit.comparison import comparison_page

    page = comparison_page(results)
    typer.echo(str(page.write(out)))
