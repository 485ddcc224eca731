"""``genrekit explore``: what a dataset looks like, and how a model does on it, as one HTML page.

Sections: class balance; durations and sample rates; feature distributions per genre; correlation
of the handcrafted features before and after PCA on a block of correlated features (the mel bands
for audio, the MFCCs for a features table, which has no mel bands); feature importance
(random-forest impurity, and permutation importance on held-out folds split by track); a 2-D map
(PCA and t-SNE) with track names on hover; and, given a model bundle, its confusion matrix,
per-genre accuracy and the tracks it gets most wrong.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from genrekit.audio import load_audio
from genrekit.errors import AudioError, ConfigError
from genrekit.features import feature_set
from genrekit.reports import html_page as H
from genrekit.training.datasets import Dataset, load_dataset

KEY_FEATURES = {
    "tempo": "tempo (BPM)",
    "spectral_centroid_mean": "spectral centroid, mean (Hz)",
    "rms_mean": "loudness, mean RMS (full scale = 1)",
    "zero_crossing_rate_mean": "zero crossings (per sample)",
    "chroma_stft_mean": "chroma, mean (0–1)",
    "mfcc1_mean": "MFCC 1, mean (dB scale)",
}
"""The features shown per genre, with what they measure and their units."""
BOX_LABEL_POINTS = 11
"""Genre names under each box plot (pt): about 10 px once a phone shrinks the picture."""


def _analyse_file(path: Path) -> dict[str, Any] | AudioError:
    try:
        audio = load_audio(path)
    except AudioError as error:
        return error
    gtzan, melbands = feature_set("gtzan57"), feature_set("melbands")
    return {
        "duration": audio.duration,
        "sample_rate": audio.source_sample_rate,
        "channels": audio.source_channels,
        **dict(zip(gtzan.columns, gtzan.extract(audio.samples, audio.sample_rate))),
        **dict(zip(melbands.columns, melbands.extract(audio.samples, audio.sample_rate))),
    }


def describe_tracks(dataset: Dataset, workers: int = 1) -> tuple[pd.DataFrame, list[AudioError]]:
    """One row per usable track: label, duration, sample rate and handcrafted features."""
    if dataset.features is not None:
        frame = pd.DataFrame(dataset.features, columns=dataset.feature_names)
        frame.insert(0, "track", dataset.tracks)
        frame.insert(1, "label", dataset.y)
        frame = frame.groupby(["track", "label"], sort=False).mean().reset_index()
        frame["duration"] = np.nan
        frame["sample_rate"] = np.nan
        return frame, []
    paths = dataset.paths
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            results = list(pool.map(_analyse_file, paths, chunksize=2))
    else:
        results = [_analyse_file(p) for p in paths]
    rows, errors = [], []
    for item, result in zip(dataset.items, results):
        if isinstance(result, AudioError):
            errors.append(result)
        else:
            rows.append({"track": item.track, "label": item.label or "(unlabelled)", **result})
    if not rows:
        raise ConfigError(f"{dataset.source}: no file could be decoded")
    return pd.DataFrame(rows), errors


def explore(
    data: str | Path,
    out: str | Path,
    *,
    model: str | Path | None = None,
    workers: int = 1,
    seed: int = 0,
) -> Path:
    """Write ``out/report.html`` about the dataset at ``data`` (and ``model`` on it, if given)."""
    dataset = load_dataset(data)
    tracks, errors = describe_tracks(dataset, workers)
    report = H.HtmlReport(
        f"genrekit explore: {Path(data).name}",
        f"{len(tracks)} tracks from {data}; {len(errors)} files could not be decoded.",
    )
    _class_balance(report, tracks)
    _durations(report, tracks, errors)
    _distributions(report, tracks)
    _correlations(report, tracks)
    _importance(report, tracks, seed)
    _maps(report, tracks, seed)
    if model is not None:
        _model_section(report, model, data, workers)
    return report.write(Path(out) / "report.html")


def _feature_columns(tracks: pd.DataFrame) -> list[str]:
    names = list(feature_set("gtzan57").columns)
    return names + [c for c in feature_set("melbands").columns if c in tracks]


def _class_balance(report: H.HtmlReport, tracks: pd.DataFrame) -> None:
    from genrekit.reports.plots import _pyplot

    counts = tracks["label"].value_counts().sort_index()
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.bar(counts.index, counts.values, color="#1f5f8b")
    ax.set(ylabel="tracks", title="Tracks per genre")
    ax.tick_params(axis="x", rotation=45)
    share = (counts / counts.sum()).rename("share")
    frame = pd.concat([counts.rename("tracks"), share], axis=1)
    frame.index.name = "genre"
    imbalance = counts.max() / max(counts.min(), 1)
    report.add(
        "Class balance",
        H.figure(fig, "tracks per genre"),
        H.table(frame),
        H.paragraph(
            f"Largest class / smallest class = {imbalance:.1f}. "
            + ("Use class weights and report macro-F1." if imbalance > 1.5 else ""),
            note=True,
        ),
    )


def _durations(report: H.HtmlReport, tracks: pd.DataFrame, errors: list[AudioError]) -> None:
    from genrekit.reports.plots import _pyplot

    parts = []
    if tracks["duration"].notna().any():
        plt = _pyplot()
        fig, ax = plt.subplots(figsize=(8, 2.8))
        ax.hist(tracks["duration"], bins=30, color="#1f5f8b")
        ax.set(xlabel="duration (s)", ylabel="tracks", title="Durations")
        rates = tracks["sample_rate"].value_counts().rename("tracks")
        rates.index = rates.index.astype(int).rename("source sample rate (Hz)")
        parts += [
            H.figure(fig, "durations"),
            H.table(_statistics(tracks["duration"]), "{:.1f}"),  # tall: fits a phone
            H.table(rates.to_frame()),
        ]
    else:
        parts.append(H.paragraph("A features table holds no audio durations or sample rates."))
    if errors:
        frame = pd.DataFrame([{"file": e.path, "reason": e.reason} for e in errors])
        parts += [H.paragraph(f"{len(errors)} files could not be decoded:"), H.table(frame)]
    report.add("Durations and sample rates", *parts)


def _statistics(values: pd.Series) -> pd.DataFrame:
    """count, mean, spread and quartiles as a two-column table (one statistic per row)."""
    table = values.describe().to_frame(f"{values.name} (s)")
    table.index.name = "statistic"
    return table


def _distributions(report: H.HtmlReport, tracks: pd.DataFrame) -> None:
    """One box plot per feature, each a picture of its own: on a phone each fills the width
    and its genre names stay readable (six plots in one picture shrank them to ~5 px)."""
    from genrekit.reports.plots import _pyplot

    plt = _pyplot()
    labels = sorted(tracks["label"].unique())
    pictures = []
    for name, described in KEY_FEATURES.items():
        fig, ax = plt.subplots(figsize=(5.5, 3.2))
        ax.boxplot([tracks.loc[tracks["label"] == g, name] for g in labels], tick_labels=labels)
        ax.set_title(described, fontsize=12)
        ax.tick_params(axis="x", rotation=60, labelsize=BOX_LABEL_POINTS)
        fig.tight_layout()
        pictures.append(H.figure(fig, f"box plots of {described}, per genre"))
    report.add("Feature distributions per genre", *pictures)


def _correlations(report: H.HtmlReport, tracks: pd.DataFrame) -> None:
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    from genrekit.reports.plots import _pyplot

    columns = _feature_columns(tracks)
    melbands = [c for c in columns if c.startswith("melband")]
    block = melbands or [c for c in columns if c.startswith("mfcc")]
    block_name = "mel-band" if melbands else "MFCC (a features table has no mel bands)"
    rest = [c for c in columns if c not in block]
    scaled = StandardScaler().fit_transform(tracks[block])
    pca = PCA(n_components=0.95, svd_solver="full").fit(scaled)
    reduced = pd.DataFrame(
        pca.transform(scaled), columns=[f"pc{i + 1}" for i in range(pca.n_components_)]
    )
    after = pd.concat([tracks[rest].reset_index(drop=True), reduced], axis=1)
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(13, 6))
    for ax, frame, title in (
        (axes[0], tracks[columns], f"before: {len(columns)} features"),
        (axes[1], after, f"after PCA on the {block_name.split(' ')[0]} block: {after.shape[1]}"),
    ):
        image = ax.imshow(frame.corr().to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set(title=title, xticks=[], yticks=[])
    fig.colorbar(image, ax=axes, fraction=0.025, label="Pearson correlation")
    report.add(
        "Correlation before and after PCA",
        H.figure(fig, "correlation matrices"),
        H.paragraph(
            f"PCA on the {len(block)}-feature {block_name} block keeps {pca.n_components_} "
            f"components for 95 % of its variance. Mean |correlation| between features: "
            f"{_mean_abs_correlation(tracks[columns]):.3f} before, "
            f"{_mean_abs_correlation(after):.3f} after.",
        ),
    )


def _mean_abs_correlation(frame: pd.DataFrame) -> float:
    """Mean absolute Pearson correlation over all pairs of distinct columns."""
    upper = np.triu(np.abs(frame.corr().to_numpy()), 1)
    return float(upper.sum() / (frame.shape[1] * (frame.shape[1] - 1) / 2))


def _forest(seed: int):
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(
        n_estimators=100, class_weight="balanced", random_state=seed, n_jobs=1
    )


def _importance(report: H.HtmlReport, tracks: pd.DataFrame, seed: int) -> None:
    from sklearn.inspection import permutation_importance

    from genrekit.training.splits import kfold

    columns = _feature_columns(tracks)
    x, y = tracks[columns].to_numpy(), tracks["label"].to_numpy()
    impurity = pd.Series(_forest(seed).fit(x, y).feature_importances_, index=columns)
    folds = min(5, int(pd.Series(y).value_counts().min()))
    permutation = pd.Series(0.0, index=columns)
    held_out = ""
    if folds >= 2:
        splits = kfold(y, tracks["track"].to_numpy(), n_splits=folds, seed=seed)
        for split in splits:
            model = _forest(seed).fit(x[split.train], y[split.train])
            result = permutation_importance(
                model, x[split.test], y[split.test], n_repeats=3, random_state=seed, n_jobs=2
            )
            permutation += result.importances_mean / len(splits)
        held_out = f"{folds}-fold split by track"
    frame = pd.DataFrame({"impurity": impurity, "permutation (held-out)": permutation})
    frame = frame.sort_values("permutation (held-out)", ascending=False).head(20)
    frame.index.name = "feature"
    from genrekit.reports.plots import bars_figure

    chart = bars_figure(
        frame["permutation (held-out)"].to_dict(), 20, "Permutation importance (held-out)",
        "drop in accuracy when the feature is shuffled",
    )  # fmt: skip
    report.add(
        "Feature importance",
        H.figure(chart, "bar chart of permutation importance per feature"),
        H.table(frame, "{:.4f}"),
        H.paragraph(
            "Impurity importance from a random forest fitted on all tracks; permutation "
            f"importance (drop in accuracy when a feature is shuffled) on held-out folds "
            f"({held_out or 'too few tracks per genre for held-out folds'}).",
            note=True,
        ),
    )


def _maps(report: H.HtmlReport, tracks: pd.DataFrame, seed: int) -> None:
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from sklearn.preprocessing import StandardScaler

    x = StandardScaler().fit_transform(tracks[_feature_columns(tracks)])
    labels, names = tracks["label"].tolist(), tracks["track"].tolist()
    pca = PCA(n_components=2, random_state=seed).fit(x)
    perplexity = float(min(30, max(2, (len(x) - 1) // 3)))
    embedded = TSNE(n_components=2, perplexity=perplexity, random_state=seed).fit_transform(x)
    explained = pca.explained_variance_ratio_.sum()
    report.add(
        "Map of the dataset",
        H.paragraph("With a mouse, point at a dot to see its track's name.", note=True),
        H.scatter_svg(pca.transform(x), labels, names, f"PCA ({explained:.0%} of variance)"),
        H.scatter_svg(embedded, labels, names, f"t-SNE (perplexity {perplexity:.0f})"),
    )


def _model_section(report: H.HtmlReport, model: str | Path, data: str | Path, workers: int):
    from genrekit.reports.plots import confusion_matrix_figure
    from genrekit.training.evaluate import evaluate_bundle

    result, _ = evaluate_bundle(model, data, workers=workers, progress=False)
    metrics = result.metrics()
    per_genre = pd.DataFrame(metrics["per_class"]).T[["recall", "precision", "f1", "support"]]
    per_genre = per_genre.rename(columns={"recall": "accuracy (recall)"})
    per_genre.index.name = "genre"
    labels = result.labels
    probabilities = np.array(result.extra["probabilities"])
    true_index = [labels.index(t) if t in labels else -1 for t in result.y_true]
    true_probability = [p[i] if i >= 0 else np.nan for p, i in zip(probabilities, true_index)]
    wrong = pd.DataFrame(
        {
            "track": result.extra["tracks"],
            "true": result.y_true,
            "predicted": result.y_pred,
            "p(true genre)": true_probability,
        }
    )
    wrong = wrong[wrong["true"] != wrong["predicted"]].sort_values("p(true genre)").head(15)
    report.add(
        f"Model: {result.title}",
        H.paragraph(result.summary()),
        H.paragraph(
            "If these tracks were in the model's training data, this is a training-set figure, "
            "not an estimate for new music.",
            note=True,
        ),
        H.figure(confusion_matrix_figure(result.confusion(), labels, result.title), "confusion"),
        H.table(per_genre),
        H.paragraph("Tracks it gets most wrong (lowest probability for their true genre):"),
        H.table(wrong.reset_index(drop=True), "{:.3f}"),
    )
