"""fmaudit dashboard: the navigation frame. Pages live in dashboard/pages, one per task."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

# `streamlit run dashboard/app.py` puts dashboard/ on sys.path, not the repo root.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PAGES = Path(__file__).resolve().parent / "pages"

st.set_page_config(page_title="fmaudit", page_icon=":material/verified_user:", layout="wide")

navigation = st.navigation({
    "fmaudit": [
        st.Page(PAGES / "home.py", title="Home", icon=":material/home:", default=True),
        st.Page(PAGES / "models.py", title="Models", icon=":material/inventory_2:"),
    ],
    "Build": [
        st.Page(PAGES / "data.py", title="Data", icon=":material/table_chart:"),
    ],
})
navigation.run()
