"""One way to write numbers everywhere (pages, CLI, headlines, reports): proportions as percentages, other scores as
decimals. Imports nothing, so every audit module can use it."""

from __future__ import annotations

MISSING = "–"


def pct(value, digits: int = 1) -> str:
    """A proportion as a percentage (``0.9523`` -> ``"95.2%"``; None -> ``"–"``): one format for rates everywhere."""
    return MISSING if value is None else f"{value:.{digits}%}"


def score(value, digits: int = 3) -> str:
    """A score that is not a proportion (AUC, ECE, corruption error): ``0.71234`` -> ``"0.712"``."""
    return MISSING if value is None else f"{value:.{digits}f}"


def number(value, change: bool = False) -> str:
    """A number that is not a proportion: whole numbers, and any from 1,000 up, whole with thousands separators
    (``1,235``, never ``1.23e+03``); others to 3 significant digits (``0.612``); ``change``: signed (``+0.012``)."""
    value = float(value)
    sign = "+" if change else ""
    return f"{value:{sign},.0f}" if abs(value) >= 1000 or value.is_integer() else f"{value:{sign}.3g}"
