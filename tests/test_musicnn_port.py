"""The PyTorch port of musicnn against the original TensorFlow implementation's outputs.

``tests/fixtures/musicnn_reference.npz`` was written once by ``tools/make_musicnn_fixture.py``
with the original ``musicnn==0.1.0`` code and TensorFlow: six seconds of synthetic music (16-bit,
16 kHz), the spectrogram patches musicnn computed from it, and every model's outputs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from genrekit.pretrained import musicnn

REFERENCE = np.load(Path(__file__).parent / "fixtures" / "musicnn_reference.npz")
# The networks see the reference's own input patches: float32 arithmetic in another order.
NETWORK_TOLERANCE = 1e-4
"""Largest difference accepted, relative to the output's largest magnitude."""
SPECTROGRAM_TOLERANCE = 5e-3
"""Our log-mel input vs the original's, in log10 units (both round the mel power to float16)."""


def _relative_error(ours: np.ndarray, reference: np.ndarray) -> float:
    return float(np.abs(ours - reference).max() / np.abs(reference).max())


def _torch_outputs(model: str) -> dict[str, np.ndarray]:
    import torch

    from genrekit.pretrained.networks import load

    network = load(model)
    with torch.no_grad():
        outputs = network(torch.from_numpy(REFERENCE["patches"].astype(np.float32)))
    arrays = {name: value.numpy() for name, value in outputs.items()}
    return arrays | {"taggram": 1 / (1 + np.exp(-arrays["logits"]))}


@pytest.mark.parametrize("runtime", ["pytorch", "onnx"])
@pytest.mark.parametrize("model", musicnn.MODEL_NAMES)
def test_each_network_reproduces_the_original_outputs(model: str, runtime: str):
    """The PyTorch port, and the ONNX graph exported from it that inference runs."""
    if runtime == "pytorch":
        outputs = _torch_outputs(model)
    else:
        outputs = musicnn.run(model, REFERENCE["patches"].astype(np.float32))
    names = ["taggram", *(("penultimate", "mean_pool", "max_pool") if "musicnn" in model else
                          ("pool5",))]  # fmt: skip
    for name in names:
        expected = REFERENCE[f"{model}/{name}"]
        assert outputs[name].shape == expected.shape, name
        assert _relative_error(outputs[name], expected) < NETWORK_TOLERANCE, name


def test_spectrogram_patches_match_the_original_front_end():
    audio = REFERENCE["audio_int16"].astype(np.float32) / 32768
    patches = musicnn.patches(musicnn.log_mel(audio))
    assert patches.shape == REFERENCE["patches"].shape
    assert np.abs(patches - REFERENCE["patches"].astype(np.float32)).max() < SPECTROGRAM_TOLERANCE


def test_from_audio_to_tags_end_to_end_matches_the_original():
    audio = REFERENCE["audio_int16"].astype(np.float32) / 32768
    tags = musicnn.run("MSD_musicnn", musicnn.patches(musicnn.log_mel(audio)))["taggram"]
    assert np.abs(tags - REFERENCE["MSD_musicnn/taggram"]).max() < 1e-3


def test_a_short_input_is_repeated_to_one_full_patch():
    frames = np.arange(50 * musicnn.N_MELS, dtype=np.float32).reshape(50, musicnn.N_MELS)
    patches = musicnn.patches(frames)
    assert patches.shape == (1, musicnn.PATCH_FRAMES, musicnn.N_MELS)
    np.testing.assert_array_equal(patches[0, 50:100], frames)


def test_fast_inference_path_equals_the_layer_by_layer_path():
    """Pooling before ReLU and batch norm (inference) must equal the training-mode order."""
    import torch

    from genrekit.pretrained.networks import load

    network = load("MSD_musicnn")
    with torch.no_grad():
        x = network.input_norm(torch.from_numpy(REFERENCE["patches"].astype(np.float32))[:, None])
        for conv, norm in zip(network.timbral, network.timbral_norm):
            padded = torch.nn.functional.pad(x, (0, 0, 3, 3))
            slow = norm(torch.relu(conv(padded))).amax(dim=3)
            fast = network._frequency_pooled(conv, norm, padded)
            assert torch.allclose(slow, fast, atol=1e-5)
    assert (network.timbral_norm[0].weight < 0).any()  # the sign trick is exercised


def test_onnx_graphs_read_their_weights_from_the_safetensors_files():
    """The weights ship once: the graphs hold only structure and point into the safetensors."""
    import onnx

    for model in musicnn.MODEL_NAMES:
        graph = (musicnn.WEIGHTS_DIR / f"{model}.onnx").stat().st_size
        weights = (musicnn.WEIGHTS_DIR / f"{model}.safetensors").stat().st_size
        assert graph < weights / 20
        locations = {
            entry.value
            for initializer in onnx.load(
                musicnn.WEIGHTS_DIR / f"{model}.onnx", load_external_data=False
            ).graph.initializer
            for entry in initializer.external_data
            if entry.key == "location"
        }
        assert locations == {f"{model}.safetensors"}


def test_weights_ship_with_their_licence_and_provenance():
    provenance = musicnn.provenance()
    assert provenance["wheel"] == "musicnn-0.1.0-py3-none-any.whl"
    assert len(provenance["sha256"]) == 64
    assert "ISC" in provenance["source"]
    assert "Permission to use" in (musicnn.WEIGHTS_DIR / "LICENSE-musicnn.md").read_text()


@pytest.mark.filterwarnings("ignore:n_fft=512 is too large")  # librosa, on the 100-sample input
@pytest.mark.parametrize("length", [100, 512, 48_017, 480_000])
def test_numpy_log_mel_equals_librosa_bit_for_bit(length: int):
    """The front end prediction runs (numpy only) against librosa's melspectrogram."""
    import librosa

    samples = (0.3 * np.random.default_rng(length).standard_normal(length)).astype(np.float32)
    reference = librosa.feature.melspectrogram(
        y=samples, sr=16000, n_fft=512, hop_length=256, n_mels=96
    )
    assert np.array_equal(musicnn.mel_basis(), librosa.filters.mel(sr=16000, n_fft=512, n_mels=96))
    power = musicnn.power_spectrogram(samples)
    ours = np.einsum("ft,mf->mt", power, musicnn.mel_basis(), optimize=True)
    assert np.array_equal(ours, reference)


def test_overlapping_patches_start_every_hop_and_end_within_the_input():
    frames = np.random.default_rng(0).random((1875, musicnn.N_MELS), dtype=np.float32)  # 30 s
    hop = musicnn.PATCH_FRAMES // 2
    overlapping = musicnn.patches(frames, hop)
    assert overlapping.shape == (19, musicnn.PATCH_FRAMES, musicnn.N_MELS)
    np.testing.assert_array_equal(overlapping[1], frames[hop : hop + musicnn.PATCH_FRAMES])
    last = 18 * hop  # the last start whose whole patch fits in the 1875 frames
    np.testing.assert_array_equal(overlapping[-1], frames[last : last + musicnn.PATCH_FRAMES])
