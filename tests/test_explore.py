"""Plots, the dataset explorer and the results report, on small synthetic data."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
import soundfile
from conftest import REPO, music_like, tone
from test_webapp import CHROMIUM, needs_browser
from typer.testing import CliRunner

from genrekit.cli import app
from genrekit.features import gtzan57
from genrekit.reports.plots import AUDIO_VIEWS, audio_figure, close_figure

runner = CliRunner()
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("kind", AUDIO_VIEWS)
def test_every_view_renders_with_labelled_axes(kind, tmp_path):
    figure = audio_figure(music_like(3.0), 22050, [kind])
    axis = figure.axes[0]
    assert axis.get_title() and axis.get_xlabel() and axis.get_ylabel()
    if kind in ("spectrogram", "logspec", "mel"):
        assert "dB" in figure.axes[1].get_yticklabels()[0].get_text()  # colour bar in dB
    figure.savefig(tmp_path / "view.png")
    close_figure(figure)
    assert (tmp_path / "view.png").read_bytes().startswith(PNG)


def test_plot_cli_png_svg_and_errors(tmp_path, broken, monkeypatch):
    song = tmp_path / "song.wav"
    soundfile.write(song, music_like(4.0), 22050)
    result = runner.invoke(
        app, ["plot", str(song), "-k", "waveform", "-k", "chroma", "-o", str(tmp_path / "v.svg")]
    )
    assert result.exit_code == 0, result.output
    root = ET.parse(tmp_path / "v.svg").getroot()
    assert root.tag.endswith("svg")
    elsewhere = tmp_path / "here"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # without -o: the current folder, never beside the music
    result = runner.invoke(app, ["plot", str(song), "-k", "tempogram"])
    assert result.exit_code == 0 and (elsewhere / "song-tempogram.png").read_bytes().startswith(PNG)
    assert not (tmp_path / "song-tempogram.png").exists()
    result = runner.invoke(app, ["plot", str(song), "-k", "rainbow"])
    assert result.exit_code == 2 and "unknown plot kind" in result.stderr
    result = runner.invoke(app, ["plot", str(broken["silent"])])
    assert result.exit_code == 2 and "silent" in result.stderr


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory, broken):
    root = tmp_path_factory.mktemp("explore") / "music"
    for genre, make in (
        ("beats", lambda n: music_like(3.0, seed=n)),
        ("tones", lambda n: tone(3.0, 22050, 220.0 * (n + 1))[:, 0]),
        ("noise", lambda n: np.random.default_rng(n).normal(0, 0.1, 66150).astype(np.float32)),
    ):
        (root / genre).mkdir(parents=True)
        for n in range(4):
            soundfile.write(root / genre / f"{genre}{n}.wav", make(n), 22050)
    (root / "noise" / "broken.mp3").write_bytes(broken["not_audio"].read_bytes())
    return root


def test_explore_report_has_every_section(small_dataset, tmp_path):
    from genrekit.training.config import load_config
    from genrekit.training.train import train

    (tmp_path / "exp.toml").write_text(
        f'[data]\npath = "{small_dataset}"\n[protocol]\nfolds = 2\n[model]\nname = "logreg"\n'
    )
    _, bundle, _ = train(
        load_config(tmp_path / "exp.toml"), tmp_path / "model", None, progress=False
    )
    result = runner.invoke(
        app,
        [
            "explore",
            str(small_dataset),
            "-o",
            str(tmp_path / "report"),
            "--model",
            str(bundle),
            "-j",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    page = (tmp_path / "report" / "report.html").read_text()
    for section in (
        "class-balance",
        "durations-and-sample-rates",
        "feature-distributions-per-genre",
        "correlation-before-and-after-pca",
        "feature-importance",
        "map-of-the-dataset",
        "model-",
    ):
        assert f'<section id="{section}' in page, section
    assert "mel-band block" in page and "permutation" in page
    assert page.count("<circle") >= 2 * 12  # 12 tracks on each of the two maps
    assert "<title>beats0 (beats)</title>" in page  # hover names
    assert "broken.mp3" in page  # the undecodable file is listed
    assert "most wrong" in page
    assert page.count("data:image/png;base64,") >= 6 and "nan" not in page.lower().split()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "tempo (BPM)" in page  # what a feature measures, with its unit
    support = page.split("<th>support</th>")[1].split("</table>")[0]
    assert ".000" not in support  # counts print as counts
    assert "<th>genre</th>" in page and "<th></th>" not in page  # no stray index header row


def test_explore_a_features_table_uses_the_mfcc_block(tmp_path):
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.random((30, 57)), columns=gtzan57.COLUMNS)
    table.insert(0, "filename", [f"t{i}.wav" for i in range(30)])
    table["label"] = ["a", "b", "c"] * 10
    table.to_csv(tmp_path / "t.csv", index=False)
    result = runner.invoke(app, ["explore", str(tmp_path / "t.csv"), "-o", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "r" / "report.html").read_text()
    assert "MFCC (a features table has no mel bands)" in page
    assert "holds no audio durations" in page


def test_report_renders_results_side_by_side(tmp_path):
    from test_models import write_config, write_table

    from genrekit.training.config import load_config
    from genrekit.training.train import train

    folders = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        config = load_config(write_config(tmp_path / name, write_table(tmp_path / name / "t.csv")))
        config.name = f"model-{name}"
        train(config, None, tmp_path / name / "report", progress=False)
        folders.append(tmp_path / name / "report")
    saved = json.loads((folders[1] / "report.json").read_text())
    saved["history"] = {"train_loss": [1.0, 0.5, 0.3], "val_accuracy": [0.5, 0.7, 0.8]}
    (folders[1] / "report.json").write_text(json.dumps(saved))
    out = tmp_path / "results.html"
    result = runner.invoke(
        app, ["report", str(folders[0]), str(folders[1] / "report.json"), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert "model-a — cross-validation" in page and "model-b — cross-validation" in page
    assert "2 results" in page
    for column in ("train accuracy", "fit time, all folds (s)", "predict time, all folds (s)",
                   "size (KB)"):  # fmt: skip
        assert f"<th>{column}</th>" in page
    comparison = page.split('id="comparison"')[1].split("</table>")[0]
    rows = comparison.split("<tbody>")[1].split("</tr>")[:2]
    accuracies = [float(r.split("<td>")[2].split()[0]) for r in rows]
    assert accuracies == sorted(accuracies, reverse=True)  # best first …
    assert rows[0].strip().startswith('<tr class="best">')  # … and highlighted
    assert page.count("data:image/png;base64,") == 3  # two confusion matrices, one curve plot
    bad = runner.invoke(app, ["report", str(tmp_path / "missing.json")])
    assert bad.exit_code == 2 and "not a readable report.json" in bad.stderr


PHONE_TEXT_PX = 8
"""The smallest text (CSS px) a report may show on a phone."""


@pytest.mark.slow
@needs_browser
def test_reports_read_on_a_phone_and_a_desktop(small_dataset, tmp_path):
    """In Chromium at 1400 and 390 px wide: the explore report and a committed comparison page
    never scroll sideways (wide tables scroll in their own box), show box-plot genre names and
    map labels at a readable size, say a shared protocol once, and ask no one to hover."""
    from playwright.sync_api import sync_playwright

    from genrekit.reports.explore import BOX_LABEL_POINTS, explore
    from genrekit.reports.html_page import FIGURE_DPI

    report = explore(small_dataset, tmp_path / "report")
    comparisons = sorted((REPO / "benchmarks" / "results").glob("*/comparison.html"))
    box_label_px = BOX_LABEL_POINTS * FIGURE_DPI / 72
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for width, height in ((1400, 1000), (390, 844)):
            page = browser.new_page(viewport={"width": width, "height": height})
            for path in (report, *comparisons):
                page.goto(path.as_uri())
                assert page.evaluate("document.documentElement.scrollWidth") <= width, path
                assert "hover" not in page.inner_text("body").lower()
                for table in page.locator(".table").all():  # whole, or scrolling in its box
                    assert table.bounding_box()["x"] + table.bounding_box()["width"] <= width
            for comparison in comparisons:
                page.goto(comparison.as_uri())
                assert page.inner_text("body").count("Protocol of every row") <= 1
            page.goto(report.as_uri())
            durations = page.locator("#durations-and-sample-rates table").first
            assert durations.evaluate("t => t.scrollWidth <= t.parentElement.clientWidth")
            scales = page.locator('img[alt^="box plots"]').evaluate_all(
                "all => all.map(i => i.clientWidth / i.naturalWidth)"
            )
            assert len(scales) == 6 and min(scales) * box_label_px >= PHONE_TEXT_PX, scales
            label_heights = page.locator("svg text").evaluate_all(
                "all => all.map(t => t.getBoundingClientRect().height)"
            )
            assert label_heights and min(label_heights) >= PHONE_TEXT_PX, label_heights
            page.close()
        browser.close()
