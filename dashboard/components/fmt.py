"""One way to write numbers on every page: proportions (accuracy, rates, gaps between rates) as percentages,
scores that are not proportions (AUC, F1, ECE, corruption error) as plain decimals."""

from __future__ import annotations

import streamlit as st

from audits.reporting import MISSING, headline, pct, score  # noqa: F401  (re-exported: one format for rates and scores)
from fmcore.text import escape


def points(value, digits: int = 1) -> str:
    """A difference of two proportions in percentage points: ``0.034`` -> ``"+3.4 pts"``."""
    return MISSING if value is None else f"{value * 100:+.{digits}f} pts"


def percent_column(help: str | None = None, progress: bool = False):  # noqa: A002  (streamlit's own name)
    """A dataframe column of proportions shown as percentages (a bar from 0 to 100% when ``progress``)."""
    if progress:
        return st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0, help=help)
    return st.column_config.NumberColumn(format="percent", help=help)


def audit_headline(name: str, m: dict) -> str:
    """An audit's main finding in a few words, for tables that list audits of every kind (the audit's own
    ``headline``)."""
    return headline(name, m)


def plain(text) -> str:
    """User-given text (a name, a label, a group value, a policy's name) for a markdown string, shown as typed: every
    markdown character escaped, line breaks and control characters replaced (``fmcore.text.escape``), so it can
    never become a link, an image or a heading."""
    return escape(text, "markdown")


def metric_columns(keys) -> tuple[dict, dict]:
    """For a table whose columns are metric keys: the plain label of each (``audits.glossary``) and a column
    config with its meaning as the tooltip, rates as percentages and other numbers to 3 significant digits."""
    from audits.glossary import describe

    rename, config = {}, {}
    for key in keys:
        label, meaning, rate = describe(key)
        rename[key] = label
        config[label] = percent_column(meaning or None) if rate else st.column_config.NumberColumn(
            help=meaning or None, format="%.3g")
    return rename, config
