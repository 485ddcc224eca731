"""The Streamlit web app: flows through AppTest, and one real upload in headless Chromium."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import DATA, REPO

APP = REPO / "src" / "genrekit" / "webapp.py"
ARTIFACTS = Path(
    os.environ.get("GENREKIT_ARTIFACTS", Path(tempfile.gettempdir()) / "genrekit-test-artifacts")
)
"""Screenshots and redraw timings of the browser tests (CI keeps this folder as artifacts)."""
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def app_test():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    assert not at.exception
    return at


@pytest.mark.data
def test_example_clip_is_classified(app_test):
    """A result card first, styles as chips, charts, and a view drawn only when asked for."""
    example = "Hungarian_Dance_number_5_-_Allegro_in_F_sharp_minor_(string_orchestra).hq.ogg"
    app_test.selectbox(key="example").set_value(example).run()
    assert not app_test.exception
    assert [h.value for h in app_test.header] == ["Hungarian Dance No. 5 — The U.S. Army Strings"]
    assert "Hungarian Dance No. 5" in app_test.selectbox(key="example").format_func(example)
    assert app_test.subheader[0].value.startswith("Classical — confident, ")
    shown = [m.value for m in app_test.markdown]
    assert any(":violet-badge[violin]" in line for line in shown if line.startswith("Styles"))
    assert any("independent score from 0 to 1" in line for line in shown)  # not shares
    intro = next(line for line in shown if line.startswith("Drop a song"))
    assert "knows 10 genres: Blues, Classical" in intro and "unknown" in intro
    assert not app_test.get("image")  # no picture until one is asked for
    assert len(app_test.get("vega_lite_chart")) == 3  # genres, timeline, tags
    view = app_test.selectbox(key=f"view:{example}")  # keyed by the file, whatever its name
    assert view.options == ["(none)", "Waveform", "Mel spectrogram", "MFCC", "Chroma", "Spectrum"]
    view.set_value("Mel spectrogram").run()
    assert not app_test.exception
    assert len(app_test.get("image")) == 1


@pytest.mark.data
def test_several_files_get_a_summary_first_with_plain_errors_and_notes(app_test, tmp_path):
    clip = (DATA / "gtzan" / "metal" / "metal.00035.flac").read_bytes()
    import io

    import soundfile

    from genrekit.audio import load_audio

    short = io.BytesIO()
    samples = load_audio(DATA / "gtzan" / "metal" / "metal.00035.flac").samples[: 2 * 22050]
    soundfile.write(short, samples, 22050, format="WAV")
    app_test.file_uploader(key="uploads").set_value(
        [("notes.mp3", b"this is a text file", "audio/mpeg"), ("song.flac", clip, "audio/flac"),
         ("two-seconds.wav", short.getvalue(), "audio/wav")]
    ).run()  # fmt: skip
    assert not app_test.exception
    assert app_test.subheader[0].value == "Summary"
    rows = app_test.table[0].value
    assert list(rows["song"]) == ["notes.mp3", "song.flac", "two-seconds.wav"]
    assert rows["note"][0].startswith("this is not a sound file genrekit can read")
    assert rows["genre"][1] == "Metal" and rows["note"][1] == "ok"
    assert rows["note"][2].startswith("Only 2 s of sound")
    assert [e.value for e in app_test.error] == [
        "notes.mp3: this is not a sound file genrekit can read (it may be damaged, or not audio)."
    ]
    assert any(w.value.startswith("Only 2 s of sound") for w in app_test.warning)
    # One card open, the others folded: several songs make a page, not 8,000 px of one.
    assert [e.label for e in app_test.expander] == ["song.flac", "two-seconds.wav"]


@pytest.mark.data
def test_a_phone_line_recording_is_said_to_sound_like_one(app_test):
    import io

    import soundfile

    from genrekit.audio import load_audio
    from genrekit.degrade import telephone

    clip = load_audio(DATA / "gtzan" / "blues" / "blues.00000.flac")
    phone = io.BytesIO()
    soundfile.write(phone, telephone(clip.samples, clip.sample_rate), clip.sample_rate,
                    format="WAV", subtype="FLOAT")  # fmt: skip
    app_test.file_uploader(key="uploads").set_value(
        [("call.wav", phone.getvalue(), "audio/wav")]
    ).run()
    assert not app_test.exception
    assert any(w.value.startswith("It sounds like a phone line") for w in app_test.warning)


def test_unknown_shows_no_percentage_no_genre_chips_and_reads_unsure(app_test):
    """White noise is unknown: the card, the summary and the chips say nothing that reads as a
    verdict (a percentage, a genre's styles)."""
    import io

    import numpy as np
    import soundfile

    noise = io.BytesIO()
    samples = 0.3 * np.random.default_rng(0).standard_normal(22050 * 20).astype(np.float32)
    soundfile.write(noise, samples, 22050, format="WAV")
    app_test.file_uploader(key="uploads").set_value(
        [("noise.wav", noise.getvalue(), "audio/wav"),
         ("noise2.wav", noise.getvalue(), "audio/wav")]
    ).run()  # fmt: skip
    assert not app_test.exception
    headline = [h.value for h in app_test.subheader if h.value.startswith("Unknown")]
    assert headline and all("%" not in h for h in headline)
    detail = [m.value for m in app_test.markdown if "least far" in m.value]
    assert detail and all("Closest" not in m and "(" not in m for m in detail)
    assert not [m.value for m in app_test.markdown if m.value.startswith("Styles")]
    rows = app_test.table[0].value
    assert list(rows["genre"]) == ["Unknown", "Unknown"] and list(rows["how sure"]) == ["—", "—"]


def test_unknown_model_folder_is_reported_and_the_page_keeps_working(app_test, tmp_path):
    app_test.sidebar.text_input[0].set_value(str(tmp_path)).run()
    assert not app_test.exception
    assert "could not be loaded" in app_test.error[0].value
    assert "not a model bundle" in app_test.error[0].value
    assert app_test.file_uploader(key="uploads") is not None  # the uploader is still there


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, seconds: float = 90.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {seconds:.0f} s")


needs_browser = pytest.mark.skipif(
    not os.path.exists(CHROMIUM) and os.environ.get("GENREKIT_REQUIRE_BROWSER") != "1",
    reason="Debian chromium is not installed",
)


@contextlib.contextmanager
def app_in_chromium(width: int, height: int, env: dict[str, str] | None = None):
    """The web app served on a free loopback port, and a Chromium page open on it."""
    from playwright.sync_api import sync_playwright

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless=true",
         f"--server.port={port}", "--server.address=127.0.0.1",
         "--browser.gatherUsageStats=false"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    try:
        _wait_until_up(f"http://127.0.0.1:{port}/_stcore/health")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                      "--disable-background-networking", "--disable-component-update",
                      "--disable-sync", "--autoplay-policy=no-user-gesture-required"],
            )  # fmt: skip
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(f"http://127.0.0.1:{port}", timeout=60_000)
            yield page
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def browser_uploads(tmp_path) -> list[Path]:
    """A classical clip, white noise (unknown; tagged), a GTZAN-style .au clip browsers cannot
    play, and a quiet phone-line recording saved in 16 bits."""
    import mutagen
    import numpy as np
    import soundfile

    from genrekit.audio import load_audio
    from genrekit.degrade import telephone

    noise = tmp_path / "noise.flac"  # its tags name it "Hiss — Nobody"
    samples = 0.3 * np.random.default_rng(0).standard_normal(22050 * 20).astype(np.float32)
    soundfile.write(noise, samples, 22050)
    tagged = mutagen.File(noise)
    tagged["TITLE"], tagged["ARTIST"] = "Hiss", "Nobody"
    tagged.save()
    au = tmp_path / "jazz.00002.au"
    jazz = load_audio(DATA / "gtzan" / "jazz" / "jazz.00002.flac").samples
    soundfile.write(au, jazz, 22050, format="AU", subtype="PCM_16")
    call = tmp_path / "call.wav"
    blues = load_audio(DATA / "gtzan" / "blues" / "blues.00000.flac")
    soundfile.write(call, telephone(blues.samples, 22050) * 10 ** (-30 / 20), 22050, "PCM_16")
    return [DATA / "gtzan" / "classical" / "classical.00041.flac", noise, au, call]


