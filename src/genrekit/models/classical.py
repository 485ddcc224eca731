"""Classical classifiers of the GTZAN projects, each a scikit-learn pipeline: scale → [PCA] → model.

Hyper-parameters come from a config file; grids name the model's own parameters (``C``, not
``model__C``): ``build_pipeline`` builds each grid candidate with them
(``genrekit.training.fitting``). Parameters of a wrapped estimator (the SVM inside its
probability calibration) are found the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from genrekit.errors import ConfigError


def _knn(seed: int) -> ClassifierMixin:
    return KNeighborsClassifier(n_neighbors=5, weights="distance")


def _logreg(seed: int) -> ClassifierMixin:
    return LogisticRegression(C=1.0, max_iter=5000, class_weight="balanced", random_state=seed)


def _random_forest(seed: int) -> ClassifierMixin:
    return RandomForestClassifier(
        n_estimators=500, class_weight="balanced", n_jobs=1, random_state=seed
    )


def _svm(seed: int) -> ClassifierMixin:
    # Platt-scaled probabilities from internal CV: what SVC(probability=True) did before 1.9.
    return CalibratedClassifierCV(
        SVC(C=10.0, gamma="scale", class_weight="balanced", random_state=seed),
        method="sigmoid",
        ensemble=False,
    )


def _lda(seed: int) -> ClassifierMixin:
    # Shrinkage LDA: one shared, shrunk covariance; suits many correlated features (embeddings)
    # and few examples per class.
    return LinearDiscriminantAnalysis(solver="lsqr", shrinkage=0.9)


def _gradient_boosting(seed: int) -> ClassifierMixin:
    return HistGradientBoostingClassifier(
        learning_rate=0.1, max_iter=300, class_weight="balanced", random_state=seed
    )


def _mlp(seed: int) -> ClassifierMixin:
    return MLPClassifier(
        hidden_layer_sizes=(256, 128),
        alpha=1e-3,
        early_stopping=True,
        max_iter=1000,
        random_state=seed,
    )


def _gaussian_knn(seed: int) -> ClassifierMixin:
    from genrekit.models.gaussian import GaussianKNN

    return GaussianKNN(n_neighbors=5)


def _kmeans(seed: int) -> ClassifierMixin:
    from genrekit.models.kmeans import KMeansVoteClassifier

    return KMeansVoteClassifier(n_clusters=20, random_state=seed)


MODELS: dict[str, Callable[[int], ClassifierMixin]] = {
    "knn": _knn,
    "logreg": _logreg,
    "lda": _lda,
    "random_forest": _random_forest,
    "svm": _svm,
    "gradient_boosting": _gradient_boosting,
    "mlp": _mlp,
    "gaussian_knn": _gaussian_knn,
    "kmeans": _kmeans,
}
NETS = ("torch_mlp", "cnn", "gru", "lstm", "transformer", "musicnn")
"""The PyTorch networks of ``genrekit.models.nets`` (named here so that scikit-learn users do not
need PyTorch installed)."""
UNSCALED = {"gaussian_knn"}
"""Models whose inputs keep their own geometry (means and covariances): no scaling or PCA."""


def build_pipeline(
    name: str,
    params: dict[str, Any] | None = None,
    *,
    pca: float | int | None = None,
    pca_block: list[int] | None = None,
    seed: int = 0,
) -> BaseEstimator:
    """A scikit-learn-style estimator: for the nets, a ``NetClassifier``; otherwise standardize
    → optional PCA (a variance fraction such as 0.95, or a count) → classifier.

    ``pca_block`` (column indices, e.g. the mel bands) reduces just those columns with their own
    PCA keeping 95 % of their variance; being a pipeline step, it is fitted on training data only.
    """
    if name in NETS:
        return net_classifier(name, params or {}, seed)
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; available: {', '.join([*MODELS, *NETS])}")
    model = MODELS[name](seed)
    if params:
        model.set_params(**{parameter_path(model, key, name): v for key, v in params.items()})
    if name in UNSCALED:
        return Pipeline([("model", model)])
    scale: Any = StandardScaler()
    if pca_block:
        block = Pipeline([("scale", StandardScaler()), ("pca", PCA(0.95, random_state=seed))])
        scale = ColumnTransformer(
            [("block", block, pca_block)], remainder=StandardScaler(), sparse_threshold=0
        )
    steps: list[tuple[str, Any]] = [("scale", scale)]
    if pca:
        steps.append(("pca", PCA(n_components=pca, random_state=seed)))
    steps.append(("model", model))
    return Pipeline(steps)


def net_classifier(name: str, params: dict[str, Any], seed: int = 0) -> Any:
    """A ``NetClassifier``: training settings (epochs, batch_size, learning_rate, …) go to the
    trainer, anything else to the architecture (hidden, width, dropout, …)."""
    try:
        from genrekit.models.nets import NetClassifier, build_net
    except ImportError:
        raise ConfigError(f"model {name!r} needs PyTorch: pip install 'genrekit[nets]'") from None

    trainer = NetClassifier.trainer_settings()
    architecture = {k: v for k, v in params.items() if k not in trainer}
    if "hidden" in architecture and isinstance(architecture["hidden"], list):
        architecture["hidden"] = tuple(architecture["hidden"])
    build_net(name, 8, 2, architecture)  # fail early on unknown architecture settings
    settings = {k: v for k, v in params.items() if k in trainer}
    return NetClassifier(name, architecture, seed=seed, **settings)


def parameter_path(model: ClassifierMixin, key: str, name: str = "") -> str:
    """Where ``key`` lives in ``model``: its own parameter, or one of a wrapped ``estimator``."""
    available = model.get_params()
    for candidate in (key, f"estimator__{key}"):
        if candidate in available:
            return candidate
    raise ConfigError(f"model {name or type(model).__name__!r} has no parameter {key!r}")
