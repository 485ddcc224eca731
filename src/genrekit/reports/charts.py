"""Interactive, responsive charts (Altair / Vega-Lite) for the web app: a song's genre
probabilities, its genre timeline and its tag scores.

They fill the width they are given and keep readable text on a phone, where fixed-size pictures
shrank to unreadable labels. Each chart carries a plain ``description``, which Vega-Lite gives
screen readers as the chart's label. Pictures that are the point (spectrograms) stay matplotlib
(``genrekit.reports.plots``).
"""

from __future__ import annotations

from typing import Any

FONT_SIZE = 14
"""Axis and legend text (px), readable on a 390 px wide phone screen."""
TABLEAU10 = ("#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#eeca3b", "#b279a2",
             "#ff9da6", "#9d755d", "#bab0ac")  # fmt: skip
"""Ten hues far apart (Vega's ``tableau10``), one per genre: a genre's colour is fixed by its
place in the model's labels, whatever genres a chart happens to show."""
BAR_HEIGHT = 30
"""Height (px) of one bar: every genre and tag name fits beside its bar, none is dropped."""
AXIS_ROOM = 70
"""Height (px) the axis and its title take below the bars (a chart that fills its width is
sized whole, axes included)."""
TIMELINE_HEIGHT = 220
"""Whole height (px) of the timeline: a band of colour (about 70 px), the seconds axis and the
legend (the chart fills its width and is sized whole: under ~150 px the band has no height)."""
PERCENT_TICKS = [0.0, 0.25, 0.5, 0.75, 1.0]


def genre_scale(labels: list[str]) -> Any:
    """One colour per genre for every chart of a model: ``labels`` in order (then unknown)."""
    import altair as alt

    domain = [*labels, "unknown"]
    return alt.Scale(
        domain=domain, range=[TABLEAU10[i % len(TABLEAU10)] for i in range(len(domain))]
    )


def _style(chart: Any) -> Any:
    return chart.configure_axis(labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE).configure_legend(
        labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE, orient="bottom"
    )


def _labelled_bars(bars: Any, field: str, number: str, rows: int) -> Any:
    """Bars with their value written at their end, every name on the axis, a bar's height each."""
    import altair as alt

    values = bars.mark_text(align="left", dx=4, fontSize=FONT_SIZE).encode(
        text=alt.Text(f"{field}:Q", format=number), color=alt.value("#222")
    )
    return (bars + values).properties(height=BAR_HEIGHT * max(rows, 1) + AXIS_ROOM)


def probabilities_chart(probabilities: dict[str, float], top_k: int, labels: list[str]) -> Any:
    """Horizontal bars of the ``top_k`` most probable genres, as percentages that add up over
    all genres (the rest are folded into none: the bars show the leaders), in the order given
    (most probable first); colours by genre (``genre_scale`` of the model's ``labels``)."""
    import altair as alt
    import pandas as pd

    rows = pd.DataFrame(
        [{"genre": g, "probability": p} for g, p in list(probabilities.items())[:top_k]]
    )
    bars = alt.Chart(rows, description="How likely each genre is").encode(
        x=alt.X(
            "probability:Q", title="how likely", axis=alt.Axis(format="%", values=PERCENT_TICKS),
            scale=alt.Scale(domain=[0, 1.15]),  # room for the value after a bar at 100 %
        ),
        y=alt.Y("genre:N", sort=list(rows["genre"]), title=None, axis=alt.Axis(labelOverlap=False)),
        tooltip=["genre", alt.Tooltip("probability:Q", format=".0%")],
    )  # fmt: skip
    coloured = bars.mark_bar().encode(
        color=alt.Color("genre:N", scale=genre_scale(labels), legend=None)
    )
    return _style(_labelled_bars(coloured, "probability", ".0%", len(rows)))


def timeline_chart(segments: list[dict[str, Any]], labels: list[str]) -> Any:
    """The genre of each stretch of the song, left to right in seconds: one band of colour
    blocks with a continuous height (a discrete one draws nothing once the chart fills its
    width)."""
    import altair as alt
    import pandas as pd

    rows = pd.DataFrame(
        [
            {
                "start": s["start"],
                "end": s["end"],
                "genre": s["label"],
                "sure": s["probabilities"][s["label"]],
                "bottom": 0.0,
                "top": 1.0,
            }
            for s in segments
        ]
    )
    chart = (
        alt.Chart(rows, description="The genre heard in each part of the song")
        .mark_rect()
        .encode(
            x=alt.X(
                "start:Q",
                title="seconds",
                scale=alt.Scale(domain=[0, float(rows["end"].max())], nice=False),
            ),
            x2="end:Q",
            y=alt.Y("bottom:Q", axis=None, scale=alt.Scale(domain=[0, 1])),
            y2="top:Q",
            color=alt.Color(
                "genre:N",
                scale=genre_scale(labels),
                title="genre",
                legend=alt.Legend(values=sorted(set(rows["genre"]))),  # the genres heard
            ),
            tooltip=[
                alt.Tooltip("start:Q", format=".0f", title="from (s)"),
                alt.Tooltip("end:Q", format=".0f", title="to (s)"),
                "genre",
                alt.Tooltip("sure:Q", format=".0%"),
            ],
        )
        .properties(height=TIMELINE_HEIGHT)
    )
    return _style(chart)


def tags_chart(tags: dict[str, float], count: int) -> Any:
    """Each of the ``count`` strongest tags as its own 0–1 score (independent scores: they do
    not share a whole, so no percentages)."""
    import altair as alt
    import pandas as pd

    rows = pd.DataFrame([{"tag": t, "score": s} for t, s in list(tags.items())[:count]])
    bars = alt.Chart(
        rows, description="How strongly each tag describes the song, 0 to 1 each"
    ).encode(
        x=alt.X(
            "score:Q",
            title="score (0–1, each on its own)",
            scale=alt.Scale(domain=[0, 1.15]),
            axis=alt.Axis(values=PERCENT_TICKS, format=".2~f"),  # 0.25, not a rounded 0.3
        ),
        y=alt.Y("tag:N", sort=list(rows["tag"]), title=None, axis=alt.Axis(labelOverlap=False)),
        tooltip=["tag", alt.Tooltip("score:Q", format=".2f")],
    )
    return _style(_labelled_bars(bars.mark_bar(color="#4c78a8"), "score", ".2f", len(rows)))


def library_chart(songs: Any, selection: str, labels: list[str], by: str = "genre") -> Any:
    """Every song a dot at its map position, coloured by genre (``labels``: the genres' colours)
    or, with ``by="group"``, by its ``genrekit clusters`` group; hovering shows name, artist,
    genre, group and confidence; tapping a dot selects its ``id`` under the name
    ``selection``."""
    import altair as alt

    colour = (
        alt.Color("genre:N", scale=genre_scale(labels), title="Genre")
        if by == "genre"
        else alt.Color("group:N", scale=alt.Scale(range=list(TABLEAU10)), title="Group")
    )
    chart = (
        alt.Chart(songs, description="A map of your library: songs that sound alike sit together")
        .mark_circle(size=90, opacity=0.85)
        .encode(
            x=alt.X("x", axis=None),
            y=alt.Y("y", axis=None),
            color=colour,
            tooltip=[
                "name",
                "artist",
                "genre",
                alt.Tooltip("group:N"),
                alt.Tooltip("confidence:Q", format=".0%"),
            ],
        )
        .add_params(alt.selection_point(name=selection, fields=["id"]))
    )
    return _style(chart)
