"""Compression: every method gives a registered, reloadable, smaller variant; the stored formats round-trip
bit for bit; the audit's numbers equal independent computations; bad requests get clear errors."""

import numpy as np
import pytest
import torch

from audits.compression import compression_audit
from fmcore.compress import compress, parse_method
from fmcore.data import load_dataset
from fmcore.errors import ConfigError, FmauditError, UnknownNameError


@pytest.fixture(scope="module")
def digits_variants(tmp_path_factory):
    """A seed CNN on digits and one variant per method, in a store of their own."""
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    st = Store(tmp_path_factory.mktemp("compress-home"))
    parent = train_model("digits", "seed_cnn", TrainConfig(epochs=4, seed=0), store=st).model_id
    results = {m: compress(st, parent, m).summary()
               for m in ("prune:0.8", "channels:0.5", "int8", "dynamic_int8", "fp16", "bf16", "distill:0.5")}
    return st, parent, results


def test_parse_method_errors():
    assert parse_method("prune:0.5") == ("prune", 0.5)
    assert parse_method("distill") == ("distill", 0.5)
    with pytest.raises(ConfigError, match=r"Sparsity must be in \[0, 1\); got 1.5"):
        parse_method("prune:1.5")
    with pytest.raises(ConfigError, match="needs a level"):
        parse_method("channels")
    with pytest.raises(ConfigError, match="takes no level"):
        parse_method("int8:0.5")
    with pytest.raises(UnknownNameError, match="dynamic_int8"):
        parse_method("int4")


def test_variants_are_registered_smaller_and_reload_identically(digits_variants):
    st, parent, results = digits_variants
    ds = load_dataset("digits")
    test = ds["test"]
    for method, s in results.items():
        record = st.get_model(s["model_id"])
        assert record.parent_id == parent
        assert record.derivation["compression"] == method
        assert st.verify_model(record.id)
        reloaded = st.load_classifier(record.id)
        assert (reloaded.predict(test.X) == test.y).mean() == pytest.approx(s["accuracy"], abs=1e-12), method
    ratio = {m: s["size_ratio"] for m, s in results.items()}
    assert ratio["prune:0.8"] < 0.35  # 20% of the values plus a 1-bit mask per weight
    assert 0.49 < ratio["fp16"] < 0.51
    assert 0.49 < ratio["bf16"] < 0.51
    assert ratio["channels:0.5"] < 0.35
    assert ratio["distill:0.5"] < 0.35
    # torchao quantizes linear layers only; the seed CNN keeps 60% of its weights in convolutions
    assert 0.6 < ratio["int8"] < 0.75
    assert abs(results["int8"]["accuracy_delta"]) <= 0.01
    assert abs(results["fp16"]["accuracy_delta"]) <= 0.01
    pruned = st.load_classifier(results["prune:0.8"]["model_id"])
    weights = [p for n, p in pruned.net.state_dict().items() if n.endswith("weight")]
    zeros = sum(int((w == 0).sum()) for w in weights) / sum(w.numel() for w in weights)
    assert zeros == pytest.approx(0.8, abs=0.01)
    small = st.load_classifier(results["channels:0.5"]["model_id"])
    assert small.meta["kwargs"]["channels"] == [16, 32, 32]
    assert small.n_params() < 0.35 * st.load_classifier(parent).n_params()


def test_int8_round_trip_is_bit_for_bit(digits_variants, tmp_path):
    from fmcore.models import Classifier, quantize_int8

    st, parent, _ = digits_variants
    clf = st.load_classifier(parent)
    x = clf.encode(load_dataset("digits")["test"].X[:64])
    for scheme in ("int8", "dynamic_int8"):
        q = quantize_int8(clf.net, scheme)
        meta = {**clf.meta, "storage": {"format": "int8", "scheme": scheme}}
        folder = tmp_path / scheme
        folder.mkdir()
        Classifier(clf.model, q, meta).save(folder)
        back = Classifier.load(folder)
        with torch.inference_mode():
            assert torch.equal(back.net(x), q(x)), scheme


def test_exported_variants_load_with_plain_torch(digits_variants, tmp_path):
    from fmcore.models import nets

    st, _, results = digits_variants
    x = st.load_classifier(results["fp16"]["model_id"]).encode(load_dataset("digits")["test"].X[:32])
    for method in ("prune:0.8", "int8", "fp16", "channels:0.5"):
        mid = results[method]["model_id"]
        out = st.export_model(mid, tmp_path / method.replace(":", ""))
        plain = nets.load_exported(out)
        with torch.inference_mode():
            ours = st.load_classifier(mid).net(x)
            theirs = plain(x)
        # int8 dequantizes to float32 for plain torch: same weights, a different kernel
        assert torch.allclose(ours, theirs, atol=1e-3 if method == "int8" else 1e-6), method


