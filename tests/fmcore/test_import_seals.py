"""What comes in from outside (issue 34, 8): ordinary scikit-learn pipelines import without ceremony, trusting more is
an approver's recorded decision and never extends to types that run code, predictions are matched to labels by
value, and malformed files are refused with a message (exit 2), never a traceback."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from tests.audits.test_seals import cli


def _pipeline(estimator, X):
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = list(X.select_dtypes("number").columns)
    other = [c for c in X.columns if c not in numeric]
    encode = make_column_transformer((make_pipeline(SimpleImputer(), StandardScaler()), numeric),
                                     (OneHotEncoder(handle_unknown="ignore"), other))
    return make_pipeline(encode, estimator)


@pytest.mark.parametrize("kind", ["logreg", "tree", "forest", "boosting", "hist_boosting"])
def test_an_ordinary_scikit_learn_pipeline_imports_without_trusting_anything(store, tmp_path, kind):
    from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier
    from skops.io import dump

    from fmcore.data import load_dataset

    estimator = {"logreg": LogisticRegression(max_iter=500), "tree": DecisionTreeClassifier(max_depth=4),
                 "forest": RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0),
                 "boosting": GradientBoostingClassifier(n_estimators=5, random_state=0),
                 "hist_boosting": HistGradientBoostingClassifier(max_iter=5)}[kind]
    ds = load_dataset("german_credit")
    X = ds["train"].X
    model = _pipeline(estimator, X).fit(X, ds["train"].y)
    dump(model, tmp_path / "m.skops")
    record = store.import_model(tmp_path / "m.skops", "german_credit")
    expected = float((model.predict(ds["test"].X) == ds["test"].y).mean())
    assert record.metrics["accuracy"] == pytest.approx(expected)
    assert not [e for e in store.events_like("model.trust")]  # nothing beyond fmaudit's list was trusted


def _function_pipeline(tmp_path, func):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer
    from skops.io import dump

    from fmcore.data import load_dataset

    ds = load_dataset("german_credit")
    X = ds["train"].X.select_dtypes("number")
    model = make_pipeline(FunctionTransformer(func=func), LogisticRegression(max_iter=500))
    if func is not os.system:
        model.fit(X, ds["train"].y)
    dump(model, tmp_path / "f.skops")
    return tmp_path / "f.skops"


def test_trusting_a_type_is_an_approvers_recorded_decision_and_code_is_never_trusted(tmp_path, monkeypatch, capsys):
    from fmcore.models._external import UntrustedModelError
    from fmcore.security import RoleRefused, add_user
    from fmcore.store import Store

    home = tmp_path / "home"
    add_user("alice", "a long enough password", "auditor", home)
    add_user("carol", "a long enough password", "approver", home)
    st = Store(home)
    path = _function_pipeline(tmp_path, np.nan_to_num)
    monkeypatch.setenv("FMAUDIT_USER", "alice")
    with pytest.raises(UntrustedModelError, match=r"numpy.nan_to_num.*\(--trust TYPE\)"):
        st.import_model(path, "german_credit")
    with pytest.raises(UntrustedModelError, match="the box 'Trust these types'"):  # the dashboard names its own control
        st.import_model(path, "german_credit", control="the box 'Trust these types' above")
    with pytest.raises(RoleRefused, match="needs the role approver"):
        st.import_model(path, "german_credit", trust=("numpy.nan_to_num",))
    assert st.list_models() == []
    monkeypatch.setenv("FMAUDIT_USER", "carol")
    record = st.import_model(path, "german_credit", trust=("numpy.nan_to_num",))
    trusted = st.events_like("model.trust")
    assert [(e["actor"], e["details"]["types"]) for e in trusted] == [("carol", ["numpy.nan_to_num"])]
    assert record.derivation["trusted_types"] == ["numpy.nan_to_num"]
    # a type that runs code: refused for everyone, before anything is loaded
    evil = _function_pipeline(tmp_path / "", os.system)
    for trust in ((), ("posix.system",), ("builtins.eval",), ("importlib.import_module",), ("subprocess.Popen",)):
        with pytest.raises((UntrustedModelError, Exception), match="run code"):
            st.import_model(evil, "german_credit", trust=trust)
    code, _, err = cli(capsys, home, "import-model", str(evil), "--dataset", "german_credit", "--trust",
                       "posix.system")
    assert code == 2
    assert "never trusts" in err
    assert len(st.list_models()) == 1


def test_predictions_written_as_floats_match_integer_labels_and_unmatched_ones_are_refused(store, tmp_path):
    import pandas as pd

    from fmcore.errors import DataValidationError

    y = np.array([1, 0, 1, 1, 0, 1, 0, 1] * 10)
    p = y.copy()
    p[:8] = 1 - p[:8]  # 8 of 80 wrong
    pd.DataFrame({"y": y, "p": p.astype(float)}).to_csv(tmp_path / "f.csv", index=False)
    record = store.import_predictions(tmp_path / "f.csv", "y", "p")
    assert record.metrics["accuracy"] == pytest.approx(0.9)
    assert len(json.loads((__import__("pathlib").Path(record.path) / "fmaudit.json").read_text())["classes"]) == 2
    pd.DataFrame({"y": y, "p": np.where(p == 1, "yes", "no")}).to_csv(tmp_path / "g.csv", index=False)
    with pytest.raises(DataValidationError, match="share no class, so they cannot be matched"):
        store.import_predictions(tmp_path / "g.csv", "y", "p")


def test_malformed_model_files_exit_2_with_a_message(tmp_path, capsys, tiny_bert):
    import shutil

    import onnx
    from onnx import TensorProto, helper, numpy_helper

    home = tmp_path / "home"
    # an ONNX graph whose ConstantOfShape asks for 4 TB: refused before onnxruntime runs it
    shape = numpy_helper.from_array(np.array([1_000_000, 1_000_000], dtype=np.int64), "shape")
    nodes = [helper.make_node("ConstantOfShape", ["shape"], ["big"],
                              value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.0])),
             helper.make_node("ReduceSum", ["big"], ["s"], keepdims=0),
             helper.make_node("Add", ["X", "s"], ["Y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 20])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["N", 20])], initializer=[shape])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "big.onnx")
    code, _, err = cli(capsys, home, "import-model", str(tmp_path / "big.onnx"), "--dataset", "german_credit")
    assert code == 2
    assert "Refused before running" in err
    assert "'big'" in err
    # a config.json holding NaN
    from fmcore.data import load_dataset
    from fmcore.models import build_classifier

    folder = tmp_path / "nan"
    folder.mkdir()
    build_classifier("logreg", load_dataset("german_credit")).save(folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps(config).replace("{", '{"scale": NaN, ', 1))
    code, _, err = cli(capsys, home, "import-model", str(folder), "--dataset", "german_credit")
    assert code == 2
    assert "NaN is not a JSON number" in err
    # a malformed tokenizer.json in a Hugging Face folder
    hf = tmp_path / "hf"
    shutil.copytree(tiny_bert, hf)
    (hf / "tokenizer.json").write_text('{"version": "1.0", "model": {"type": "nonsense"}}')
    code, _, err = cli(capsys, home, "import-model", str(hf), "--dataset", "tweets")
    assert code == 2
    assert "tokenizer" in err.lower()
    assert "Traceback" not in err


def test_a_predictions_files_baseline_is_its_own_majority_class(store, tmp_path):
    """70% of the labels are "yes": the baseline is always answering "yes", 70%, in the registry and the audit."""
    import pandas as pd

    from audits import run_stored_audit

    labels = np.array(["yes"] * 70 + ["no"] * 30)
    pd.DataFrame({"y": labels, "p": np.where(np.arange(100) % 10 == 0, "no", "yes")}).to_csv(tmp_path / "b.csv",
                                                                                             index=False)
    record = store.import_predictions(tmp_path / "b.csv", "y", "p")
    baseline = record.metrics["majority_baseline"]
    assert baseline["class"] == "yes"
    assert baseline["accuracy"] == pytest.approx(0.7)
    assert baseline["source"] == "tested labels"
    _, audit = run_stored_audit(store, "performance", record.id, n_boot=20)
    assert audit.metrics["majority_baseline_accuracy"] == pytest.approx(0.7)
