"""``python -m genrekit.cli``: the command line."""

from genrekit.cli import app

app()
