"""The `fmaudit` command line, run as a user runs it: a subprocess, JSON on stdout."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import write_csv


def fmaudit(home, *args, check=True):
    env = {**os.environ, "FMAUDIT_HOME": str(home), "FMAUDIT_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "fmaudit", *args], capture_output=True, text=True, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"fmaudit {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def _trained(home, dataset: str, model: str, epochs: int, *extra: str) -> dict:
    """``fmaudit train ... --json``: the new model's summary (model_id, test_accuracy, ...)."""
    return json.loads(fmaudit(home, "train", "--dataset", dataset, "--model", model, "--epochs", str(epochs), *extra,
                              "--json").stdout)


def test_train_models_show_export(tmp_path):
    home = tmp_path / "home"
    out = _trained(home, "german_credit", "mlp", 3, "--seed", "0")
    assert out["test_accuracy"] > 0.6
    assert {"model_id", "test_accuracy", "test_macro_f1", "history"} <= set(out)
    models = json.loads(fmaudit(home, "models", "--json").stdout)
    assert [m["id"] for m in models] == [out["model_id"]]
    assert models[0]["dataset"] == "german_credit"
    assert models[0]["parent_id"] is None
    assert models[0]["derivation"]["how"] == "trained"
    shown = json.loads(fmaudit(home, "show", out["model_id"], "--json").stdout)
    assert shown["weights_verified"] is True
    assert shown["lineage"] == [out["model_id"]]
    exported = json.loads(fmaudit(home, "export", out["model_id"], str(tmp_path / "exp"), "--json").stdout)
    assert "nets.py" in exported["files"]
    table = fmaudit(home, "models").stdout
    assert out["model_id"] in table


def test_datasets_json():
    out = json.loads(fmaudit("/tmp/fmaudit-cli-datasets", "datasets", "--json").stdout)
    assert {d["name"] for d in out["builtin"]} == {"mnist", "digits", "census_income", "census_income_94",
                                                  "census_income_95", "german_credit", "arrests", "tweets"}


@pytest.mark.parametrize(("args", "needle"), [
    (["train", "--dataset", "nope", "--model", "mlp"], "Available: arrests, census_income"),
    (["train", "--dataset", "digits", "--model", "nope"], "Available: gpt, logreg, minilm, mlp, seed_cnn"),
    (["show", "m-00000000"], "No model 'm-00000000'"),
])
def test_errors_exit_2_with_a_helpful_message(tmp_path, args, needle):
    proc = fmaudit(tmp_path / "home", *args, "--json", check=False)
    assert proc.returncode == 2
    assert needle in json.loads(proc.stdout)["error"]
    assert "Traceback" not in proc.stderr


def test_bad_csv_is_refused_and_store_unchanged(tmp_path, good_rows):
    home = tmp_path / "home"
    good = write_csv(tmp_path / "good.csv", good_rows)
    fmaudit(home, "add-dataset", str(good), "--label", "approved", "--sensitive", "sex", "--name", "loans")
    for r in good_rows[:4]:
        r["approved"] = None
    bad = write_csv(tmp_path / "bad.csv", good_rows)
    proc = fmaudit(home, "add-dataset", str(bad), "--label", "approved", "--sensitive", "sex", check=False)
    assert proc.returncode == 2
    assert "4 empty value(s)" in proc.stderr
    listed = json.loads(fmaudit(home, "datasets", "--json").stdout)["user"]
    assert [d["name"] for d in listed] == ["loans"]


def test_dashboard_refuses_public_bind_without_auth(tmp_path):
    proc = fmaudit(tmp_path, "dashboard", "--host", "0.0.0.0", check=False)
    assert proc.returncode == 2
    assert "Refusing to serve on 0.0.0.0" in proc.stderr


def test_help_does_not_import_torch():
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "fmaudit", "--help"], capture_output=True,
                          text=True, check=True)
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time")}
    assert "argparse" in imported
    assert "torch" not in imported
    assert "train" in proc.stdout


def test_streamlit_config_is_safe_by_default():
    import tomllib

    from tests.conftest import ROOT

    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["address"] == "127.0.0.1"
    assert cfg["server"]["enableXsrfProtection"] is True
    assert 0 < cfg["server"]["maxUploadSize"] <= 500
    assert cfg["browser"]["gatherUsageStats"] is False
    assert cfg["theme"]["light"]["primaryColor"]
    assert cfg["theme"]["dark"]["primaryColor"]
    assert "base" not in cfg["theme"]  # no fixed base: the app follows the browser's light or dark setting


