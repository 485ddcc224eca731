"""beets plugin: ``beet genrekit [QUERY]`` sets the genre of library items from their audio;
``beet genrekit-learn [QUERY] -o MODEL`` learns a personal model from their genres.

Enable it with ``plugins: genrekit`` in beets' config.yaml (installed with genrekit; beets finds
it in the ``beetsplug`` namespace). Options, under ``genrekit:``::

    model: null          # a bundle folder or shipped model name (null: genrekit's default)
    field: null          # the item field that gets the genre (null: genres, or genre on beets
                         # versions without the multi-valued genres field)
    overwrite: no        # replace genres that someone else set (genrekit's own are renewed)
    min_confidence: 0.0  # leave items whose verdict is less confident (0–1)
    styles: no           # add the genre's styles ("Rock; Punk") and keep all tags found
    auto: no             # also classify every item on ``beet import``

Besides ``field``, each item gets flexible attributes ``genrekit_genre``, ``genrekit_model``,
``genrekit_confidence`` (and ``genrekit_styles``). Files are written when beets is set to write
tags (``import.write``, or ``-w``/``-W`` here), by beets itself; ``--pretend`` only shows.
Decisions (unknown music and unconfident verdicts skipped, a person's genre kept) follow the
same rules as ``genrekit tag-files`` (``genrekit.library.file_tags.decide``).
"""

from __future__ import annotations

from typing import Any

from beets import ui
from beets.plugins import BeetsPlugin

from genrekit.errors import GenrekitError
from genrekit.library import file_tags


class GenrekitPlugin(BeetsPlugin):
    def __init__(self) -> None:
        super().__init__()
        self.config.add(
            {
                "model": None,
                "field": None,
                "overwrite": False,
                "min_confidence": 0.0,
                "styles": False,
                "auto": False,
            }
        )
        self._classifier: Any = None
        if self.config["auto"].get(bool):
            self.import_stages = [self.imported]

    def commands(self) -> list[ui.Subcommand]:
        command = ui.Subcommand("genrekit", help="set genres from the audio with genrekit")
        command.parser.add_option(
            "-f", "--force", action="store_true", default=False,
            help="replace genres that someone else set",
        )  # fmt: skip
        command.parser.add_option(
            "-p", "--pretend", action="store_true", default=False,
            help="show what would change, change nothing",
        )  # fmt: skip
        command.parser.add_option(
            "-m", "--model", default=None, help="bundle folder or shipped model name"
        )
        command.parser.add_option(
            "-w", "--write", action="store_true", dest="write", default=None,
            help="write the tags into the files",
        )  # fmt: skip
        command.parser.add_option(
            "-W", "--nowrite", action="store_false", dest="write",
            help="do not write the tags into the files",
        )  # fmt: skip
        command.func = self.command
        learn = ui.Subcommand(
            "genrekit-learn", help="learn a personal genre model from these items' genres"
        )
        learn.parser.add_option("-o", "--out", default="mymodel", help="bundle folder to write")
        learn.parser.add_option(
            "--map", dest="genre_map", default=None,
            help='your own merges: a TOML file of "spelling" = "label" lines',
        )  # fmt: skip
        learn.parser.add_option(
            "--keep-subgenres", action="store_true", default=False,
            help="keep sub-genres instead of folding them into their parent",
        )  # fmt: skip
        learn.func = self.learn
        return [command, learn]

    def learn(self, lib: Any, opts: Any, args: list[str]) -> None:
        """``beet genrekit-learn [QUERY]``: the items' genres (and artists) teach a personal
        model (``genrekit.teach.from_tags``), on the default model's embeddings of their audio;
        nothing is written to the library or the files."""
        from pathlib import Path

        from genrekit.predict import Classifier
        from genrekit.teach.from_tags import TaggedSong, learn_from_songs
        from genrekit.teach.vocabulary import Vocabulary, load_map

        default = Classifier.load()  # personal models learn on the default's embeddings
        songs = []
        items = list(lib.items(args))
        for number, item in enumerate(items, start=1):
            try:
                _, embedding = default.analyse_file(item.filepath, timeline=False)
            except GenrekitError as error:
                self._log.error("{}", error)
                continue
            found = item.get("genres") or item.get("genre") or []
            genres = [str(g) for g in found] if isinstance(found, list) else [str(found)]
            artist = item.get("artist") or item.get("albumartist") or None
            songs.append(TaggedSong(str(item.filepath), genres, artist, embedding))
            ui.print_(f"listened to {number} of {len(items)}: {item}")
        merges = load_map(opts.genre_map) if opts.genre_map else {}
        try:
            learned = learn_from_songs(
                songs, Path(opts.out), default.spec, source=f"beets query {' '.join(args)!r}",
                vocabulary=Vocabulary(opts.keep_subgenres, merges),
            )  # fmt: skip
        except GenrekitError as error:
            raise ui.UserError(str(error)) from None
        for line in [*learned.describe(), learned.result.summary()]:
            ui.print_(line)
        ui.print_(f"model: {learned.result.bundle} (beet genrekit -m {learned.result.bundle})")

    def command(self, lib: Any, opts: Any, args: list[str]) -> None:
        if opts.model:
            self.config["model"] = opts.model
        overwrite = opts.force or self.config["overwrite"].get(bool)
        for item in lib.items(args):
            self.classify(item, overwrite=overwrite, write=ui.should_write(opts.write),
                          pretend=opts.pretend)  # fmt: skip

    def imported(self, session: Any, task: Any) -> None:
        # Written here when import.write is on: beets does not rewrite files imported as-is.
        for item in task.imported_items():
            self.classify(
                item, overwrite=self.config["overwrite"].get(bool), write=ui.should_write()
            )

    def classify(self, item: Any, *, overwrite: bool, write: bool, pretend: bool = False) -> None:
        """Set one item's genre (and store it; write the file when ``write``); a file that
        cannot be classified is logged in one line and the run goes on."""
        field = self.config["field"].get() or ("genres" if "genres" in item._fields else "genre")
        options = file_tags.Options(
            overwrite, self.config["min_confidence"].as_number(), self.config["styles"].get(bool)
        )
        path = item.filepath
        found = item.get(field)
        current = [str(g) for g in found] if isinstance(found, list) else [found] if found else []
        ours = item.get("genrekit_genre")
        try:
            prediction, _ = self.classifier().analyse_file(path, timeline=False)
            verdict = file_tags.verdict_of(prediction)
            genre = file_tags.decide(
                path, verdict, options, current, ours.split("; ") if ours else None
            )
        except file_tags.TagSkip as skip:
            self._log.info("skip: {}", skip)
            return
        except GenrekitError as error:
            self._log.error("{}", error)
            return
        value = "; ".join(genre)
        ui.print_(f"{item}: {'; '.join(current) or '(no genre)'} → {value} "
                  f"({verdict.confidence:.0%})")  # fmt: skip
        if pretend:
            return
        item[field] = genre if isinstance(found, list) or field == "genres" else value
        item["genrekit_genre"] = value
        item["genrekit_model"] = verdict.model
        item["genrekit_confidence"] = round(verdict.confidence, 3)
        if options.styles:
            item["genrekit_styles"] = "; ".join(verdict.styles)
        if write:
            item.try_write()
        item.store()

    def classifier(self) -> Any:
        """The model, loaded on first use (beets starts without paying for it)."""
        if self._classifier is None:
            from genrekit.predict import Classifier

            self._classifier = Classifier.load(self.config["model"].get())
        return self._classifier
