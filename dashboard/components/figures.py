"""The dashboard's charts: the plotly builders live in ``audits.figures`` so that reports draw the same ones."""

from audits.figures import *  # noqa: F401,F403
