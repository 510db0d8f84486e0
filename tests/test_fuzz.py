"""Property-based fuzzing (hypothesis): the CSV loader, the policy parser and the report verifier either
accept their input or refuse it with fmaudit's own error, never crash, and never change the store on a
refusal."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audits.evidence import PolicyError, parse_policy, verify_report
from fmcore.data import load_csv
from fmcore.errors import FmauditError

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

cells = st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
                  st.text(max_size=12), st.sampled_from(["", "NA", "=1+1", "yes", "no", "é", "\x00"]))


@FUZZ
@given(rows=st.lists(st.fixed_dictionaries({"a": cells, "b": cells, "label": cells, "grp": cells}), max_size=60),
       raw=st.binary(max_size=300), use_raw=st.booleans())
def test_csv_loader_accepts_or_refuses_cleanly(tmp_path, rows, raw, use_raw):
    import pandas as pd

    path = tmp_path / "f.csv"
    if use_raw:
        path.write_bytes(raw)
    else:
        pd.DataFrame(rows, columns=["a", "b", "label", "grp"]).to_csv(path, index=False)
    try:
        ds = load_csv(path, "label", ("grp",), min_group_size=1)
    except FmauditError:
        return  # refused with a reason
    assert 2 <= ds.num_classes <= 20
    assert sum(len(ds[s]) for s in ("train", "val", "test")) >= 20


@FUZZ
@given(rows=st.lists(st.fixed_dictionaries({"x": cells, "y": st.sampled_from(["p", "q", ""])}), max_size=40))
def test_store_is_unchanged_when_an_upload_is_refused(tmp_path, rows):
    import pandas as pd

    from fmcore.store import Store

    store = Store(tmp_path / "home")
    before = (store.list_datasets(), sorted(p.name for p in store.data_dir.iterdir()), store.verify_trail()["events"])
    path = tmp_path / "u.csv"
    pd.DataFrame(rows, columns=["x", "y"]).to_csv(path, index=False)
    name = f"u{abs(hash(path.read_bytes())) % 10**8}"
    try:
        store.add_dataset(path, "y", name=name)
    except FmauditError:
        after = (store.list_datasets(), sorted(p.name for p in store.data_dir.iterdir()),
                 store.verify_trail()["events"])
        assert after == before
    else:
        assert store.get_dataset(name) is not None
        assert store.verify_trail()["ok"]


yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10))
check = st.dictionaries(st.sampled_from(["id", "metric", "op", "threshold", "requirement", "description", "x"]),
                        st.one_of(yaml_scalars, st.sampled_from(["performance.accuracy", ">=", "<", "fairness.x"])),
                        max_size=7)


@FUZZ
@given(doc=st.one_of(st.text(max_size=200), st.builds(lambda c, n: json.dumps({"name": n, "checks": c}),
                                                       st.lists(check, max_size=4), st.text(max_size=8))))
def test_policy_parser_accepts_or_refuses_cleanly(doc):
    try:
        policy = parse_policy(doc, "fuzz.yaml")
    except PolicyError:
        return
    assert policy["checks"]
    for c in policy["checks"]:
        assert {"id", "metric", "op", "threshold", "requirement"} <= set(c)


@pytest.fixture(scope="module")
def valid_report(tmp_path_factory):
    from audits import run_audit
    from audits.evidence import build_report, write_reports
    from fmcore.data import load_dataset
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    st_ = Store(tmp_path_factory.mktemp("fuzz-home"))
    mid = train_model("german_credit", "logreg", TrainConfig(epochs=1), store=st_).model_id
    r = run_audit("performance", st_.load_classifier(mid), load_dataset("german_credit"), mid, n_boot=20)
    st_.add_audit(mid, "performance", r.params, r.to_dict())
    return write_reports(build_report(st_, mid), tmp_path_factory.mktemp("fuzz-out"))["json"].read_bytes()


@FUZZ
@given(position=st.integers(0, 10**9), byte=st.integers(0, 255))
def test_report_verifier_catches_every_byte_change(tmp_path, valid_report, position, byte):
    data = bytearray(valid_report)
    i = position % len(data)
    if data[i] == byte:
        return
    data[i] = byte
    path = tmp_path / "r.json"
    path.write_bytes(bytes(data))
    try:
        result = verify_report(path)
    except (FmauditError, UnicodeDecodeError):
        return  # unreadable: refused
    if result["ok"]:
        # only whitespace between JSON tokens may change without changing the content
        assert chr(valid_report[i]) in " \n"
        assert chr(byte) in " \n\t\r"
