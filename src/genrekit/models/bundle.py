"""Model bundles: a folder with ``manifest.json`` and weights saved without plain pickle.

The manifest records the genrekit version, the labels, the representation spec (so inference
extracts exactly what the model saw), the training data, the protocol and the metrics, plus the
weights' SHA-256. scikit-learn weights are stored with skops, which loads only allowed types; a
verified ONNX copy (``model.onnx``), when the pipeline converts exactly, serves predictions
without importing scikit-learn.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from genrekit.errors import BundleError
from genrekit.features import RepresentationSpec, feature_set
from genrekit.integrity import file_sha256

MANIFEST = "manifest.json"
WEIGHTS = "model.skops"
ONNX_WEIGHTS = "model.onnx"
LOGITS = "logits.npz"
"""A linear model's logits as one affine map (weights, bias), for calibration without underflow."""
NARROW_BAND_FOLDER = "narrow-band"
"""Where a bundle keeps its head for narrow-band input (itself a whole bundle)."""
NET_WEIGHTS = "model.safetensors"
FORMAT = "genrekit-bundle"
FORMAT_VERSION = 1
DEFAULT_MODEL = "musicnn-lda"
"""The bundle under ``genrekit/bundled/`` that ``load_model()`` uses when given no path."""

TRUSTED_TYPES = frozenset(
    {
        "genrekit.models.gaussian.GaussianKNN",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.metrics._dist_metrics.EuclideanDistance64",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
        "sklearn.tree._tree.Tree",
        "sklearn.cluster._kmeans.KMeans",
        "genrekit.models.kmeans.KMeansVoteClassifier",
    }
)
"""Types beyond skops' own safe defaults that genrekit's models hold, by exact name: the only
ones a skops file may contain (a bundle is data, never code; no function, no module prefix).
``tests/test_models.py`` saves every classical model and checks this list covers it."""


@dataclass
class ModelBundle:
    """A trained model ready to predict, with everything needed to reproduce its input."""

    predictor: Any
    """Anything with ``predict_proba``: the scikit-learn estimator or its ONNX copy."""
    labels: list[str]
    representation: RepresentationSpec
    manifest: dict[str, Any]
    path: Path | None = None
    novelty: Any = None
    """The ``NoveltyScore`` rejector (``genrekit.novelty``), when the bundle has one."""
    logits: tuple[np.ndarray, np.ndarray] | None = None
    """(weights, bias) of the model's affine logits, when it has them (``logits.npz``)."""
    narrow_band: ModelBundle | None = None
    """The head for narrow-band input (``genrekit.bandwidth``), when the bundle has one: a whole
    bundle in its ``NARROW_BAND_FOLDER``."""

    @property
    def model_id(self) -> str:
        return str(self.manifest.get("name", "unnamed"))

    @property
    def backend(self) -> str:
        return "onnx" if type(self.predictor).__name__ == "OnnxPredictor" else "scikit-learn"

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities, columns in ``labels`` order."""
        probabilities = self.predictor.predict_proba(np.atleast_2d(features))
        return probabilities[:, self._columns()]

    def predict_scores(self, features: np.ndarray) -> np.ndarray:
        """Log-scores that never underflow (``calibration.log_scores``), columns in ``labels``
        order: the model's logits where the bundle has them (``logits.npz``, or a net's own), else
        log-probabilities."""
        from genrekit.calibration import log_scores

        rows = np.atleast_2d(features).astype(np.float64)
        if self.logits is not None:
            weights, bias = self.logits
            return (rows @ weights + bias)[:, self._columns()]
        return log_scores(self.predictor, rows)[:, self._columns()]

    def _columns(self) -> list[int]:
        classes = self.manifest["model"]["classes"]
        return [classes.index(label) for label in self.labels]


def bundled_models() -> dict[str, Path]:
    """Bundles shipped inside the package, by name."""
    root = Path(str(resources.files("genrekit") / "bundled"))
    return {p.name: p for p in sorted(root.iterdir()) if (p / MANIFEST).is_file()}


def resolve_model_path(model: str | Path | None) -> Path:
    """A bundle folder from a path or a shipped bundle's name (None → the default model)."""
    name = DEFAULT_MODEL if model is None else str(model)
    shipped = bundled_models()
    if name in shipped and not Path(name).exists():
        return shipped[name]
    path = Path(name)
    if not (path / MANIFEST).is_file():
        raise BundleError(
            f"{path}: not a model bundle (no {MANIFEST}); shipped models: {', '.join(shipped)}"
        )
    return path


