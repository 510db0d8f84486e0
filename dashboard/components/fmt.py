"""One way to write numbers on every page: proportions (accuracy, rates, gaps between rates) as percentages,
scores that are not proportions (AUC, F1, ECE, corruption error) as plain decimals."""

from __future__ import annotations

import streamlit as st

from audits.reporting import MISSING, headline, number, pct, score  # noqa: F401  (re-exported: one format for rates and scores)
from fmcore.text import escape


def points(value, digits: int = 1) -> str:
    """A difference of two proportions in percentage points: ``0.034`` -> ``"+3.4 pts"``."""
    return MISSING if value is None else f"{value * 100:+.{digits}f} pts"


def metric_value(key: str, value, change: bool = False) -> str:
    """One metric's value as its kind reads (``audits.glossary``): a rate as a percentage (a change of one in
    percentage points), any other number as ``audits._format.number`` writes it, anything else as it is."""
    from audits.glossary import describe

    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return MISSING if value is None else str(value)
    if describe(key)[2]:
        return points(value) if change else pct(value)
    return number(value, change)


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


def number_column(key: str, values=None, rate: bool = False):
    """How a column of numbers reads (one format per kind): a rate as a percentage, a count as a whole number, any
    other number to 3 significant digits (whole above 1,000, never 1.23e+03); the glossary's meaning as tooltip."""
    from audits.glossary import describe

    _, meaning, known_rate = describe(key)
    if rate or known_rate:
        return percent_column(meaning or None)
    found = [abs(float(v)) for v in (values if values is not None else []) if v is not None and v == v]
    if found and all(float(v).is_integer() for v in found):
        return st.column_config.NumberColumn(help=meaning or None, format="%d")
    return st.column_config.NumberColumn(help=meaning or None, format="%.0f" if max(found, default=0) >= 1000 else
                                         "%.3g")


def metric_columns(keys) -> tuple[dict, dict]:
    """For a table whose columns are metric keys: the plain label of each (``audits.glossary``) and a column
    config with its meaning as the tooltip, rates as percentages and other numbers to 3 significant digits."""
    from audits.glossary import describe

    rename, config = {}, {}
    for key in keys:
        label = describe(key)[0]
        rename[key] = label
        config[label] = number_column(key)
    return rename, config


def show_table(rows, rates=(), where=None, **config) -> None:
    """An audit's table as a reviewer reads it: columns in plain words (``audits.glossary``, else the key's own
    words) with their meaning as tooltip, numbers in one format per kind (``number_column``; ``rates``: columns that
    are proportions beyond those the glossary knows), text as it is. ``config``: the page's own column configs, by
    plain label."""
    import pandas as pd
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    from audits.glossary import describe

    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
    rename, column_config, used = {}, {}, set()
    for col in frame.columns:
        words, meaning, _ = describe(str(col))
        label = words if isinstance(col, str) and words not in used else str(col)  # two alike keep their own names
        used.add(label)
        rename[col] = label
        if is_numeric_dtype(frame[col]) and not is_bool_dtype(frame[col]):
            column_config[label] = number_column(str(col), frame[col].tolist(), rate=col in rates)
        elif meaning:
            column_config[label] = st.column_config.Column(help=meaning)
    (where or st).dataframe(frame.rename(columns=rename), hide_index=True, width="stretch",
                            column_config={**column_config, **config})