PLAY_EVERY_PLAYER = """async () => {
    for (const audio of document.querySelectorAll('audio')) {
        audio.muted = true;
        await audio.play();
    }
}"""
PLAYERS_ADVANCED = """() => {
    const players = [...document.querySelectorAll('audio')];
    return players.length >= 3 && players.every(a => !a.error && a.currentTime > 0.3);
}"""


@pytest.mark.data
@pytest.mark.slow
@needs_browser
def test_upload_in_a_real_browser(browser_uploads):
    """Desktop and phone, what a person sees: the result card leads; every chart draws marks
    with area; every genre bar is named and carries its value; songs are named by their tags;
    white noise reads "Unknown" with no percentage anywhere in its card or summary row; every
    player plays (the .au clip as WAV); a quiet phone-line recording's card says it sounds like
    one, within the screen's width; the Deploy toolbar is gone. How long a control change
    takes to redraw is recorded (not asserted)."""
    import json
    import re

    timings = {}
    for width, height, device in ((1400, 1000, "desktop"), (390, 844, "phone")):
        with app_in_chromium(width, height) as page:
            page.locator('input[type="file"]').set_input_files([str(f) for f in browser_uploads])
            page.get_by_text("Classical — confident").wait_for(timeout=180_000)
            page.get_by_text("Summary", exact=True).wait_for(timeout=60_000)
            for name in ("Hiss — Nobody", "jazz.00002.au", "call.wav"):  # folded cards after
                # the first,
                # each named by its tags (file name when it has none)
                page.locator('[data-testid="stExpander"] summary', has_text=name).first.click()
            noise_card = page.locator('[data-testid="stExpander"]', has_text="Hiss — Nobody").first
            noise_card.get_by_text("Unknown —").wait_for(timeout=120_000)
            page.get_by_text("Jazz —").first.wait_for(timeout=120_000)
            # The phone-line recording's card says so, within the screen's width.
            note = page.get_by_text("It sounds like a phone line").first
            note.wait_for(timeout=120_000)
            box = note.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, box
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            note.screenshot(path=str(ARTIFACTS / f"webapp-phone-line-note-{device}.png"))
            page.wait_for_function(
                "document.querySelectorAll('.vega-embed').length >= 6", timeout=60_000
            )
            charts = page.locator(".vega-embed")
            areas = [drawn_area(charts.nth(i)) for i in range(charts.count())]
            # Each chart (genres, genre over time, tags; per song) draws marks with area: the
            # timeline once drew only its axis (a zero-height plot).
            assert min(areas) > DRAWN_AREA, areas
            # The first chart is the classical clip's genres: every bar named, with its value.
            texts = svg_texts(charts.first)
            values = [t for t in texts if re.fullmatch(r"\d+%", t)]
            names = [t for t in texts if t in _genre_names()]
            assert len(names) == 5 and len(values) >= 5 + 1, texts  # 5 bars (+ axis ticks)
            assert names[0] == "Classical"
            # Unknown: no percentage in its card (text or chart) nor in its summary row.
            assert "%" not in noise_card.inner_text()
            assert all("%" not in t for t in svg_texts(noise_card))
            noise_row = page.locator("tr", has_text="Hiss — Nobody").first.inner_text()
            assert "Unknown" in noise_row and "%" not in noise_row, noise_row
            # Every player plays, the .au clip's too (browsers answered it with media error 4).
            page.evaluate(PLAY_EVERY_PLAYER)
            page.wait_for_function(PLAYERS_ADVANCED, timeout=30_000)
            sources = page.eval_on_selector_all("audio", "all => all.map(a => a.currentSrc)")
            assert any(src.endswith(".wav") for src in sources), sources
            assert page.get_by_text("Deploy", exact=True).count() == 0
            slider = page.get_by_role("slider").first
            if slider.is_visible():
                start = time.perf_counter()
                slider.press("ArrowLeft")
                page.wait_for_function(
                    "!document.querySelector('[data-testid=\"stStatusWidget\"]')",
                    timeout=60_000,
                )
                timings[f"{device}: genres-shown slider, 3 files"] = round(
                    time.perf_counter() - start, 2
                )
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"webapp-upload-{device}.png"), full_page=True)
    (ARTIFACTS / "webapp-redraw-seconds.json").write_text(json.dumps(timings, indent=2))


