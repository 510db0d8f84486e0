"""The dashboard's charts: the plotly builders live in ``audits.figures`` so that reports draw the same ones; ``show``
draws one with its text alternative."""

from audits.figures import *  # noqa: F401,F403
from audits.figures import text_alternative


def show(fig, where=None, **kwargs) -> None:
    """Draw ``fig`` in ``where`` (a column; default the page), full width unless told otherwise, with its text
    alternative beneath in a caption (``audits.figures.text_alternative``: the numbers it shows, for a reader who
    cannot see the chart)."""
    import streamlit as st

    from dashboard.components.fmt import plain

    where = where or st
    where.plotly_chart(fig, **{"width": "stretch", **kwargs})
    where.caption(plain(text_alternative(fig)))