def save_bundle(
    directory: str | Path,
    estimator: Any,
    *,
    name: str,
    labels: list[str],
    representation: RepresentationSpec,
    training: dict[str, Any],
    metrics: dict[str, Any],
    description: str = "",
    reference_features: np.ndarray | None = None,
    calibration: dict[str, dict[str, Any]] | None = None,
    novelty: Any = None,
    keep_share: float | None = None,
    narrow_band: dict[str, Any] | None = None,
) -> Path:
    """Write weights and manifest into ``directory`` (created if needed).

    scikit-learn models: skops weights, plus (given ``reference_features``, the training
    features) an ONNX copy kept if it reproduces the estimator's probabilities on them. Neural
    nets: safetensors weights with their input normalization. ``calibration`` adds the
    manifest's ``calibration`` section (temperature); ``novelty`` (a ``NoveltyScore``) is saved as
    ``novelty.npz`` with a ``rejector`` section whose threshold keeps ``keep_share`` of held-out
    in-taxonomy tracks (``genrekit.novelty.DEFAULT_KEEP_SHARE`` when None). ``narrow_band`` is
    the manifest's section for a narrow-band head already saved in ``NARROW_BAND_FOLDER``;
    without one, a stale head there is removed.
    """
    from genrekit import __version__

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if _is_net(estimator):
        model_entry = _save_net(directory, estimator)
    else:
        model_entry = _save_sklearn(directory, estimator, reference_features)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": name,
        "description": description,
        "genrekit_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "labels": labels,
        "representation": representation.to_dict(),
        "model": {**model_entry, "classes": [str(c) for c in estimator.classes_]},
        "training": training,
        "metrics": metrics,
        **(calibration or {}),
        **({"narrow_band": narrow_band} if narrow_band else {}),
    }
    if narrow_band is None:
        shutil.rmtree(directory / NARROW_BAND_FOLDER, ignore_errors=True)
    rejector = _save_rejector(directory, novelty, keep_share)
    if rejector is not None:
        manifest["rejector"] = rejector
    provenance = feature_set(representation.name).provenance
    if provenance is not None:  # built on pretrained weights: say which
        manifest["pretrained"] = provenance()
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, default=_json_default) + "\n")
    return directory


def _save_rejector(
    directory: Path, novelty: Any, keep_share: float | None
) -> dict[str, Any] | None:
    """Save ``novelty`` (a ``NoveltyScore``) as ``novelty.npz`` and return the manifest's
    ``rejector`` section; without one, remove a stale file and return None."""
    from genrekit.novelty import DEFAULT_KEEP_SHARE, FILE, NEIGHBOURS

    keep_share = DEFAULT_KEEP_SHARE if keep_share is None else keep_share
    if novelty is None:
        (directory / FILE).unlink(missing_ok=True)
        return None
    novelty.save(directory / FILE)
    return {
        "score": "typicality: share of training tracks' held-out neighbour distances at "
        f"least as large as the track's (mean distance to the {NEIGHBOURS} nearest training "
        "tracks, standardized features)",
        "file": FILE,
        "sha256": file_sha256(directory / FILE),
        "threshold": round(1.0 - keep_share, 4),
        "chosen": f"keeps {keep_share:.0%} of training tracks measured against other "
        "artists (or other tracks); unheard artists and other collections lie farther away "
        "than that (benchmarks/rejector.py)",
    }


