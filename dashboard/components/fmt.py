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


#: a policy's comparison in the signs a reader knows
OP_SIGNS = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "="}


def check_words(metric: str, op: str, threshold) -> str:
    """A policy check's rule as a reader reads it: ``robustness.robust_accuracy@0.1 >= 0.5`` -> "accuracy under
    attack at eps 0.1 ≥ 50.0%" (the glossary's label, the threshold in the metric's own kind)."""
    from audits.glossary import describe

    key = metric.partition(".")[2] or metric
    return f"{describe(key)[0]} {OP_SIGNS.get(op, op)} {metric_value(key, threshold)}"


def check_said(metric: str, op: str, threshold, value, unmeasured: str = "") -> str:
    """A policy check as a reviewer reads it: its rule in words and what was measured, in the metric's own kind
    ("accuracy ≥ 80.0%; measured 71.0%"); ``unmeasured`` follows the rule where nothing was measured."""
    rule = check_words(metric, op, threshold)
    if value is None:
        return rule + unmeasured
    return f"{rule}; measured {metric_value(metric.partition('.')[2] or metric, value)}"


def percent_column(help: str | None = None):  # noqa: A002  (streamlit's own name)
    """The column config of a rate column (its tooltip): ``show_table`` writes its cells as ``pct`` does."""
    return st.column_config.NumberColumn(help=help)


def _is_change(key: str) -> bool:
    return key.endswith(("_delta", " change"))


def _rate_cell(change: bool):
    """How one cell of a rate column reads: ``pct`` (83.3%, as every other rate on the page; Streamlit's own
    "percent" writes 83.29%), a change in percentage points, "–" when missing."""
    return lambda v: MISSING if v is None or v != v else (points(v) if change else pct(v))


def audit_headline(name: str, m: dict) -> str:
    """An audit's main finding in a few words, for tables that list audits of every kind (the audit's own
    ``headline``)."""
    return headline(name, m)


def plain(text) -> str:
    """User-given text (a name, a label, a group value, a policy's name) for a markdown string, shown as typed: every
    markdown character escaped, line breaks and control characters replaced (``fmcore.text.escape``), so it can
    never become a link, an image or a heading."""
    return escape(text, "markdown")


def markdown_table(rows: list[dict]) -> str:
    """Rows of text (every row with the first row's keys) as a markdown table, each header and cell escaped with
    ``plain``: drawn by the code that draws every caption, so a first visit does not wait for the data grid's or
    Arrow's code (about 1 MB of script, parsed while plotly's is) as it would for ``st.dataframe`` or ``st.table``.
    For tables that are read, not sorted or downloaded; no rows, no table ("")."""
    if not rows:
        return ""
    columns = list(rows[0])
    lines = ["| " + " | ".join(plain(c) for c in columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(plain(row[c]) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def when(ts) -> str:
    """A stored time (``2026-12-07T16:01:17+00:00``) for a markdown string, shown as stored: its colons escaped. Left
    bare, ``:01:`` reads to Streamlit as an emoji code (``:smile:``) and every page showing a time loads 265 KB of emoji
    tables first, on the same core as the page's charts."""
    return plain(ts)


def number_column(key: str, values=None, rate: bool = False):
    """How a column of numbers reads (one format per kind): a rate as a percentage, a count as a whole number, any
    other number to 3 significant digits (whole above 1,000, never 1.23e+03); the glossary's meaning as tooltip."""
    from audits.glossary import describe

    _, meaning, known_rate = describe(key)
    if rate or known_rate:
        return percent_column(meaning or None)  # its cells written by ``show_table``
    found = [abs(float(v)) for v in (values if values is not None else []) if v is not None and v == v]
    if found and all(float(v).is_integer() for v in found):
        return st.column_config.NumberColumn(help=meaning or None, format="%d")
    return st.column_config.NumberColumn(help=meaning or None, format="%.0f" if max(found, default=0) >= 1000 else
                                         "%.3g")


def show_table(rows, rates=(), where=None, **config) -> None:
    """An audit's table as a reviewer reads it: columns in plain words (``audits.glossary``, else the key's own
    words) with their meaning as tooltip, numbers in one format per kind (``number_column``: rates as ``pct`` writes
    them, a change of one in percentage points; ``rates``: columns that are proportions beyond those the glossary
    knows), text as it is. ``config``: the page's own column configs, by plain label. The numbers themselves are
    kept (sorting, the table's download); only how they read is set."""
    import pandas as pd
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    from audits.glossary import describe

    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
    rename, column_config, used, rate_labels = {}, {}, set(), {}
    for col in frame.columns:
        words, meaning, known_rate = describe(str(col))
        label = words if isinstance(col, str) and words not in used else str(col)  # two alike keep their own names
        used.add(label)
        rename[col] = label
        if is_numeric_dtype(frame[col]) and not is_bool_dtype(frame[col]):
            column_config[label] = number_column(str(col), frame[col].tolist(), rate=col in rates)
            if known_rate or col in rates:
                rate_labels[label] = _is_change(str(col))
        elif meaning:
            column_config[label] = st.column_config.Column(help=meaning)
    shown = frame.rename(columns=rename).reset_index(drop=True)
    if rate_labels:
        shown = shown.style.format({label: _rate_cell(change) for label, change in rate_labels.items()})
    (where or st).dataframe(shown, hide_index=True, width="stretch", column_config={**column_config, **config})
