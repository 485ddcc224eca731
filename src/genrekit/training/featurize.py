"""Features for training: a dataset's files turned into the rows a model learns from.

Tables pass through; audio files become one row per clip (vector representations) or per window
(window representations), cached on disk by file content and settings, plus degraded training
copies when asked (``genrekit.degrade``).
"""

from __future__ import annotations

import numpy as np

from genrekit.errors import AudioError, ConfigError
from genrekit.features import RepresentationSpec
from genrekit.training.datasets import Dataset, Item

NARROW_MARK = "~narrow-"
"""What a narrow-band version's row id carries after the file's, before the version's name."""


def featurize(
    dataset: Dataset,
    spec: RepresentationSpec,
    workers: int = 1,
    progress: bool = True,
    augment_copies: int = 0,
    narrow_versions: bool = False,
) -> tuple[Dataset, list[AudioError]]:
    """A dataset with features: tables pass through; audio files become one row per clip
    (cached on disk by file content and spec, so a second run does not recompute), plus
    ``augment_copies`` degraded copies of each file and, with ``narrow_versions``, its
    ``genrekit.degrade.NARROW_BAND_VERSIONS``, all marked ``augmented`` (same track and group,
    so they always sit on the side of their original)."""
    if dataset.features is not None:
        if augment_copies or narrow_versions:
            raise ConfigError("[augment] needs audio files; a features table cannot be degraded")
        if spec.name != "gtzan57":
            raise ConfigError("features tables hold the gtzan57 representation only")
        return dataset, []
    from tqdm import tqdm

    from genrekit.features import feature_set
    from genrekit.features.table import TableJob, map_jobs, matrix_for_file

    if not feature_set(spec.name).is_vector:
        if narrow_versions:
            raise ConfigError("[augment] narrow_band_head needs a feature-vector representation")
        return _featurize_windows(dataset, spec, workers, progress)

    from genrekit.degrade import NARROW_BAND_VERSIONS

    sources = list(zip(dataset.items, dataset.paths))
    versions = [(copy, "") for copy in range(augment_copies + 1)]
    versions += [(0, name) for name in NARROW_BAND_VERSIONS if narrow_versions]
    copies = [(item, path, copy, narrow) for copy, narrow in versions for item, path in sources]
    jobs = [
        TableJob(path, item.label, clip_seconds=spec.clip_seconds, spec=spec,
                 augment_copy=copy, augment_seed=_augment_seed(item.id, copy),
                 narrow_version=narrow)
        for item, path, copy, narrow in copies
    ]  # fmt: skip
    items, blocks, errors = [], [], []
    results = (result for _, result in map_jobs(matrix_for_file, jobs, workers))
    for (item, path, copy, narrow), result in tqdm(
        zip(copies, results), total=len(jobs), desc="features", disable=None if progress else True
    ):
        original = not copy and not narrow
        if isinstance(result, AudioError):
            if original:
                errors.append(result)
            continue
        suffixes, values = result
        mark = f"~copy{copy}" if copy else ""
        if narrow:
            mark = f"{NARROW_MARK}{narrow.replace(' ', '')}"
        items += [
            Item(f"{path.stem}{suffix}{mark}", item.label, item.track, item.path, item.group,
                 not original)
            for suffix in suffixes
        ]  # fmt: skip
        blocks.append(values)
    if not blocks:
        raise ConfigError(f"{dataset.source}: no file could be decoded")
    columns = feature_set(spec.name).columns
    return Dataset(items, dataset.source, np.vstack(blocks), columns), errors


def _augment_seed(item_id: str, copy: int) -> int:
    """A seed that names one degraded copy of one file, the same in every run and process."""
    import zlib

    return zlib.crc32(f"{item_id}:{copy}".encode())


def _featurize_windows(
    dataset: Dataset, spec: RepresentationSpec, workers: int, progress: bool
) -> tuple[Dataset, list[AudioError]]:
    """One row per window (channels × frames), windows of a file sharing its track id (cached
    on disk by file content and spec, like feature rows). Windows are ``clip_seconds`` long; a
    ``hop_seconds`` shorter than that makes them overlap (5 s windows every 2 s, say), otherwise
    the file is cut into equal clips."""
    from tqdm import tqdm

    from genrekit.features.table import TableJob, map_jobs, windows_for_file
    from genrekit.features.windows import stack_windows

    overlap = spec.clip_seconds is not None and spec.hop_seconds < spec.clip_seconds
    jobs = [
        TableJob(
            path, item.label, clip_seconds=spec.clip_seconds, spec=spec,
            segment_seconds=spec.clip_seconds if overlap else None,
            hop_seconds=spec.hop_seconds if overlap else None, last="shift",
        )
        for item, path in zip(dataset.items, dataset.paths)
    ]  # fmt: skip
    results = (result for _, result in map_jobs(windows_for_file, jobs, workers))
    items, windows, errors = [], [], []
    for item, result in tqdm(zip(dataset.items, results), total=len(jobs), desc="windows",
                             disable=None if progress else True):  # fmt: skip
        if isinstance(result, AudioError):
            errors.append(result)
            continue
        for n, window in enumerate(result):
            items.append(Item(f"{item.id}.{n}", item.label, item.track, item.path, item.group))
            windows.append(window)
    if not windows:
        raise ConfigError(f"{dataset.source}: no file could be decoded")
    return Dataset(items, dataset.source, stack_windows(windows), ()), errors
