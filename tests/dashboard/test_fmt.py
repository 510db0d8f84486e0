"""One number format per kind on every page's tables: plain column names from the glossary, rates as percentages,
counts whole, other numbers to 3 significant digits (never 1.23e+03)."""

import json

from streamlit.testing.v1 import AppTest


def _script():
    from dashboard.components.fmt import show_table

    show_table([{"accuracy": 0.91234, "latency_b1_ms": 1234.5, "n": 12, "demographic_parity_difference": 0.05,
                 "model_id": "m-1", "share": 0.3333, "auc": 0.61234, "accuracy_delta": -0.0345},
                {"accuracy": None, "latency_b1_ms": 2.0, "n": 3, "demographic_parity_difference": 0.5,
                 "model_id": "m-2", "share": 1.0, "auc": 0.5, "accuracy_delta": 0.01}], rates=("share",))


def shown(table):
    """A dataframe's cells as the browser writes them (the pandas Styler's display values)."""
    import pyarrow as pa

    return pa.ipc.open_stream(table.proto.arrow_data.styler.display_values).read_all().to_pandas()


def test_audit_tables_read_in_plain_words_with_one_format_per_kind():
    at = AppTest.from_function(_script).run()
    assert not at.exception
    table = at.dataframe[0]
    assert list(table.value.columns) == ["accuracy", "latency, 1 input (ms)", "examples", "parity gap", "model id",
                                         "share", "membership AUC", "accuracy change"]
    assert table.value["accuracy"][0] == 0.91234  # the number itself is untouched: only its display is formatted
    config = json.loads(table.proto.columns)
    formats = {k: v.get("type_config", {}).get("format") for k, v in config.items() if k != "_index"}
    assert formats == {"accuracy": None, "latency, 1 input (ms)": "%.0f", "examples": "%d", "parity gap": None,
                       "share": None, "membership AUC": "%.3g", "accuracy change": None}
    assert config["parity gap"]["help"].startswith("largest difference between groups")
    cells = shown(table)
    # rates as every other rate on the page (pct: one decimal, not Streamlit's 91.23%), changes in points
    assert list(cells["accuracy"]) == ["91.2%", "–"]
    assert list(cells["parity gap"]) == ["5.0%", "50.0%"]
    assert list(cells["share"]) == ["33.3%", "100.0%"]
    assert list(cells["accuracy change"]) == ["-3.5 pts", "+1.0 pts"]


def test_one_metric_reads_as_its_kind():
    from dashboard.components.fmt import metric_value

    assert metric_value("accuracy", 0.9123) == "91.2%"
    assert metric_value("demographic_parity_difference[sex]", -0.034, change=True) == "-3.4 pts"
    assert metric_value("max_auc", 0.61234) == "0.612"
    assert metric_value("max_auc", 0.012, change=True) == "+0.012"
    assert metric_value("n", 1200.0) == "1,200"
    assert metric_value("attack", "pgd") == "pgd"
    assert metric_value("accuracy", None) == "–"


def _table_script():
    import streamlit as st

    from dashboard.components.fmt import markdown_table

    st.markdown(markdown_table([{"a": "[x](http://evil)", "b": "1|2"}]))


def test_a_markdown_table_keeps_every_cell_as_typed():
    """Compare's scorecard is a markdown table: a name holding a pipe, a backslash, a link or a tag stays one cell
    of text, and every row reads back as it was given."""
    from dashboard.components.fmt import markdown_table
    from tests.dashboard.conftest import markdown_rows

    rows = [{"dimension": "accuracy", "m|1": "91.1% ▲ [87.7%, 93.8%]", "[x](http://evil)": "a\\|b"},
            {"dimension": "<b>bold</b>", "m|1": "", "[x](http://evil)": "![img](http://evil/i.png) *x* `c`"}]
    text = markdown_table(rows)
    assert markdown_rows(text) == rows
    assert len(text.splitlines()) == 2 + len(rows)
    at = AppTest.from_function(_table_script).run()
    assert not at.exception
    shown = at.markdown[0].value
    assert "](" not in shown.replace("\\](", "").replace("\\(", "")  # no unescaped link syntax reaches the page
    assert markdown_rows(shown) == [{"a": "[x](http://evil)", "b": "1|2"}]
    assert markdown_table([]) == ""


def test_an_audits_caption_counts_a_long_list_instead_of_printing_it():
    from dashboard.components.fmt import plain
    from dashboard.services import audit_caption

    params = {"method": "saliency", "samples": 50, "select": "random", "rows": list(range(100, 150)), "seed": 0}
    caption = audit_caption({"name": "explain", "id": "a-1", "created_at": "2026-12-07T10:00:00+00:00",
                             "params": params})
    assert plain("rows 100/101/102/103/104/105/… (50 in all)") in caption
    assert "149" not in caption
    short = audit_caption({"name": "explain", "id": "a-1", "created_at": "2026-12-07T10:00:00+00:00",
                           "params": {**params, "rows": [3, 17, 42]}})
    assert plain("rows 3/17/42,") in short  # a few rows, as typed


def test_a_pages_legend_sits_below_the_x_axis_title_and_a_reports_stays():
    from audits import figures as report_figures
    from dashboard.components.figures import below_axis_title

    fig = report_figures.label_balance(["0", "1"], {"train": [5, 6], "test": [1, 2]})
    assert fig.layout.legend.y == -0.2  # as audits.figures lays it out, and as reports draw it
    assert below_axis_title(fig).layout.legend.y == -0.32  # on a page: under "class", not beside it
    untitled = report_figures.label_balance(["0", "1"], {"train": [5, 6]}).update_xaxes(title=None)
    assert below_axis_title(untitled).layout.legend.y == -0.2  # no axis title to clear