def test_compression_audit_matches_independent_numbers(digits_variants):
    st, parent, results = digits_variants
    audit = compression_audit(st, parent, repeats=3, robust_samples=60, pgd_steps=3)
    test = load_dataset("digits")["test"]
    base = st.load_classifier(parent).predict(test.X)
    rows = {r["method"]: r for r in audit.tables["variants"]}
    assert set(rows) == set(results)
    for method, s in results.items():
        pred = st.load_classifier(s["model_id"]).predict(test.X)
        row = rows[method]
        assert row["flipped"] == int((pred != base).sum())
        assert row["accuracy_delta"] == pytest.approx((pred == test.y).mean() - (base == test.y).mean(), abs=1e-12)
        assert row["size_ratio"] == pytest.approx(s["size_ratio"])
        assert row["latency_b1_ms"] > 0
        assert row["robust_accuracy_transfer"] is not None
    assert rows["dynamic_int8"]["robust_accuracy"] is None  # no input gradient through dynamic quantization
    assert audit.tables["flips"]
    assert "image" in audit.tables["flips"][0]


def test_fairness_gap_change_on_a_tabular_model(trained_german):
    from audits.fairness import disparities, encode_groups, group_metrics

    st, rec = trained_german
    s = compress(st, rec.id, "channels:0.5", fine_tune_epochs=2).summary()
    audit = compression_audit(st, rec.id, repeats=2)
    row = next(r for r in audit.tables["variants"] if r["model_id"] == s["model_id"])
    test = load_dataset("german_credit")["test"]

    def gap(model_id):
        pred = st.load_classifier(model_id).predict(test.X)
        codes, labels = encode_groups({"sex": test.groups["sex"].to_numpy()})
        m = group_metrics((test.y == 1).astype(int), (pred == 1).astype(int), codes, len(labels))
        return disparities(m)["demographic_parity_difference"]

    assert row["dp_gap_delta[sex]"] == pytest.approx(gap(s["model_id"]) - gap(rec.id), abs=1e-12)
    assert "fairness_gap_delta" in row
    assert "robust_accuracy" not in row


def test_clear_errors(digits_variants, store):
    from fmcore.train import TrainConfig, train_model

    st, _, results = digits_variants
    with pytest.raises(FmauditError, match="already compressed"):
        compress(st, results["int8"]["model_id"], "prune:0.5")
    lone = train_model("german_credit", "logreg", TrainConfig(epochs=1), store=store).model_id
    with pytest.raises(FmauditError, match="no compressed variants"):
        compression_audit(store, lone)
    with pytest.raises(ConfigError, match="defined for the seed CNN and the MLP"):
        compress(store, lone, "channels:0.5")
    assert len(store.list_models()) == 1  # nothing half-registered
    assert np.isfinite(results["prune:0.8"]["accuracy"])


def test_onnxruntime_variants_keep_accuracy_run_faster_and_say_they_have_no_gradients(tmp_path):
    """The optimised graph and static int8 through onnxruntime: accuracy within a point of the parent, stored and
    reloaded bit for bit, black boxes to the audits (the compression audit attacks them by transfer only)."""
    import numpy as np

    from audits import run_stored_audit
    from fmcore.compress import compress_many
    from fmcore.data import load_dataset
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    st = Store(tmp_path / "home")
    mid = train_model("digits", "seed_cnn", TrainConfig(epochs=3), store=st).model_id
    graph, int8 = compress_many(st, mid, ["onnx", "onnx_int8"])
    assert graph.accuracy == pytest.approx(graph.parent_accuracy)  # the same network, run by onnxruntime
    assert abs(int8.accuracy - int8.parent_accuracy) <= 0.01
    assert int8.size_bytes < 0.35 * int8.parent_size_bytes
    parent = st.load_classifier(mid)
    test = load_dataset("digits")["test"].X
    g = st.load_classifier(graph.model_id)
    np.testing.assert_allclose(g.predict_proba(test), parent.predict_proba(test), atol=1e-5)
    assert "gradients" not in g.offers
    assert st.verify_model(int8.model_id)
    _, audit = run_stored_audit(st, "compression", mid, repeats=5)
    rows = {r["method"]: r for r in audit.tables["variants"]}
    for method in ("onnx", "onnx_int8"):
        assert rows[method]["robust_accuracy"] is None  # no gradient reaches the input
        assert rows[method]["robust_accuracy_transfer"] is not None
        assert rows[method]["latency_b256_ratio"] > 0


def test_export_with_onnx_runs_in_onnxruntime_as_in_torch(tmp_path):
    import numpy as np
    import onnxruntime as ort
    import torch

    from fmcore.data import load_dataset
    from fmcore.store import Store
    from fmcore.train import TrainConfig, train_model

    st = Store(tmp_path / "home")
    mid = train_model("german_credit", "mlp", TrainConfig(epochs=3), store=st).model_id
    out = st.export_model(mid, tmp_path / "export", onnx=True)
    clf = st.load_classifier(mid)
    x = clf.encode(load_dataset("german_credit")["test"].X).float()
    with torch.no_grad():
        expected = clf.net(x).numpy()
    got = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"]).run(
        None, {"input": x.numpy()})[0]
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert "model.onnx" in (out / "README.md").read_text()
