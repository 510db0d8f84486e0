"""Models people bring: a scikit-learn pipeline saved with skops, its ONNX export, LightGBM; built here, imported
from the command line, predicting what their own framework predicts, audited where they can be and told why not
where they cannot."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from fmcore.data import load_dataset
from fmcore.store import Store


def _cli(home, *argv):
    env = {**os.environ, "FMAUDIT_HOME": str(home), "FMAUDIT_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "fmaudit", *argv], capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def german():
    return load_dataset("german_credit")


def _pipeline(ds):
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X = ds["train"].X
    categorical = [c for c in X.columns if X[c].dtype == object or str(X[c].dtype) in ("string", "str")]
    numeric = [c for c in X.columns if c not in categorical]
    pipe = Pipeline([("prep", ColumnTransformer([("num", StandardScaler(), numeric),
                                                 ("cat", OneHotEncoder(handle_unknown="ignore"), categorical)])),
                     ("clf", LogisticRegression(max_iter=500))])
    return pipe.fit(X, np.asarray(ds.spec.classes)[ds["train"].y]), numeric, categorical


@pytest.fixture(scope="module")
def pipeline_files(german, tmp_path_factory):
    from skops.io import dump

    folder = tmp_path_factory.mktemp("bring")
    pipe, numeric, categorical = _pipeline(german)
    dump(pipe, folder / "credit.skops")
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    types = [(c, FloatTensorType([None, 1])) for c in numeric] + [(c, StringTensorType([None, 1])) for c in categorical]
    onx = to_onnx(pipe, initial_types=types, options={"zipmap": False}, target_opset=17)
    (folder / "credit.onnx").write_bytes(onx.SerializeToString())
    return pipe, folder


def test_a_skops_pipeline_predicts_what_scikit_learn_predicts_and_is_audited(pipeline_files, german, tmp_path):
    pipe, folder = pipeline_files
    home = tmp_path / "home"
    proc = _cli(home, "import-model", str(folder / "credit.skops"), "--dataset", "german_credit", "--json")
    assert proc.returncode == 0, proc.stderr
    mid = json.loads(proc.stdout)["model_id"]
    st = Store(home)
    clf = st.load_classifier(mid)
    test = german["test"]
    expected = pipe.predict_proba(test.X)  # scikit-learn's own columns: its classes_ are sorted names
    order = [german.spec.classes.index(c) for c in pipe.classes_]
    np.testing.assert_allclose(clf.predict_proba(test.X)[:, order], expected, atol=1e-12)
    record = st.get_model(mid)
    assert record.derivation["format"] == "skops"
    assert record.sha256 == __import__("hashlib").sha256((folder / "credit.skops").read_bytes()).hexdigest()
    # performance and fairness equal our own computation on scikit-learn's predictions
    from audits import run_stored_audit

    _, perf = run_stored_audit(st, "performance", mid, n_boot=50)
    ours = np.asarray(german.spec.classes)[test.y] == pipe.predict(test.X)
    assert perf.metrics["accuracy"] == pytest.approx(ours.mean())
    _, fair = run_stored_audit(st, "fairness", mid, sensitive=["sex"])
    frame = pd.DataFrame({"sex": test.groups["sex"].astype(str), "good": pipe.predict(test.X) == "good"})
    rates = frame.groupby("sex")["good"].mean()
    gap = next(d for d in fair.tables["disparities"] if d["grouping"] == "sex")
    assert gap["demographic_parity_difference"] == pytest.approx(rates.max() - rates.min())
    # what does not apply is said, with the reason, and nothing runs
    shown = json.loads(_cli(home, "show", mid, "--json").stdout)
    why = {a["audit"]: a["reason"] for a in shown["applicable_audits"]}
    assert why["performance"] is None
    assert why["fairness"] is None
    assert why["calibration"] is None
    assert why["robustness"] is None  # black-box attacks only, and said so
    assert "black-box" in next(a["note"] for a in shown["applicable_audits"] if a["audit"] == "robustness")
    assert "trained on" in why["privacy"]
    # robustness through the model's predictions only: HopSkipJump on the numeric columns, categories fixed
    rob = _cli(home, "audit", "robustness", "--model", mid, "--attack", "hopskipjump", "--eps", "0.5,2", "--samples",
               "10", "--steps", "3", "--json")
    assert rob.returncode == 0, rob.stderr
    out = json.loads(rob.stdout)
    assert out["access"] == "black-box"
    assert "Black-box attack (HopSkipJump)" in out["verdict"]
    accs = [row["robust_accuracy"] for row in out["sweep"]]
    assert accs[-1] <= accs[0] <= out["clean_accuracy"]
    assert accs[-1] < out["clean_accuracy"]  # it finds changes that flip some decisions
    white = _cli(home, "audit", "robustness", "--model", mid, "--attack", "pgd")
    assert white.returncode == 2
    assert "use a black-box attack" in white.stderr
    refused = _cli(home, "audit", "explain", "--model", mid, "--json")
    assert refused.returncode == 2
    assert "does not apply to this model" in refused.stderr
    # exported back in its own format, byte for byte
    out = tmp_path / "export"
    st.export_model(mid, out)
    assert (out / "model.skops").read_bytes() == (folder / "credit.skops").read_bytes()


def test_the_onnx_export_of_the_pipeline_predicts_the_same(pipeline_files, german, tmp_path):
    pipe, folder = pipeline_files
    home = tmp_path / "home"
    proc = _cli(home, "import-model", str(folder / "credit.onnx"), "--dataset", "german_credit", "--json")
    assert proc.returncode == 0, proc.stderr
    clf = Store(home).load_classifier(json.loads(proc.stdout)["model_id"])
    order = [german.spec.classes.index(c) for c in pipe.classes_]
    np.testing.assert_allclose(clf.predict_proba(german["test"].X)[:, order], pipe.predict_proba(german["test"].X),
                               atol=1e-5)


class Sneaky:
    """A class outside every trusted list: loading it would run its code (it leaves a file where
    ``SNEAKY_MARKER`` says, in whichever process loads it)."""

    def __init__(self):
        self.payload = "state that skops restores through __setstate__"

    def __setstate__(self, state):
        import os
        from pathlib import Path

        Path(os.environ.get("SNEAKY_MARKER", os.devnull)).write_text("ran")
        self.__dict__.update(state)


def test_a_skops_file_with_an_untrusted_type_is_refused_before_loading(german, tmp_path):
    from sklearn.dummy import DummyClassifier
    from skops.io import dump

    model = DummyClassifier().fit(german["train"].X[["duration_in_month"]], german["train"].y)
    model.extra = Sneaky()
    dump(model, tmp_path / "sneaky.skops")
    marker = tmp_path / "sneaky-ran"
    os.environ["SNEAKY_MARKER"] = str(marker)  # the CLI's process inherits it
    try:
        proc = _cli(tmp_path / "home", "import-model", str(tmp_path / "sneaky.skops"), "--dataset", "german_credit")
    finally:
        del os.environ["SNEAKY_MARKER"]
    assert proc.returncode == 2
    assert "Refused before loading" in proc.stderr
    assert "test_external.Sneaky" in proc.stderr
    assert not marker.exists()  # its code never ran
    assert Store(tmp_path / "home").list_models() == []  # nothing registered
    assert not any((tmp_path / "home" / "artifacts" / "models").iterdir())


def test_lightgbm_through_skops_predicts_what_lightgbm_predicts(german, tmp_path):
    import lightgbm
    from skops.io import dump

    X = german["train"].X.select_dtypes("number")
    model = lightgbm.LGBMClassifier(n_estimators=30, num_leaves=8, verbose=-1, random_state=0).fit(
        X, german["train"].y)
    dump(model, tmp_path / "gbm.skops")
    st = Store(tmp_path / "home")
    record = st.import_model(tmp_path / "gbm.skops", "german_credit")
    assert "lightgbm.sklearn.LGBMClassifier" in record.derivation["trusted_types"]
    test = german["test"].X
    np.testing.assert_allclose(st.load_classifier(record.id).predict_proba(test), model.predict_proba(test[X.columns]),
                               atol=1e-12)


def test_a_torch_model_exported_to_onnx_predicts_what_torch_predicts(tmp_path):
    import torch

    from fmcore.train import TrainConfig, train_model

    st = Store(tmp_path / "home")
    mid = train_model("digits", "seed_cnn", TrainConfig(epochs=1), store=st).model_id
    clf = st.load_classifier(mid)
    test = load_dataset("digits")["test"].X
    x = torch.as_tensor(test[:1])
    torch.onnx.export(clf.net, (x,), str(tmp_path / "cnn.onnx"), input_names=["pixels"], output_names=["logits"],
                      dynamic_axes={"pixels": {0: "n"}, "logits": {0: "n"}}, dynamo=False)
    record = st.import_model(tmp_path / "cnn.onnx", "digits")
    np.testing.assert_allclose(st.load_classifier(record.id).predict_proba(test), clf.predict_proba(test), atol=1e-5)
    assert record.metrics["accuracy"] == pytest.approx(st.get_model(mid).metrics["accuracy"])


# -- a file of predictions ------------------------------------------------------------------------------------------
def _predictions_frame(n: int = 400):
    rng = np.random.default_rng(3)
    sex = rng.choice(["F", "M", None], n, p=[0.45, 0.45, 0.1])
    region = rng.choice(["north", "south", "east"], n)
    label = rng.choice(["approve", "deny"], n)
    score = np.clip(rng.normal(0.55, 0.2, n) - 0.1 * (sex == "F"), 0, 1).round(4)
    return pd.DataFrame({"id": np.arange(n) + 1000, "outcome": label, "score": score,
                         "decision": np.where(score >= 0.5, "deny", "approve"), "sex": sex, "region": region})


def test_a_predictions_file_is_audited_on_all_its_rows_and_equals_pandas(tmp_path):
    frame = _predictions_frame()
    frame.to_csv(tmp_path / "preds.csv", index=False)
    home = tmp_path / "home"
    proc = _cli(home, "import-predictions", str(tmp_path / "preds.csv"), "--label", "outcome", "--prediction",
                "decision", "--score", "score", "--positive", "deny", "--sensitive", "sex,region", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["rows"] == len(frame)
    mid = out["model_id"]
    st = Store(home)
    from audits import run_stored_audit

    _, perf = run_stored_audit(st, "performance", mid, n_boot=50)
    assert perf.metrics["accuracy"] == pytest.approx((frame["outcome"] == frame["decision"]).mean())
    _, fair = run_stored_audit(st, "fairness", mid, sensitive=["sex"], min_group_size=10, positive_class="deny")
    by_sex = frame.assign(sex=frame["sex"].fillna("(missing)"), deny=frame["decision"] == "deny").groupby("sex")
    rates = by_sex["deny"].mean()
    got = {g["group"]: g["selection_rate"] for g in fair.tables["groups"] if g["grouping"] == "sex"}
    assert got == pytest.approx(rates.to_dict())
    counts = {g["group"]: g["count"] for g in fair.tables["groups"] if g["grouping"] == "sex"}
    assert sum(counts.values()) == len(frame)  # every row, missing sex included
    _, cal = run_stored_audit(st, "calibration", mid, sensitive=["sex"])
    from audits.ood import expected_calibration_error

    proba = np.stack([1 - frame["score"], frame["score"]], 1)
    y = (frame["outcome"] == "deny").to_numpy().astype(int)
    assert cal.metrics["ece"] == pytest.approx(expected_calibration_error(proba, y, 15))
    assert cal.metrics["n"] == len(frame)
    # what it cannot have is said: no inputs to perturb, no weights, no training rows
    shown = json.loads(_cli(home, "show", mid, "--json").stdout)
    why = {a["audit"]: a["reason"] for a in shown["applicable_audits"]}
    assert why["performance"] is None
    assert why["fairness"] is None
    assert why["calibration"] is None
    assert "new inputs" in why["corruption"]
    assert "new inputs" in why["robustness"]
    refused = _cli(home, "audit", "robustness", "--model", mid)
    assert refused.returncode == 2
    assert "does not apply" in refused.stderr
    # and the policy report is produced
    report = _cli(home, "report", "--model", mid, "--policy", "policies/eu_ai_act_high_risk.yaml", "--out",
                  str(tmp_path / "reports"))
    assert report.returncode in (0, 1, 3), report.stderr
    assert list((tmp_path / "reports").rglob("*.html"))


def test_a_predictions_file_with_problems_is_refused_with_all_of_them(tmp_path):
    frame = _predictions_frame(50)
    frame.loc[3, "outcome"] = None
    frame.loc[7, "decision"] = "approve"  # scored 0.9 but approved: not a threshold of the score
    frame.loc[7, "score"] = 0.9
    frame.to_csv(tmp_path / "bad.csv", index=False)
    proc = _cli(tmp_path / "home", "import-predictions", str(tmp_path / "bad.csv"), "--label", "outcome",
                "--prediction", "decision", "--sensitive", "sex,nope")
    assert proc.returncode == 2
    assert "no sensitive column 'nope'" in proc.stderr
    frame.loc[3, "outcome"] = "deny"
    frame.to_csv(tmp_path / "bad.csv", index=False)
    proc = _cli(tmp_path / "home", "import-predictions", str(tmp_path / "bad.csv"), "--label", "outcome",
                "--prediction", "decision", "--score", "score", "--positive", "deny")
    assert proc.returncode == 2
    assert "not a threshold of the scores" in proc.stderr


# -- any Hugging Face classifier ------------------------------------------------------------------------------------
def _tiny_hf(folder, kind: str, head: bool = True):
    import torch
    from transformers import (
        AutoTokenizer,
        DistilBertConfig,
        DistilBertForSequenceClassification,
        RobertaConfig,
        RobertaForSequenceClassification,
    )

    from fmcore.models import minilm_path

    tok = AutoTokenizer.from_pretrained(minilm_path())
    torch.manual_seed(0)
    if kind == "distilbert":
        model = DistilBertForSequenceClassification(DistilBertConfig(
            vocab_size=tok.vocab_size, dim=32, n_layers=2, n_heads=2, hidden_dim=64, num_labels=3))
    else:
        model = RobertaForSequenceClassification(RobertaConfig(
            vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
            intermediate_size=64, max_position_embeddings=80, num_labels=3, pad_token_id=tok.pad_token_id))
    if head:
        model.save_pretrained(folder)
    else:  # the encoder alone: what a folder of a base model holds
        model.base_model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return model.eval(), tok


@pytest.mark.parametrize("kind", ["distilbert", "roberta"])
def test_a_hugging_face_classifier_of_another_architecture_predicts_the_same(kind, tmp_path):
    import torch

    model, tok = _tiny_hf(tmp_path / kind, kind)
    st = Store(tmp_path / "home")
    record = st.import_model(tmp_path / kind, "tweets")
    texts = list(load_dataset("tweets")["test"].X[:12])
    batch = tok(texts, padding="max_length", truncation=True, max_length=64, return_tensors="pt")
    with torch.no_grad():
        expected = model(**batch).logits.softmax(-1).numpy()
    np.testing.assert_allclose(st.load_classifier(record.id).predict_proba(texts), expected, atol=1e-5)


def test_a_transformers_folder_without_its_classifier_head_is_refused(tmp_path):
    _tiny_hf(tmp_path / "base", "distilbert", head=False)
    proc = _cli(tmp_path / "home", "import-model", str(tmp_path / "base"), "--dataset", "tweets")
    assert proc.returncode == 2
    assert "would start them at random" in proc.stderr


def test_a_messy_predictions_file(tmp_path):
    """Latin-1 text in a group column, a pandas index, a constant column, a tiny group, missing groups: imported,
    every row counted in the fairness audit, equal to pandas."""
    frame = _predictions_frame(300)
    frame["región"] = np.where(np.arange(300) % 3 == 0, "Andalucía", "Cataluña")
    frame.loc[:2, "región"] = "Ceuta"  # three people
    frame["constant"] = "same"
    frame.to_csv(tmp_path / "messy.csv", encoding="latin-1")  # with its index column
    st = Store(tmp_path / "home")
    record = st.import_predictions(tmp_path / "messy.csv", "outcome", "decision", sensitive=["región", "sex"])
    from audits import run_stored_audit

    _, fair = run_stored_audit(st, "fairness", record.id, sensitive=["región"], positive_class="deny")
    got = {g["group"]: (g["count"], g["selection_rate"]) for g in fair.tables["groups"] if g["grouping"] == "región"}
    expected = frame.assign(deny=frame["decision"] == "deny").groupby("región")["deny"].agg(["count", "mean"])
    assert set(got) == {"Andalucía", "Cataluña", "Ceuta"}
    for g, (n, rate) in got.items():
        assert n == expected.loc[g, "count"]
        assert rate == pytest.approx(expected.loc[g, "mean"])
    assert sum(n for n, _ in got.values()) == len(frame)
    ceuta = next(g for g in fair.tables["groups"] if g["grouping"] == "región" and g["group"] == "Ceuta")
    assert ceuta["too_small"]  # shown, but left out of the gaps
    assert any("Ceuta" in w for w in fair.warnings)
