"""Page logic with Streamlit's AppTest: every page renders without an exception and shows its content."""

import json
import os
import re

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.components.fmt import number, pct, plain
from tests.conftest import ROOT
from tests.dashboard.conftest import markdown_rows

APP = str(ROOT / "dashboard" / "app.py")


def _run(page: str | None = None, timeout: float = 60, opened: dict | None = None) -> AppTest:
    """The app on ``page``; ``opened`` sets the state of its lazy tabs and expanders first (key: True, or a tab's
    label), as a click would."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.run()
    if page:
        at.switch_page(page)
        for key, value in (opened or {}).items():
            at.session_state[key] = value
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _charts(at) -> list:
    return at.get("plotly_chart")


def _scorecard(at):
    """Compare's scorecard (a markdown table) as a frame: one row per dimension, one column per model."""
    import pandas as pd

    text = next(m.value for m in at.markdown if m.value.startswith("| dimension |"))
    return pd.DataFrame(markdown_rows(text))


#: what makes Streamlit's markdown load more code before it draws a text (its StreamlitMarkdown chunk, version 1.5x):
#: an emoji code such as ``:smile:`` (265 KB of emoji tables; a time such as 16:01:17 holds ``:01:``) or ``$`` (KaTeX)
EMOJI_CODE = re.compile(r":(?!material/|streamlit:)[\w+-][\w_+-]*:")


def _markdown_loaders(at) -> list[str]:
    """The texts of a page drawn as markdown (bodies and labels) that would load the emoji tables or KaTeX."""
    found = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "ListFields"):
            for field, value in proto.ListFields():
                if field.name in ("body", "label") and isinstance(value, str) and (
                        EMOJI_CODE.search(value) or "$" in value.replace("\\$", "")):
                    found.append(value)
        for child in (node.children.values() if hasattr(node, "children") else ()):
            walk(child)

    for root in (at.main, at.sidebar):
        walk(root)
    return found


def _with_model(home, dataset: str, model: str, epochs: int, page: str, empty_caption: str):
    """Train a model into the page's store, open the page, check its empty-state caption."""
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    model_id = train_model(dataset, model, TrainConfig(epochs=epochs), store=Store(home)).model_id
    at = _run(f"views/{page}.py")
    assert any(empty_caption in c.value for c in at.caption)
    return model_id, at


def _finish(home, at, key: str, timeout: float = 300):
    """Wait for the job the page started (its id in session state) and rerun the page."""
    from dashboard import services

    job = services._runner_at(str(home)).wait(at.session_state[key], timeout=timeout)
    assert job.state == "done", (job.error, job.log)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return job


def test_home_empty_store(home):
    at = _run()
    assert at.title[0].value == "fmaudit"
    assert [m.value for m in at.metric][:2] == ["8", "0"]
    assert any(b.label == "Train, audit and report: the seed CNN on mnist" for b in at.button)
    assert "No models yet" in at.info[0].value


def test_home_lists_models(home, trained_models_in):
    ids = trained_models_in(home)
    at = _run()
    assert at.metric[1].value == str(len(ids))
    assert set(at.dataframe[0].value["id"]) == set(ids)
    from audits import run_stored_audit
    from fmcore.store import Store

    _, result = run_stored_audit(Store(home), "performance", ids[1], n_boot=20)
    audits = _run().dataframe[1].value
    assert list(audits.columns) == ["audit", "model", "finding", "created"]  # what was found before when
    assert audits["finding"][0].startswith(f"accuracy {result.metrics['accuracy']:.1%}")


def test_data_page_cards(home):
    at = _run("views/data.py")
    assert at.title[0].value == "Data"
    assert len(_charts(at)) == 1  # label balance; the default's (mnist) samples are a picture, not a chart
    assert len(at.get("image")) == 1
    assert any(plain("Labels, row by row: 5, 0, 4, 1, 9") in c.value for c in at.caption)  # its text alternative
    at.button_group(key="data_name").set_value("german_credit").run()
    assert not at.exception
    assert at.subheader[0].value == "Statlog German credit"
    assert len(_charts(at)) == 3  # label balance + sex + age
    assert "1,000" in [m.value for m in at.metric]


def test_data_page_overview_comes_from_the_store_cache_after_a_restart(home, monkeypatch):
    """A freshly started server draws the Data page from the overview kept under the store, without decoding the
    dataset; the cache file is named by the dataset's fingerprint, so a changed dataset is never shown stale."""
    from dashboard import services
    from fmcore.data import dataset_fingerprint

    at = _run("views/data.py")
    at.button_group(key="data_name").set_value("german_credit").run()
    cached = list((home / "cache" / "overview").glob("german_credit-*.json"))
    assert [p.name for p in cached] == [f"german_credit-{dataset_fingerprint('german_credit')[:24]}.json"]
    services._overview_at.clear()  # as after a restart

    def no_loading(*args):
        raise AssertionError("the dataset was loaded although its overview was cached")

    monkeypatch.setattr(services, "_dataset_at", no_loading)
    again = _run("views/data.py")
    again.button_group(key="data_name").set_value("german_credit").run()
    assert not again.exception, [e.value for e in again.exception]
    assert len(_charts(again)) == 3
    assert list(again.dataframe[0].value.columns)[:3] == ["credit_risk", "age", "sex"]  # label, then sensitive


#: the lazy tabs and expanders of each page (``on_change="rerun"``), opened
OPENED = {"data": {"data_provenance": True, "data_tab": "Browse datasets"},
          "models": {"import_open": True, "models_tab": "Audits", "models_provenance": True, "models_delete": True},
          "compare": {"cmp_settings": True}}


def test_rarely_opened_sections_run_only_when_opened(home, trained_models_in):
    """A first visit draws no uploader, JSON viewer or provenance table (the browser would load their code before
    the page's charts, and the server would compute them); opening each draws it."""
    trained_models_in(home)
    at = _run("views/data.py")
    assert not at.table
    assert not at.get("file_uploader")
    assert _charts(at)
    at.session_state["data_provenance"] = True
    at.run()
    assert "sha256" in list(at.table[0].value["field"])
    at.session_state["data_tab"] = "Upload a CSV"
    at.run()
    assert at.get("file_uploader")
    assert not _charts(at)
    models = _run("views/models.py")
    assert not models.json
    assert not models.get("file_uploader")
    assert not models.dataframe  # the audits and the registry are tabs of their own
    assert len(_charts(models)) == 1  # the training curves; the classes' charts are a tab of their own
    assert not models.text_input  # the delete box, closed
    assert any(b.label == "Run performance audit" for b in models.button)  # the first tab, open
    classes = _run("views/models.py", opened={"models_tab": "Classes"})
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in _charts(classes)]
    assert len(titles) == 3, titles
    assert "Confusion matrix" in titles[1]
    assert "class" in titles[2]
    opened = _run("views/models.py", opened=OPENED["models"])
    assert opened.json
    assert len(opened.get("file_uploader")) == 2  # a model, a file of predictions
    assert any("why not" in d.value.columns for d in opened.dataframe)
    assert not any(b.label == "Run performance audit" for b in opened.button)  # the tab not open: not run
    assert not opened.exception