def svg_texts(element) -> list[str]:
    """The words a Vega chart draws (axis labels, values, legend) inside ``element``."""
    return element.locator("svg text").evaluate_all("all => all.map(t => t.textContent)")


def _genre_names() -> set[str]:
    """The default model's genres as the app writes them (``hiphop`` → ``Hip-Hop``)."""
    from genrekit import load_model
    from genrekit.library.file_tags import display_genre

    return {display_genre(label) for label in load_model().labels}


DRAWN_AREA = 1500
"""Coloured pixels a chart must show: marks with area (bars, blocks), not an axis alone."""


def coloured_area(element) -> int:
    """Pixels of an element's screenshot in the charts' mark colours (bars, blocks), not the
    white ground, grey axes or black text."""
    import io

    import numpy as np
    from PIL import Image

    from genrekit.reports.charts import TABLEAU10

    pixels = np.asarray(Image.open(io.BytesIO(element.screenshot())).convert("RGB")).astype(int)
    solid = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in TABLEAU10])
    palette = np.vstack([solid, 0.85 * solid + 0.15 * 255])  # the map's dots: 85 % opaque
    distance = np.abs(pixels[:, :, None, :] - palette[None, None]).max(axis=3).min(axis=2)
    return int((distance <= 12).sum())


def drawn_area(element, seconds: float = 15.0) -> int:
    """``coloured_area`` once the chart, scrolled into view, has drawn (charts below the fold
    draw when they are shown); the last measure if it never reaches ``DRAWN_AREA``."""
    element.scroll_into_view_if_needed()
    deadline = time.monotonic() + seconds
    area = coloured_area(element)
    while area <= DRAWN_AREA and time.monotonic() < deadline:
        time.sleep(0.5)
        area = coloured_area(element)
    return area


