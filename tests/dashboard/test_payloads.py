"""Every user-supplied string is text wherever it appears: a corpus of payloads (markdown image and link, HTML tag,
script, newline, NUL, right-to-left override) in class labels, group values, column and policy names goes through
every page and every export, and none of it is ever rendered as markdown or HTML."""

from __future__ import annotations

import json
import re

import pytest

from fmcore.text import escape, visible

IMAGE = "![i](http://evil.example/i.png)"
LINK = "[click](http://evil.example/l)"
TAG = "<img src=http://evil.example/t.png>"
SCRIPT = "<script>alert(1)</script>"
ANCHOR = "<a href='http://evil.example/a'>a</a>"
RLO = "\u202eevil"
PAYLOADS = [IMAGE, LINK, TAG, SCRIPT, ANCHOR, "two\nlines", "nul\x00byte", RLO]

#: what a payload looks like when a renderer took it as markup: a markdown link or image, or a live tag
LIVE = re.compile(r"(?<!\\)\]\((?:http|javascript)|(?<!\\)<(?:img|script|a )", re.IGNORECASE)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_one_helper_makes_every_payload_inert_for_each_target(payload):
    for target in ("markdown", "html", "plotly"):
        out = escape(payload, target)
        assert not (LIVE.search(out) if target == "markdown" else "<" in out), (target, out)
        assert "\n" not in out
        assert "\x00" not in out
        assert "\u202e" not in out
    assert visible("a\u202eb\x00c\nd") == "a\ufffdb\ufffdc d"
    # markdown: the escaped text reads back as the original (one line, visible)
    assert re.sub(r"\\(.)", r"\1", escape(IMAGE, "markdown")) == IMAGE


def _policy(path, name: str):
    path.write_text("name: " + json.dumps(name) + "\nchecks:\n  - {id: acc, metric: model.accuracy, op: '>=', "
                    "threshold: 0.1, requirement: " + json.dumps(IMAGE + " " + TAG) + "}\n")
    return path


@pytest.fixture
def poisoned(home, tmp_path):
    """A store whose uploaded CSV carries payloads as class labels, group values and a column name, with a logistic
    regression trained on it and its performance and fairness audits."""
    import numpy as np
    import pandas as pd

    from audits import run_stored_audit
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    rng = np.random.default_rng(0)
    n = 400
    groups = [IMAGE, TAG, LINK + " " + RLO, ANCHOR]
    frame = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n),
                          "group": [groups[i % len(groups)] for i in range(n)],
                          "label": [SCRIPT if i % 3 else IMAGE for i in range(n)]})
    frame.loc[frame["label"] == SCRIPT, "x"] += 1.5
    csv = tmp_path / "evil.csv"
    frame.to_csv(csv, index=False)
    st = Store(home)
    st.add_dataset(csv, "label", ["group"], name="evil", min_group_size=5)
    mid = train_model("evil", "logreg", TrainConfig(epochs=3), store=st).model_id
    run_stored_audit(st, "performance", mid, n_boot=10)
    run_stored_audit(st, "fairness", mid, n_boot=10, min_group_size=5)
    return st, mid


TEXT_ELEMENTS = ("markdown", "caption", "title", "header", "subheader", "success", "info", "warning", "error",
                 "exception", "toast")


def _shown(at) -> list[str]:
    """Every string an AppTest run rendered as markdown, and every chart's JSON."""
    out = []
    for kind in TEXT_ELEMENTS:
        out += [str(e.value) for e in getattr(at, kind, [])]
    out += [str(e.label) + " " + str(e.value) for e in at.metric]
    out += [str(e.label) for e in at.expander] + [str(e.label) for e in at.tabs]
    return out


#: plotly draws no markdown, but its own small HTML: a tag in a chart's JSON would be live
TAGS = re.compile(r"<(?:img|script|a )", re.IGNORECASE)


def _assert_inert(at, page):
    assert not at.exception, (page, [e.value for e in at.exception])
    for text in _shown(at):
        hit = LIVE.search(text)
        assert hit is None, (page, text[max(0, hit.start() - 80):hit.end() + 40])
    for spec in (e.proto.spec for e in at.get("plotly_chart")):
        hit = TAGS.search(spec)
        assert hit is None, (page, spec[max(0, hit.start() - 80):hit.end() + 40])


def test_every_page_shows_payloads_as_text(poisoned, tmp_path, home, monkeypatch):
    from dashboard import services
    from tests.dashboard.test_pages import OPENED, _run

    st, mid = poisoned
    monkeypatch.setenv("FMAUDIT_JOB_MODULES", "tests")
    runner = services._runner_at(str(home))
    job = runner.submit("tests.jobs_tasks:boom", {}, title=f"Missing audits of {mid} for {IMAGE} {TAG}\n{RLO}")
    runner.wait(job.id, 60)
    for page in ("home", "models", "data", "fairness", "compare", "explain", "privacy", "ood", "robustness", "jobs",
                 "review", "report"):
        at = _run(f"views/{page}.py", opened=OPENED.get(page))  # lazy sections open: what they show is checked too
        _assert_inert(at, page)
    at = _run("views/models.py", opened=OPENED["models"])
    at.button_group(key="model_id").set_value(mid).run()
    _assert_inert(at, "models (the poisoned model)")
    at = _run("views/models.py", opened={**OPENED["models"], "models_tab": "Classes"})
    at.button_group(key="model_id").set_value(mid).run()
    _assert_inert(at, "models, its classes tab (the poisoned model)")
    at = _run("views/fairness.py")
    _assert_inert(at, "fairness (the poisoned model)")
    at = _run("views/jobs.py")
    assert any("Missing audits" in m.value for m in at.markdown)  # the job's panel, its title as text
    _assert_inert(at, "jobs (a job titled with a payload)")


def test_exports_show_payloads_as_text(poisoned, tmp_path, monkeypatch):
    from audits.evidence import file_report, load_policy

    st, mid = poisoned
    policy = load_policy(_policy(tmp_path / "evil.yaml", IMAGE + " " + TAG + "\nx\x00" + RLO))
    report, paths = file_report(st, mid, policy, tmp_path / "out")
    card = paths["md"].read_text()
    assert not LIVE.search(card), card[:2000]
    assert "\u202e" not in card
    from audits.evidence._html import REPORT_TAG

    html = paths["html"].read_text()
    start = html.index(REPORT_TAG)  # the embedded record: JSON in a script block no browser runs ("</" escaped)
    rest = html[:start] + html[html.index("</script>", start):]
    assert "</script" not in html[start:html.index("</script>", start)]
    live = re.search(r"<[a-z]+[^<>]*evil\.example", rest)  # a tag carrying a payload: in the page or in a chart
    assert live is None, rest[max(0, live.start() - 200):live.end() + 80]
    assert "alert(1)</script>" not in rest
    assert "\u202e" not in rest