def test_models_page_details_and_delete(home, trained_models_in):
    ids = trained_models_in(home)
    at = _run("views/models.py", opened={"models_tab": "All models", "models_delete": True})
    assert set(at.dataframe[0].value["id"]) == set(ids)
    assert len(_charts(at)) == 1  # the training curves
    target = at.button_group(key="model_id").value
    assert target == ids[-1]  # the newest first
    at.session_state["models_tab"] = "Lineage"
    at.run()
    assert any("Lineage" in json.loads(c.proto.spec)["layout"]["title"]["text"] for c in _charts(at))
    at.text_input(key="delete_confirm").set_value(target).run()
    delete = next(b for b in at.button if b.label == "Delete")
    delete.click().run()
    assert not at.exception
    from fmcore.store import Store

    assert target not in [m.id for m in Store(os.environ["FMAUDIT_HOME"]).list_models()]


def test_models_page_empty(home):
    at = _run("views/models.py")
    assert "No models yet" in at.info[0].value


@pytest.fixture
def trained_models_in():
    def make(home):
        from fmcore.store import Store
        from fmcore.train import TrainConfig, train_model

        st = Store(home)
        return [train_model("digits", "logreg", TrainConfig(epochs=2), store=st).model_id,
                train_model("german_credit", "mlp", TrainConfig(epochs=2), store=st).model_id]
    return make


def test_train_page_runs_a_job_and_shows_results(home):
    at = _run("views/train.py")
    assert "Choose a dataset" in at.info[0].value
    at.selectbox(key="train_dataset").set_value("digits").run()
    assert at.selectbox(key="train_model").options == ["Seed CNN", "Logistic regression"]
    at.number_input(key="train_epochs").set_value(1)  # inside the form: sent with the submit click
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception
    job_id = at.session_state["train_job"]
    from dashboard import services

    runner = services._runner_at(str(home))
    assert runner.get(job_id).params["params"]["dataset"] == "digits"
    assert runner.get(job_id).params["params"]["config"]["epochs"] == 1
    job = runner.wait(job_id, timeout=120)
    assert job.state == "done", job.error
    at.run()
    assert not at.exception
    assert "Registered" in at.success[0].value
    assert len(_charts(at)) == 3  # curves, confusion matrix, per-class accuracy


def test_train_page_prefills_from_query(home):
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("views/train.py")
    at.query_params["dataset"] = "german_credit"
    at.query_params["epochs"] = "7"
    at.run()
    assert not at.exception
    assert at.selectbox(key="train_dataset").value == "german_credit"
    assert at.selectbox(key="train_model").options == ["Tabular MLP", "Logistic regression"]
    assert at.number_input(key="train_epochs").value == 7


def test_home_demo_button_queues_train_audit_report_on_mnist(home):
    at = _run()
    next(b for b in at.button if b.label.startswith("Train, audit and report")).click().run()
    assert not at.exception
    from dashboard import services

    runner = services._runner_at(str(home))
    job = runner.get(at.session_state["demo_job"])
    assert job.params["target"] == "audits.jobs:demo"
    assert job.params["params"]["dataset"] == "mnist"
    assert job.params["params"]["model"] == "seed_cnn"
    assert any(job.id in m.value for m in at.markdown)  # followed on Home itself
    # a second tab (a fresh session) sees the same job on the Jobs page
    other = _run("views/jobs.py")
    assert not other.exception
    assert job.id in str(other.selectbox[0].options) or any(job.id in m.value for m in other.markdown)
    runner.cancel(job.id)
    assert runner.wait(job.id, 60).state == "cancelled"


def test_jobs_page_lists_jobs_and_logs(home):
    from dashboard import services

    at = _run("views/jobs.py")
    assert "No jobs yet" in at.info[0].value
    assert "one task after another" in at.caption[1].value  # the executor: local by default
    runner = services._runner_at(str(home))
    job = runner.submit("fmcore.jobs.tasks:train", {"dataset": "digits", "model": "logreg", "config": {"epochs": 1}},
                        title="quick logreg")
    runner.wait(job.id, 120)
    at.run()
    assert not at.exception
    assert list(at.dataframe[0].value["id"]) == [job.id]
    assert "registered model" in at.code[0].value


def test_jobs_page_says_where_sweeps_run(home, monkeypatch):
    monkeypatch.setenv("FMAUDIT_EXECUTOR", "ray")
    monkeypatch.setenv("FMAUDIT_RAY_ADDRESS", "ray://head:10001")
    assert "fan out as Ray tasks on ray://head:10001" in _run("views/jobs.py").caption[1].value
    monkeypatch.setenv("FMAUDIT_EXECUTOR", "dask")
    at = _run("views/jobs.py")
    assert plain("FMAUDIT_EXECUTOR must be one of local, ray") in at.error[0].value  # a clear message, no traceback
    assert not at.exception


def test_finetune_page_compares_methods_and_runs_a_job(home, tiny_bert):
    from fmcore.finetune import FinetuneConfig, finetune
    from fmcore.store import Store

    st = Store(home)
    for method in ("lora", "linear_probe"):
        finetune("tweets", FinetuneConfig(method=method, max_train_samples=32, max_eval_samples=16, max_length=16,
                                          base_path=tiny_bert, batch_size=16), store=st)
    at = _run("views/finetune.py")
    assert at.selectbox(key="ft_method").options == ["lora", "ia3", "prompt", "full", "linear_probe"]
    assert len(_charts(at)) == 1
    assert set(at.dataframe[0].value["method"]) == {"lora", "linear_probe"}
    at.selectbox(key="ft_dataset").set_value("digits").run()
    assert at.selectbox(key="ft_method").options == ["transfer", "scratch"]
    at.selectbox(key="ft_method").set_value("scratch").run()
    at.number_input(key="ft_epochs").set_value(1)
    at.number_input(key="ft_max_train").set_value(64)
    next(b for b in at.button if b.label == "Start fine-tuning").click().run()
    assert not at.exception
    from dashboard import services

    job = services._runner_at(str(home)).wait(at.session_state["ft_job"], timeout=120)
    assert job.state == "done", job.error
    at.run()
    assert "Registered" in at.success[0].value
    assert list(at.dataframe[0].value["method"]) == ["scratch"]


def test_robustness_page_runs_an_attack_and_a_defence(home):
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    model_id = train_model("digits", "seed_cnn", TrainConfig(epochs=3), store=Store(home)).model_id
    at = _run("views/robustness.py")
    assert at.multiselect(key="rob_models").value == [model_id]
    assert any("No PGD (Linf) results" in c.value for c in at.caption)
    at.text_input(key="rob_eps").set_value("0.05, 0.2")
    at.number_input(key="rob_samples").set_value(40)
    next(b for b in at.button if b.label == "Run attack").click().run()
    assert not at.exception
    from dashboard import services

    runner = services._runner_at(str(home))
    job = runner.wait(at.session_state["rob_job"], timeout=240)
    assert job.state == "done", (job.error, job.log)
    at.run()
    assert not at.exception
    assert len(_charts(at)) == 2  # curves + gallery
    shown = [e for e in Store(home).latest_audits(model_id)["robustness"]["result"]["tables"]["examples"]
             if "original" in e][:6]
    said = next(c.value for c in at.caption if c.value.startswith(plain("What the attack did")))
    assert "change, change" not in said  # each example in words, not its panels' titles
    assert all(plain(f"true {e['true']}: {e['clean_pred']} ({e['clean_confidence']:.0%}) before the attack, "
                     f"{e['adv_pred']} ({e['adv_confidence']:.0%}) after") in said for e in shown), said
    sweep = at.dataframe[0].value
    assert list(sweep["epsilon"]) == [0.05, 0.2]  # plain words (audits.glossary)
    next(b for b in at.button if b.label == "Harden").click().run()
    job = runner.wait(at.session_state["harden_job"], timeout=300)
    assert job.state == "done", (job.error, job.log)
    at.run()
    assert not at.exception
    assert any("Registered" in s.value for s in at.success)
    assert Store(home).get_model(job.result["model_id"]).parent_id == model_id