@pytest.fixture
def teach_setup(tmp_path):
    """Examples (3 classical, 3 metal) and a small indexed library holding other clips."""
    from genrekit.library.catalog import index_folder

    examples, library = tmp_path / "examples", tmp_path / "library"
    for label in ("classical", "metal"):
        (examples / label).mkdir(parents=True)
        clips = sorted((DATA / "gtzan" / label).glob("*.flac"))
        for clip in clips[:3]:
            (examples / label / clip.name).symlink_to(clip)
        library.mkdir(exist_ok=True)
        (library / clips[3].name).symlink_to(clips[3])
    for label in ("jazz", "disco"):
        for clip in sorted((DATA / "gtzan" / label).glob("*.flac"))[:2]:
            (library / clip.name).symlink_to(clip)
    db = tmp_path / "library.sqlite"
    index_folder(library, db, progress=False)
    return examples, tmp_path / "mymodel", db


@pytest.mark.data
@pytest.mark.slow
@needs_browser
def test_teach_page_in_a_real_browser(teach_setup):
    """Learn from examples, get suggestions, label one with a click, retrain, see accuracy."""
    examples, model, db = teach_setup
    (examples / "jazz").mkdir()  # an empty label: said, not silently dropped
    with app_in_chromium(390, 844, {"GENREKIT_LIBRARY": str(db)}) as page:  # a phone
        page.get_by_text("Teach", exact=True).click()
        page.get_by_label("Your examples folder").fill(str(examples))
        page.get_by_label("Your examples folder").press("Enter")
        page.get_by_label("Model folder to write").fill(str(model))
        page.get_by_label("Model folder to write").press("Enter")
        page.get_by_role("button", name="Learn from my examples").click()
        page.get_by_text("Estimated accuracy:").wait_for(timeout=180_000)
        page.get_by_text("Label these next").wait_for(timeout=120_000)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "webapp-teach-suggestions.png"), full_page=True)
        assert page.get_by_text("Label 'jazz' has 0 song(s)").count() == 1
        assert page.get_by_text("What it means").count() == 1
        first, second = (page.locator("button", has_text=n).first for n in ("classical", "metal"))
        second.scroll_into_view_if_needed()
        # The label buttons sit side by side in a row that wraps, even on a phone.
        assert abs(first.bounding_box()["y"] - second.bounding_box()["y"]) < 5
        second.click()
        page.get_by_text("Added to metal").wait_for(timeout=60_000)
        assert len(list((examples / "metal").iterdir())) == 4
        page.get_by_role("button", name="Learn from my examples").click()
        page.get_by_text("→").wait_for(timeout=180_000)
        page.set_viewport_size({"width": 1400, "height": 1000})  # and on a desktop
        assert page.get_by_text("Label 'jazz' has 0 song(s)").count() == 1
        assert page.get_by_text("What it means").count() == 1
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "webapp-teach.png"), full_page=True)