def _is_net(estimator: Any) -> bool:
    """A PyTorch ``NetClassifier`` (it says so in ``framework``), recognised without importing
    torch."""
    return getattr(estimator, "framework", None) == "torch"


def weights_size(estimator: Any) -> int:
    """Bytes of the weights file a bundle of ``estimator`` would hold (skops or safetensors),
    serialized in memory: nothing is written."""
    if _is_net(estimator):
        from safetensors.torch import save

        return len(save(_net_tensors(estimator)))
    import skops.io

    return len(skops.io.dumps(_prediction_state(estimator)))


def _save_sklearn(
    directory: Path, estimator: Any, reference_features: np.ndarray | None
) -> dict[str, Any]:
    import skops.io

    from genrekit.models.onnx_export import export_verified

    weights = directory / WEIGHTS
    skops.io.dump(_prediction_state(estimator), weights)
    onnx_path = directory / ONNX_WEIGHTS
    onnx_path.unlink(missing_ok=True)
    onnx = (
        {"exported": False, "reason": "no reference features to verify against"}
        if reference_features is None
        else export_verified(estimator, reference_features, onnx_path)
    )
    if onnx["exported"]:
        onnx.update(file=ONNX_WEIGHTS, sha256=file_sha256(onnx_path))
    entry = {
        "framework": "scikit-learn",
        "weights": WEIGHTS,
        "weights_sha256": file_sha256(weights),
        "estimator": _describe_estimator(estimator),
        "onnx": onnx,
    }
    logits = _save_logits(directory, estimator, reference_features)
    if logits is not None:
        entry["logits"] = logits
    return entry


def _save_logits(
    directory: Path, estimator: Any, reference_features: np.ndarray | None
) -> dict[str, Any] | None:
    """``logits.npz`` (weights, bias) when the estimator's log-scores are affine in its input
    (``calibration.affine_scores``), so predictions calibrate the model's own logits; None (and
    no file) otherwise, when the log of its probabilities serves."""
    from genrekit.calibration import affine_scores

    path = directory / LOGITS
    path.unlink(missing_ok=True)
    head = None if reference_features is None else affine_scores(estimator, reference_features)
    if head is None:
        return None
    np.savez(path, weights=head[0], bias=head[1])
    return {
        "file": LOGITS,
        "sha256": file_sha256(path),
        "what": "features @ weights + bias: the model's logits (columns in classes order)",
    }


_TRAINING_ONLY_STATE = {"LinearDiscriminantAnalysis": ("covariance_",)}
"""Fitted attributes that prediction never reads but that would bloat a bundle (LDA's
features × features covariance is 8 MB for the 1000 musicnn features; ``coef_`` holds what
``predict_proba`` needs)."""


def _prediction_state(estimator: Any) -> Any:
    """A copy of ``estimator`` without ``_TRAINING_ONLY_STATE`` (the original is untouched)."""
    import copy

    steps = getattr(estimator, "steps", [("model", estimator)])
    if not any(type(step).__name__ in _TRAINING_ONLY_STATE for _, step in steps):
        return estimator
    slim = copy.deepcopy(estimator)
    for _, step in getattr(slim, "steps", [("model", slim)]):
        for attribute in _TRAINING_ONLY_STATE.get(type(step).__name__, ()):
            if hasattr(step, attribute):
                delattr(step, attribute)
    return slim


def _net_tensors(net: Any) -> dict[str, Any]:
    """What a net's weights file holds: its network's tensors and its input normalization."""
    import torch

    tensors = {f"model.{k}": v.contiguous() for k, v in net.model_.state_dict().items()}
    tensors["input.mean"] = torch.from_numpy(net.mean_)
    tensors["input.std"] = torch.from_numpy(net.std_)
    return tensors