def test_fairness_page_audits_and_compares_two_models(home):
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    st = Store(home)
    first = train_model("arrests", "logreg", TrainConfig(epochs=3), store=st).model_id
    second = train_model("arrests", "mlp", TrainConfig(epochs=3), store=st).model_id
    at = _run("views/fairness.py")
    assert any("No fairness audit" in c.value for c in at.caption)
    at.selectbox(key="fair_model").set_value(first).run()
    at.selectbox(key="fair_other").set_value(second).run()
    next(b for b in at.button if b.label == "Run fairness audit").click().run()
    assert not at.exception
    from dashboard import services

    runner = services._runner_at(str(home))
    assert at.session_state["fair_jobs"]["model"] == first
    for job_id in at.session_state["fair_jobs"]["ids"]:
        job = runner.wait(job_id, timeout=120)
        assert job.state == "done", (job.error, job.log)
    at.run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert labels.count("Parity gap") == 2  # side by side
    assert len(_charts(at)) == 4  # group bars + a heatmap for each pair of colour, sex, age
    assert any("In plain words" in m.value for m in at.markdown)
    assert list(at.dataframe[0].value["grouping"])[:3] == ["colour", "sex", "age"]
    # in words: the metric picker and the groups too small to judge, in one box rather than one box each
    assert "true-positive rate" in at.radio(key="fair_metric").options
    assert not [o for o in at.radio(key="fair_metric").options if "_" in o]
    groups = Store(home).latest_audits(first)["fairness"]["result"]["tables"]["groups"]
    small = [f"{r['grouping']} = {r['group']} ({r['count']})" for r in groups if r["too_small"]]
    assert small  # the intersections of colour, sex and age hold groups under 30 people
    boxes = [w.value for w in at.warning if "below the minimum size" in w.value]
    assert len(boxes) == 1
    assert all(plain(g) in boxes[0] for g in small)
    assert not [w.value for w in at.warning if "people (minimum" in w.value]  # no box per group
    # the model compared with keeps its caption of groups left out; the one the box is about does not say it twice
    assert sum(c.value.startswith("Left out of the gaps") for c in at.caption) == 1
    at.radio(key="fair_metric").set_value("tpr").run()  # the charts name the metric as the picker does
    specs = [json.loads(c.proto.spec) for c in _charts(at)]
    assert specs[0]["layout"]["title"]["text"].startswith("True-positive rate by group")
    assert specs[0]["layout"]["yaxis"]["title"]["text"] == "true-positive rate"
    assert all(s["layout"]["title"]["text"].startswith("True-positive rate across") for s in specs[1:4])
    from audits.figures import group_bars  # a report draws it as it always has (its HTML is re-rendered to verify)
    assert group_bars(groups, "tpr").layout.title.text.startswith("Tpr by group")


def test_fairness_page_mitigates_and_draws_the_tradeoff(home):
    model_id, at = _with_model(home, "arrests", "logreg", 3, "fairness", "No mitigations")
    at.selectbox(key="mit_method").set_value("threshold_optimizer").run()
    at.multiselect(key="mit_sensitive").set_value(["colour"])
    at.text_input(key="mit_sweep").set_value("0.0,0.05")
    next(b for b in at.button if b.label == "Mitigate").click().run()
    job = _finish(home, at, "mit_job", 180)
    assert len(job.result["model_ids"]) == 2
    charts = _charts(at)
    assert len(charts) == 1
    fig = json.loads(charts[0].proto.spec)
    assert {t["name"] for t in fig["data"]} >= {"threshold optimizer (demographic parity)"}
    assert any("fairest mitigation" in m.value for m in at.markdown)
    # the gap as the sentence and the picker write it: a percentage, "parity gap"; its numbers beneath alike
    assert fig["layout"]["xaxis"]["tickformat"] == ".1%"
    assert fig["layout"]["xaxis"]["title"]["text"].startswith("parity gap")
    parent = next(t for t in fig["data"] if t["name"].startswith("original"))
    said = next(c.value for c in at.caption if c.value.startswith("What fairness costs"))
    assert plain(f"parity {parent['x'][0]:.1%}: {parent['y'][0]:.1%}") in said, said
    assert not re.search(r"\d\.\d{5}", said)  # no number written to 17 digits
    table = at.dataframe[-1].value
    assert list(table["role"]) == ["parent", "mitigated", "mitigated"]
    assert list(table["model id"])[0] == model_id  # columns in plain words
    at.text_input(key="mit_sweep").set_value("a,b")
    next(b for b in at.button if b.label == "Mitigate").click().run()
    assert any("Tolerances must be numbers" in e.value for e in at.error)


def test_models_page_lists_the_models_audits(home):
    from audits import run_audit
    from fmcore.data import load_dataset
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    st = Store(home)
    model_id = train_model("german_credit", "logreg", TrainConfig(epochs=2), store=st).model_id
    result = run_audit("fairness", st.load_classifier(model_id), load_dataset("german_credit"), model_id, n_boot=10)
    audit_id = st.add_audit(model_id, "fairness", result.params, result.to_dict())
    at = _run("views/models.py", opened={"models_tab": "Audits"})
    audits = next(d.value for d in at.dataframe if "finding" in d.value.columns)
    assert list(audits["id"]) == [audit_id]
    assert audits["parity gap"][0] == pytest.approx(result.metrics["demographic_parity_difference"])  # plain words
    assert "parity gap (sex)" in audits.columns
    assert "demographic_parity_difference" not in audits.columns
    assert audits["finding"][0] == f"parity gap {result.metrics['demographic_parity_difference']:.1%}, odds gap " \
                                   f"{result.metrics['equalized_odds_difference']:.1%}"


def test_privacy_page_attacks_sweeps_and_scans(home):
    from fmcore.store import Store

    model_id, at = _with_model(home, "german_credit", "mlp", 40, "privacy", "No privacy audit")
    at.multiselect(key="priv_attacks").set_value(["threshold", "rulebased"])
    at.number_input(key="priv_samples").set_value(200)
    next(b for b in at.button if b.label == "Run privacy audit").click().run()
    _finish(home, at, "priv_job", 180)
    at.number_input(key="dp_epochs").set_value(2)
    at.text_input(key="dp_eps").set_value("3")
    next(b for b in at.button if b.label == "Run the sweep").click().run()
    job = _finish(home, at, "dp_job")
    assert [r["target_epsilon"] for r in job.result["rows"]] == [3.0, None]
    next(b for b in at.button if b.label == "Scan dataset").click().run()
    assert not at.exception, [e.value for e in at.exception]
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in _charts(at)]
    assert any("ROC" in t for t in titles)
    assert any("differential privacy" in t for t in titles)
    assert any("k-anonymity" in t for t in titles)
    assert any(m.label == "Strongest attack AUC" for m in at.metric)
    sentence = next(m.value for m in at.markdown if m.value.startswith("In plain words"))
    assert "95% interval" in sentence
    audit = Store(home).latest_audits(model_id)["privacy"]
    low, high = audit["result"]["metrics"]["max_auc_ci_low"], audit["result"]["metrics"]["max_auc_ci_high"]
    assert f"{low:.3f} to {high:.3f}" in sentence
    assert any(audit["id"] in c.value for c in at.caption)  # the result is dated and named
    # the attacks' table in plain words (it showed auc_ci_low, tpr_at_0.1%_fpr), numbers as stored
    attacks = next(t.value for t in at.dataframe if "membership AUC" in t.value.columns)
    assert {"AUC, 95% interval low", "members found at 0.1% false alarms"} <= set(attacks.columns)
    assert not [c for c in attacks.columns if "_" in c], list(attacks.columns)
    stored = {r["attack"]: r["auc"] for r in audit["result"]["tables"]["attacks"]}
    assert dict(zip(attacks["attack"], attacks["membership AUC"], strict=True)) == stored
    assert any(m.label == "k-anonymity" for m in at.metric)
    assert at.selectbox(key="priv_model").value == model_id
    at.text_input(key="dp_eps").set_value("-1")
    next(b for b in at.button if b.label == "Run the sweep").click().run()
    assert any("Epsilons must be positive" in e.value for e in at.error)


