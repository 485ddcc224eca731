"""Interactive, responsive charts (Altair / Vega-Lite) for the web app: a song's genre
probabilities, its genre timeline and its tag scores.

They fill the width they are given and keep readable text on a phone, where fixed-size pictures
shrank to unreadable labels. Each chart carries a plain ``description``, which Vega-Lite gives
screen readers as the chart's label. Pictures that are the point (spectrograms) stay matplotlib
(``genrekit.plots``).
"""

from __future__ import annotations

from typing import Any, Final, Literal

FONT_SIZE = 14
"""Axis and legend text (px), readable on a 390 px wide phone screen."""
GENRE_COLOURS: Final[Literal["tableau10"]] = "tableau10"
"""Ten hues far apart, one per genre, the same in every chart."""


def _style(chart: Any) -> Any:
    return chart.configure_axis(labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE).configure_legend(
        labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE, orient="bottom"
    )


def probabilities_chart(probabilities: dict[str, float], top_k: int) -> Any:
    """Horizontal bars of the ``top_k`` most probable genres, as percentages that add up over
    all genres (the rest are folded into none: the bars show the leaders)."""
    import altair as alt
    import pandas as pd

    rows = pd.DataFrame(
        [{"genre": g, "probability": p} for g, p in list(probabilities.items())[:top_k]]
    )
    chart = (
        alt.Chart(rows, description="How likely each genre is")
        .mark_bar()
        .encode(
            x=alt.X(
                "probability:Q",
                title="how likely",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            y=alt.Y("genre:N", sort="-x", title=None),
            color=alt.Color("genre:N", scale=alt.Scale(scheme=GENRE_COLOURS), legend=None),
            tooltip=["genre", alt.Tooltip("probability:Q", format=".0%")],
        )
    )
    return _style(chart)


def timeline_chart(segments: list[Any]) -> Any:
    """The genre of each stretch of the song, left to right in seconds."""
    import altair as alt
    import pandas as pd

    rows = pd.DataFrame(
        [
            {
                "start": s.start,
                "end": s.end,
                "genre": s.label,
                "sure": s.probabilities[s.label],
            }
            for s in segments
        ]
    )
    chart = (
        alt.Chart(rows, description="The genre heard in each part of the song")
        .mark_rect()
        .encode(
            x=alt.X("start:Q", title="seconds"),
            x2="end:Q",
            color=alt.Color("genre:N", scale=alt.Scale(scheme=GENRE_COLOURS), title="genre"),
            tooltip=[
                alt.Tooltip("start:Q", format=".0f", title="from (s)"),
                alt.Tooltip("end:Q", format=".0f", title="to (s)"),
                "genre",
                alt.Tooltip("sure:Q", format=".0%"),
            ],
        )
        .properties(height=60)
    )
    return _style(chart)


def tags_chart(tags: dict[str, float], count: int) -> Any:
    """Each of the ``count`` strongest tags as its own 0–1 score (independent scores: they do
    not share a whole, so no percentages)."""
    import altair as alt
    import pandas as pd

    rows = pd.DataFrame([{"tag": t, "score": s} for t, s in list(tags.items())[:count]])
    chart = (
        alt.Chart(rows, description="How strongly each tag describes the song, 0 to 1 each")
        .mark_bar(color="#4c78a8")
        .encode(
            x=alt.X(
                "score:Q", title="score (0–1, each on its own)", scale=alt.Scale(domain=[0, 1])
            ),
            y=alt.Y("tag:N", sort="-x", title=None),
            tooltip=["tag", alt.Tooltip("score:Q", format=".2f")],
        )
    )
    return _style(chart)


def library_chart(songs: Any, selection: str) -> Any:
    """Every song a dot at its map position, coloured by genre; hovering shows name, artist,
    genre and confidence; tapping a dot selects its ``id`` under the name ``selection``."""
    import altair as alt

    chart = (
        alt.Chart(songs, description="A map of your library: songs that sound alike sit together")
        .mark_circle(size=90, opacity=0.85)
        .encode(
            x=alt.X("x", axis=None),
            y=alt.Y("y", axis=None),
            color=alt.Color("genre:N", scale=alt.Scale(scheme=GENRE_COLOURS), title="Genre"),
            tooltip=["name", "artist", "genre", alt.Tooltip("confidence", format=".0%")],
        )
        .add_params(alt.selection_point(name=selection, fields=["id"]))
    )
    return _style(chart)