def _save_net(directory: Path, net: Any) -> dict[str, Any]:
    from safetensors.torch import save_file

    weights = directory / NET_WEIGHTS
    save_file(_net_tensors(net), str(weights))
    return {
        "framework": "torch",
        "weights": NET_WEIGHTS,
        "weights_sha256": file_sha256(weights),
        "architecture": net.architecture,
        "architecture_params": net.params,
        "inputs": int(net.mean_.shape[0]),
        "history": net.history_,
    }


def _load_net(weights: Path, entry: dict[str, Any]) -> Any:
    from safetensors.torch import load_file

    from genrekit.models.nets import NetClassifier, build_net

    tensors = load_file(str(weights))
    params = dict(entry["architecture_params"])
    if isinstance(params.get("hidden"), list):
        params["hidden"] = tuple(params["hidden"])
    net = NetClassifier(entry["architecture"], params)  # fitted state as ``fit`` would set it
    net.model_ = build_net(entry["architecture"], entry["inputs"], len(entry["classes"]), params)
    net.model_.load_state_dict(
        {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}
    )
    net.model_.eval()
    net.mean_, net.std_ = tensors["input.mean"].numpy(), tensors["input.std"].numpy()
    net.classes_ = np.array(entry["classes"])
    return net


def load_bundle(model: str | Path | None = None, *, backend: str = "auto") -> ModelBundle:
    """Load a bundle folder, or a shipped bundle by name; None loads the default model.

    ``backend``: ``auto`` uses the verified ONNX copy when the bundle has one (fast start),
    ``scikit-learn`` always loads the skops weights.
    """
    if backend not in ("auto", "scikit-learn"):
        raise BundleError(f"unknown backend {backend!r}; use 'auto' or 'scikit-learn'")
    path = resolve_model_path(model)
    manifest = read_manifest(path)
    entry = manifest["model"]
    onnx = entry.get("onnx", {})
    weights = _checked(path, entry["weights"], entry["weights_sha256"])
    try:
        if entry["framework"] == "torch":
            predictor: Any = _load_net(weights, entry)
        elif backend == "auto" and onnx.get("exported"):
            from genrekit.models.onnx_export import OnnxPredictor

            predictor = OnnxPredictor(_checked(path, onnx.get("file"), onnx.get("sha256")))
        else:
            predictor = _load_skops(path, weights)
    except BundleError:
        raise
    except Exception as error:  # a damaged file that passed its checksum: still one clear line
        raise BundleError(f"{path}: the weights could not be loaded ({error})") from None
    return ModelBundle(
        predictor,
        list(manifest["labels"]),
        RepresentationSpec.from_dict(manifest["representation"]),
        manifest,
        path,
        _load_novelty(path, manifest),
        _load_logits(path, entry),
        _load_narrow_band(path, manifest, backend),
    )


def _load_narrow_band(path: Path, manifest: dict[str, Any], backend: str) -> ModelBundle | None:
    """The bundle's narrow-band head (its ``NARROW_BAND_FOLDER``), when the manifest names one."""
    section = manifest.get("narrow_band")
    if not section:
        return None
    if section.get("folder") != NARROW_BAND_FOLDER:
        raise BundleError(f"{path}: the narrow-band head must lie in {NARROW_BAND_FOLDER}/")
    return load_bundle(path / NARROW_BAND_FOLDER, backend=backend)