def test_compression_page_compresses_and_shows_the_pareto_chart(home):
    from fmcore.store import Store

    model_id, at = _with_model(home, "digits", "seed_cnn", 2, "compression", "No compression audit")
    at.multiselect(key="comp_methods").set_value(["prune:0.5", "int8"])
    at.number_input(key="comp_rows").set_value(500)
    next(b for b in at.button if b.label == "Compress and audit").click().run()
    job = _finish(home, at, "comp_job")
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in _charts(at)]
    assert any("Compression trade-offs" in t for t in titles)
    assert any("robust accuracy" in t for t in titles)
    assert list(at.dataframe[0].value["method"]) == ["prune:0.5", "int8"]
    assert Store(home).get_model(job.result["model_ids"][0]).parent_id == model_id
    result = Store(home).latest_audits(model_id)["compression"]["result"]
    # the trade-off's numbers beneath it, each with its unit (the panels' titles name the x axes)
    first = result["tables"]["variants"][0]
    said = next(c.value for c in at.caption if c.value.startswith(plain("Compression trade-offs")))
    assert plain(f"{first['method']}: {number(first['size_bytes'] / 1024)} KiB, {number(first['latency_b256_ms'])} "
                 f"ms a batch of 256, accuracy {pct(first['accuracy'])}") in said, said
    assert said.count(" KiB") == len(result["tables"]["variants"]) + 1  # the original too
    # a change of robust accuracy in percentage points, as every change of a rate is written
    deltas = next(json.loads(c.proto.spec) for c in _charts(at)
                  if json.loads(c.proto.spec)["layout"]["title"]["text"].startswith("Change in robust accuracy"))
    parent = result["tables"]["parent"][0]["robust_accuracy"]
    assert deltas["data"][0]["text"] == [f"{(r['robust_accuracy_transfer'] - parent) * 100:+.1f} pts"
                                         for r in result["tables"]["variants"]]
    assert deltas["layout"]["yaxis"]["ticksuffix"] == " pts"
    # the flipped digits in one picture, labels in a band above each row (a plotly montage overlapped them)
    flipped = [f for f in result["tables"]["flips"] if f["method"] == at.selectbox(key="comp_flip_method").value]
    assert flipped  # pruning half of a 2-epoch CNN flips some answers
    assert len(at.get("image")) == 1
    assert any(c.value.startswith("Flipped test images") and
               plain(f"{flipped[0]['parent_pred']}->{flipped[0]['variant_pred']}") in c.value for c in at.caption)


def test_compare_and_report_pages(home):
    from audits import run_audit
    from fmcore.data import load_dataset
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    st = Store(home)
    ids = [train_model("german_credit", m, TrainConfig(epochs=3), store=st).model_id for m in ("logreg", "mlp")]
    for mid in ids:
        r = run_audit("performance", st.load_classifier(mid), load_dataset("german_credit"), mid, n_boot=50)
        st.add_audit(mid, "performance", r.params, r.to_dict())
    at = _run("views/compare.py")
    table = _scorecard(at)
    assert list(table["dimension"])[:4] == ["accuracy", "majority-class baseline", "balanced accuracy", "macro-F1"]
    assert any("[" in str(v) for v in table.iloc[0, 1:])  # accuracy with its interval
    radar = next(json.loads(c.proto.spec) for c in _charts(at)
                 if "Scorecard" in json.loads(c.proto.spec)["layout"]["title"]["text"])
    assert radar["layout"]["polar"]["radialaxis"]["range"] == [0, 1]  # absolute, never rescaled to the models
    axes = len(radar["data"][0]["theta"]) - 1  # the loop's closing point repeats the first axis
    # the percentages halfway between two axes' names, never along one (they ran into "balanced accuracy")
    assert radar["layout"]["polar"]["radialaxis"]["angle"] == pytest.approx(180 / axes)
    shown = {t["name"]: dict(zip(t["theta"], t["r"], strict=True)) for t in radar["data"]}
    for mid in ids:
        name = next(k for k in shown if mid in k)
        perf = st.latest_audits(mid)["performance"]["result"]["metrics"]
        assert shown[name]["accuracy"] == pytest.approx(perf["accuracy"])
        assert shown[name]["balanced accuracy"] == pytest.approx(perf["balanced_accuracy"])
    assert f"{st.latest_audits(ids[0])['performance']['result']['metrics']['accuracy']:.1%}" in " ".join(
        map(str, table.iloc[0, 1:]))  # proportions as percentages
    # the stakeholder's overview: the verdict and sign-off first, then one sentence and one chart per area
    at = _run("views/overview.py")
    at.button_group(key="ov_model").set_value(ids[0]).run()
    boxes = [b.value for b in [*at.error, *at.warning, *at.success, *at.info]]
    assert any("**Policy " in b and any(w in b for w in ("PASS", "FAIL", "INCOMPLETE")) for b in boxes)
    # what failed or was not measured, in words with what was measured: a stakeholder reads no check id alone
    verdict = next(b for b in boxes if "**Policy " in b)
    from audits.evidence import SHIPPED, evaluate_policy, load_policy

    ev = evaluate_policy(load_policy(SHIPPED / "eu_ai_act_high_risk.yaml"), st, ids[0])
    assert ev["not_measured"]  # no robustness audit here
    assert plain("robustness (accuracy under attack at eps 0.1 ≥ 50.0%)") in verdict, verdict
    for r in ev["checks"]:
        if r["status"] == "fail":
            assert plain(f"{r['id']} (") in verdict
            assert plain(f"; measured {r['value']:.1%})") in verdict, verdict
    assert any("Not signed off" in b for b in boxes)
    perf = st.latest_audits(ids[0])["performance"]["result"]["metrics"]
    assert any(m.value.startswith(plain(f"Accuracy {perf['accuracy']:.1%}")) for m in at.markdown)
    assert len(_charts(at)) == 1  # performance only: the other areas say they were not audited yet
    bars = [t for t in json.loads(_charts(at)[0].proto.spec)["data"] if t["type"] == "bar"]
    assert bars
    assert all(t["cliponaxis"] is False for t in bars)  # "100.0%" above a full bar not cut at 240 px
    assert json.loads(_charts(at)[0].proto.spec)["layout"]["uniformtext"] == {"minsize": 9, "mode": "hide"}
    axes = [(k[0], v) for k, v in json.loads(_charts(at)[0].proto.spec)["layout"].items() if k[1:5] == "axis"]
    assert axes
    assert all(len(line) <= {"x": 24, "y": 18}[k] for k, a in axes
               for line in a.get("title", {}).get("text", "").split("<br>"))
    assert sum("Not audited yet." in c.value for c in at.caption) == 7
    assert any(c.value.startswith(plain("accuracy per class") + ": accuracy") for c in at.caption)  # chart as text
    for page in ("views/models.py", "views/overview.py", "views/compare.py", "views/more.py"):  # times, ids, names
        assert not _markdown_loaders(_run(page)), page  # drawn without loading emoji tables or KaTeX first
    at = _run("views/report.py")
    assert any("failed" in e.value or "passed" in e.value for e in [*at.error, *at.success])
    checks = at.dataframe[0].value.set_index("check")  # what decides first, the rule in words, numbers in their kind
    assert list(checks.columns)[:3] == ["status", "value", "rule"]
    assert checks.loc["accuracy", "rule"] == "accuracy ≥ 80.0%"
    assert checks.loc["accuracy", "policy's rule"] == "performance.accuracy >= 0.8"
    next(b for b in at.button if b.label == "Generate reports").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.get("download_button")) == 5  # policy checks CSV, then HTML, JSON, Markdown and the signature
    assert any("chain intact" in s.value for s in at.success)
    assert not _markdown_loaders(at)  # the time it was generated, escaped
    # another policy: the reports made with the first one are no longer offered
    first = at.session_state["rep_made"]
    assert first["from"]["policy_name"] == "EU AI Act high-risk (example)"
    at.selectbox(key="rep_policy").set_value("nist_ai_rmf_measure.yaml").run()
    assert len(at.get("download_button")) == 1  # only the policy checks of what is shown
    assert any("no longer offered" in i.value for i in at.info)
    next(b for b in at.button if b.label == "Generate reports").click().run()
    made = at.session_state["rep_made"]
    assert made["from"]["policy_name"] == "NIST AI RMF MEASURE 2.x (example)"
    assert made["paths"]["html"] != first["paths"]["html"]  # its own files, the first set untouched
    assert json.loads(open(made["paths"]["json"]).read())["policy"]["policy"] == made["from"]["policy_name"]
    # a newer audit makes the filed reports stale too
    shown = at.session_state["rep_model"]
    r = run_audit("performance", st.load_classifier(shown), load_dataset("german_credit"), shown, n_boot=20)
    st.add_audit(shown, "performance", r.params, r.to_dict())
    at.run()
    assert "rep_made" not in at.session_state
    at.selectbox(key="rep_policy").set_value("upload your own").run()
    assert next(b for b in at.button if b.label == "Generate reports").disabled  # no policy uploaded yet


