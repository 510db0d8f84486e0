"""Real-size trainings on MNIST: the seed's accuracy, PGD and hardening, compression."""

import pytest

from fmcore.data import load_dataset
from fmcore.train import TrainConfig, train_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mnist_cnn(tmp_path_factory):
    from fmcore.store import Store

    st = Store(tmp_path_factory.mktemp("mnist-home"))
    return st, train_model("mnist", "seed_cnn", TrainConfig(epochs=3, seed=0), store=st)


def test_mnist_seed_cnn_reaches_988_in_three_epochs(mnist_cnn):
    _, r = mnist_cnn
    assert r.metrics["n"] == 10_000
    assert r.metrics["accuracy"] >= 0.988, r.metrics["accuracy"]


@pytest.mark.reference
def test_mnist_pgd_breaks_the_undefended_cnn_and_hardening_helps(mnist_cnn):
    """At MNIST size (3.5 min on one thread: reference; PGD and hardening run on digits in make test)."""
    from audits import run_audit
    from audits.robustness import harden

    st, r = mnist_cnn
    audit = run_audit("robustness", st.load_classifier(r.model_id), load_dataset("mnist"), r.model_id,
                      attack="pgd", eps=[0.3], samples=300, blackbox_check_samples=0, compare_fgsm=False)
    assert audit.params["steps"] == 40  # the steps the attack ran with (PGD's default), recorded resolved
    assert audit.tables["sweep"][0]["robust_accuracy"] <= 0.05
    hardened = harden(st, r.model_id, eps=0.1, epochs=1, steps=5, eval_samples=1000)
    assert hardened.after["robust_accuracy"] >= 0.70, hardened.after
    assert hardened.after["clean_accuracy"] >= 0.97, hardened.after


def test_mnist_compressed_variant_under_30_percent_within_one_point(mnist_cnn):
    from audits.compression import compression_audit
    from fmcore.compress import compress

    st, r = mnist_cnn
    small = compress(st, r.model_id, "channels:0.5", max_train_samples=20000).summary()
    assert small["size_ratio"] <= 0.30, small
    assert small["accuracy_delta"] >= -0.01, small
    compress(st, r.model_id, "int8")
    audit = compression_audit(st, r.model_id, repeats=5)
    rows = {row["method"]: row for row in audit.tables["variants"]}
    assert rows["channels:0.5"]["flipped"] > 0
    assert rows["channels:0.5"]["latency_b256_ratio"] < 1  # really smaller: faster on a big batch
    assert rows["int8"]["robust_accuracy_transfer"] is not None
    assert "robust_accuracy_delta" in rows["channels:0.5"]
    assert audit.metrics["smallest_size_ratio_within_1pt"] <= 0.30


@pytest.mark.reference  # issue 21's check at full MNIST size (2 min): `make test-reference`
def test_mnist_rotation_translation_augmentation_lowers_the_geometric_corruption_error(mnist_cnn):
    """Same recipe and seed as the fixture's CNN, plus rotate,translate: geometric corruptions hurt less.

    (Over all 13 corruptions the augmented CNN is worse, mCE about 1.5: it gets more sensitive to noise,
    brightness, fog and zigzag lines. The audit reports both; see README, Out-of-domain data.)
    """
    from audits import run_stored_audit

    st, base = mnist_cnn
    aug = train_model("mnist", "seed_cnn", TrainConfig(epochs=3, seed=0, augment="rotate,translate"), store=st)
    geometric = ["rotate", "shear", "translate", "scale"]
    _, a = run_stored_audit(st, "corruption", aug.model_id, samples=1000, corruptions=geometric)
    assert a.metrics["reference_model_id"] == base.model_id  # default reference: the plain seed CNN
    assert a.metrics["mean_corruption_error@geometric"] < 0.95, a.metrics
    assert a.metrics["accuracy@translate"] >= 0.10 + run_stored_audit(
        st, "corruption", base.model_id, samples=1000, corruptions=["translate"])[1].metrics["accuracy@translate"]
