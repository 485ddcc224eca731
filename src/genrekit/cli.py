"""The ``genrekit`` command line: thin wrappers that parse, call the library and print.

Heavy modules are imported inside commands so that ``genrekit --help`` and start-up stay fast.
"""

from __future__ import annotations

import functools
import glob
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from genrekit.audio import DEFAULT_MAX_DURATION
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


def _printable_names() -> None:
    """File names that are not UTF-8 (from older systems) print with their odd bytes escaped
    (``caf\\xe9.mp3``) instead of stopping the command."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def _command(*args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``app.command`` whose command reports any ``GenrekitError`` (bad input, config, bundle)
    as one plain line on stderr and exit status 2, never a traceback."""

    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def reporting(*call_args: Any, **call_kwargs: Any) -> Any:
            _printable_names()
            try:
                return function(*call_args, **call_kwargs)
            except GenrekitError as error:
                _fail(str(error))

        return app.command(*args, **kwargs)(reporting)

    return register


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _expand(inputs: list[str]) -> list[Path]:
    """Files as given (any extension), audio files inside folders, and quoted globs."""
    from genrekit.datasets import audio_files

    paths: list[Path] = []
    for text in inputs:
        matches = _matches(text)
        if not matches:
            typer.echo(f"error: {text}: no file matches", err=True)
        for path in matches:
            found = audio_files(path) if path.is_dir() else [path]
            if not found:  # a folder (even one named like a song) with no audio inside
                typer.echo(f"error: {path}: a folder with no audio files in it", err=True)
            paths.extend(found)
    return paths


def _matches(text: str) -> list[Path]:
    """What one command-line input names: itself, or a quoted glob's matches."""
    return (
        [Path(m) for m in sorted(glob.glob(text, recursive=True))]
        if glob.has_magic(text)
        else [Path(text)]
    )


def _extracted(jobs: list, workers: int) -> tuple[list[dict], int]:
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


def _labelled(inputs: list[str]) -> list[tuple[Path, str | None]]:
    """(file, label) for folders (labelled by subfolder), and unlabelled files and globs."""
    from genrekit.datasets import from_audio_folder

    labelled: list[tuple[Path, str | None]] = []
    for text in inputs:
        if Path(text).is_dir():
            found = from_audio_folder(text)
            labelled += [(p, i.label) for i, p in zip(found.items, found.paths)]
        else:
            labelled += [(path, None) for path in _expand([text])]
    return labelled


def _default_workers(n_files: int) -> int:
    return 1 if n_files < 4 else min(2, os.cpu_count() or 1)


@_command()
def predict(
    files: Annotated[list[str], typer.Argument(help="Audio files, folders or globs")],
    model: ModelOption = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, help="Genres to print")] = 3,
    as_json: JsonOption = False,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write results to .csv or .json")
    ] = None,
    timeline: TimelineOption = True,
    max_duration: MaxDurationOption = DEFAULT_MAX_DURATION,
    workers: Annotated[
        int | None, typer.Option("--workers", "-j", min=1, help="Worker processes")
    ] = None,
    reject: RejectOption = True,
    threshold: ThresholdOption = None,
    styles: StylesOption = False,
    full: FullOption = False,
) -> None:
    """Predict the genre of audio files (one line each; bad files get a one-line error)."""

    from genrekit.predict import Classifier, predict_many

    paths = _expand(files)
    if not paths:
        _fail("no audio files given")
    if out is not None and out.suffix not in (".csv", ".json"):
        _fail(f"{out}: --out must end in .csv or .json")
    classifier = Classifier.load(model, reject=reject, threshold=threshold)
    results = predict_many(
        classifier,
        paths,
        timeline=timeline,
        max_duration=max_duration,
        workers=workers or _default_workers(len(paths)),
        full=full,
    )
    records, failures = _collect(results, len(paths), as_json, top_k, styles)
    if as_json:
        typer.echo(json.dumps(records, indent=2))
    if out is not None:
        _write_results(records, out, classifier.labels)
    if len(paths) > 1:
        typer.echo(f"{len(paths) - failures} classified, {failures} failed", err=True)
    if failures == len(paths):
        raise typer.Exit(1)