def test_out_of_domain_page_runs_corruption_shift_calibration_and_calibrates(home):
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    model_id = train_model("digits", "seed_cnn", TrainConfig(epochs=2), store=Store(home)).model_id
    at = _run("views/ood.py")
    assert any("No corruption audit of this model yet" in i.value for i in at.info)
    at.multiselect(key="ood_corruptions").set_value(["rotate", "gaussian_noise"])
    at.number_input(key="ood_corr_samples").set_value(40)
    next(b for b in at.button if b.label == "Run corruption audit").click().run()
    _finish(home, at, "ood_corruption_job")
    assert any("Mean corruption error" in m.label for m in at.metric)
    from dashboard.components.fmt import points

    latest = Store(home).latest_audits(model_id)
    corruption = latest["corruption"]["result"]["metrics"]  # a change of two rates: in percentage points
    drop = next(m for m in at.metric if m.label == "Mean accuracy under corruption").proto.delta
    assert drop == points(corruption["mean_accuracy"] - corruption["clean_accuracy"])
    assert drop.endswith(" pts")
    at.number_input(key="ood_shift_samples").set_value(100)
    next(b for b in at.button if b.label == "Run shift audit").click().run()
    _finish(home, at, "ood_shift_job")
    assert any("On mnist the model is right" in i.value for i in at.info)
    shift = Store(home).latest_audits(model_id)["shift"]["result"]["metrics"]
    assert next(m for m in at.metric if m.label == "Accuracy on mnist").proto.delta == points(-shift["accuracy_drop"])
    next(b for b in at.button if b.label == "Run calibration audit").click().run()
    _finish(home, at, "ood_calibration_job")
    assert any("ECE" in i.value for i in at.info)
    assert len(_charts(at)) >= 5  # heatmap, severity curve, gallery, drift, OOD ROC, reliability
    next(b for b in at.button if b.label == "Calibrate this model").click().run()
    job = _finish(home, at, "ood_calibrate_job")
    assert Store(home).get_model(job.result["model_id"]).parent_id == model_id
    assert any("Registered" in s.value for s in at.success)
    card = _scorecard(_run("views/compare.py"))  # the model and its calibrated child
    mce = card.iloc[list(card["dimension"]).index("mean corruption error")]
    assert mce[next(c for c in card.columns if model_id in c)].startswith("1 (its own reference)")


def test_train_page_refuses_an_augmentation_for_another_kind_of_data(home):
    at = _run("views/train.py")
    at.selectbox(key="train_dataset").set_value("digits").run()
    at.text_input(key="train_augment_image").set_value("mixup")
    next(b for b in at.button if b.label == "Start training").click().run()
    assert any(plain("'mixup' is for tabular data") in e.value for e in at.error)  # shown as text (escaped)
    assert "train_job" not in at.session_state


def test_models_page_runs_a_performance_audit_and_shows_the_baseline(home):
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    train_model("german_credit", "mlp", TrainConfig(epochs=2), store=Store(home))
    at = _run("views/models.py", opened={"models_tab": "All models"})
    table = at.dataframe[0].value
    assert table["majority baseline"].iloc[0] == pytest.approx(0.7)  # 70% good credit in the test split
    at.session_state["models_tab"] = "Performance audit"
    at.run()
    next(b for b in at.button if b.label == "Run performance audit").click().run()
    _finish(home, at, "perf_job")
    labels = [m.label for m in at.metric]
    assert "Majority baseline" in labels
    assert "Balanced accuracy" in labels
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in _charts(at)]
    assert any("Recall per class" in t for t in titles)


def test_robustness_page_attacks_a_table_with_valid_rows_by_default(home):
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    train_model("german_credit", "mlp", TrainConfig(epochs=3), store=Store(home))
    at = _run("views/robustness.py")
    assert at.checkbox(key="rob_free").value is False
    at.text_input(key="rob_eps").set_value("0.3")
    at.number_input(key="rob_samples").set_value(60)
    next(b for b in at.button if b.label == "Run attack").click().run()
    _finish(home, at, "rob_job")
    assert any("rows that could exist" in i.value for i in at.info)
    changes = next(d.value for d in at.dataframe if "prediction after" in d.value.columns)
    assert "age_in_years" not in set(changes["feature"])  # immutable: the age behind the age band
    assert not any("=" in f for f in changes["feature"])  # whole features in their own units, not encoded columns


def test_fairness_page_selection_follows_the_model(home):
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    st_ = Store(home)
    german = train_model("german_credit", "logreg", TrainConfig(epochs=1), store=st_).model_id
    arrests = train_model("arrests", "logreg", TrainConfig(epochs=1), store=st_).model_id
    at = _run("views/fairness.py")
    at.selectbox(key="fair_model").set_value(german).run()
    at.multiselect(key=f"fair_sensitive_{german}").set_value(["sex"]).run()
    at.selectbox(key="fair_model").set_value(arrests).run()
    assert not at.exception
    assert at.multiselect(key=f"fair_sensitive_{arrests}").value == ["colour", "sex", "age"]  # not german's choice