@pytest.fixture
def shared_clips_library(tmp_path):
    """A catalog of 8 real clips, two from each of four genres."""
    from genrekit.library.catalog import index_folder

    music = tmp_path / "music"
    music.mkdir()
    for label in ("classical", "metal", "jazz", "reggae"):
        for clip in sorted((DATA / "gtzan" / label).glob("*.flac"))[:2]:
            (music / clip.name).symlink_to(clip)
    db = tmp_path / "library.sqlite"
    index_folder(music, db, progress=False)
    return music, db


@pytest.mark.data
@pytest.mark.slow
@needs_browser
def test_library_page_in_a_real_browser(shared_clips_library):
    """On a phone: the map draws (by genre, then by group), a mix plays, a picked song plays and
    its like songs show by name."""
    from genrekit.library.mixes import cluster_catalog

    music, db = shared_clips_library
    groups = cluster_catalog(db, 3).groups
    with app_in_chromium(390, 844, {"GENREKIT_LIBRARY": str(db)}) as page:
        page.get_by_text("Library", exact=True).click()
        page.get_by_text("8 of 8 songs").wait_for(timeout=120_000)
        page.locator(".vega-embed").first.wait_for(timeout=60_000)  # the Altair map
        assert drawn_area(page.locator(".vega-embed").first) > 200  # dots, coloured by genre
        page.get_by_text("group (mix)").click()
        page.get_by_text("Group", exact=True).first.wait_for(timeout=60_000)  # the legend
        assert drawn_area(page.locator(".vega-embed").first) > 200
        page.get_by_role("combobox", name="Play a mix").click()
        page.keyboard.type(groups[0].name)
        page.keyboard.press("Enter")
        page.wait_for_function(  # the players appear one by one on a busy machine
            f"document.querySelectorAll('audio').length >= {groups[0].size}", timeout=60_000
        )
        assert page.locator("audio").count() == groups[0].size  # the mix's songs, each playable
        page.get_by_role("combobox", name="…or pick a song").click()
        page.keyboard.type("(jazz)")
        page.keyboard.press("Enter")
        page.get_by_text("Songs like it").wait_for(timeout=60_000)
        page.get_by_text("% match").first.wait_for(timeout=60_000)
        page.locator("audio").nth(1).wait_for(state="attached", timeout=60_000)
        assert page.locator("audio").count() >= 2  # the song and its like songs play here
        assert str(music) not in page.inner_text("body")  # names, never paths
        page.set_viewport_size({"width": 1400, "height": 1000})  # and on a desktop
        assert drawn_area(page.locator(".vega-embed").first) > 200
        assert page.locator("audio").count() >= 2
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "webapp-library.png"), full_page=True)