def _collect(
    results: Any, count: int, as_json: bool, top_k: int, styles: bool
) -> tuple[list[dict], int]:
    """Records of every file (result or error) and the number of failures, printing each line
    as it comes (errors on stderr) under a progress bar."""
    from tqdm import tqdm

    from genrekit.errors import AudioError

    records, failures = [], 0
    bar = tqdm(results, total=count, desc="predict", unit="file", disable=count < 2 or None,
               file=sys.stderr, leave=False)  # fmt: skip
    for result in bar:
        if isinstance(result, AudioError):
            failures += 1
            bar.write(f"error: {result}", file=sys.stderr)
            records.append({"path": result.path, "error": result.reason})
            continue
        records.append(result.to_dict())
        if not as_json:
            for line in _prediction_lines(result, top_k, styles):
                bar.write(line)
    return records, failures


def _prediction_lines(result: Any, top_k: int, styles: bool) -> list[str]:
    """What ``predict`` prints for one file: the verdict line, then its styles if asked."""
    from genrekit.predict import SAMPLED_REGIONS

    note = f"  (first {result.duration:.0f} s analysed)" if result.truncated else ""
    if result.sampled:
        note += f"  (heard in {SAMPLED_REGIONS} regions; --full for all)"
    ranked = "  ".join(f"{label} {p:.2f}" for label, p in result.top(top_k))
    verdict = "" if result.known else f"unknown (closest: {ranked})"
    lines = [f"{result.path}: {verdict or ranked}{note}"]
    if styles:
        for parent, found in result.styles.items():
            lines.append(f"  {parent}: " + ", ".join(f"{s.tag} {s.score:.2f}" for s in found))
        if not result.styles:
            lines.append("  no style tag above its threshold")
    return lines


def _write_results(records: list[dict], out: Path, labels: list[str]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".json":
        out.write_text(json.dumps(records, indent=2) + "\n")
        return
    import pandas as pd

    rows = []
    for record in records:
        row = {
            "path": record["path"],
            "label": record.get("label", ""),
            "confidence": record.get("confidence"),
            "typicality": record.get("typicality"),
            "known": record.get("known"),
            "error": record.get("error", ""),
        }
        row["duration"] = record.get("duration")
        row["truncated"] = record.get("truncated")
        row.update({f"p_{label}": record.get("probabilities", {}).get(label) for label in labels})
        rows.append(row)
    pd.DataFrame(rows).to_csv(out, index=False)


@_command()
def tag(
    files: Annotated[list[str], typer.Argument(help="Audio files, folders or globs")],
    model: Annotated[
        str,
        typer.Option(
            "--model", "-m", help="MSD_musicnn, MTT_musicnn, MSD_vgg or MTT_vgg (pretrained)"
        ),
    ] = "MSD_musicnn",
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, help="Tags to print")] = 5,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print all 50 tag scores and per-segment scores")
    ] = False,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write results to .json")] = None,
    max_duration: Annotated[
        float, typer.Option(help="Seconds analysed from the start of each file")
    ] = DEFAULT_MAX_DURATION,
) -> None:
    """Tag audio with a pretrained musicnn model: genres, moods, instruments, eras."""
    from genrekit.errors import AudioError
    from genrekit.tagging import tag_many

    paths = _expand(files)
    if not paths:
        _fail("no audio files given")
    if out is not None and out.suffix != ".json":
        _fail(f"{out}: --out must end in .json")
    records, failures = [], 0
    for result in tag_many(paths, model, max_duration=max_duration):
        if isinstance(result, AudioError):
            failures += 1
            typer.echo(f"error: {result}", err=True)
            records.append({"path": result.path, "error": result.reason})
            continue
        records.append(result.to_dict())
        if not as_json:
            ranked = "  ".join(f"{name} {score:.2f}" for name, score in result.top(top_k))
            typer.echo(f"{result.path}: {ranked}")
    if as_json:
        typer.echo(json.dumps(records, indent=2))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(records, indent=2) + "\n")
    if len(paths) > 1:
        typer.echo(f"{len(paths) - failures} tagged, {failures} failed", err=True)
    if failures == len(paths):
        raise typer.Exit(1)