def test_model_pickers_tell_models_with_one_name_apart(home, monkeypatch):
    """A few models are buttons named ``name (id)``, the rest of the label under them; more are a select box whose
    labels say it all, the id first (a narrow screen cuts the end)."""
    from dashboard import services
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    st = Store(home)
    ids = [train_model("digits", "logreg", TrainConfig(epochs=1, seed=s), store=st, name="same name").model_id
           for s in (0, 1)]
    at = _run("views/models.py")
    assert sorted(at.button_group(key="model_id").options) == sorted(f"same name ({mid})" for mid in ids)
    assert any(c.value.startswith("logreg on digits · ") for c in at.caption)  # the rest of the label
    monkeypatch.setattr(services, "PILLS", 1)
    at = _run("views/models.py")
    labels = list(at.selectbox(key="model_id").options)  # as the picker shows them
    assert len(set(labels)) == 2
    for mid in ids:
        label = next(x for x in labels if mid in x)
        assert label.startswith(f"same name ({mid}) · logreg on digits · ")  # the id first: narrow screens cut the end


def test_explain_page_runs_an_audit_and_shows_checked_attributions(home):
    model_id, at = _with_model(home, "digits", "seed_cnn", 2, "explain", "No explanation audit")
    at.number_input(key="exp_samples_image").set_value(20)
    next(b for b in at.button if b.label == "Explain and check").click().run()
    _finish(home, at, "exp_job", 240)
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in _charts(at)]
    assert any("Faithfulness" in t for t in titles)
    from fmcore.store import Store

    m = Store(home).latest_audits(model_id)["explain"]["result"]["metrics"]
    gallery = any("Inputs (label" in t for t in titles)
    assert gallery == m["sanity_passed"]  # attributions are drawn only when the method passed its sanity check
    assert any(m["verdict"] in x.value for x in [*at.success, *at.error, *at.warning])
    # each of the audit's warnings once; a failed sanity check (its first) only in the verdict's box
    warnings = Store(home).latest_audits(model_id)["explain"]["result"]["warnings"]
    shown = [w.value for w in at.warning]
    for i, w in enumerate(warnings):
        assert shown.count(plain(w)) == (0 if i == 0 and not m["sanity_passed"] else 1), (w, shown)
    if not m["sanity_passed"]:
        assert "sanity check" in warnings[0]
    # after an attack, "those the attack flipped" explains exactly the test rows it flipped
    from audits import run_stored_audit

    _, rob = run_stored_audit(Store(home), "robustness", model_id, eps=[0.3], samples=40)
    flipped = sorted({rob.params["rows"][e["index"]] for e in rob.tables["examples"]
                      if e["adv_pred"] != e["clean_pred"]})
    assert flipped  # PGD at 0.3 flips digits
    at.run()
    at.selectbox(key="exp_which").set_value("attacked")
    next(b for b in at.button if b.label == "Explain and check").click().run()
    _finish(home, at, "exp_job", 240)
    assert Store(home).latest_audits(model_id)["explain"]["result"]["params"]["rows"] == flipped


def test_explain_page_shows_a_prediction_in_its_units_and_recourse_by_group(home):
    model_id, at = _with_model(home, "german_credit", "mlp", 20, "explain", "No explanation audit")
    at.number_input(key="exp_samples_tabular").set_value(30)
    at.selectbox(key="exp_which").set_value("misclassified")
    next(b for b in at.button if b.label == "Explain and check").click().run()
    _finish(home, at, "exp_job", 240)
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in _charts(at)]
    from fmcore.store import Store

    r = Store(home).latest_audits(model_id)["explain"]["result"]
    assert r["params"]["select"] == "misclassified"
    assert any(t.startswith("Recourse by group") for t in titles)
    assert any(t.startswith(f"Row {r['tables']['rows'][0]['index']}: label") for t in titles) == r["metrics"][
        "sanity_passed"]
    assert any("Refused people with recourse" == x.label for x in at.metric)
    changes = next(d.value for d in at.dataframe if "change" in d.value.columns)
    assert not changes["change"].str.contains("sex:|age:|age_in_years:").any()  # sensitive and immutable stay


def test_explain_page_highlights_the_tokens_of_a_text_model(home, tiny_bert):
    from fmcore.finetune import FinetuneConfig, finetune
    from fmcore.store import Store

    cfg = FinetuneConfig(method="lora", epochs=1, max_train_samples=64, max_eval_samples=32, max_length=20,
                         base_path=tiny_bert, batch_size=16)
    model_id = finetune("tweets", cfg, store=Store(home)).model_id
    at = _run("views/explain.py")
    at.selectbox(key="exp_model").set_value(model_id).run()
    assert at.selectbox(key="exp_method_text").options == ["layer integrated gradients"]
    at.number_input(key="exp_samples_text").set_value(5)
    next(b for b in at.button if b.label == "Explain and check").click().run()
    _finish(home, at, "exp_job", 240)
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in _charts(at)]
    m = Store(home).latest_audits(model_id)["explain"]["result"]["metrics"]
    assert any(t.startswith("Token attributions") for t in titles) == m["sanity_passed"]


def test_compare_puts_an_imported_lightgbm_beside_an_fmaudit_mlp(home, tmp_path):
    import lightgbm
    from skops.io import dump

    from audits import run_stored_audit
    from fmcore.data import load_dataset
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    st = Store(home)
    ds = load_dataset("german_credit")
    X = ds["train"].X.select_dtypes("number")
    gbm = lightgbm.LGBMClassifier(n_estimators=40, num_leaves=8, verbose=-1, random_state=0).fit(X, ds["train"].y)
    dump(gbm, tmp_path / "gbm.skops")
    ids = [st.import_model(tmp_path / "gbm.skops", "german_credit", name="lightgbm").id,
           train_model("german_credit", "mlp", TrainConfig(epochs=5), store=st).model_id]
    for mid in ids:
        for audit, opts in (("performance", {"n_boot": 50}), ("fairness", {"sensitive": ["sex"]}),
                            ("calibration", {})):
            run_stored_audit(st, audit, mid, **opts)
    at = _run("views/compare.py")
    assert not at.exception
    table = _scorecard(at)
    assert any("lightgbm" in c for c in table.columns)
    dims = list(table["dimension"])
    assert "ranking" not in table.columns  # the same settings for both: every row ranked, no empty column
    for dim in ("accuracy", "demographic parity gap", "calibration error (ECE)"):
        row = table.iloc[dims.index(dim), 1:]
        assert all(str(v) not in ("", "None", "nan") for v in row), (dim, list(row))  # measured for both
    # one model's fairness audit measured again with other settings: that row says why it is not ranked
    run_stored_audit(st, "fairness", ids[0], sensitive=["sex"], min_group_size=10)
    table = _scorecard(_run("views/compare.py"))
    dims = list(table["dimension"])
    assert table["ranking"].iloc[dims.index("demographic parity gap")].startswith("not ranked: the fairness audits")
    assert table["ranking"].iloc[dims.index("accuracy")] == ""
    gbm_acc = (gbm.predict(ds["test"].X[X.columns]) == ds["test"].y).mean()
    assert f"{gbm_acc:.1%}" in " ".join(map(str, table.iloc[dims.index("accuracy"), 1:]))