def test_finetune_json_and_text_csv(tmp_path, tiny_bert):
    home = tmp_path / "home"
    rows = [{"review": f"this product is {'great and lovely' if i % 2 else 'awful and broken'} #{i}",
             "label": "pos" if i % 2 else "neg"} for i in range(80)]
    csv = write_csv(tmp_path / "reviews.csv", rows)
    fmaudit(home, "add-dataset", str(csv), "--label", "label", "--text", "review", "--name", "reviews")
    out = json.loads(fmaudit(home, "finetune", "--dataset", "reviews", "--method", "lora", "--rank", "4",
                             "--targets", "query,value", "--max-train", "48", "--epochs", "2", "--seed", "0",
                             "--base", tiny_bert, "--lr", "0.01", "--json").stdout)
    assert {"model_id", "trainable_percent", "test_macro_f1", "parent_id"} <= set(out)
    assert 0 < out["trainable_percent"] < 100
    models = {m["id"]: m for m in json.loads(fmaudit(home, "models", "--json").stdout)}
    assert models[out["model_id"]]["parent_id"] == out["parent_id"]
    assert models[out["parent_id"]]["derivation"]["how"] == "pretrained"
    proc = fmaudit(home, "finetune", "--dataset", "reviews", "--method", "prefix", check=False)
    assert proc.returncode == 2
    assert "use method 'prompt'" in proc.stderr


def test_audit_fairness_json(tmp_path):
    home = tmp_path / "home"
    model = _trained(home, "arrests", "logreg", 3)["model_id"]
    out = json.loads(fmaudit(home, "audit", "fairness", "--model", model, "--sensitive", "colour,sex",
                             "--intersectional", "--json").stdout)
    for key in ("demographic_parity_difference", "demographic_parity_ratio", "equalized_odds_difference",
                "equalized_odds_ratio", "equal_opportunity_difference", "four_fifths_rule_violated"):
        assert key in out
    assert {d["grouping"] for d in out["disparities"]} == {"colour", "sex", "colour x sex"}
    shown = json.loads(fmaudit(home, "show", model, "--json").stdout)
    assert [a["id"] for a in shown["audits"]] == [out["audit_id"]]
    proc = fmaudit(home, "audit", "fairness", "--model", model, "--sensitive", "race", check=False)
    assert proc.returncode == 2
    assert "available: ['colour', 'sex', 'age']" in proc.stderr


def test_mitigate_json_and_sweep(tmp_path):
    home = tmp_path / "home"
    model = _trained(home, "arrests", "logreg", 3)["model_id"]
    out = json.loads(fmaudit(home, "mitigate", "--model", model, "--method", "threshold_optimizer", "--constraint",
                             "demographic_parity", "--sensitive", "colour", "--json").stdout)
    assert out["parent_id"] == model
    assert out["model_id"] != model
    assert out["after"]["demographic_parity_difference"] <= out["before"]["demographic_parity_difference"]
    shown = json.loads(fmaudit(home, "show", out["model_id"], "--json").stdout)
    assert shown["lineage"] == [out["model_id"], model]
    sweep = json.loads(fmaudit(home, "mitigate", "--model", model, "--sensitive", "colour", "--sweep", "0.02,0.1",
                               "--json").stdout)
    assert [r["tolerance"] for r in sweep["results"]] == [0.02, 0.1]
    proc = fmaudit(home, "mitigate", "--model", model, "--sensitive", "race", check=False)
    assert proc.returncode == 2
    assert "available: ['colour', 'sex', 'age']" in proc.stderr


