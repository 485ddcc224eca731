"""A music library.

The catalog (index), similar songs, the map, playlists, K-means mixes, genre tags written into
files and their byte-exact undo.
"""
