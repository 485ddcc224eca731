"""k-nearest neighbours between Gaussians, by symmetric Kullback-Leibler divergence.

For Gaussians (m1, S1) and (m2, S2) in d dimensions, the symmetrised KL divergence is
``0.5 * (tr(S1⁻¹S2) + tr(S2⁻¹S1) + (m1-m2)ᵀ(S1⁻¹+S2⁻¹)(m1-m2)) - d``; it is computed for a whole
batch at once. Inputs are rows of ``genrekit.features.gaussian``: mean then flattened covariance.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin


class GaussianKNN(ClassifierMixin, BaseEstimator):
    """Distance-weighted vote of the ``n_neighbors`` closest training Gaussians."""

    def __init__(self, n_neighbors: int = 5, regularization: float = 1e-3) -> None:
        self.n_neighbors = n_neighbors
        self.regularization = regularization

    def fit(self, x: np.ndarray, y: np.ndarray) -> GaussianKNN:
        self.classes_ = np.array(sorted(set(y)))
        self.means_, self.covariances_, self.inverses_ = self._split(np.asarray(x, float))
        self.targets_ = np.searchsorted(self.classes_, y)
        return self

    def _split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        dimension = round((-1 + np.sqrt(1 + 4 * x.shape[1])) / 2)  # d + d² columns
        if dimension + dimension**2 != x.shape[1]:
            raise ValueError(
                f"GaussianKNN needs rows of a mean and a flattened covariance (d + d² columns, "
                f"the mfcc_gaussian representation), not {x.shape[1]} columns"
            )
        means = x[:, :dimension]
        covariances = x[:, dimension:].reshape(len(x), dimension, dimension)
        scale = np.trace(covariances, axis1=1, axis2=2)[:, None, None] / dimension
        covariances = covariances + self.regularization * scale * np.eye(dimension)
        return means, covariances, np.linalg.inv(covariances)

    def divergence(self, x: np.ndarray) -> np.ndarray:
        """(n_queries, n_train) symmetric KL divergences."""
        means, covariances, inverses = self._split(np.asarray(x, float))
        traces = np.einsum("qij,tji->qt", inverses, self.covariances_) + np.einsum(
            "tij,qji->qt", self.inverses_, covariances
        )
        difference = means[:, None, :] - self.means_[None, :, :]
        mahalanobis = np.einsum("qti,qij,qtj->qt", difference, inverses, difference) + np.einsum(
            "qti,tij,qtj->qt", difference, self.inverses_, difference
        )
        return 0.5 * (traces + mahalanobis) - means.shape[1]

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        distances = np.maximum(self.divergence(x), 0.0)
        k = min(self.n_neighbors, distances.shape[1])
        nearest = np.argsort(distances, axis=1, kind="stable")[:, :k]
        weights = 1.0 / (np.take_along_axis(distances, nearest, axis=1) + 1e-9)
        votes = np.zeros((len(x), len(self.classes_)))
        np.add.at(votes, (np.arange(len(x))[:, None], self.targets_[nearest]), weights)
        return votes / votes.sum(axis=1, keepdims=True)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.classes_[self.predict_proba(x).argmax(axis=1)]
