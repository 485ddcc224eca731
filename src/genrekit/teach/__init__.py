"""Your library teaches it.

Personal models from a few labelled songs or from a library's own genre tags, the tag
vocabulary, and the default model lent as a prior.
"""
