"""Commands that classify songs: ``predict``, ``tag`` (musicnn tags) and ``plot`` (views)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from genrekit.audio import DEFAULT_MAX_DURATION
from genrekit.cli.common import (
    FullOption,
    JsonOption,
    MaxDurationOption,
    ModelOption,
    RejectOption,
    StylesOption,
    ThresholdOption,
    TimelineOption,
    command,
    default_workers,
    expand,
    fail,
)


@command()
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
    from genrekit.records import get_writer

    paths = expand(files)
    if not paths:
        fail("no audio files given")
    write = None if out is None else get_writer(out)  # a bad suffix fails before any work
    classifier = Classifier.load(model, reject=reject, threshold=threshold)
    results = predict_many(
        classifier,
        paths,
        timeline=timeline,
        max_duration=max_duration,
        workers=workers or default_workers(len(paths)),
        full=full,
    )
    records, failures = _collect(results, len(paths), as_json, top_k, styles)
    if as_json:
        typer.echo(json.dumps(records, indent=2))
    if write is not None:
        write(records, classifier.labels)
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
    from genrekit.records import record

    records, failures = [], 0
    bar = tqdm(results, total=count, desc="predict", unit="file", disable=count < 2 or None,
               file=sys.stderr, leave=False)  # fmt: skip
    for result in bar:
        records.append(record(result))
        if isinstance(result, AudioError):
            failures += 1
            bar.write(f"error: {result}", file=sys.stderr)
            continue
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
    if result.narrow_band:
        note += "  (narrow band, like a phone line: judged by the model's narrow-band head)"
    ranked = "  ".join(f"{label} {p:.2f}" for label, p in result.top(top_k))
    verdict = "" if result.known else f"unknown (closest: {ranked})"
    lines = [f"{result.path}: {verdict or ranked}{note}"]
    if styles:
        for parent, found in result.styles.items():
            lines.append(f"  {parent}: " + ", ".join(f"{s.tag} {s.score:.2f}" for s in found))
        if not result.styles:
            lines.append("  no style tag above its threshold")
    return lines


@command()
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
    from genrekit.autotags import tag_many
    from genrekit.errors import AudioError

    paths = expand(files)
    if not paths:
        fail("no audio files given")
    if out is not None and out.suffix != ".json":
        fail(f"{out}: --out must end in .json")
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


@command()
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
    from genrekit.reports.plots import audio_figure

    out = out or Path(f"{song.stem}-{'-'.join(kind)}.png")  # here, never beside the user's music
    if out.suffix not in (".png", ".svg"):
        fail(f"{out}: --out must end in .png or .svg")
    try:
        audio = load_audio(song, max_duration=max_duration)
        figure = audio_figure(audio.samples, audio.sample_rate, kind)
    except ValueError as error:
        fail(str(error))
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=110)
    typer.echo(str(out))
