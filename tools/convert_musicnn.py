"""Convert the musicnn checkpoints of the PyPI wheel to genrekit's safetensors weights.

Reproducible, offline after the download, and free of TensorFlow::

    pip download --no-deps musicnn==0.1.0 -d /tmp/musicnn
    python tools/convert_musicnn.py /tmp/musicnn/musicnn-0.1.0-py3-none-any.whl

Reads each model's TensorFlow checkpoint with ``tools/tf_checkpoint.py``, maps the variables onto
the PyTorch modules of ``genrekit.pretrained.networks`` (transposing kernels from TensorFlow's
height × width × in × out layout), and writes to ``src/genrekit/pretrained/weights/``:

- ``<model>.safetensors``: the weights, named as the PyTorch modules' state dict;
- ``<model>.onnx``: the PyTorch module exported as an ONNX graph (what inference runs, in
  onnxruntime, so tagging and prediction do not need PyTorch) whose weights are *not* copied:
  each initializer is ONNX external data pointing at its bytes inside the safetensors file;
- ``PROVENANCE.json`` (wheel name, version, sha256) and the wheel's ISC licence text.
"""

from __future__ import annotations

import hashlib
import json
import struct
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import onnx
import torch
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).parent))
from tf_checkpoint import read_checkpoint

from genrekit.pretrained import musicnn, networks


def _conv2d(kernel: np.ndarray) -> np.ndarray:
    return kernel.transpose(3, 2, 0, 1)  # (h, w, in, out) → (out, in, h, w)


def _conv1d_over_channels(kernel: np.ndarray) -> np.ndarray:
    # TF convolves a (time × channels × 1) image with a (7 × channels) kernel: a 1-D conv.
    return kernel[:, :, 0, :].transpose(2, 1, 0)  # (h, channels, 1, out) → (out, channels, h)


def _norm(variables: dict[str, np.ndarray], index: int, prefix: str) -> dict[str, np.ndarray]:
    scope = "batch_normalization" + (f"_{index}" if index else "")
    return {
        f"{prefix}.weight": variables[f"{scope}/gamma"],
        f"{prefix}.bias": variables[f"{scope}/beta"],
        f"{prefix}.running_mean": variables[f"{scope}/moving_mean"],
        f"{prefix}.running_var": variables[f"{scope}/moving_variance"],
    }


