"""User-supplied strings shown as text wherever they appear: one helper, three targets.

Anything a user or a data file supplies (model, dataset and policy names, column names, class labels, group values,
comments, file names) may hold markdown (``![x](http://...)`` fetches an image when rendered), HTML (``<img>``,
``<script>``, ``<a href>``), line breaks, NUL or a right-to-left override (which reverses how the rest of a line reads).
``visible`` makes such a string one line of visible characters; ``escape`` then makes it inert for where it goes:

- ``"markdown"``: Streamlit's markdown (titles, captions, messages, the model card): every markdown character
  escaped, so it can never become a link, an image, a heading or emphasis; HTML tags are escaped characters too.
- ``"html"``: the HTML report: ``html.escape`` (quotes too).
- ``"plotly"``: chart labels, which plotly draws as its own small HTML (``<a href>`` becomes a live link): every
  ``<`` and ``&`` escaped, so a label shows as typed.
"""

from __future__ import annotations

import html as _html
import unicodedata

REPLACEMENT = "\ufffd"
_MARKDOWN = str.maketrans({c: "\\" + c for c in "\\`*_{}[]()<>#+-.!|~$:&\"'="})


def visible(text) -> str:
    """``text`` as one line of visible characters: line breaks and tabs become spaces; NUL, other control and
    format characters (the bidirectional overrides among them) become U+FFFD, so a reader sees that something was
    there."""
    out = []
    for ch in str(text):
        if ch in "\n\r\t\v\f\u2028\u2029\x85":
            out.append(" ")
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        else:
            out.append(REPLACEMENT if unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cn", "Cs") else " ")
    return "".join(out)


def escape(text, target: str = "markdown") -> str:
    """``text`` made visible (see ``visible``) and inert for ``target``: ``"markdown"``, ``"html"`` or ``"plotly"``."""
    shown = visible(text)
    if target == "markdown":
        return shown.translate(_MARKDOWN)
    if target == "html":
        return _html.escape(shown, quote=True)
    if target == "plotly":
        return shown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    raise ValueError(f"escape target {target!r} is not one of markdown, html, plotly")