def test_privacy_audit_dp_training_and_scan_json(tmp_path):
    home = tmp_path / "home"
    model = _trained(home, "german_credit", "mlp", 20)["model_id"]
    out = json.loads(fmaudit(home, "audit", "privacy", "--model", model, "--attacks", "threshold,blackbox,lira",
                             "--samples", "200", "--json").stdout)
    assert set(out["auc"]) == {"threshold", "blackbox", "lira"}
    assert out["max_auc"] == max(out["auc"].values())
    default = json.loads(fmaudit(home, "audit", "privacy", "--model", model, "--samples", "100", "--json").stdout)
    assert set(default["auc"]) == {"threshold", "blackbox", "rulebased", "lira"}
    dp = _trained(home, "german_credit", "mlp", 3, "--dp-epsilon", "3")
    assert 0 < dp["privacy"]["epsilon"] <= 3.0
    scan = json.loads(fmaudit(home, "scan-data", "--dataset", "german_credit", "--json").stdout)
    assert scan["k_anonymity"]["quasi_identifiers"] == ["sex", "age"]
    assert scan["k_anonymity"]["k"] >= 1
    csv = write_csv(tmp_path / "people.csv", [{"who": f"mail me at user{i}@example.com", "y": i % 2}
                                              for i in range(30)])
    found = json.loads(fmaudit(home, "scan-data", "--csv", str(csv), "--quasi", "", "--json").stdout)
    assert found["findings"][0]["kind"] == "email"
    assert found["findings"][0]["count"] == 30
    proc = fmaudit(home, "audit", "privacy", "--model", model, "--attacks", "magic", check=False)
    assert proc.returncode == 2
    assert "lira" in proc.stderr


def test_out_of_domain_commands_json(tmp_path):
    home = tmp_path / "h"
    base = _trained(home, "digits", "seed_cnn", 2, "--max-train", "400")["model_id"]
    aug = _trained(home, "digits", "seed_cnn", 2, "--max-train", "400", "--augment", "rotate,translate")
    assert aug["config"]["augment"] == "rotate,translate"
    out = json.loads(fmaudit(home, "audit", "corruption", "--model", aug["model_id"], "--samples", "80",
                             "--corruptions", "rotate,gaussian_noise", "--severities", "1,5", "--json").stdout)
    assert out["reference_model_id"] == base
    assert {r["corruption"] for r in out["corruptions"]} == {"rotate", "gaussian_noise"}
    assert len(out["rows"]) == 4
    assert out["mean_corruption_error"] == pytest.approx(
        sum(r["error"] for r in out["rows"] if r["corruption"] == "rotate")
        / sum(r["reference_error"] for r in out["rows"] if r["corruption"] == "rotate") / 2
        + sum(r["error"] for r in out["rows"] if r["corruption"] == "gaussian_noise")
        / sum(r["reference_error"] for r in out["rows"] if r["corruption"] == "gaussian_noise") / 2)
    cal = json.loads(fmaudit(home, "audit", "calibration", "--model", base, "--json").stdout)
    assert cal["ece_ci_low"] <= cal["ece"] <= cal["ece_ci_high"]
    assert 0 < cal["coverage"] <= 1
    assert cal["coverage_by_group"] == {}  # digits has no groups
    shift = json.loads(fmaudit(home, "audit", "shift", "--model", base, "--samples", "200", "--json").stdout)
    assert shift["to"] == "mnist"
    assert shift["shift_accuracy"] < shift["in_domain_accuracy"]
    child = json.loads(fmaudit(home, "calibrate", "--model", base, "--json").stdout)
    assert child["parent_id"] == base
    bad = fmaudit(home, "train", "--dataset", "digits", "--model", "seed_cnn", "--augment", "mixup", check=False)
    assert bad.returncode == 2
    assert "for image data use" in bad.stderr
    nopartner = fmaudit(home, "audit", "shift", "--model", base, "--to", "digits", check=False)
    assert nopartner.returncode == 2


def test_calibration_by_group_json(tmp_path):
    home = tmp_path / "h"
    model = _trained(home, "german_credit", "mlp", 3)["model_id"]
    cal = json.loads(fmaudit(home, "audit", "calibration", "--model", model, "--sensitive", "sex", "--json").stdout)
    assert set(cal["coverage_by_group"]) == {"sex"}
    assert set(cal["coverage_by_group"]["sex"]) == {"female", "male"}
    assert cal["coverage_gap"] == pytest.approx(abs(cal["coverage_by_group"]["sex"]["female"]
                                                    - cal["coverage_by_group"]["sex"]["male"]))


