"""The musicnn and VGG tagging networks in PyTorch, with the converted pretrained weights.

Ported from the TensorFlow-1 code of ``musicnn==0.1.0`` (``models.py``): same layers, same order,
same batch-norm epsilon, so the converted weights give the original outputs (see
``tests/test_musicnn_port.py``). ``tools/convert_musicnn.py`` writes the weights these modules load.
"""

from __future__ import annotations

import copy
from functools import cache

import torch
import torch.nn.functional as F
from torch import nn

from genrekit.pretrained.musicnn import MODEL_NAMES, verified_weights

BN_EPSILON = 1e-3
"""TensorFlow-1 ``batch_normalization`` default."""


def _batch_norm(channels: int) -> nn.BatchNorm1d:
    return nn.BatchNorm1d(channels, eps=BN_EPSILON)


def _batch_norm_2d(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPSILON)


class Musicnn(nn.Module):
    """musicnn: musically motivated front-end, dense mid-end, temporal-pooling back-end.

    Front-end on the (time × mel) patch: two timbral convolutions spanning 7 frames × 38 / 67 mel
    bands (204 filters each) and three temporal convolutions spanning 128 / 64 / 32 frames × 1 band
    (51 filters each), every one max-pooled over frequency. Mid-end: three 7-frame convolutions of
    64 filters with residual connections, densely concatenated with the front-end (753 channels).
    Back-end: max and mean over time → batch norm → dense 200 (the penultimate embedding) → 50 tags.
    In TensorFlow each block is conv → ReLU → batch norm → pooling; the same order is kept here
    (it matters: some batch-norm scales are negative, so pooling first would give other maxima).
    """

    def __init__(self, classes: int = 50, midend_filters: int = 64, backend_units: int = 200):
        super().__init__()
        self.input_norm = _batch_norm_2d(1)
        self.timbral = nn.ModuleList([nn.Conv2d(1, 204, (7, 38)), nn.Conv2d(1, 204, (7, 67))])
        self.timbral_norm = nn.ModuleList([_batch_norm_2d(204), _batch_norm_2d(204)])
        self.temporal = nn.ModuleList([nn.Conv2d(1, 51, (k, 1)) for k in (128, 64, 32)])
        self.temporal_norm = nn.ModuleList([_batch_norm_2d(51) for _ in range(3)])
        frontend_channels = 2 * 204 + 3 * 51
        self.midend = nn.ModuleList(
            [nn.Conv1d(frontend_channels, midend_filters, 7)]
            + [nn.Conv1d(midend_filters, midend_filters, 7) for _ in range(2)]
        )
        self.midend_norm = nn.ModuleList([_batch_norm(midend_filters) for _ in range(3)])
        self.pooled_channels = frontend_channels + 3 * midend_filters
        self.pool_norm = _batch_norm(2 * self.pooled_channels)
        self.penultimate = nn.Linear(2 * self.pooled_channels, backend_units)
        self.penultimate_norm = _batch_norm(backend_units)
        self.output = nn.Linear(backend_units, classes)

    def _frequency_pooled(self, conv: nn.Conv2d, norm: nn.BatchNorm2d, x: torch.Tensor):
        """conv → ReLU → batch norm → max over frequency, as (batch, filters, frames)."""
        if norm.training:  # batch statistics need the full maps
            return norm(F.relu(conv(x))).amax(dim=3)
        # ReLU and the frozen batch-norm map are monotone per filter (decreasing where the scale
        # is negative), so pooling can come first: the max of the convolution (its min where the
        # scale is negative, taken as the max of the negated filter), then ReLU and batch norm on
        # a map 30-60x smaller. Same numbers, a third less time.
        sign = torch.where(norm.weight < 0, -1.0, 1.0)
        pooled = F.conv2d(x, conv.weight * sign[:, None, None, None], conv.bias * sign)
        pooled = pooled.amax(dim=3) * sign[:, None]
        return F.batch_norm(F.relu(pooled), norm.running_mean, norm.running_var, norm.weight,
                            norm.bias, training=False, eps=norm.eps)  # fmt: skip

    def forward(self, patches: torch.Tensor) -> dict[str, torch.Tensor]:
        """``patches``: (batch, 187 frames, 96 mels) → logits, penultimate, mean/max pools."""
        x = self.input_norm(patches.unsqueeze(1))
        frontend = []
        padded = F.pad(x, (0, 0, 3, 3))  # time only: 'same' in time, then max over frequency
        for conv, norm in zip(self.timbral, self.timbral_norm):
            frontend.append(self._frequency_pooled(conv, norm, padded))
        for conv, norm in zip(self.temporal, self.temporal_norm):
            size = conv.kernel_size[0]  # TensorFlow 'same' puts the odd frame after
            same = F.pad(x, (0, 0, (size - 1) // 2, size // 2))
            frontend.append(self._frequency_pooled(conv, norm, same))
        features = [torch.cat(frontend, dim=1)]  # (batch, 561, frames)
        previous = features[0]
        for layer, (conv, norm) in enumerate(zip(self.midend, self.midend_norm)):
            out = norm(F.relu(conv(F.pad(previous, (3, 3)))))
            previous = out if layer == 0 else out + previous
            features.append(previous)
        stacked = torch.cat(features, dim=1)  # (batch, 753, frames)
        max_pool, mean_pool = stacked.amax(dim=2), stacked.mean(dim=2)
        pooled = torch.stack([max_pool, mean_pool], dim=2).flatten(1)  # TF interleaves the two
        penultimate = self.penultimate_norm(F.relu(self.penultimate(self.pool_norm(pooled))))
        return {
            "logits": self.output(penultimate),
            "penultimate": penultimate,
            "mean_pool": mean_pool,
            "max_pool": max_pool,
        }


class VGG(nn.Module):
    """The VGG-like baseline: five 3×3 conv blocks of 128 filters with max pooling, then dense."""

    _POOLS = (((4, 1), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)),
              ((4, 4), (4, 4)))  # fmt: skip

    def __init__(self, classes: int = 50, filters: int = 128):
        super().__init__()
        self.input_norm = nn.BatchNorm2d(1, eps=BN_EPSILON)
        self.convs = nn.ModuleList(
            [nn.Conv2d(1 if i == 0 else filters, filters, 3, padding=1) for i in range(5)]
        )
        self.norms = nn.ModuleList([nn.BatchNorm2d(filters, eps=BN_EPSILON) for _ in range(5)])
        self.output = nn.Linear(2 * 1 * filters, classes)

    def forward(self, patches: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.input_norm(patches.unsqueeze(1))
        for conv, norm, (size, stride) in zip(self.convs, self.norms, self._POOLS):
            x = F.max_pool2d(norm(F.relu(conv(x))), size, stride)
        pool5 = x.permute(0, 2, 3, 1)  # TensorFlow's (batch, time, freq, channels) order
        return {"logits": self.output(pool5.flatten(1)), "pool5": pool5}


def build(model: str) -> nn.Module:
    """An untrained network of the architecture ``model`` names."""
    if model not in MODEL_NAMES:
        raise ValueError(f"unknown musicnn model {model!r}; available: {', '.join(MODEL_NAMES)}")
    return Musicnn() if model.endswith("musicnn") else VGG()


@cache
def load(model: str = "MSD_musicnn") -> nn.Module:
    """The pretrained network in eval mode, loaded once per process."""
    from safetensors.torch import load_file

    network = build(model)
    network.load_state_dict(load_file(verified_weights(f"{model}.safetensors")))
    return network.eval()


TRAINABLE_SCOPES = {
    "backend": ("pool_norm", "penultimate", "penultimate_norm", "output"),
    "midend": ("midend", "midend_norm", "pool_norm", "penultimate", "penultimate_norm", "output"),
    "all": None,
}
"""Which parts of a musicnn network fine-tuning updates (``all``: every layer)."""


class MusicnnTransfer(nn.Module):
    """A pretrained musicnn network with a new output layer for ``classes``, for fine-tuning.

    Layers outside ``trainable`` keep their pretrained weights and batch-norm statistics (they
    stay in eval mode while the rest trains). Input: (batch, 96 mels, frames) windows of the
    ``musicnn_mel`` representation, unstandardized (the network normalizes its own input).
    """

    expects_raw_input = True

    def __init__(self, inputs: int, classes: int, base: str = "MSD_musicnn",
                 trainable: str = "midend", dropout: float = 0.5) -> None:  # fmt: skip
        super().__init__()
        if not base.endswith("musicnn"):
            raise TypeError(f"base must be MSD_musicnn or MTT_musicnn, not {base!r}")
        if trainable not in TRAINABLE_SCOPES:
            raise TypeError(f"trainable must be one of {', '.join(TRAINABLE_SCOPES)}")
        del inputs  # always 96 mel bands
        self.network = copy.deepcopy(load(base))  # the cached pretrained network stays intact
        self.network.output = nn.Linear(self.network.output.in_features, classes)
        self.dropout = nn.Dropout(dropout)
        scope = TRAINABLE_SCOPES[trainable]
        self.frozen = [
            module for name, module in self.network.named_children()
            if scope is not None and name not in scope
        ]  # fmt: skip
        for module in self.frozen:
            module.requires_grad_(False)

    def train(self, mode: bool = True) -> MusicnnTransfer:
        super().train(mode)
        for module in self.frozen:
            module.eval()
        return self

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        outputs = self.network(windows.transpose(1, 2))
        return self.network.output(self.dropout(outputs["penultimate"]))
