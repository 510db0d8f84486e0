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


ints = st.one_of(st.integers(-3, 40), st.integers(-2**70, 2**70), st.booleans(), st.none(), st.text(max_size=3))
tensor_info = st.fixed_dictionaries({}, optional={
    "dtype": st.sampled_from(["F32", "I64", "F16", "X9", "", 3]),
    "shape": st.one_of(st.lists(ints, max_size=3), ints),
    "data_offsets": st.one_of(st.lists(ints, min_size=0, max_size=3), ints)})


@FUZZ
@given(header=st.one_of(st.dictionaries(st.text(max_size=6), tensor_info, max_size=3),
                        st.lists(st.integers(), max_size=3), st.text(max_size=20)),
       declared=st.one_of(st.none(), st.integers(0, 2**64 - 1)), payload=st.binary(max_size=64),
       raw=st.one_of(st.none(), st.binary(max_size=40)))
def test_safetensors_headers_are_checked_before_any_library_reads_them(tmp_path, header, declared, payload, raw):
    """A fuzzed .safetensors file is refused with fmaudit's error, or it loads with safetensors itself."""
    import struct

    from safetensors.torch import load_file

    from fmcore.store._import import check_safetensors

    body = json.dumps(header).encode() if raw is None else raw
    path = tmp_path / "model.safetensors"
    path.write_bytes(struct.pack("<Q", len(body) if declared is None else declared) + body + payload)
    try:
        check_safetensors(path)
    except FmauditError:
        return
    load_file(str(path))  # what the check let through, the library reads


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(config=st.one_of(st.text(max_size=80), st.just("9" * 5000), st.builds(_nested, st.integers(1, 100_000)),
                        st.builds(lambda d: json.dumps(d), st.dictionaries(
                            st.sampled_from(["architecture", "kwargs", "model_type", "input", "storage"]),
                            st.one_of(st.sampled_from(["MLP", "SeedCNN", "bert", "LogReg"]), yaml_scalars,
                                      st.dictionaries(st.text(max_size=5), yaml_scalars, max_size=3)),
                            max_size=4))))
def test_a_fuzzed_model_config_is_refused_cleanly_and_registers_nothing(tmp_path, config):
    """config.json of a model folder: bad syntax, 5,000-digit numbers, deep nesting, wrong fields."""
    import torch
    from safetensors.torch import save_file

    from fmcore.store import Store
    from fmcore.store._import import import_model

    folder = tmp_path / "model"
    folder.mkdir(exist_ok=True)
    save_file({"w": torch.zeros(2, 2)}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(config)
    (folder / "preprocess.json").write_text(_nested(50_000))
    store = Store(tmp_path / "home")
    with pytest.raises(FmauditError):
        import_model(store, folder, "german_credit")
    assert store.list_models() == []


def test_malformed_files_exit_2_with_a_message_and_register_nothing(tmp_path, monkeypatch, capsys):
    """Our own malformed model, config, policy and pipeline files through the CLI: exit 2, one line of error, no
    traceback, and the store holds no model afterwards."""
    import struct

    from fmaudit.cli import main
    from fmcore.store import Store

    home = tmp_path / "home"
    monkeypatch.setenv("FMAUDIT_HOME", str(home))
    bad_header = tmp_path / "header"
    bad_header.mkdir()
    (bad_header / "config.json").write_text('{"architecture": "MLP", "kwargs": {}}')
    (bad_header / "model.safetensors").write_bytes(struct.pack("<Q", 10**12) + b"{}")
    digits = tmp_path / "digits"
    digits.mkdir()
    (digits / "config.json").write_text('{"architecture": ' + "9" * 5000 + "}")
    (digits / "model.safetensors").write_bytes(struct.pack("<Q", 2) + b"{}")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nchecks: [*c]\n")
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("train: {dataset: german_credit, model: logreg, epochs: 1}\naudits: {performance: {}}\n"
                        "report: {policy: no-such-policy.yaml}\n")
    typo = tmp_path / "typo.yaml"
    typo.write_text("train: {dataset: german_credit, model: logreg, epochs: 1}\naudits: {performance: {n_bot: 5}}\n")
    runs = {"header": ["import-model", str(bad_header), "--dataset", "german_credit"],
            "digits": ["import-model", str(digits), "--dataset", "german_credit"],
            "bomb": ["report", "--model", "m-00000000", "--policy", str(bomb)],
            "pipeline": ["run", str(pipeline)], "typo": ["run", str(typo)]}
    for what, argv in runs.items():
        assert main(argv) == 2, what
        err = capsys.readouterr().err
        assert err.startswith("error: "), (what, err)
        assert "Traceback" not in err
    assert Store(home).list_models() == []