def test_compress_and_compression_audit_json(tmp_path):
    home = tmp_path / "home"
    model = _trained(home, "digits", "seed_cnn", 2)["model_id"]
    one = json.loads(fmaudit(home, "compress", "--model", model, "--method", "prune:0.5", "--json").stdout)
    assert one["parent_id"] == model
    assert one["size_ratio"] < 0.6
    several = json.loads(fmaudit(home, "compress", "--model", model, "--method", "int8,fp16", "--json").stdout)
    assert len(several["model_ids"]) == 2
    out = json.loads(fmaudit(home, "audit", "compression", "--model", model, "--repeats", "3", "--json").stdout)
    assert [v["method"] for v in out["variants"]] == ["prune:0.5", "int8", "fp16"]
    for v in out["variants"]:
        assert {"method", "size_ratio", "accuracy_delta", "flipped"} <= set(v)
    proc = fmaudit(home, "compress", "--model", model, "--method", "prune:1.2", check=False)
    assert proc.returncode == 2
    assert "Sparsity must be in [0, 1)" in proc.stderr
    # the same grid as Ray tasks on a private local instance (no address): the same variants
    on_ray = json.loads(fmaudit(home, "compress", "--executor", "ray", "--model", model, "--method",
                                "prune:0.5,int8,fp16", "--json").stdout)["model_ids"]
    from fmcore.store import Store

    store = Store(home)
    assert [store.get_model(m).sha256 for m in on_ray] == [
        store.get_model(m).sha256 for m in [one["model_id"], *several["model_ids"]]]  # the same weights, bit for bit
    where = json.loads(fmaudit(home, "executor", "--executor", "ray", "--json").stdout)
    assert (where["executor"], where["address"], where["nodes"]) == ("ray", "local instance", 1)


