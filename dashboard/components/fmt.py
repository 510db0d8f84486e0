"""One way to write numbers on every page: proportions (accuracy, rates, gaps between rates) as percentages,
scores that are not proportions (AUC, F1, ECE, corruption error) as plain decimals."""

from __future__ import annotations

import streamlit as st

from fmcore.text import escape

MISSING = "–"


def pct(value, digits: int = 1) -> str:
    """``0.9523`` -> ``"95.2%"``; None -> ``"–"``."""
    return MISSING if value is None else f"{value:.{digits}%}"


def points(value, digits: int = 1) -> str:
    """A difference of two proportions in percentage points: ``0.034`` -> ``"+3.4 pts"``."""
    return MISSING if value is None else f"{value * 100:+.{digits}f} pts"


def score(value, digits: int = 3) -> str:
    """A score that is not a proportion: ``0.71234`` -> ``"0.712"``."""
    return MISSING if value is None else f"{value:.{digits}f}"


def percent_column(help: str | None = None, progress: bool = False):  # noqa: A002  (streamlit's own name)
    """A dataframe column of proportions shown as percentages (a bar from 0 to 100% when ``progress``)."""
    if progress:
        return st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0, help=help)
    return st.column_config.NumberColumn(format="percent", help=help)


def audit_headline(name: str, m: dict) -> str:
    """An audit's main finding in a few words, for tables that list audits of every kind."""
    def eps_max():
        found = [float(k.split("@")[1]) for k in m if k.startswith("robust_accuracy@")]
        return max(found) if found else None

    if name == "performance":
        return f"accuracy {pct(m.get('accuracy'))} [{pct(m.get('accuracy_ci_low'))}, {pct(m.get('accuracy_ci_high'))}]"
    if name == "robustness" and eps_max() is not None:
        e = eps_max()
        return f"accuracy {pct(m.get('clean_accuracy'))} → {pct(m[f'robust_accuracy@{e:g}'])} under attack at eps {e:g}"
    if name == "fairness":
        return (f"parity gap {pct(m.get('demographic_parity_difference'))}, odds gap "
                f"{pct(m.get('equalized_odds_difference'))}")
    if name == "privacy":
        return f"strongest attack AUC {score(m.get('max_auc'))}"
    if name == "corruption":
        return f"mean corruption error {score(m.get('mean_corruption_error'))}, accuracy {pct(m.get('mean_accuracy'))}"
    if name == "shift":
        return f"accuracy {pct(m.get('in_domain_accuracy'))} → {pct(m.get('shift_accuracy'))} on {m.get('to')}"
    if name == "calibration":
        return f"ECE {score(m.get('ece'))}, conformal coverage {pct(m.get('coverage'))}"
    if name == "compression":
        return f"{m.get('variants')} variants, at most {m.get('max_flipped')} predictions flipped"
    return ""


def plain(text) -> str:
    """User-given text (a name, a label, a group value, a policy's name) for a markdown string, shown as typed: every
    markdown character escaped, line breaks and control characters replaced (``fmcore.text.escape``), so it can
    never become a link, an image or a heading."""
    return escape(text, "markdown")
