"""Neural models (PyTorch, CPU-sized) behind a scikit-learn-style estimator.

Architectures: ``torch_mlp`` on feature vectors (batch norm, dropout); ``cnn`` on channels × frames
windows (log-mel patches or MFCC segments); ``gru`` / ``lstm`` and ``transformer`` on feature
sequences; ``musicnn`` fine-tunes a pretrained musicnn network (new output layer; ``trainable``
says which layers learn) on ``musicnn_mel`` windows. ``NetClassifier`` trains any of them with
AdamW, ReduceLROnPlateau and early stopping on a validation split carved from the training
*tracks* (never from the fold being tested), with balanced class weights and optional mixup /
SpecAugment-style masking, and keeps the per-epoch history for learning curves.
"""

from __future__ import annotations

import copy
import math
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from torch import nn

from genrekit.errors import ConfigError


class MLP(nn.Module):
    def __init__(self, inputs: int, classes: int, hidden: tuple[int, ...] = (256, 128),
                 dropout: float = 0.3) -> None:  # fmt: skip
        super().__init__()
        layers: list[nn.Module] = []
        for width in hidden:
            layers += [nn.Linear(inputs, width), nn.BatchNorm1d(width), nn.ReLU(),
                       nn.Dropout(dropout)]  # fmt: skip
            inputs = width
        self.body = nn.Sequential(*layers, nn.Linear(inputs, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class CNN(nn.Module):
    """Four conv blocks over (channels × frames) treated as an image, then global pooling."""

    def __init__(self, inputs: int, classes: int, width: int = 16, dropout: float = 0.3) -> None:
        super().__init__()
        del inputs  # any number of bands: the network pools globally
        blocks: list[nn.Module] = []
        channels = 1
        for out in (width, 2 * width, 4 * width, 4 * width):
            blocks += [nn.Conv2d(channels, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU(),
                       nn.MaxPool2d(2, ceil_mode=True)]  # fmt: skip
            channels = out
        self.features = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(channels, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x.unsqueeze(1)))


class Recurrent(nn.Module):
    """Bidirectional GRU or LSTM over frames; mean and max over time feed the classifier."""

    def __init__(self, inputs: int, classes: int, cell: str = "gru", hidden: int = 64,
                 layers: int = 2, dropout: float = 0.3) -> None:  # fmt: skip
        super().__init__()
        kind = {"gru": nn.GRU, "lstm": nn.LSTM}[cell]
        self.rnn = kind(inputs, hidden, layers, batch_first=True, bidirectional=True,
                        dropout=dropout if layers > 1 else 0.0)  # fmt: skip
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(4 * hidden, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x.transpose(1, 2))
        return self.head(torch.cat([out.mean(dim=1), out.amax(dim=1)], dim=1))


class Transformer(nn.Module):
    """A small Transformer encoder over frames with sinusoidal positions; mean-pooled."""

    def __init__(self, inputs: int, classes: int, width: int = 64, heads: int = 4,
                 layers: int = 2, dropout: float = 0.1) -> None:  # fmt: skip
        super().__init__()
        self.project = nn.Linear(inputs, width)
        layer = nn.TransformerEncoderLayer(width, heads, 2 * width, dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers)
        self.head = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, classes))
        self.width = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames = x.transpose(1, 2)
        position = torch.arange(frames.shape[1], dtype=torch.float32).unsqueeze(1)
        rates = torch.exp(torch.arange(0, self.width, 2) * (-math.log(10000.0) / self.width))
        encoding = torch.zeros(frames.shape[1], self.width)
        encoding[:, 0::2], encoding[:, 1::2] = (
            torch.sin(position * rates),
            torch.cos(position * rates),
        )
        return self.head(self.encoder(self.project(frames) + encoding).mean(dim=1))


def _musicnn_transfer(inputs: int, classes: int, **params: Any) -> nn.Module:
    from genrekit.pretrained.networks import MusicnnTransfer

    return MusicnnTransfer(inputs, classes, **params)


ARCHITECTURES: dict[str, Any] = {
    "torch_mlp": MLP,
    "musicnn": _musicnn_transfer,
    "cnn": CNN,
    "gru": lambda inputs, classes, **kw: Recurrent(inputs, classes, cell="gru", **kw),
    "lstm": lambda inputs, classes, **kw: Recurrent(inputs, classes, cell="lstm", **kw),
    "transformer": Transformer,
}


def build_net(name: str, inputs: int, classes: int, params: dict[str, Any]) -> nn.Module:
    if name not in ARCHITECTURES:
        raise ConfigError(f"unknown network {name!r}; available: {', '.join(ARCHITECTURES)}")
    try:
        return ARCHITECTURES[name](inputs, classes, **params)
    except TypeError as error:
        raise ConfigError(f"network {name!r}: {error}") from None