def test_pipeline_report_verify_and_exit_codes(tmp_path):
    import xml.etree.ElementTree as ET

    from tests.conftest import ROOT

    home, out = tmp_path / "home", tmp_path / "out"
    proc = fmaudit(home, "run", str(ROOT / "pipelines" / "german_credit.yaml"), "--out", str(out), "--json",
                   check=False)
    assert proc.returncode in (0, 1, 3), proc.stderr
    result = json.loads(proc.stdout)
    assert {p.rsplit(".", 1)[1] for p in result["paths"].values()} == {"html", "json", "md"}
    assert proc.returncode == {"pass": 0, "fail": 1, "incomplete": 3}[result["policy"]["outcome"]]
    model = result["model_id"]
    for kind in ("json", "html"):  # unsigned (no key yet): intact, but UNVERIFIED unless asked for knowingly
        proc = fmaudit(home, "verify", result["paths"][kind], check=False)
        assert proc.returncode == 3, proc.stdout
        assert "UNVERIFIED" in proc.stdout
        assert fmaudit(home, "verify", result["paths"][kind], "--no-signature").returncode == 0
    # a failing policy exits 1, lists the failing checks and writes a JUnit file that parses
    strict = tmp_path / "strict.yaml"
    strict.write_text("name: strict\nchecks:\n  - {id: perfect, metric: performance.accuracy, op: '>=', "
                      "threshold: 0.999, requirement: 'Art. 15(1)'}\n")
    proc = fmaudit(home, "report", "--model", model, "--policy", str(strict), "--out", str(out),
                   "--junit", str(tmp_path / "junit.xml"), check=False)
    assert proc.returncode == 1
    assert "[fail" in proc.stdout
    assert "perfect" in proc.stdout
    assert ET.parse(tmp_path / "junit.xml").getroot().get("failures") == "1"
    lenient = tmp_path / "lenient.yaml"
    lenient.write_text("name: lenient\nchecks:\n  - {id: some, metric: performance.accuracy, op: '>=', "
                       "threshold: 0.5, requirement: 'Art. 15(1)'}\n")
    assert fmaudit(home, "report", "--model", model, "--policy", str(lenient), "--out", str(out)).returncode == 0
    # a check that was not measured never passes: INCOMPLETE, exit 3; --run-missing runs what the policy needs
    unmeasured = tmp_path / "unmeasured.yaml"
    unmeasured.write_text("name: needs calibration\nchecks:\n  - {id: ece, metric: calibration.ece, op: '<=', "
                          "threshold: 0.5, requirement: 'Art. 15(1)'}\n")
    proc = fmaudit(home, "report", "--model", model, "--policy", str(unmeasured), "--out", str(out), check=False)
    assert proc.returncode == 3
    assert "INCOMPLETE" in proc.stdout
    proc = fmaudit(home, "report", "--model", model, "--policy", str(unmeasured), "--out", str(out), "--run-missing",
                   "--json", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["ran"]["calibration"].startswith("a-")
    bad = tmp_path / "bad.yaml"
    bad.write_text("checks: [{id: x}]\n")
    proc = fmaudit(home, "report", "--model", model, "--policy", str(bad), "--out", str(out), check=False)
    assert proc.returncode == 2
    assert "lacks metric" in proc.stderr
    # signatures anyone can check with the public key
    keys = json.loads(fmaudit(home, "keys", "init", "--json").stdout)
    signed = json.loads(fmaudit(home, "report", "--model", model, "--policy", str(lenient), "--out", str(out),
                                "--json").stdout)
    proc = fmaudit(home, "verify", signed["paths"]["html"], "--public-key", keys["public_key"])
    assert "signature valid" in proc.stdout
    assert fmaudit(home, "keys", "init", check=False).returncode == 2  # never silently replaced
    # the whole store in one archive, restored elsewhere and verified
    assert fmaudit(home, "backup", str(tmp_path / "store.tar.gz")).returncode == 0
    proc = fmaudit(tmp_path / "restored", "restore", str(tmp_path / "store.tar.gz"))
    assert "verified intact" in proc.stdout
    # the trail: intact, then one byte of a stored audit changed
    assert fmaudit(home, "verify", "--log").returncode == 0
    import sqlite3

    con = sqlite3.connect(home / "fmaudit.db")
    audit_id, text = con.execute("SELECT id, result FROM audits LIMIT 1").fetchone()
    con.execute("UPDATE audits SET result=? WHERE id=?", (text.replace("0", "1", 1), audit_id))
    con.commit()
    con.close()
    proc = fmaudit(home, "verify", "--log", check=False)
    assert proc.returncode == 1
    assert audit_id in proc.stdout


def test_user_add_and_list(tmp_path):
    env = {**os.environ, "FMAUDIT_HOME": str(tmp_path / "home")}
    proc = subprocess.run([sys.executable, "-m", "fmaudit", "user", "add", "alice", "--role", "auditor",
                           "--password-stdin"], input="long-enough-password\n", capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    listed = json.loads(fmaudit(tmp_path / "home", "user", "list", "--json").stdout)
    assert listed == [{"name": "alice", "role": "auditor"}]
    proc = subprocess.run([sys.executable, "-m", "fmaudit", "user", "add", "bob", "--password-stdin"],
                          input="short\n", capture_output=True, text=True, env=env)
    assert proc.returncode == 2
    assert "at least 10 characters" in proc.stderr


def test_os_errors_are_reported_not_dumped(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store folder should be")
    proc = fmaudit(blocker, "datasets", "--json", check=False)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert str(blocker) in proc.stderr


def test_train_and_finetune_flags_are_the_config_fields():
    """Every TrainConfig / FinetuneConfig field is a flag with the field's default and help, so the command line
    cannot drift from the engine; the old flag names (--max-train, --dp-clip, --parent, --base) still work."""
    from dataclasses import fields

    from fmaudit._common import options_from_args
    from fmaudit.cli import build_parser
    from fmcore.finetune import FinetuneConfig
    from fmcore.train import TrainConfig

    parser = build_parser(only="train", everything=False)
    args = parser.parse_args(["train", "--dataset", "digits", "--model", "mlp"])
    assert options_from_args(TrainConfig, args, args.option_dests) == TrainConfig()  # defaults are the config's
    assert set(args.option_dests) == {f.name for f in fields(TrainConfig)}
    args = parser.parse_args(["train", "--dataset", "d", "--model", "m", "--max-train", "50", "--dp-clip", "2",
                              "--weight-decay", "0.01", "--lr-schedule", "constant", "--augment", "noise"])
    cfg = options_from_args(TrainConfig, args, args.option_dests)
    assert (cfg.max_train_samples, cfg.dp_max_grad_norm, cfg.weight_decay, cfg.lr_schedule, cfg.augment) == (
        50, 2.0, 0.01, "constant", "noise")
    parser = build_parser(only="finetune", everything=False)
    args = parser.parse_args(["finetune", "--dataset", "tweets", "--method", "lora", "--targets", "query,key",
                              "--max-train", "0", "--parent", "m-1", "--base", "/x", "--merge"])
    cfg = options_from_args(FinetuneConfig, args, args.option_dests, zero_is_none=("max_train_samples",))
    assert (cfg.targets, cfg.max_train_samples, cfg.parent_id, cfg.base_path, cfg.merge) == (
        ("query", "key"), None, "m-1", "/x", True)
    assert cfg.max_eval_samples == FinetuneConfig().max_eval_samples
    full = build_parser()  # every command's arguments build (imports every command module)
    assert full.parse_args(["audit", "performance", "--model", "m-1"]).func.__name__ == "cmd_audit"
