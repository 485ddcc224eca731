"""The genrekit web app (Streamlit): upload or pick a song, listen, look, and see its genre.

A thin page over the library: decoding, prediction and figures all come from genrekit modules.
Run with ``genrekit app`` (or ``make run``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import streamlit as st

from genrekit.audio import MIN_DURATION
from genrekit.autotags import tag_file
from genrekit.errors import AudioError, AudioTooShortError, GenrekitError, SilentAudioError
from genrekit.library.file_tags import display_genre, read_credits
from genrekit.library.similarity import Catalog
from genrekit.models.bundle import DEFAULT_MODEL, bundled_models
from genrekit.paths import examples_dir
from genrekit.predict import Classifier
from genrekit.records import record
from genrekit.reports.charts import library_chart, probabilities_chart, tags_chart, timeline_chart
from genrekit.reports.plots import audio_figure
from genrekit.training.datasets import collection_names

NO_EXAMPLE = "(none)"


@st.cache_resource(show_spinner="Loading model…")
def load_classifier(model: str) -> Classifier:
    return Classifier.load(model)


@st.cache_resource(show_spinner="Loading library…")
def load_catalog(db: str, modified: float) -> Catalog:
    """The library catalog (reloaded when the file changes: ``modified`` is its mtime)."""
    return Catalog.load(db)


@st.cache_data(show_spinner="Analysing…", max_entries=32)
def analyse(name: str, data: bytes, model: str):
    """Decode, classify and tag one file: (its record — ``records.record``, what the CLI and
    the API give too —, embedding, samples, rate, tags, credits), or the ``AudioError`` saying
    why not (tags: the pretrained musicnn MSD model's 50 scores)."""
    suffix = Path(name).suffix if Path(name).suffix.isascii() else ""
    with tempfile.NamedTemporaryFile(suffix=suffix) as handle:
        handle.write(data)
        handle.flush()
        try:
            classifier = load_classifier(model)
            audio = classifier.load_audio(handle.name)
            prediction, embedding = classifier.analyse(audio)
            tags = tag_file(handle.name).tags
        except AudioError as error:
            return type(error)(name, error.reason)  # named as the person named it
        credits = read_credits(handle.name)
    return record(prediction), embedding, audio.samples, audio.sample_rate, tags, credits


def chosen_inputs() -> list[tuple[str, bytes]]:
    uploads = st.file_uploader(
        "Drop audio files here (wav, au, flac, ogg, mp3, m4a, …)",
        accept_multiple_files=True,
        key="uploads",
    )
    inputs = [(upload.name, upload.getvalue()) for upload in uploads or []]
    examples = sorted(examples_dir().glob("*.ogg")) if examples_dir().is_dir() else []
    if not examples:
        st.write(f"(Example songs are looked for in {examples_dir().resolve()}; set "
                 "GENREKIT_DATA to the folder that holds examples/.)")  # fmt: skip
    if examples:
        names = [NO_EXAMPLE] + [p.name for p in examples]
        pick = st.selectbox("…or try an example", names, key="example",
                            format_func=example_name)  # fmt: skip
        if pick != NO_EXAMPLE:
            inputs.append((pick, (examples_dir() / pick).read_bytes()))
    return inputs


def example_name(file_name: str) -> str:
    """An example as a listener would name it: title — artist from its tags, else its file name
    without the underscores and download suffixes."""
    if file_name == NO_EXAMPLE:
        return file_name
    plain = file_name.removesuffix(".ogg").removesuffix(".hq").replace("_", " ")
    return read_credits(examples_dir() / file_name).named(plain)


def show_similar(embedding, catalog: Catalog | None, k: int = 8) -> None:
    if catalog is None:
        return
    st.subheader("Similar songs in your library")
    similar_songs(catalog.nearest(catalog.standardize(embedding), k))


def similar_songs(neighbours: list) -> None:
    """Each similar song by name, with its genre, how close it is and a player; songs that
    share nothing (no positive similarity) are left out rather than padded in."""
    from genrekit.library.music_map import match_percent
    from genrekit.library.playlists import entry

    close = [n for n in neighbours if match_percent(n.score) >= MIN_MATCH]
    if not close:
        st.write("Nothing in your library sounds much like it.")
    for n in close:
        song = entry(n.path)
        by = f" — {song.artist}" if song.artist else ""
        genre = display_genre(n.genre) if n.genre and n.genre != "unknown" else "unknown"
        st.markdown(f"**{song.title}**{by} · {genre} · {match_percent(n.score)}% match")
        if Path(n.path).is_file():
            st.audio(n.path)


# (No bare strings at module level: Streamlit would print them on the page.)
# Confidence (calibrated probability) from which a verdict reads "confident" / "fairly sure";
# below, "unsure".
CONFIDENT = 0.7
FAIRLY_SURE = 0.4
# Songs shorter than this (s) get a note: a verdict on a few seconds of music is less reliable.
SHORT_SECONDS = 10.0
VIEWS = {
    "Waveform": "waveform",
    "Mel spectrogram": "mel",
    "MFCC": "mfcc",
    "Chroma": "chroma",
    "Spectrum": "spectrum",
}
NO_VIEW = "(none)"
BROWSER_FORMATS = {
    ".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".oga": "audio/ogg", ".opus": "audio/ogg",
    ".wav": "audio/wav", ".flac": "audio/flac", ".m4a": "audio/mp4", ".aac": "audio/aac",
    ".webm": "audio/webm",
}  # fmt: skip
# Browsers play these as they are (served with their own type); other files (.au, .aiff) are
# played as their decoded sound, made into WAV.
MIN_MATCH = 20
# "% match" under which a library song is not offered as similar (it shares little).
SONG_SELECTION = "song"  # the library map's selection: the tapped song's id


def _displayed(probabilities: dict[str, float]) -> dict[str, float]:
    """Genre names as people write them (``hiphop`` → ``Hip-Hop``), one spelling everywhere."""
    return {display_genre(label): p for label, p in probabilities.items()}


def _displayed_segment(segment: dict[str, Any]) -> dict[str, Any]:
    return {**segment, "label": display_genre(segment["label"]),
            "probabilities": _displayed(segment["probabilities"])}  # fmt: skip


def song_name(name: str, result) -> str:
    """How a song is named: "Title — Artist" from its tags, else its file name."""
    return name if isinstance(result, AudioError) else result[5].named(name)


def verdict_words(found: dict[str, Any]) -> tuple[str, str]:
    """The result card's headline and its plain-language detail, from a file's record. An
    unknown song shows no percentage: a confidence among genres it does not belong to would
    read as a verdict."""
    label, probability = next(iter(found["probabilities"].items()))
    if not found["known"]:
        return (
            "Unknown — not one of the genres this model knows",
            f"It sounds {_unlike_words(found['typicality'] or 0)}. "
            f"Of the genres it knows, {display_genre(label)} is the least far.",
        )
    sureness = (
        "confident" if probability >= CONFIDENT else
        "fairly sure" if probability >= FAIRLY_SURE else "unsure"
    )  # fmt: skip
    return f"{display_genre(label)} — {sureness}, {probability:.0%}", ""


def _unlike_words(typicality: float) -> str:
    """How unusual a song is, as a count out of ten songs the model learned from (a
    percentage beside "unknown" would read as a confidence)."""
    in_ten = round(10 * (1 - typicality))
    if in_ten >= 10:
        return "less typical than every song the model learned from"
    return f"less typical than {in_ten} in 10 songs the model learned from"


def notes(found: dict[str, Any]) -> list[str]:
    """Plain warnings to read beside a verdict (short, unsure, cut), from a file's record."""
    warnings = []
    if found["duration"] < SHORT_SECONDS:
        warnings.append(f"Only {found['duration']:.0f} s of sound: a verdict on so little music "
                        "is less reliable.")  # fmt: skip
    if found["known"] and found["confidence"] < FAIRLY_SURE:
        warnings.append("Low confidence: the model hesitates between several genres.")
    if found["truncated"]:
        warnings.append(f"Only the first {found['duration']:.0f} s were analysed.")
    if found["narrow_band"]:
        warnings.append("It sounds like a phone line: nothing above about 4 kHz. The part of the "
                        "model that learned such sound judged it.")  # fmt: skip
    return warnings


def plain_reason(error: AudioError) -> str:
    """What went wrong with a file, in words a music fan uses (no decoder jargon)."""
    if isinstance(error, SilentAudioError):
        return "the file is silent: there is no sound to listen to."
    if isinstance(error, AudioTooShortError):
        return f"too short: at least {MIN_DURATION:g} s of sound is needed."
    return "this is not a sound file genrekit can read (it may be damaged, or not audio)."


@st.cache_data(max_entries=64, show_spinner=False)
def view_png(name: str, data: bytes, model: str, kind: str) -> bytes:
    """A picture of the sound (spectrogram etc.) as PNG, drawn once per file and view."""
    import io

    import matplotlib.pyplot as plt

    _, _, samples, rate, _, _ = analyse(name, data, model)
    figure = audio_figure(samples, rate, [kind])
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def summary(results: list) -> None:
    """Several files: one row each, result first, problems in plain words."""
    rows = []
    for name, _, result in results:
        if isinstance(result, AudioError):
            rows.append({"song": name, "genre": "—", "how sure": "—",
                         "note": plain_reason(result)})  # fmt: skip
            continue
        found = result[0]
        known = found["known"]
        rows.append({
            "song": song_name(name, result),
            "genre": display_genre(found["label"]) if known else "Unknown",
            "how sure": f"{found['confidence']:.0%}" if known else "—",
            "note": " ".join(notes(found)) or "ok",
        })  # fmt: skip
    st.subheader("Summary")
    st.table(rows, hide_index=True)


def show(name: str, data: bytes, result, model: str, top_k: int, catalog: Catalog | None) -> None:
    """One file: the result card first, then listening, charts, and views on demand."""
    st.header(song_name(name, result))
    if isinstance(result, AudioError):
        st.error(f"{name}: {plain_reason(result)}")
        return
    found, embedding, samples, rate, tags, _ = result
    labels = [display_genre(label) for label in load_classifier(model).labels]
    headline, detail = verdict_words(found)
    st.subheader(headline)
    if detail:
        st.write(detail)
    for note in notes(found):
        st.warning(note)
    chips = [f":violet-badge[{s['tag']}]" for group in found["styles"].values() for s in group]
    if chips and found["known"]:  # styles of a genre it does not know would mislead
        st.markdown("Styles and moods: " + " ".join(chips))
    if Path(name).suffix.lower() in BROWSER_FORMATS:
        st.audio(data, format=BROWSER_FORMATS[Path(name).suffix.lower()])
    else:  # a format browsers do not play (GTZAN's .au): the decoded sound, as WAV
        st.audio(samples, sample_rate=rate)
    if found["known"]:  # an unknown song's share among genres it is not would read as a verdict
        st.altair_chart(
            probabilities_chart(_displayed(found["probabilities"]), top_k, labels),
            width="stretch",
            alt=f"Genre probabilities of {name}",
        )
    if found["segments"]:
        st.markdown(
            "**Genre over time** — each stretch judged on the 15 s around it"
            if found["known"]
            else "**Nearest genre over time** — the song as a whole is unlike all of them"
        )
        st.altair_chart(
            timeline_chart([_displayed_segment(s) for s in found["segments"]], labels),
            width="stretch",
            alt=f"Genre over time in {name}",
        )
    st.markdown("**Tags** (pretrained musicnn): each an independent score from 0 to 1; they do not "
                "add up to a whole")  # fmt: skip
    st.altair_chart(tags_chart(tags, 10), width="stretch", alt=f"Tag scores of {name}")
    view = st.selectbox("Look at the sound", [NO_VIEW, *VIEWS], key=f"view:{name}")
    if view != NO_VIEW:
        st.image(view_png(name, data, model, VIEWS[view]), caption=f"{view} of {name}",
                 width="stretch", alt=f"{view} of {name}")  # fmt: skip
    show_similar(embedding, catalog)


def teach() -> None:
    """Teach genrekit your own labels: examples in folders, suggestions from your library,
    one click to label, retrain, and watch the accuracy estimate move."""
    from genrekit.teach.from_tags import learn_from_catalog
    from genrekit.teach.learn import MIN_EXAMPLES, learn, suggest

    st.title("Teach genrekit your own genres")
    st.write(
        "Put a few songs of each of your labels in a folder, one subfolder per label "
        "(3 or more songs each). genrekit learns them in seconds; with a library it then "
        "suggests the songs whose labels would teach it most."
    )
    folder = Path(st.text_input("Your examples folder", key="teach_examples").strip() or ".")
    model = Path(st.text_input("Model folder to write", "mymodel", key="teach_model").strip())
    library = st.text_input(
        "Library catalog (for suggestions)", os.environ.get("GENREKIT_LIBRARY", ""),
        key="teach_library",
    ).strip()  # fmt: skip
    history = st.session_state.setdefault("teach_history", [])
    counts = label_counts(folder)
    for label, count in counts.items():
        if count < MIN_EXAMPLES:
            st.warning(f"Label {label!r} has {count} song(s): at least {MIN_EXAMPLES} are "
                       "needed, so it is left out until you add more.")  # fmt: skip
    learn_examples = st.button("Learn from my examples", key="teach_learn")
    learn_tags = library and st.button("Learn from my library's genre tags", key="teach_tags")
    if learn_examples or learn_tags:
        songs = sum(counts.values())
        what = f"{songs} example song(s)" if learn_examples else "your library's genre tags"
        with st.status(f"Learning from {what}…") as status:
            try:
                if learn_examples:
                    result = learn(folder, model, progress=False)
                else:
                    learned = learn_from_catalog(library, model)
                    result = learned.result
                    for line in learned.describe():
                        st.write(line)
            except GenrekitError as error:
                status.update(label="Could not learn", state="error")
                st.error(str(error))
            else:
                status.update(label="Learned", state="complete")
                history.append(result.accuracy)
                for problem in result.errors:
                    st.warning(f"Skipped {problem}")
    if history:
        trend = " → ".join(f"{a:.0%}" for a in history)
        st.subheader(f"Estimated accuracy: {history[-1]:.0%}")
        st.markdown(
            f"After each training: {trend}. What it means: each of your songs was named by a "
            "model trained without that song's artist (without the song itself when your "
            "files name no artist) — about how often it will be right on music it has not heard."
        )
    if not library or not (model / "manifest.json").is_file():
        return
    labels = [label for label, count in counts.items() if count >= MIN_EXAMPLES] or list(counts)
    try:
        suggestions = suggest(library, model, n=5)
    except GenrekitError as error:
        st.error(str(error))
        return
    st.subheader("Label these next")
    for s in suggestions:
        st.write(f"**{Path(s.path).name}** — genrekit's guess: {s.guess} ({s.confidence:.0%})")
        if Path(s.path).is_file():
            st.audio(Path(s.path).read_bytes())
        chosen = st.pills("Label it as", labels, key=f"teach_{s.id}")  # wraps on a phone
        if chosen:
            _add_example(Path(s.path), folder / chosen)
            st.success(f"Added to {chosen}; press Learn to retrain.")


def label_counts(folder: Path) -> dict[str, int]:
    """Each label subfolder of ``folder`` with how many audio files it holds (0 for empty)."""
    from genrekit.training.datasets import audio_files

    if not folder.is_dir():
        return {}
    return {p.name: len(audio_files(p)) for p in sorted(folder.iterdir()) if p.is_dir()}


def _add_example(song: Path, label_folder: Path) -> None:
    """Link (or, where links are not allowed, copy) a song into a label's folder; the user's
    file itself is never touched."""
    import shutil

    target = label_folder / song.name
    if target.exists():
        return
    try:
        target.symlink_to(song.resolve())
    except OSError:
        shutil.copy2(song, target)


@st.cache_data(show_spinner="Drawing the map of your library…")
def load_map(db: str, modified: float):
    """The catalog's map table (``genrekit.library.music_map``), reloaded when the file changes."""
    from genrekit.library.music_map import library_map

    return library_map(db)


def library_page() -> None:
    """A map of the library coloured by genre: filter, tap a song to hear it and its likes."""

    st.title("Your library")
    db = st.text_input(
        "Library catalog", os.environ.get("GENREKIT_LIBRARY", ""), key="library_db"
    ).strip()
    if not db:
        st.info("Index your music first — genrekit index ~/Music --db library.sqlite — then "
                "give the catalog here (or start the app with GENREKIT_LIBRARY set).")  # fmt: skip
        return
    try:
        table = load_map(db, Path(db).stat().st_mtime)
        catalog = load_catalog(db, Path(db).stat().st_mtime)
    except (OSError, GenrekitError) as error:
        st.error(f"{db}: {getattr(error, 'strerror', None) or error}")
        return
    shown = filtered(table)
    st.markdown(f"{len(shown)} of {len(table)} songs. Each dot is a song; songs that sound "
               "alike sit together. Tap a dot to play it.")  # fmt: skip
    labels = sorted({label for label in table["genre"].dropna() if label != "unknown"})
    grouped = table["group"].notna().any()
    by = "genre"
    if grouped:
        by = st.radio("Colour by", ["genre", "group"], horizontal=True, key="map_colour",
                      format_func=lambda b: "genre" if b == "genre" else "group (mix)")  # fmt: skip
    chart = library_chart(shown.drop(columns=["styles", "path"]), SONG_SELECTION, labels, by)
    event = st.altair_chart(
        chart, width="stretch", on_select="rerun", key="map", alt="Map of your library by genre"
    )
    if grouped:
        mixes(table)
    tapped = (event.selection.get(SONG_SELECTION) or [{}])[0].get("id") if event else None
    names = {int(row.id): f"{row.name} ({row.genre})" for row in shown.itertuples()}
    picked = st.selectbox("…or pick a song", [None, *names], key="map_pick",
                          format_func=lambda i: "(none)" if i is None else names[i])  # fmt: skip
    track = tapped if tapped is not None else picked
    if track is None:
        return
    row = table[table["id"] == track].iloc[0]
    st.subheader(f"{row['name']}" + (f" — {row['artist']}" if row["artist"] else ""))
    st.write(f"{row['genre']} · {row['confidence']:.0%} sure")
    st.audio(row["path"])
    st.subheader("Songs like it")
    position = catalog.position(int(track))
    if position is not None:
        similar_songs(catalog.nearest(catalog.vectors[position], 8, exclude={int(track)}))


MIX_SONGS = 8
# Songs of a mix shown with a player (the first ones: nearest the group's centre).


def mixes(table) -> None:
    """The library's groups (``genrekit clusters``) with their names and sizes, one to play."""
    sizes = table["group"].dropna().value_counts()
    names = {name: f"{name} ({count} songs)" for name, count in sizes.items()}
    st.subheader("Mixes: the kinds of music in your library")
    picked = st.selectbox("Play a mix", [None, *names], key="map_mix",
                          format_func=lambda n: "(none)" if n is None else names[n])  # fmt: skip
    if picked is None:
        return
    for row in table[table["group"] == picked].head(MIX_SONGS).itertuples():
        by = f" — {row.artist}" if row.artist else ""
        st.markdown(f"**{row.name}**{by} · {display_genre(row.genre or 'unknown')}")
        if Path(row.path).is_file():
            st.audio(row.path)


def filtered(table):
    """The rows the genre, style and confidence filters let through."""
    genres = sorted(set(table["genre"].dropna()))
    chosen = st.multiselect("Genres", genres, default=genres, key="map_genres")
    styles = sorted({style for found in table["styles"] for style in found})
    wanted = set(st.multiselect("Styles (any of)", styles, key="map_styles"))
    least = st.slider("At least this sure", 0, 100, 0, step=5, format="%d%%", key="map_sure")
    sure = table["confidence"].fillna(0).where(table["genre"] != "unknown", 0.0)  # unknown: unsure
    keep = table["genre"].isin(chosen) & (sure * 100 >= least)
    if wanted:
        keep &= table["styles"].map(lambda found: bool(wanted & set(found)))
    return table[keep]


# Captions are not used: their grey on white (3.8:1) is under the 4.5:1 that WCAG AA asks of
# text, so secondary text is written as plain text.


def main() -> None:
    st.set_page_config(page_title="genrekit", page_icon="🎵", layout="wide")
    st.set_option("client.toolbarMode", "minimal")  # no Deploy/Stop buttons for listeners
    page = st.radio(  # in the page, not the sidebar: a phone hides the sidebar
        "Page", ["Classify", "Library", "Teach"], key="page", horizontal=True,
        label_visibility="collapsed",
    )  # fmt: skip
    if page == "Teach":
        teach()
        return
    if page == "Library":
        library_page()
        return
    st.title("genrekit — what genre is this song?")
    models = list(bundled_models())
    model = st.sidebar.selectbox(
        "Model",
        models,
        index=models.index(DEFAULT_MODEL) if DEFAULT_MODEL in models else 0,
        key="model",
    )
    custom = st.sidebar.text_input("…or a model bundle folder", "")
    model = custom.strip() or model
    top_k = st.sidebar.slider("Genres shown", 1, 10, 5)
    try:
        classifier = load_classifier(model)
    except GenrekitError as error:  # said where the person looks; the page keeps working
        st.error(f"The model {model!r} could not be loaded ({error}); using {DEFAULT_MODEL}.")
        model = DEFAULT_MODEL
        classifier = load_classifier(model)
    known = ", ".join(display_genre(label) for label in classifier.labels)
    st.write(f"Drop a song to hear what genre it is. This model knows {len(classifier.labels)} "
             f"genres: {known}. Music unlike all of them is called unknown.")  # fmt: skip
    describe_model(classifier)
    catalog = None
    library = st.sidebar.text_input(
        "Library catalog for similar songs", os.environ.get("GENREKIT_LIBRARY", "")
    ).strip()
    if library:
        try:
            catalog = load_catalog(library, Path(library).stat().st_mtime)
            catalog.require_model(classifier)
        except (OSError, GenrekitError) as error:
            st.sidebar.error(f"{library}: {error}")
            catalog = None
    inputs = chosen_inputs()
    results = []
    progress = st.empty()
    for number, (name, data) in enumerate(inputs, start=1):
        progress.progress(number / (len(inputs) + 1),
                          text=f"Listening to {name} ({number} of {len(inputs)})…")  # fmt: skip
        results.append((name, data, analyse(name, data, model)))
    progress.empty()
    if len(results) > 1:
        summary(results)
    for number, (name, data, result) in enumerate(results):
        if number == 0:
            show(name, data, result, model, top_k, catalog)
            continue
        with st.expander(song_name(name, result), expanded=False):  # one long page otherwise
            show(name, data, result, model, top_k, catalog)


def describe_model(classifier: Classifier) -> None:
    """The model's measured accuracy, saying on what data and how it was measured."""
    manifest = classifier.bundle.manifest
    accuracy = manifest.get("metrics", {}).get("accuracy_mean")
    if accuracy is None:
        return
    training = manifest.get("training", {})
    source = collection_names(str(training.get("data", {}).get("source", "its training data")))
    by_artist = "group" in str(training.get("protocol", {}).get("name", "")) or "artist" in str(
        training.get("protocol", {}).get("description", "")
    )
    how = "on songs by artists it had not heard" if by_artist else "on songs it had not heard"
    st.sidebar.markdown(
        f"**{classifier.bundle.model_id}**: right on {accuracy:.0%} of the {source} songs "
        f"{how} (cross-validation)."
    )


main()
