"""int8 quantization of the musicnn networks (onnxruntime's dynamic quantizer): speed and parity.

A lever for issue 16 that was measured and not kept. Each network's ONNX graph is constant-folded
by onnxruntime (its convolution weights are computed in the graph, which the quantizer cannot
take), then quantized three ways (every operator; only Gemm/MatMul; only Conv) with int8 weights.
On real GTZAN clips (ten 3 s patches each, one patch per call, one thread), CPU time per 30 s
clip beside the fp32 graph in the same loop, and the largest difference of the 50 tag
probabilities from fp32.

Run: ``.venv/bin/python benchmarks/musicnn_int8.py [--clips N]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import RESULTS, data_dir, git_revision, machine

VARIANTS = {"int8, every operator": None, "int8, Gemm only": ["Gemm"], "int8, Conv only": ["Conv"]}


def _session(path: Path, optimized: Path | None = None):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.log_severity_level = 3
    if optimized is not None:
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(optimized)
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _variants(model: str, folder: Path) -> dict[str, Path]:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from genrekit.pretrained import musicnn

    whole = folder / f"{model}.onnx"
    onnx.save(onnx.load(str(musicnn.verified_weights(f"{model}.onnx"))), str(whole))
    folded = folder / f"{model}-folded.onnx"
    _session(whole, optimized=folded)
    paths = {"fp32": whole}
    for name, operators in VARIANTS.items():
        paths[name] = folder / f"{model}-{len(paths)}.onnx"
        extra = {} if operators is None else {"op_types_to_quantize": operators}
        quantize_dynamic(str(folded), str(paths[name]), weight_type=QuantType.QInt8, **extra)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=10)
    args = parser.parse_args()

    from genrekit.audio import load_audio
    from genrekit.pretrained import musicnn

    clips = sorted((data_dir() / "gtzan").glob("*/*.flac"))[:: max(1, 208 // args.clips)]
    patches = [
        musicnn.patches(musicnn.log_mel(load_audio(p, sample_rate=musicnn.SAMPLE_RATE).samples))
        for p in clips
    ]
    result: dict = {"machine": machine(), "revision": git_revision(), "clips": len(clips)}
    with tempfile.TemporaryDirectory() as folder:
        for model in ("MSD_musicnn", "MTT_musicnn"):
            sessions = {n: _session(p) for n, p in _variants(model, Path(folder)).items()}
            seconds: dict[str, list[float]] = {name: [] for name in sessions}
            worst: dict[str, float] = dict.fromkeys(sessions, 0.0)
            for batch in patches:
                reference = None
                for name, session in sessions.items():
                    start = time.process_time()
                    tags = np.concatenate(
                        [
                            session.run(None, {"patches": batch[i : i + 1]})[0]
                            for i in range(len(batch))
                        ]
                    )
                    seconds[name].append(time.process_time() - start)
                    reference = tags if reference is None else reference
                    worst[name] = max(worst[name], float(np.abs(tags - reference).max()))
            result[model] = {
                name: {
                    "cpu_seconds_per_clip": round(statistics.median(seconds[name]), 3),
                    "max_tag_difference_from_fp32": round(worst[name], 4),
                }
                for name in sessions
            }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "musicnn_int8.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