def _luminance(colour: str) -> float:
    """WCAG relative luminance of ``#rrggbb``."""
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_a_pages_intervals_read_on_either_theme_and_a_reports_stay():
    import tomllib

    from audits import figures as report_figures
    from dashboard.components.figures import INTERVAL_INK, legible_intervals
    from tests.conftest import ROOT

    rows = [{"class": "0", "recall": 0.8, "recall_ci_low": 0.7, "recall_ci_high": 0.9, "support": 40}]
    fig = report_figures.per_class_recall(rows)
    assert fig.data[0].error_y.color is None  # a report's: plotly's own ink, on a report's white
    assert legible_intervals(fig).data[0].error_y.color == INTERVAL_INK
    own = report_figures.per_class_recall(rows).update_traces(error_y_color="#123456")
    assert legible_intervals(own).data[0].error_y.color == "#123456"  # a colour a builder chose is kept
    themes = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["theme"]
    for scheme in ("light", "dark"):  # WCAG's 3:1 for what a chart draws, against the page's background
        darker, lighter = sorted((_luminance(INTERVAL_INK), _luminance(themes[scheme]["backgroundColor"])))
        assert (lighter + 0.05) / (darker + 0.05) >= 3, scheme


def test_a_pages_colours_read_on_either_theme_and_a_reports_stay():
    """Every colour the chart builders name, as a page draws it (``PAGE_INK``), reaches 3:1 against the light and the
    dark theme's background; the report's builders keep theirs."""
    import re
    import tomllib

    from audits import figures as report_figures
    from dashboard.components.figures import PAGE_INK, for_page
    from tests.conftest import ROOT

    named = set(re.findall(r'"(#[0-9a-f]{6})"', (ROOT / "audits" / "figures.py").read_text().lower()))
    named -= {"#ffffff", "#d4d4d4"}  # a diverging scale's middle; the grey behind "not measured" (dark ink on it)
    assert {"#2457a6", "#222222", "#6a3d9a"} <= named
    themes = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["theme"]
    for colour in named:
        for scheme in ("light", "dark"):
            darker, lighter = sorted((_luminance(PAGE_INK.get(colour, colour)),
                                      _luminance(themes[scheme]["backgroundColor"])))
            assert (lighter + 0.05) / (darker + 0.05) >= 3, (colour, scheme)
    history = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "train_accuracy": 0.5, "val_accuracy": 0.4}
               for e in (1, 2)]
    fig = report_figures.training_curves(history)
    assert {t.line.color for t in fig.data} == {report_figures.BLUE, report_figures.ORANGE}  # a report's
    page = {PAGE_INK[report_figures.BLUE], PAGE_INK[report_figures.ORANGE]}
    assert {t.line.color for t in for_page(fig).data} == page
    mitigation = for_page(report_figures.mitigation_tradeoff([
        {"role": "parent", "name": "m", "model_id": "m-1", "accuracy": 0.8, "demographic_parity_difference": 0.2}]))
    assert mitigation.data[0].marker.color == PAGE_INK["#222222"]  # the original's star: not black on black
    coverage = for_page(report_figures.group_coverage([
        {"attribute": "sex", "group": "f", "n": 50, "too_small": False, "coverage": 0.9, "coverage_ci_low": 0.8,
         "coverage_ci_high": 0.95}], 0.9))
    assert coverage.data[0].marker.color[0] == PAGE_INK[report_figures.BLUE]  # a list of colours, one per bar
    assert coverage.layout.shapes[0].line.color == PAGE_INK[report_figures.ORANGE]  # the target's line


def test_a_pages_two_line_title_clears_its_subplot_titles_and_a_reports_stays():
    from audits import figures as report_figures
    from dashboard.components.figures import for_page

    parent = {"size_bytes": 30000, "latency_b256_ms": 0.143, "accuracy": 0.944}
    rows = [{"method": "prune:0.8", "size_bytes": 7500, "latency_b256_ms": 0.1427, "accuracy": 0.936}]
    fig = report_figures.compression_pareto(parent, rows)
    assert "<br>" in fig.layout.title.text  # two lines over "Size on disk" and "Latency"
    assert fig.layout.title.yref is None  # a report's: as written
    margin = fig.layout.margin.t
    page = for_page(fig)
    assert page.layout.title.yref == "container"
    assert page.layout.title.yanchor == "top"
    assert page.layout.margin.t > margin
    labelled = [t for t in page.data if "text" in (t.mode or "")]
    assert labelled
    assert all(t.cliponaxis is False for t in labelled)  # "prune:0.8" beside the axis, not cut at it
    one_line = for_page(report_figures.training_curves([{"epoch": 1, "train_loss": 1.0}]))
    assert one_line.layout.title.yref is None  # one line: nothing to clear


def test_a_pages_full_bar_keeps_its_interval_whole_and_a_reports_stays():
    from audits import figures as report_figures
    from dashboard.components.figures import for_page

    def rows(top: float) -> list[dict]:
        return [{"grouping": "age", "group": g, "selection_rate": v, "selection_rate_ci_low": v - 0.2,
                 "selection_rate_ci_high": min(1.0, v + 0.1), "too_small": g == "65+", "count": 4}
                for g, v in (("25-44", 0.8), ("65+", top))]

    full = report_figures.group_bars(rows(1.0))
    assert full.layout.yaxis.range is None  # a report's: as written
    assert list(for_page(full).layout.yaxis.range) == [0, 1.05]  # the 100% bar's cap drawn whole
    assert for_page(report_figures.group_bars(rows(0.7))).layout.yaxis.range is None  # no bar at the top
    counts = for_page(report_figures.label_balance(["0", "1"], {"train": [5, 6]}))
    assert counts.layout.yaxis.range is None  # counts, not rates
