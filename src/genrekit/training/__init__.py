"""Training and honest evaluation.

Configs, datasets, artist-grouped splits, features for a dataset, fitting one training side,
cross-validation, the final bundle, and a model scored on data.
"""
