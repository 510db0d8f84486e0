"""The audits' option widgets are made from their specs: a page names its label, layout and a quicker default, but
the kind of widget, the bounds, the other defaults and the help come from the options dataclass the CLI reads too."""

from streamlit.testing.v1 import AppTest


def _script():
    import streamlit as st

    from dashboard.components.options import option_input, options_form

    st.session_state["got"] = {
        "min_group": option_input("fairness", "min_group_size", "a"),
        "samples": option_input("corruption", "samples", "b", label="Test samples", default=500),
        "steps": option_input("robustness", "steps", "c"),
        "split": option_input("performance", "split", "d"),
        "boot": option_input("calibration", "n_boot", "e", help="page words"),
    }
    st.session_state["form"] = options_form("performance", "f")


def test_option_widgets_take_kind_bounds_default_and_help_from_the_spec():
    from audits import get_audit, options_of

    at = AppTest.from_function(_script, default_timeout=60).run()
    assert not at.exception, at.exception
    got = at.session_state["got"]
    assert got == {"min_group": 30, "samples": 500, "steps": None, "split": "test", "boot": 500}
    spec = {o.name: o for o in options_of(get_audit("fairness"))}
    box = at.number_input(key="a")
    assert box.min == 1
    assert box.help == spec["min_group_size"].help
    assert at.number_input(key="b").value == 500  # the page's own, quicker default
    assert at.number_input(key="c").value is None  # the audit decides (each attack's own iterations)
    assert at.selectbox(key="d").options == ["train", "val", "test"]
    assert at.number_input(key="e").help == "page words"
    assert at.session_state["form"] == {"split": "test", "max_samples": None, "n_boot": 1000, "seed": 0}
    at.number_input(key="a").set_value(0).run()  # below the spec's minimum: refused by the widget
    assert at.session_state["got"]["min_group"] != 0
