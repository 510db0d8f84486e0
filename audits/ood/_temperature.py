"""Temperature scaling (Guo et al. 2017) as a registered child model.

``softmax(logits / T)`` with one T fitted on the validation split. The network's last linear layer is
divided by T, so the child is an ordinary model of the same architecture (exports load with plain
torch), its decisions are the parent's, and only its confidence changes.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from fmcore.errors import ConfigError
from fmcore.lineage import Derivation, DerivedResult

from ._calibration import expected_calibration_error, fit_temperature, logits_of


@dataclass
class CalibrateResult(DerivedResult):
    """A temperature-scaled model: the temperature, and calibration before and after."""
    temperature: float
    before: dict
    after: dict


def _last_linear(net):
    import torch

    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    if not linears:
        raise ConfigError("This model has no final linear layer to rescale.")
    return linears[-1]


def _check(classifier) -> None:
    if classifier.needs_groups or classifier.meta.get("randomized"):
        raise ConfigError("This model decides per group or at random (a fairness mitigation): temperature scaling "
                          "applies to its parent's scores; calibrate the parent instead.")
    if (classifier.meta.get("storage") or {}).get("format") not in (None, "dense"):
        raise ConfigError("This is a compressed variant (sparse, int8 or half precision): calibrate its uncompressed "
                          "parent, then compress that.")
    if classifier.meta.get("peft"):
        raise ConfigError("This model is a PEFT adapter over a shared base: temperature scaling would have to "
                          "change the base's head; merge the adapter (fine-tune with --merge) and calibrate that.")


def _measure(classifier, split, bins: int = 15) -> dict:
    logits, proba = logits_of(classifier, split.X, split.groups)
    y = split.y
    return {"ece": expected_calibration_error(proba, y, bins), "accuracy": float((proba.argmax(1) == y).mean()),
            "nll": float(-np.log(np.clip(proba[np.arange(len(y)), y], 1e-12, 1)).mean())}


def calibrate(store, model_id: str, name: str | None = None) -> CalibrateResult:
    """Fit T on the validation split of ``model_id``'s dataset and register the rescaled model as its child."""
    import torch


    parent = store.get_model(model_id)
    clf = store.load_classifier(parent.id)
    _check(clf)
    ds = store.load_model_dataset(parent.id)
    val, test = ds["val"], ds["test"]
    logits, _ = logits_of(clf, val.X, val.groups)
    t = fit_temperature(logits, val.y)
    before = _measure(clf, test)
    child = copy.deepcopy(clf)
    layer = _last_linear(child.net)
    with torch.no_grad():
        layer.weight.div_(t)
        if layer.bias is not None:
            layer.bias.div_(t)
    probe = val.head(min(64, len(val)))
    expected = clf.logits(clf.encode(probe.X)).numpy() / t
    got = child.logits(child.encode(probe.X)).numpy()
    if not np.allclose(got, expected, rtol=1e-4, atol=1e-4):
        raise ConfigError("This architecture does not end in a linear layer whose output is the logits; temperature "
                          "scaling cannot be stored in its weights.")
    from fmcore.train import evaluate

    after = _measure(child, test)
    metrics = evaluate(child.net, child.encode(test.X), test.y, ds.num_classes)
    metrics["split"] = "test"
    metrics["calibration"] = {"temperature": t, "before": before, "after": after, "fitted_on": "val"}
    record = store.register_model(
        child, dataset=parent.dataset, name=name or f"{parent.name}-calibrated", metrics=metrics, parent_id=parent.id,
        derivation={"kind": Derivation.CALIBRATED.value,
                    "how": f"temperature scaled (T = {t:.3f}, fitted on the validation split)", "temperature": t},
        config={**parent.config, "calibrate": {"method": "temperature", "temperature": t, "fitted_on": "val"}})
    return CalibrateResult(record.id, parent.id, t, before, after)
