"""Models: scikit-learn pipelines (``classical``) and the on-disk bundle format (``bundle``)."""