@_command()
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
        _fail(f"{out}: --out must end in .csv or .parquet")
    spec = RepresentationSpec.from_dict(
        {"name": representation, "normalize": normalize, "trim_silence": trim_silence}
    )
    if not feature_set(spec.name).is_vector:
        _fail(f"{representation}: a window representation has no table; use a vector set")
    jobs = [TableJob(path, label, segment, hop, spec=spec) for path, label in _labelled(inputs)]
    if not jobs:
        _fail("no audio files given")
    rows, failures = _extracted(jobs, workers)
    write_table(rows_to_table(rows, spec.name), out)
    typer.echo(
        f"{out}: {len(rows)} rows from {len(jobs) - failures} files, {failures} failed", err=True
    )
    if failures == len(jobs):
        raise typer.Exit(1)


@_command()
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
        _fail(f"{config}: training failed: {error}")
    for problem in errors:
        typer.echo(f"error: {problem}", err=True)
    typer.echo(result.summary())
    typer.echo(f"report: {report_dir}/report.md\nmodel: {bundle}")


@_command()
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
            _fail(f"--playlist {entry!r}: write it as LABEL=playlist.m3u")
        playlists[label] = Path(file)
    if folder is None and not playlists:
        _fail("give a folder of labelled audio or --playlist LABEL=file.m3u")
    result = run_learn(folder, out, playlists=playlists, workers=workers)
    for error in result.errors:
        typer.echo(f"error: {error} (skipped)", err=True)
    typer.echo(result.summary())
    typer.echo(f"model: {result.bundle}  (use it: genrekit predict --model {result.bundle} SONG)")


@_command()
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


@_command(name="compare")
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
        _fail(f"comparison failed: {error}")
    typer.echo((out / "comparison.md").read_text())
    typer.echo(f"{out}/comparison.html", err=True)


@_command()
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
        _fail(f"{data}: none of the labelled files could be analysed (reasons above)")
    if len(result.y_true) == 0:
        _fail(
            f"{data}: no labelled music found — put the audio in one subfolder per genre "
            f"(e.g. {data / 'jazz' / 'song.mp3'}), or give a features table with a label column"
        )
    result.write(report)
    typer.echo(result.summary())
    typer.echo(f"report: {report}/report.md")


@_command()
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


@_command()
def plot(
    song: Annotated[Path, typer.Argument(help="Audio file")],
    kind: Annotated[
        list[str],
        typer.Option(
            "--kind",
            "-k",
            help="View(s): waveform, spectrum, spectrogram, logspec, "
            "mel, mfcc, chroma, tempogram; repeat for several in one figure",
        ),
    ] = ["mel"],  # noqa: B006 (typer reads the default, it is never mutated)
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Image to write (.png or .svg)")
    ] = None,
    max_duration: Annotated[float, typer.Option(help="Seconds drawn from the start")] = 60.0,
) -> None:
    """Draw audio views of a song to a PNG or SVG file."""
    from genrekit.audio import load_audio
    from genrekit.plots import audio_figure

    out = out or Path(f"{song.stem}-{'-'.join(kind)}.png")  # here, never beside the user's music
    if out.suffix not in (".png", ".svg"):
        _fail(f"{out}: --out must end in .png or .svg")
    try:
        audio = load_audio(song, max_duration=max_duration)
        figure = audio_figure(audio.samples, audio.sample_rate, kind)
    except ValueError as error:
        _fail(str(error))
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=110)
    typer.echo(str(out))


@_command()
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


@_command()
def report(
    results: Annotated[list[Path], typer.Argument(help="report.json files or their folders")],
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file")] = Path("results.html"),
) -> None:
    """Render saved results (from train, evaluate or compare) side by side as HTML."""
    from genrekit.comparison import comparison_page

    page = comparison_page(results)
    typer.echo(str(page.write(out)))


DbOption = Annotated[Path, typer.Option("--db", help="Library catalog (SQLite)")]


@_command()
def index(
    folder: Annotated[Path, typer.Argument(help="Music folder to index")],
    db: DbOption = Path("library.sqlite"),
    model: ModelOption = None,
    workers: WorkersOption = 2,
    full: FullOption = False,
) -> None:
    """Index a music folder: genre, embedding and metadata of every track (resumable)."""
    from genrekit.library import index_folder

    summary = index_folder(folder, db, model=model, workers=workers, full=full)
    typer.echo(
        f"{db}: {summary.indexed} indexed, {summary.skipped} unchanged, {summary.moved} moved, "
        f"{summary.failed} failed"
        + (f", {summary.busy} left to another indexer" if summary.busy else "")
    )


