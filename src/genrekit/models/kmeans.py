"""K-means as a classifier, as the KIIT seed report's reference project used it: cluster the
training songs without their labels, then let each cluster vote the majority of its labels.

``predict_proba`` is the label distribution of the song's cluster (with one pseudo-count per
label, so no label is ever impossible); with as many clusters as songs it is nearest-neighbour,
with one it is the class prior.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin


class KMeansVoteClassifier(ClassifierMixin, BaseEstimator):
    """Cluster (K-means, fixed seed), then each cluster's majority label (scikit-learn's
    estimator contract: hyper-parameters here, fitted state ``_`` in ``fit``)."""

    def __init__(self, n_clusters: int = 20, random_state: int = 0) -> None:
        self.n_clusters = n_clusters
        self.random_state = random_state

    def fit(self, x: Any, y: Any) -> KMeansVoteClassifier:
        from sklearn.cluster import KMeans

        x, y = np.asarray(x, dtype=np.float64), np.asarray(y)
        self.classes_ = np.unique(y)
        clusters = max(1, min(self.n_clusters, len(x)))
        self.kmeans_ = KMeans(n_clusters=clusters, n_init=10, random_state=self.random_state)
        assignment = self.kmeans_.fit_predict(x)
        counts = np.ones((clusters, len(self.classes_)))  # one pseudo-count per label
        np.add.at(counts, (assignment, np.searchsorted(self.classes_, y)), 1.0)
        self.votes_ = counts / counts.sum(axis=1, keepdims=True)
        return self

    def predict_proba(self, x: Any) -> np.ndarray:
        return self.votes_[self.kmeans_.predict(np.asarray(x, dtype=np.float64))]

    def predict(self, x: Any) -> np.ndarray:
        return self.classes_[self.predict_proba(x).argmax(axis=1)]
