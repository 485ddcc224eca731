"""The ``genrekit`` command line: thin wrappers that parse, call the library and print.

One module per family of commands, all registered on ``common.app``: ``classify`` (predict, tag,
plot), ``training`` (features, train, learn, compare, …), ``library`` (index, similar,
recommend), ``files`` (tag-files, playlist) and ``serve`` (the API and the web app). Heavy
modules are imported inside commands so that ``genrekit --help`` and start-up stay fast.
"""

from genrekit.cli import classify, files, library, serve, training  # noqa: F401  (registration)
from genrekit.cli.common import app

__all__ = ["app"]
