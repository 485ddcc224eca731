"""Pretrained music models shipped with genrekit (weights converted offline, no downloads)."""
