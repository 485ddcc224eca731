"""genrekit's version: one source, read by the package, its bundles' manifests and the build."""

__version__ = "0.1.0"
