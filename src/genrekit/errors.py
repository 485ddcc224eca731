"""Typed errors for everything a user's input can get wrong.

Every error names the file and a human-readable reason, so interfaces can print one line per bad
file (``str(error)``) and carry on with the rest of a batch.
"""

from __future__ import annotations

from pathlib import Path


class GenrekitError(Exception):
    """Base class for errors genrekit reports to users instead of a traceback."""


class AudioError(GenrekitError):
    """A problem with one audio file; ``path`` and ``reason`` are kept for structured output."""

    def __init__(self, path: str | Path, reason: str) -> None:
        from genrekit.paths import printable

        self.path = str(path)
        self.reason = reason
        super().__init__(f"{printable(self.path)}: {reason}")

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        # Errors travel back from worker processes; rebuild them from (path, reason).
        return type(self), (self.path, self.reason)


class AudioDecodeError(AudioError):
    """The file is missing, empty, not audio, truncated or in a codec no decoder here can read."""


class AudioTooShortError(AudioError):
    """The file decodes but holds less sound than the analysis needs."""


class SilentAudioError(AudioError):
    """The file decodes but is (digitally) silent, so there is nothing to classify."""


class BundleError(GenrekitError):
    """A model bundle is missing, incomplete, or was made by an incompatible version."""


class ConfigError(GenrekitError):
    """An experiment config or dataset description is invalid."""


class AnalysisCancelled(Exception):
    """The caller said to stop (``should_stop``): nobody wants the result any more."""