def test_every_page_with_models_people_brought(home, tmp_path):
    """A store holding an imported scikit-learn pipeline, a file of predictions and an onnxruntime int8 variant:
    every page renders, each model on the Models page says which audits apply, and pages offer a model only where
    their audit applies."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from skops.io import dump

    from fmcore.compress import compress
    from fmcore.data import load_dataset
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    st = Store(home)
    ds = load_dataset("german_credit")
    X = ds["train"].X.select_dtypes("number")
    dump(LogisticRegression(max_iter=300).fit(X, ds["train"].y), tmp_path / "lr.skops")
    sk = st.import_model(tmp_path / "lr.skops", "german_credit", name="sk-logreg").id
    pd.DataFrame({"y": ["a", "b", "a", "b"] * 10, "p": ["a", "b", "b", "b"] * 10,
                  "g": ["x", "y"] * 20}).to_csv(tmp_path / "p.csv", index=False)
    preds = st.import_predictions(tmp_path / "p.csv", "y", "p", sensitive=["g"], name="preds").id
    cnn = train_model("digits", "seed_cnn", TrainConfig(epochs=1), store=st).model_id
    q = compress(st, cnn, "onnx_int8").model_id
    for page in ("home", "models", "robustness", "fairness", "ood", "explain", "privacy", "compression", "compare",
                 "report", "data", "jobs"):
        at = _run(f"views/{page}.py", opened={"models_tab": "Audits"} if page == "models" else None)
        if page == "models":
            for mid in (sk, preds, q):
                at.button_group(key="model_id").set_value(mid).run()
                assert not at.exception, (mid, [e.value for e in at.exception])
                applies = next(d.value for d in at.dataframe if "why not" in d.value.columns)
                assert applies["applies"].any()
        if page == "explain":
            offered = " ".join(at.selectbox(key="exp_model").options)  # labels hold the ids
            assert cnn in offered
            assert not any(mid in offered for mid in (sk, preds, q))  # no gradients: not offered
        if page == "fairness":
            assert preds in " ".join(at.selectbox(key="fair_model").options)


def test_safety_page_finds_a_planted_backdoor_retrains_without_it_and_certifies(home):
    """A digits CNN trained with a trigger on 15% of its rows: the Safety page's audit flags class 7 and draws the
    anomaly index and the recovered trigger; the remedy registers a child; certification draws its curves."""
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    st = Store(home)
    model_id = train_model("digits", "seed_cnn", TrainConfig(epochs=10, poison="backdoor", poison_rate=0.15,
                                                            poison_target="7"), store=st).model_id
    table = train_model("german_credit", "mlp", TrainConfig(epochs=1), store=st).model_id
    at = _run("views/safety.py")
    at.selectbox(key="safety_model").set_value(table).run()  # a table: certified, but no trigger search
    assert "Not for this model: it needs image inputs" in at.info[0].value
    at.selectbox(key="safety_model").set_value(model_id).run()
    assert "poisoned data on purpose" in at.warning[0].value
    at.number_input(key="bd_images").set_value(32)
    at.number_input(key="bd_steps").set_value(40)
    next(b for b in at.button if b.label == "Run backdoor audit").click().run()
    _finish(home, at, "safety_backdoor_job", 240)
    m = st.latest_audits(model_id)["backdoor"]["result"]["metrics"]
    assert m["detected"]
    assert m["suspected_target"] == "7"
    assert m["verdict"] in at.error[0].value
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in _charts(at)]
    assert any(t.startswith("Which class can be reached") for t in titles)
    assert any(t.startswith("Recovered trigger") for t in titles)
    assert any(x.label == "Precision / recall" for x in at.metric)
    next(b for b in at.button if b.label == "Retrain without the suspected rows").click().run()
    job = _finish(home, at, "safety_cleanse_job", 240)
    child = st.get_model(job.result["model_id"])
    assert child.parent_id == model_id
    assert len(child.derivation["excluded_rows"]) == m["rows_flagged"]
    assert any(job.result["model_id"] in s.value for s in at.success)
    at.number_input(key="cert_samples").set_value(10)
    at.number_input(key="cert_n").set_value(100)
    at.text_input(key="cert_radii").set_value("0, 0.25")
    next(b for b in at.button if b.label == "Certify").click().run()
    _finish(home, at, "safety_certified_job", 240)
    rows = st.latest_audits(model_id)["certified"]["result"]["tables"]["radii"]
    assert [r["radius"] for r in rows] == [0.0, 0.25]
    assert rows[0]["n"] == 10
    # the settings it was measured with, beside its results
    assert any(plain("sigma 0.25, samples 10, n 100") in c.value and c.value.startswith("Audit `")
               for c in at.caption), [c.value for c in at.caption]
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in _charts(at)]
    assert any(t.startswith("Randomized smoothing") for t in titles)


def test_every_page_with_a_language_model_in_the_store(home):
    """A small GPT among the models: every page renders; the Models page shows its perplexity and curves instead of a
    confusion matrix; audit pages do not offer it (none of their audits applies to a text generator)."""
    from fmcore.models import GPTConfig
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_language_model, train_model

    st = Store(home)
    lm = train_language_model("tweets", TrainConfig(epochs=1, max_train_samples=300, max_eval_samples=100),
                              GPTConfig(vocab=300, layers=1, width=32, heads=2, context=32), store=st).model_id
    cnn = train_model("digits", "seed_cnn", TrainConfig(epochs=1), store=st).model_id
    for page in ("home", "models", "robustness", "safety", "fairness", "ood", "explain", "privacy", "compression",
                 "compare", "report", "data", "jobs", "train", "generate", "language"):
        at = _run(f"views/{page}.py")
        if page == "generate":
            options = at.selectbox(key="gen_model").options
            assert len(options) == 1  # the language model only
            assert lm in options[0]
            at.number_input(key="gen_samples").set_value(2)
            next(b for b in at.button if b.label == "Generate").click().run()
            assert not at.exception, [e.value for e in at.exception]
            from fmcore.models import generate

            lm_model = st.load_classifier(lm)
            expected = [generate(lm_model.net, lm_model.tokenizer, "@united my flight", max_new_tokens=40, seed=s)
                        for s in (0, 1)]
            shown = [t.value for t in at.text]
            assert shown == ["@united my flight" + e["text"] for e in expected]
        if page == "models":
            at.button_group(key="model_id").set_value(lm).run()
            assert not at.exception, [e.value for e in at.exception]
            assert any(x.label == "Test perplexity" for x in at.metric)
        if page == "robustness":
            offered = " ".join(at.multiselect(key="rob_models").options)
            assert cnn in offered
            assert lm not in offered


def test_language_model_page_measures_memorisation_remedies_and_group_probes(home, tiny_bert):
    """A tiny GPT with canaries: the page's memorisation audit draws exposure against repetitions; the remedies
    retrain it with DP-SGD and on de-identified texts as children and draw exposure against perplexity; the probes,
    scored by a fine-tuned classifier, draw the groups and keep every continuation."""
    from fmcore.finetune import FinetuneConfig, finetune
    from fmcore.models import GPTConfig
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_language_model

    st = Store(home)
    lm = train_language_model("tweets", TrainConfig(epochs=1, max_train_samples=400, max_eval_samples=100),
                              GPTConfig(vocab=300, layers=1, width=32, heads=2, context=32), store=st,
                              canaries=[1, 8], canary_digits=3).model_id
    at = _run("views/language.py")
    assert "Run probes" not in [b.label for b in at.button]  # no sentiment classifier yet: the page says how
    assert any("No sentiment classifier yet" in i.value for i in at.info)
    at.number_input(key="lm_texts").set_value(20)
    next(b for b in at.button if b.label == "Run memorisation audit").click().run()
    _finish(home, at, "lm_memo_job", 240)
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in _charts(at)]
    assert "Does the model memorise what it saw more often?" in titles
    assert st.latest_audits(lm)["memorization"]["result"]["metrics"]["verdict"] in at.info[0].value
    at.text_input(key="lm_eps").set_value("8")
    next(b for b in at.button if b.label == "Retrain and audit").click().run()
    job = _finish(home, at, "lm_remedy_job", 300)
    assert [r["variant"] for r in job.result["rows"]] == ["as trained", "DP-SGD epsilon 8", "de-identified"]
    assert all(st.get_model(r["model_id"]).parent_id == lm for r in job.result["rows"][1:])
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in _charts(at)]
    assert "Each remedy: privacy gained, perplexity paid" in titles
    scorer = finetune("tweets", FinetuneConfig(method="full", epochs=1, max_train_samples=96, max_eval_samples=48,
                                               max_length=24, base_path=tiny_bert, batch_size=16), store=st).model_id
    at = _run("views/language.py")
    at.selectbox(key="lm_model").set_value(lm).run()
    at.number_input(key="lm_samples").set_value(2)
    next(b for b in at.button if b.label == "Run probes").click().run()
    _finish(home, at, "lm_probe_job", 240)
    result = st.latest_audits(lm)["probes"]["result"]
    assert result["params"]["sentiment_model"] == scorer
    assert len(result["tables"]["generations"]) == 4 * 2 * 2
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in _charts(at)]
    assert "Continuations by group word" in titles
    assert any(x.label == "Sentiment gap" for x in at.metric)
    next(b for b in at.button if b.label == "Compress and audit").click().run()
    _finish(home, at, "lm_compress_job", 240)
    variants = st.latest_audits(lm)["compression"]["result"]["tables"]["variants"]
    assert [v["method"] for v in variants] == ["int8", "prune:0.5"]
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in _charts(at)]
    assert any(t.startswith("Compression: perplexity") for t in titles)


def test_train_page_trains_a_language_model_with_canaries(home):
    """Model "Small GPT" on tweets: the form grows the language model's sizes and canaries; the job registers a GPT
    with the canaries planted and the page reports its perplexity."""
    from fmcore.store import Store

    at = _run("views/train.py")
    at.selectbox(key="train_dataset").set_value("tweets").run()
    at.selectbox(key="train_model").set_value("gpt").run()
    at.number_input(key="train_epochs").set_value(1)
    at.number_input(key="train_gpt_layers").set_value(1)
    at.number_input(key="train_gpt_width").set_value(32)
    at.number_input(key="train_gpt_heads").set_value(2)
    at.number_input(key="train_gpt_vocab").set_value(300)
    at.text_input(key="train_gpt_canaries").set_value("1,8")
    at.number_input(key="train_gpt_digits").set_value(3)
    next(n for n in at.number_input if n.label.startswith("Max training examples")).set_value(500)
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception, [e.value for e in at.exception]
    job = _finish(home, at, "train_job", 240)
    rec = Store(home).get_model(job.result["model_id"])
    assert rec.model == "gpt"
    assert [c["repetitions"] for c in rec.derivation["canaries"]] == [1, 8]
    assert rec.config["gpt"]["width"] == 32
    assert any(f"test perplexity {rec.metrics['test_perplexity']:.1f}" in s.value for s in at.success)
    at.text_input(key="train_gpt_canaries").set_value("1,x")
    next(b for b in at.button if b.label == "Start training").click().run()
    assert "numbers separated by commas" in at.error[0].value


def test_review_page_records_findings_and_refuses_a_sign_off_it_should(home):
    """Local mode (an auditor): the page lists the failed check as a high finding, records a comment and a risk
    acceptance in the trail, refuses the sign-off (role), and shows what changed against the parent."""
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    st = Store(home)
    parent = train_model("german_credit", "mlp", TrainConfig(epochs=1), store=st).model_id
    child = train_model("german_credit", "mlp", TrainConfig(epochs=2), store=st, parent_id=parent).model_id
    from audits import run_stored_audit

    accuracy = run_stored_audit(st, "performance", child, n_boot=50)[1].metrics["accuracy"]
    at = _run("views/review.py")
    at.selectbox(key="rev_policy").set_value("eu_ai_act_high_risk.yaml").run()
    at.selectbox(key="rev_model").set_value(child).run()
    assert not at.exception, [e.value for e in at.exception]
    # findings in words, each number in its kind: the rule as the glossary says it, what was measured
    table = next(t.value for t in at.dataframe if "owner" in t.value.columns)
    rows = {text.split(":", 1)[0]: text for text in table["finding"]}
    assert rows["robustness"] == ("robustness: accuracy under attack at eps 0.1 ≥ 50.0%; not measured: no audit "
                                  "measured it"), rows
    if accuracy < 0.8:
        assert rows["accuracy"] == f"accuracy: accuracy ≥ 80.0%; measured {pct(accuracy)}", rows
    else:  # passed: in the passed checks' table, in the same words
        passed = next(t.value for t in at.dataframe if "rule" in t.value.columns)
        assert passed.set_index("check").loc["accuracy", "measured"] == pct(accuracy)
    assert not any(">=" in text or "0.8" in text.split(";")[0] for text in rows.values()), rows
    reasons = " ".join(i.value for i in at.info)
    assert "has the role auditor" in reasons
    assert "no signing key" in reasons  # the button says why it is disabled
    assert "no current risk acceptance" in reasons
    assert next(b for b in at.button if b.label == "Approve and sign").disabled
    findings = at.selectbox(key="rev_target").options
    assert findings
    first = at.selectbox(key="rev_target").value
    at.radio(key="rev_action").set_value("accept the risk")
    at.text_area(key="rev_text").set_value("a demonstration model, not deployed")
    next(b for b in at.button if b.label == "Record").click().run()
    assert not at.exception, [e.value for e in at.exception]
    events = st.events_like("review.%")
    assert [e["action"] for e in events] == ["review.status"]
    assert events[0]["subject"] == first
    assert events[0]["details"]["status"] == "risk_accepted"
    assert not at.error
    table = next(t.value for t in at.dataframe if "owner" in t.value.columns)  # in words: no "None", no "_"
    assert "risk accepted" in set(table["status"])
    assert set(table["owner"]) == {"unassigned"}
    assert "derives from" not in " ".join(c.value for c in at.caption)  # the diff waits for its button
    next(b for b in at.button if b.label == "Show what changed").click().run()
    assert "derives from" in " ".join(c.value for c in at.caption)


def test_models_page_says_when_a_models_files_changed_on_disk(home):
    """The Models page checks the model's files on every run (remembering a file's hash until the file changes:
    any write changes its ctime), so a file changed after the page was first drawn is named at the next run."""
    from pathlib import Path

    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    st = Store(home)
    model_id = train_model("german_credit", "logreg", TrainConfig(epochs=1), store=st).model_id
    at = _run("views/models.py")
    assert not any("not the ones it was registered with" in e.value for e in at.error)
    weights = next(Path(st.get_model(model_id).path).glob("*.safetensors"))
    with weights.open("ab") as f:
        f.write(b"\0")
    at.run()
    assert any("not the ones it was registered with" in e.value and plain(weights.name) in e.value
               for e in at.error), [e.value for e in at.error]