def _load_logits(path: Path, entry: dict[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """The bundle's affine logits (checksum-checked plain arrays, no pickle), or None."""
    logits = entry.get("logits")
    if not isinstance(logits, dict):
        return None
    try:
        with np.load(_checked(path, logits["file"], logits.get("sha256")), allow_pickle=False) as d:
            return d["weights"], d["bias"]
    except (OSError, ValueError, KeyError) as error:
        raise BundleError(f"{path}: the logits file could not be read ({error})") from None


def _load_novelty(path: Path, manifest: dict[str, Any]) -> Any:
    """The bundle's novelty rejector (checksum-checked plain arrays), or None."""
    entry = manifest.get("rejector")
    if not isinstance(entry, dict) or "file" not in entry:
        return None
    from genrekit.novelty import NoveltyScore

    try:
        return NoveltyScore.load(_checked(path, entry["file"], entry.get("sha256")))
    except (OSError, ValueError, KeyError) as error:
        raise BundleError(f"{path}: the rejector file could not be read ({error})") from None


_REQUIRED_MODEL_KEYS = {"framework": str, "weights": str, "weights_sha256": str, "classes": list}
_FRAMEWORKS = ("scikit-learn", "torch")


def read_manifest(path: Path) -> dict[str, Any]:
    """The bundle's manifest, checked for what loading relies on; a ``BundleError`` names the
    first problem (never a ``KeyError`` from deep inside loading)."""
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BundleError(f"{path}: unreadable manifest ({error})") from None
    if not isinstance(manifest, dict):
        raise BundleError(f"{path}: the manifest is not a JSON object")
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise BundleError(f"{path}: not a genrekit bundle of format version {FORMAT_VERSION}")
    entry, labels = manifest.get("model"), manifest.get("labels")
    if not isinstance(entry, dict):
        raise BundleError(f"{path}: the manifest has no 'model' section")
    for key, kind in _REQUIRED_MODEL_KEYS.items():
        if not isinstance(entry.get(key), kind):
            raise BundleError(f"{path}: the manifest's 'model' section lacks '{key}'")
    if entry["framework"] not in _FRAMEWORKS:
        raise BundleError(f"{path}: unknown framework {entry['framework']!r}")
    if not isinstance(manifest.get("representation"), dict):
        raise BundleError(f"{path}: the manifest has no 'representation' section")
    if not isinstance(labels, list) or not labels:
        raise BundleError(f"{path}: the manifest has no 'labels'")
    unknown = [label for label in labels if label not in entry["classes"]]
    if unknown:
        raise BundleError(f"{path}: labels {unknown} are not among the model's classes")
    return manifest


def _checked(bundle: Path, name: object, sha256: object) -> Path:
    """The bundle file ``name``, after checking that it lies inside the bundle folder (a plain
    file name: no absolute path, no ``..``, no link out) and matches the manifest's checksum."""
    if not isinstance(name, str) or not isinstance(sha256, str):
        raise BundleError(f"{bundle}: the manifest names no weights file with its checksum")
    weights = bundle / name
    inside = (
        not Path(name).is_absolute()
        and Path(name).name == name
        and weights.resolve().parent == bundle.resolve()
    )
    if not inside:
        raise BundleError(f"{bundle}: weights file {name!r} is outside the bundle folder")
    if not weights.is_file():
        raise BundleError(f"{bundle}: weights file {name} is missing")
    if file_sha256(weights) != sha256:
        raise BundleError(f"{bundle}: {name} does not match the manifest's checksum")
    return weights


def _load_skops(bundle: Path, weights: Path) -> Any:
    """A scikit-learn estimator from skops weights, refusing any type outside ``TRUSTED_TYPES``."""
    import skops.io

    untrusted = skops.io.get_untrusted_types(file=weights)
    refused = sorted(set(untrusted) - TRUSTED_TYPES)
    if refused:
        raise BundleError(
            f"{bundle}: refused: the weights name types genrekit never saves "
            f"({', '.join(refused)}); a model bundle is data and may not call code"
        )
    return skops.io.load(weights, trusted=untrusted)


def _describe_estimator(estimator: Any) -> dict[str, Any]:
    steps = getattr(estimator, "steps", [("model", estimator)])
    return {
        name: {"class": type(step).__name__, "params": _plain_params(step)} for name, step in steps
    }


def _plain_params(step: Any) -> dict[str, Any]:
    params = step.get_params(deep=False) if hasattr(step, "get_params") else {}
    return {k: v for k, v in params.items() if isinstance(v, (str, int, float, bool, type(None)))}


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in a manifest")