@pytest.mark.slow
@needs_browser
def test_docs_page_renders_in_chromium_with_the_network_blocked():
    """The API's /docs (reached through /) in a real browser that may reach nothing else."""
    from playwright.sync_api import sync_playwright
    from test_api import APP, _served

    with _served(APP) as port, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        blocked: list[str] = []

        def only_this_server(route):
            if route.request.url.startswith(f"http://127.0.0.1:{port}/"):
                return route.continue_()
            blocked.append(route.request.url)
            return route.abort()

        page.route("**/*", only_this_server)
        for width, height in ((1400, 1000), (390, 844)):
            page.set_viewport_size({"width": width, "height": height})
            page.goto(f"http://127.0.0.1:{port}/", timeout=60_000)
            page.get_by_text("/v1/predict").first.wait_for(timeout=60_000)
            assert page.get_by_role("heading", name="classify").count() == 1
            # "Try it out" on /v1/predict offers a file picker; Execute classifies the file.
            operation = page.locator("#operations-classify-predict_v1_predict_post")
            operation.locator(".opblock-summary").click()
            operation.get_by_role("button", name="Try it out").click()
            picker = operation.locator('input[type="file"]')
            if picker.count() == 0:  # an array starts empty: add its first item
                operation.get_by_role("button", name="Add string item").first.click()
            picker.first.set_input_files(str(DATA / "gtzan" / "jazz" / "jazz.00002.flac"))
            operation.get_by_role("button", name="Execute").click()
            status = operation.locator(".live-responses-table .response .response-col_status")
            status.first.wait_for(timeout=120_000)
            assert status.first.inner_text().strip().startswith("200"), status.inner_text()
        assert blocked == []  # it never even tried the internet
        browser.close()


def test_sigterm_to_genrekit_app_stops_the_server():
    """`genrekit app` becomes the Streamlit server, so a terminated app leaves nothing running."""
    port = _free_port()
    app = subprocess.Popen(
        [sys.executable, "-m", "genrekit.cli", "app", "--port", str(port)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_until_up(f"http://127.0.0.1:{port}/_stcore/health")
        app.terminate()
        app.wait(timeout=30)
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
    finally:
        if app.poll() is None:
            app.kill()


@pytest.mark.data
def test_songs_are_named_by_their_tags_and_au_clips_play_as_wav(app_test, tmp_path):
    """A file that says "Food — AWOL" in its tags is called that; GTZAN's own .au clips, which
    browsers cannot play, get a player of their decoded sound."""
    import io

    import mutagen
    import soundfile

    from genrekit.audio import load_audio

    samples = load_audio(DATA / "gtzan" / "jazz" / "jazz.00002.flac").samples
    tagged = tmp_path / "000002.flac"
    soundfile.write(tagged, samples, 22050)
    audio = mutagen.File(tagged)
    audio["TITLE"], audio["ARTIST"] = "Food", "AWOL"
    audio.save()
    au = io.BytesIO()
    soundfile.write(au, samples, 22050, format="AU", subtype="PCM_16")
    app_test.file_uploader(key="uploads").set_value(
        [("000002.flac", tagged.read_bytes(), "audio/flac"),
         ("jazz.00002.au", au.getvalue(), "audio/basic")]
    ).run()  # fmt: skip
    assert not app_test.exception
    assert [h.value for h in app_test.header] == ["Food — AWOL", "jazz.00002.au"]
    players = app_test.get("audio")
    assert len(players) == 2
    assert players[0].proto.url.endswith(".flac") and players[1].proto.url.endswith(".wav")