M3uOption = Annotated[
    Path | None, typer.Option("--m3u", help="Also write the songs as an M3U8 playlist")
]
XspfOption = Annotated[
    Path | None, typer.Option("--xspf", help="Also write the songs as an XSPF playlist")
]
AbsoluteOption = Annotated[
    bool, typer.Option(help="Absolute paths in playlists (default: relative to the playlist)")
]


def _write_playlists(paths: list[str], m3u: Path | None, xspf: Path | None, absolute: bool) -> None:
    """Save ``paths`` as the playlists asked for."""
    from genrekit import playlists

    for out, suffix in ((m3u, ".m3u8"), (xspf, ".xspf")):
        if out is not None:
            out = out if out.suffix.lower() in playlists.FORMATS else out.with_suffix(suffix)
            written = playlists.write(playlists.entries(paths), out, absolute=absolute)
            for problem in written.left_out:
                typer.echo(f"skip: {problem}", err=True)
            count = len(paths) - len(written.left_out)
            typer.echo(f"playlist: {written.path} ({count} songs)", err=True)


def _print_neighbours(neighbours: list, as_json: bool) -> None:
    from dataclasses import asdict

    if as_json:
        typer.echo(json.dumps([asdict(n) for n in neighbours], indent=2))
        return
    for n in neighbours:
        typer.echo(f"{n.score:6.3f}  {n.genre or '?':10s}  {n.path}  (#{n.id})")


@_command()
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
    from genrekit.similarity import similar as find_similar

    neighbours = find_similar(db, query, k=k, genre=genre, ann=ann)
    _print_neighbours(neighbours, as_json)
    start = [query] if Path(query).is_file() else []
    _write_playlists([*start, *(n.path for n in neighbours)], m3u, xspf, absolute)


@_command()
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
    from genrekit.similarity import recommend as suggest

    neighbours = suggest(db, seeds, k=k, match_genres=not any_genre)
    _print_neighbours(neighbours, as_json)
    _write_playlists([n.path for n in neighbours], m3u, xspf, absolute)


@_command()
def serve(
    model: ModelOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    max_upload_mb: Annotated[float, typer.Option(help="Largest request body in MB")] = 50.0,
    max_duration: Annotated[
        float, typer.Option(help="Seconds analysed per file")
    ] = DEFAULT_MAX_DURATION,
    db: Annotated[Path | None, typer.Option("--db", help="Library catalog for /v1/similar")] = None,
    body_timeout: Annotated[
        float, typer.Option(min=1.0, help="Seconds an upload may stall before a 408")
    ] = 30.0,
) -> None:
    """Start the REST API (OpenAPI docs at /docs)."""
    import uvicorn

    from genrekit.api import create_app

    api = create_app(
        model,
        max_upload_bytes=int(max_upload_mb * 1024 * 1024),
        max_duration=max_duration,
        library=db,
        body_idle_seconds=body_timeout,
    )
    typer.echo(f"genrekit API on http://{host}:{port} (docs: http://{host}:{port}/docs)", err=True)
    uvicorn.run(api, host=host, port=port, log_level="warning")


@_command(name="app")
def web_app(
    port: Annotated[int, typer.Option(help="Port")] = 8501,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
) -> None:
    """Start the web app (Streamlit) and print its URL."""
    from importlib import resources

    script = Path(str(resources.files("genrekit") / "webapp.py"))
    typer.echo(f"genrekit web app on http://{host}:{port}  (Ctrl-C to stop)", err=True)
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.headless=true",
        f"--server.port={port}",
        f"--server.address={host}",
        "--browser.gatherUsageStats=false",
    ]
    sys.stderr.flush()
    # Become the Streamlit server (same process id): Ctrl-C and SIGTERM reach it directly and
    # stop it, where a child process would outlive a terminated parent.
    os.execv(sys.executable, command)


from genrekit import cli_files  # noqa: E402, F401  (registers tag-files and playlist)

if __name__ == "__main__":
    app()