class NetClassifier(ClassifierMixin, BaseEstimator):
    """A PyTorch net under scikit-learn's estimator contract: hyper-parameters in ``__init__``,
    fitted state (a trailing underscore) set by ``fit``, so ``clone``, ``GridSearchCV`` and
    ``NotFittedError`` work. Inputs (N, features) or (N, channels, frames)."""

    framework: ClassVar[str] = "torch"
    """How a bundle stores it (safetensors weights, not skops): read without importing torch."""
    holds_out_tracks: ClassVar[bool] = True
    """``fit`` takes the rows' ``tracks`` and holds some out for early stopping; their logits
    (``validation_logits_``) are what the net is calibrated on (``genrekit.training.fitting``)."""

    def __init__(
        self,
        architecture: str = "torch_mlp",
        params: dict[str, Any] | None = None,
        *,
        epochs: int = 40,
        batch_size: int = 32,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-2,
        patience: int = 6,
        validation_fraction: float = 0.15,
        mixup: float = 0.0,
        masks: int = 0,
        crop: float = 0.0,
        gain: float = 0.0,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        """``params`` go to the architecture (hidden, width, dropout, …). ``mixup``: mixup alpha
        (0: off). ``masks``: SpecAugment-style frequency and time masks per example (0: off;
        window inputs only). ``crop``: each training window keeps a random (1 - crop) share of
        its frames (0: off; window inputs only — every architecture pools over time, so
        prediction sees whole windows). ``gain``: random gain of up to ± this many dB per
        training window (0: off; for dB inputs: logmel). ``device``: where training and
        prediction run: ``auto`` (CUDA when PyTorch sees a GPU, else the CPU), ``cpu`` or
        ``cuda``; the fitted network is kept on the CPU (bundles save it from there)."""
        self.architecture = architecture
        self.params = params
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.mixup = mixup
        self.masks = masks
        self.crop = crop
        self.gain = gain
        self.seed = seed
        self.device = device

    @classmethod
    def trainer_settings(cls) -> set[str]:
        """The hyper-parameters of training (everything but the architecture and its params)."""
        return set(cls._get_param_names()) - {"architecture", "params"}

    def fit(self, x: np.ndarray, y: np.ndarray, tracks: np.ndarray | None = None) -> NetClassifier:
        """Train; ``tracks`` (one id per row) keep the validation split free of training tracks,
        whose logits are kept (``validation_logits_``) to calibrate on."""
        from genrekit.training.splits import holdout

        torch.manual_seed(self.seed)
        self.classes_ = np.array(sorted(set(y)))
        targets = np.searchsorted(self.classes_, y)
        tracks = tracks if tracks is not None else np.arange(len(y)).astype(str)
        split = holdout(y, tracks, test_fraction=self.validation_fraction, seed=self.seed)
        inputs = x.shape[1]
        self.model_ = build_net(self.architecture, inputs, len(self.classes_), self.params or {})
        self.mean_, self.std_ = _channel_stats(x[split.train])
        if getattr(self.model_, "expects_raw_input", False):  # pretrained: keeps its own scale
            self.mean_, self.std_ = np.zeros_like(self.mean_), np.ones_like(self.std_)
        device = self.torch_device()
        self.model_.to(device)
        counts = np.bincount(targets[split.train], minlength=len(self.classes_))
        weights = torch.tensor(len(split.train) / (len(counts) * np.maximum(counts, 1)),
                               dtype=torch.float32, device=device)  # fmt: skip
        loss_function = nn.CrossEntropyLoss(weight=weights)
        trainable = [p for p in self.model_.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(
            trainable, lr=self.learning_rate, weight_decay=self.weight_decay
        )
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=2)
        train_x, train_y = self._tensor(x[split.train]), torch.tensor(targets[split.train])
        val_x, val_y = self._tensor(x[split.test]), torch.tensor(targets[split.test])
        generator = torch.Generator().manual_seed(self.seed)
        self.history_: dict[str, list[float]] = {
            name: [] for name in ("train_loss", "val_loss", "train_accuracy", "val_accuracy")
        }
        best, best_loss, waited = None, math.inf, 0
        for _ in range(self.epochs):
            self.model_.train()
            order = torch.randperm(len(train_x), generator=generator)
            total, correct = 0.0, 0
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                if len(batch) < 2:
                    continue  # batch norm needs two examples
                inputs_b = self._augment(train_x[batch], generator).to(device)
                targets_b = train_y[batch].to(device)
                optimizer.zero_grad()
                logits, loss = self._mixup_loss(inputs_b, targets_b, loss_function, generator)
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * len(batch)
                correct += int((logits.argmax(1) == targets_b).sum())
            val_loss, val_accuracy = self._evaluate(val_x.to(device), val_y.to(device),
                                                    loss_function)  # fmt: skip
            scheduler.step(val_loss)
            self.history_["train_loss"].append(total / len(order))
            self.history_["train_accuracy"].append(correct / len(order))
            self.history_["val_loss"].append(val_loss)
            self.history_["val_accuracy"].append(val_accuracy)
            if val_loss < best_loss - 1e-4:
                best, best_loss, waited = copy.deepcopy(self.model_.state_dict()), val_loss, 0
            else:
                waited += 1
                if waited >= self.patience:
                    break
        if best is not None:
            self.model_.load_state_dict(best)
        self.model_.to("cpu").eval()
        self.validation_logits_ = self.decision_function(x[split.test])
        self.validation_targets_ = np.asarray(y)[split.test]
        self.validation_tracks_ = np.asarray(tracks)[split.test]
        return self

    def torch_device(self) -> torch.device:
        """The device ``device`` names (``auto``: CUDA when available, else the CPU)."""
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        if self.device not in ("cpu", "cuda"):
            raise ConfigError(f"device {self.device!r}: use auto, cpu or cuda")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ConfigError("device 'cuda': PyTorch sees no GPU here (use auto or cpu)")
        return torch.device(self.device)

    def _fitted(self) -> nn.Module:
        """The trained network, or scikit-learn's ``NotFittedError``."""
        if getattr(self, "model_", None) is None:
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"this {self.architecture} is not fitted yet: call fit first")
        return self.model_

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        """The network's logits (N, classes), columns in ``classes_`` order: log-scores that
        never underflow, for calibration (``genrekit.calibration.log_scores``)."""
        model = self._fitted()
        device = self.torch_device()
        model.to(device).eval()
        with torch.no_grad():
            chunks = [
                model(self._tensor(x[i : i + 256]).to(device)).cpu().numpy()
                for i in range(0, len(x), 256)
            ]
        model.to("cpu")
        if not chunks:
            return np.zeros((0, len(self.classes_)))
        return np.concatenate(chunks).astype(np.float64)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        from genrekit.calibration import softmax

        return softmax(self.decision_function(x))

    def predict(self, x: np.ndarray) -> np.ndarray:
        probabilities = self.predict_proba(x)
        return self.classes_[probabilities.argmax(axis=1)]

    def _tensor(self, x: np.ndarray) -> torch.Tensor:
        return torch.tensor((x - self.mean_) / self.std_, dtype=torch.float32)

    def _augment(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if x.dim() != 3:
            return x
        if self.crop > 0:
            keep = max(1, round(x.shape[2] * (1 - self.crop)))
            starts = torch.randint(0, x.shape[2] - keep + 1, (len(x),), generator=generator)
            x = torch.stack([example[:, s : s + keep] for example, s in zip(x, starts.tolist())])
        if self.gain > 0:  # a dB offset on every band, in standardized units
            decibels = (torch.rand(len(x), 1, 1, generator=generator) * 2 - 1) * self.gain
            x = x + decibels / torch.from_numpy(self.std_)
        if self.masks == 0:
            return x
        x = x.clone()
        channels, frames = x.shape[1], x.shape[2]
        for example in x:
            for _ in range(self.masks):
                width = int(torch.randint(1, max(2, channels // 8), (1,), generator=generator))
                start = int(torch.randint(0, channels - width + 1, (1,), generator=generator))
                example[start : start + width] = 0.0
                width = int(torch.randint(1, max(2, frames // 10), (1,), generator=generator))
                start = int(torch.randint(0, frames - width + 1, (1,), generator=generator))
                example[:, start : start + width] = 0.0
        return x

    def _mixup_loss(self, x, y, loss_function, generator):
        if self.mixup <= 0:
            logits = self.model_(x)
            return logits, loss_function(logits, y)
        share = float(np.random.default_rng(int(torch.randint(0, 2**31, (1,), generator=generator)))
                      .beta(self.mixup, self.mixup))  # fmt: skip
        partner = torch.randperm(len(x), generator=generator)
        logits = self.model_(share * x + (1 - share) * x[partner])
        loss = share * loss_function(logits, y) + (1 - share) * loss_function(logits, y[partner])
        return logits, loss

    def _evaluate(self, x, y, loss_function) -> tuple[float, float]:
        model = self._fitted()
        model.eval()
        with torch.no_grad():
            logits = model(x)
            return float(loss_function(logits, y)), float((logits.argmax(1) == y).float().mean())


def _channel_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature (vectors) or per-channel (windows) mean and std of the training inputs."""
    axes = (0,) if x.ndim == 2 else (0, 2)
    mean, std = x.mean(axis=axes, keepdims=True)[0], x.std(axis=axes, keepdims=True)[0]
    return mean.astype(np.float32), np.where(std > 0, std, 1.0).astype(np.float32)
