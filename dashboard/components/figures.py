"""The dashboard's charts: the plotly builders live in ``audits.figures`` so that reports draw the same ones; ``show``
draws one with its text alternative."""

from audits.figures import *  # noqa: F401,F403
from audits.figures import text_alternative, title_clear_of_labels


def below_axis_title(fig):
    """A legend laid out under the plot (``audits.figures``' charts: horizontal, at y -0.2) moved below the x-axis
    title: on a page narrower than a report, the title in the middle met the legend's last names (Data's label
    balance at 800 px: "class" on "test"). Pages only: a report keeps its charts as they were written."""
    legend = fig.layout.legend
    if legend.orientation == "h" and legend.y == -0.2 and fig.layout.xaxis.title.text:
        fig.update_layout(legend={"y": -0.32})
    return fig


#: an interval's bar on a page: a mid grey that reads on either theme (3.5:1 on the light one's white, 5.2:1 on the dark
#: one's background), where plotly's own #444 all but vanished on the dark one above a bar
INTERVAL_INK = "#888888"


def legible_intervals(fig):
    """Error bars (95% intervals) without a colour of their own drawn in ``INTERVAL_INK``. Pages only: the page
    follows the browser's light or dark theme, a report is always light and keeps its charts as written."""
    for trace in fig.data:
        for name in ("error_x", "error_y"):
            bar = trace[name] if name in trace else None
            if bar is not None and bar.array is not None and bar.color is None:
                bar.color = INTERVAL_INK
    return fig


#: the reports' colours (drawn on white) as a page draws them, on the light or the dark theme: each at least 3:1 against
#: both backgrounds, as WCAG asks of what a chart draws (on the dark one the blue was 2.6:1, the purple 2.4:1, a
#: mitigation's "original" star 1.2:1; on white the orange 2.99:1 and the cyan 2.3:1)
PAGE_INK = {"#2457a6": "#4178cc", "#e07b24": "#c96a1c", "#6a3d9a": "#9467bd", "#222222": "#888888",
            "#17becf": "#1a96a4"}
#: where a trace or a line of the layout names a colour
INK_PATHS = ("marker.color", "marker.line.color", "line.color", "fillcolor", "textfont.color")


def _ink(value):
    """``value`` (a colour, or a list of them) in ``PAGE_INK``'s colours; anything else as it is."""
    if isinstance(value, str):
        return PAGE_INK.get(value.lower(), value)
    if isinstance(value, list | tuple) and any(isinstance(v, str) for v in value):
        return [_ink(v) for v in value]
    return value


def page_ink(fig):
    """The report palette's colours that read on only one theme (``PAGE_INK``) swapped in the traces, their lines and
    the layout's lines (a target, a baseline). Pages only: a report is always light and keeps its charts as
    written."""
    for thing in [*fig.data, *(fig.layout.shapes or ())]:
        for path in INK_PATHS:
            try:
                value = thing[path]
            except (KeyError, ValueError):  # a property this kind of trace does not have
                continue
            if value is not None and _ink(value) is not value:
                thing[path] = _ink(value)
    return fig


def clear_of_subplot_titles(fig):
    """A title of two lines or more drawn from the top down, clear of the subplot titles above the plots (at 800 px
    "... accuracy against size / and speed" fell on "Size on disk"); a point's label may reach past its axes rather
    than be cut at them ("rune:0.8"). Pages only: a report keeps its charts as written."""
    title = fig.layout.title
    above = [a for a in fig.layout.annotations or () if a.yref == "paper" and a.y is not None and a.y >= 1]
    if title.text and "<br>" in title.text and title.yref != "container" and above:
        title_clear_of_labels(fig)
    fig.update_traces(cliponaxis=False, selector=lambda t: t.type == "scatter" and "text" in (t.mode or ""))
    return fig


def room_above_full_bars(fig):
    """A percent axis that a bar reaches the top of (a group at 100%) taken to 105%, so the bar's interval and its
    cap are drawn whole instead of cut at the plot's edge (Fairness: "65+ (n=4)"). Only bars of rates (0 to 1) on an
    axis without a range of its own; pages only, as the rest of ``for_page``."""
    axis = fig.layout.yaxis
    bars = [t for t in fig.data if t.type == "bar" and t.y is not None and t.orientation != "h"]
    if not bars or axis.range is not None or "%" not in (axis.tickformat or ""):
        return fig
    values = [float(v) for t in bars for v in t.y if v is not None]
    if values and 0 <= min(values) and 0.99 <= max(values) <= 1:
        fig.update_yaxes(range=[0, 1.05])
    return fig


def for_page(fig):
    """A chart of ``audits.figures`` as a page draws it: legend below the axis title, a title clear of the subplot
    titles, room above a full bar, intervals and colours that read on either theme."""
    return page_ink(legible_intervals(room_above_full_bars(clear_of_subplot_titles(below_axis_title(fig)))))


def show(fig, where=None, **kwargs) -> None:
    """Draw ``fig`` in ``where`` (a column; default the page), full width unless told otherwise, with its text
    alternative beneath in a caption (``audits.figures.text_alternative``: the numbers it shows, for a reader who
    cannot see the chart)."""
    import streamlit as st

    from dashboard.components.fmt import plain

    where = where or st
    where.plotly_chart(for_page(fig), **{"width": "stretch", **kwargs})
    where.caption(plain(text_alternative(fig, read_labels=True)))


def show_images(images, labels: list[str], caption: str, where=None, cols: int = 8, scale: int | None = None) -> None:
    """Grey images (values 0 to 1, ink high) drawn as one picture, each label written above its image, with
    ``caption`` and the labels beneath as its text alternative. A picture appears at once, where the same pixels as
    a plotly heatmap cost the page one more chart to draw before it is ready (and a plotly montage wrote its second
    row's labels over its first row's images at 800 px). ``scale``: pixels per image pixel, by default about 84 px
    per image (3 for 28 x 28, 10 for 8 x 8)."""
    import numpy as np
    import streamlit as st
    from PIL import Image, ImageDraw, ImageFont

    from dashboard.components.fmt import plain

    images = np.asarray(images, dtype=np.float32)
    h, w = images.shape[-2:]
    scale = scale or max(1, round(84 / w))
    band, gap = 28, 8  # the label's line above each image, the space between images
    rows = -(-len(images) // cols)
    tile_w, tile_h = w * scale, h * scale
    sheet = Image.new("L", (min(cols, len(images)) * (tile_w + gap), rows * (band + tile_h + gap)), 255)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=22)  # about 14 px once the picture is fitted to the page
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        r, c = divmod(i, cols)
        x, y = c * (tile_w + gap), r * (band + tile_h + gap)
        pixels = np.uint8(np.round(255 * (1 - np.clip(np.nan_to_num(image.reshape(h, w)), 0, 1))))
        sheet.paste(Image.fromarray(pixels).resize((tile_w, tile_h), Image.Resampling.NEAREST), (x, y + band))
        draw.text((x + tile_w / 2, y + band - 4), str(label), fill=0, font=font, anchor="ms")
    words = f"{caption}. Labels, row by row: {', '.join(map(str, labels))}."
    where = where or st
    where.image(sheet, alt=words)  # what a screen reader says for the picture
    where.caption(plain(words))
