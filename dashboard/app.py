"""fmaudit dashboard: the navigation frame.

Pages live in dashboard/views (not pages/, which Streamlit would auto-list), one per task.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

# `streamlit run dashboard/app.py` puts dashboard/ on sys.path, not the repo root.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

VIEWS = Path(__file__).resolve().parent / "views"
#: the browser tab's icon: an emoji, which Streamlit draws in the page itself (a material icon it fetches from
#: fonts.gstatic.com: a request outside the machine on every first visit, refused offline)
PAGE_ICON = "🛡️"

st.set_page_config(page_title="fmaudit", page_icon=PAGE_ICON, layout="wide")


from dashboard.auth import session_ready, signed_in_user  # noqa: E402  (after sys.path is set)
from dashboard.components.fmt import plain  # noqa: E402
from fmcore.errors import FmauditError  # noqa: E402
from fmcore.security import RoleRefused  # noqa: E402

# metric values shrink with the window, and metric labels wrap, so four side by side stay readable at 800 px
# instead of being cut off ("Strongest a...")
# captions in the text colour at 78% instead of Streamlit's 60% (4.37:1 on white, below the 4.5:1 of WCAG AA)
# a 95% interval (pages draw it in a mid grey that reads on either theme, figures.INTERVAL_INK) with a thin dark halo,
# so the part of it inside a grey or blue bar stands out from the bar as well
# printing (the browser's print to PDF): the page alone, without sidebar, header or toolbar; a bordered box (an
# Overview area) kept on one sheet
st.html("<style>[data-testid='stMetricValue'] {font-size: clamp(1.2rem, 2.4vw, 2.25rem);}"
        "[data-testid='stMetricLabel'] [data-testid='stMarkdownContainer'], [data-testid='stMetricLabel'] p "
        "{white-space: normal; overflow: visible;}"
        "[data-testid='stCaptionContainer'] {color: inherit !important; opacity: 0.78;}"
        ".js-plotly-plot .errorbar path {filter: drop-shadow(0 0 1px rgba(0, 0, 0, 0.9));}"
        "@media print {[data-testid='stSidebar'], [data-testid='stHeader'], [data-testid='stToolbar'], "
        "[data-testid='stSidebarCollapsedControl'] {display: none !important} "
        "[data-testid='stVerticalBlockBorderWrapper'] {break-inside: avoid}}</style>")

navigation = st.navigation({
    "fmaudit": [
        st.Page(VIEWS / "home.py", title="Home", icon=":material/home:", default=True),
        st.Page(VIEWS / "models.py", title="Models", icon=":material/inventory_2:"),
        st.Page(VIEWS / "jobs.py", title="Jobs", icon=":material/pending_actions:"),
    ],
    "Build": [
        st.Page(VIEWS / "data.py", title="Data", icon=":material/table_chart:"),
        st.Page(VIEWS / "train.py", title="Train", icon=":material/model_training:"),
        st.Page(VIEWS / "finetune.py", title="Fine-tune", icon=":material/tune:"),
        st.Page(VIEWS / "generate.py", title="Generate", icon=":material/auto_awesome:"),
    ],
    "Audit": [
        st.Page(VIEWS / "robustness.py", title="Robustness", icon=":material/shield:"),
        st.Page(VIEWS / "safety.py", title="Safety", icon=":material/gpp_maybe:"),
        st.Page(VIEWS / "fairness.py", title="Fairness", icon=":material/balance:"),
        st.Page(VIEWS / "ood.py", title="Out-of-domain", icon=":material/blur_on:"),
        st.Page(VIEWS / "explain.py", title="Explain", icon=":material/psychology:"),
        st.Page(VIEWS / "privacy.py", title="Privacy", icon=":material/lock:"),
        st.Page(VIEWS / "language.py", title="Language model", icon=":material/chat:"),
        st.Page(VIEWS / "compression.py", title="Compression", icon=":material/compress:"),
        st.Page(VIEWS / "more.py", title="More audits", icon=":material/extension:"),
    ],
    "Decide": [
        st.Page(VIEWS / "overview.py", title="Overview", icon=":material/dashboard:"),
        st.Page(VIEWS / "compare.py", title="Compare", icon=":material/compare_arrows:"),
        st.Page(VIEWS / "report.py", title="Report", icon=":material/description:"),
        st.Page(VIEWS / "review.py", title="Review", icon=":material/rate_review:"),
    ],
}, position="sidebar" if session_ready() else "hidden", expanded=True)
# expanded: every page visible in its section (Compare, Report and Review never behind "View more"); hidden until
# sign-in, so the pages are not listed to someone who has not signed in
# sign-in (a form, then a stop) after the pages are declared: the page in the address survives it, so signing in
# on /report lands on the Report page
signed_in_user()
# each page names the browser tab ("Fairness · fmaudit"), so several open tabs can be told apart
st.set_page_config(page_title=f"{navigation.title} · fmaudit", page_icon=PAGE_ICON, layout="wide")
try:
    navigation.run()
except RoleRefused as exc:  # a viewer pressing a button that changes something: a message, not a failure
    st.warning(plain(exc), icon=":material/lock:")
except FmauditError as exc:
    st.error(plain(exc))