def _musicnn_state(v: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """TF creates layers in graph order: conv2d, conv2d_1, … and batch_normalization_1, …"""
    state = _norm(v, 0, "input_norm")
    modules = [("timbral.0", "timbral_norm.0"), ("timbral.1", "timbral_norm.1")]
    modules += [(f"temporal.{i}", f"temporal_norm.{i}") for i in range(3)]
    for index, (conv, norm) in enumerate(modules):
        scope = "conv2d" + (f"_{index}" if index else "")
        state[f"{conv}.weight"] = _conv2d(v[f"{scope}/kernel"])
        state[f"{conv}.bias"] = v[f"{scope}/bias"]
        state |= _norm(v, index + 1, norm)
    for layer in range(3):
        scope = f"conv2d_{5 + layer}"
        state[f"midend.{layer}.weight"] = _conv1d_over_channels(v[f"{scope}/kernel"])
        state[f"midend.{layer}.bias"] = v[f"{scope}/bias"]
        state |= _norm(v, 6 + layer, f"midend_norm.{layer}")
    state |= _norm(v, 9, "pool_norm")
    state |= {"penultimate.weight": v["dense/kernel"].T, "penultimate.bias": v["dense/bias"]}
    state |= _norm(v, 10, "penultimate_norm")
    state |= {"output.weight": v["dense_1/kernel"].T, "output.bias": v["dense_1/bias"]}
    return state


def _vgg_state(v: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    state = _norm(v, 0, "input_norm")
    for layer in range(5):
        state[f"convs.{layer}.weight"] = _conv2d(v[f"{layer + 1}CNN/kernel"])
        state[f"convs.{layer}.bias"] = v[f"{layer + 1}CNN/bias"]
        state |= _norm(v, layer + 1, f"norms.{layer}")
    state |= {"output.weight": v["dense/kernel"].T, "output.bias": v["dense/bias"]}
    return state


class _Outputs(torch.nn.Module):
    """The network with its outputs as a tuple, tag probabilities first (what ONNX exports)."""

    def __init__(self, network: torch.nn.Module, names: tuple[str, ...]) -> None:
        super().__init__()
        self.network, self.names = network, names

    def forward(self, patches: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outputs = self.network(patches)
        return (torch.sigmoid(outputs["logits"]), *(outputs[name] for name in self.names))


def export_onnx(network: torch.nn.Module, weights: Path, out: Path) -> None:
    """Export ``network`` (eval mode) to ``out`` with its weights read from ``weights``."""
    names = ("penultimate", "mean_pool", "max_pool") if hasattr(network, "midend") else ("pool5",)
    example = torch.zeros(2, musicnn.PATCH_FRAMES, musicnn.N_MELS)
    torch.onnx.export(
        _Outputs(network.eval(), names), (example,), out, dynamo=False, opset_version=17,
        input_names=["patches"], output_names=["taggram", *names],
        dynamic_axes={"patches": {0: "batch"}}, do_constant_folding=False,
    )  # fmt: skip
    graph = onnx.load(out)
    raw = weights.read_bytes()
    header_size = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + header_size])
    for initializer in graph.graph.initializer:
        entry = header.get(initializer.name.removeprefix("network."))
        if entry is None:
            continue  # a constant the exporter made (shapes, paddings): stays in the graph
        if entry["dtype"] != "F32":
            raise ValueError(f"{initializer.name}: expected float32, got {entry['dtype']}")
        begin, end = entry["data_offsets"]
        initializer.ClearField("raw_data")
        initializer.data_location = onnx.TensorProto.EXTERNAL
        del initializer.external_data[:]
        location = {"location": weights.name, "offset": 8 + header_size + begin,
                    "length": end - begin}  # fmt: skip
        for key, value in location.items():
            initializer.external_data.add(key=key, value=str(value))
    out.write_bytes(graph.SerializeToString())


def convert(wheel: Path, out: Path = musicnn.WEIGHTS_DIR) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(tmp)
        for model in musicnn.MODEL_NAMES:
            # the prefix ends in "/": the files are named ".index" and ".data-00000-of-00001"
            variables = read_checkpoint(f"{tmp}/musicnn/{model}/")
            state = _musicnn_state(variables) if "musicnn" in model else _vgg_state(variables)
            network = networks.build(model)
            expected = network.state_dict()
            tensors = {
                name: torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))
                for name, value in state.items()
            }
            for name, tensor in expected.items():
                if name.endswith("num_batches_tracked"):
                    continue
                if tensors[name].shape != tensor.shape:
                    raise ValueError(f"{model}: {name} {tensors[name].shape} != {tensor.shape}")
            network.load_state_dict(tensors, strict=False)
            weights = out / f"{model}.safetensors"
            save_file(network.state_dict(), weights, metadata={"source": wheel.name})
            export_onnx(network, weights, out / f"{model}.onnx")
        licence = (Path(tmp) / "musicnn-0.1.0.dist-info" / "LICENSE.md").read_text()
    (out / "LICENSE-musicnn.md").write_text(licence)
    provenance = {
        "source": "PyPI musicnn==0.1.0 (Pons & Serra, 2019; ISC licence, see LICENSE-musicnn.md)",
        "wheel": wheel.name,
        "sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(),
        "converted_by": "tools/convert_musicnn.py",
        "models": list(musicnn.MODEL_NAMES),
        "files": {  # checked by genrekit before every load (genrekit.pretrained.musicnn)
            path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(out.iterdir())
            if path.suffix in (".onnx", ".safetensors")
        },
    }
    (out / "PROVENANCE.json").write_text(json.dumps(provenance, indent=2) + "\n")


if __name__ == "__main__":
    convert(Path(sys.argv[1]))
